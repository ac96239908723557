"""Grading steps before any kernel runs, on the mini course: prepare writes, plan_jobs only reads.

No nbgrader run: the grading kit is a hand-made stand-in (the end-to-end tests grade with real kits).
"""

from __future__ import annotations

import pickle
import shutil

import nbformat
from autograder_support import mini_course, tree_hash

from autograder.cells import read_notebook
from autograder.collect import collect
from autograder.config import load_config
from autograder.options import GradeOptions
from autograder.plan import inputs
from autograder.plan.inputs import prepare
from autograder.plan.jobs import plan_jobs
from autograder.plan.ledger import Ledger
from autograder.records import Result
from autograder.reuse.reference import REFERENCE_STUDENT, Schedule, reference_jobs


def _snapshot(cfg) -> dict[str, str]:
    """Hash every file of the course (runtime folders included) and of its work root."""
    course = tree_hash(cfg.root, skip=set())
    work = tree_hash(cfg.work_root, skip=set()) if cfg.work_root.is_dir() else {}
    return {**course, **{f"work:{name}": digest for name, digest in work.items()}}


def _fake_kit(cfg, lab):
    """A grading kit's layout (gradebook, source, release) without nbgrader."""
    kit = cfg.state_dir / "kits" / lab
    if not kit.is_dir():
        shutil.copytree(cfg.source_notebook(lab).parent, kit / "source" / lab)
        (kit / "source" / lab / "helper.csv").write_text("a,b\n")
        (kit / "release" / lab).mkdir(parents=True)
        shutil.copy2(cfg.source_notebook(lab), kit / "release" / lab / f"{lab}.ipynb")
        (kit / "gradebook.db").write_bytes(b"kit gradebook")
    return kit


def test_plan_jobs_writes_nothing_and_prepare_does_the_writes(tmp_path, monkeypatch):
    monkeypatch.setattr(inputs, "kit_dir", _fake_kit)
    monkeypatch.setattr(inputs, "ensure_assignment", lambda cfg, lab, kit: "2030-01-01T00:00:00")
    cfg = load_config(mini_course(tmp_path))
    monkeypatch.setattr(type(cfg), "work_root", property(lambda self: tmp_path / "work"))
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    nbformat.write(read_notebook(cfg.source_notebook("mini")), str(inbox / "mini_s1.ipynb"))
    collect(cfg, inbox)
    (cfg.root / "data").mkdir()
    (cfg.root / "data" / "tiny.txt").write_text("data")
    ledger = Ledger(cfg.state_dir / "ledger.json")
    before = _snapshot(cfg)
    prepared = prepare(cfg, ["mini"])
    assert _snapshot(cfg) != before  # the file cache (data included) and the kit are written here
    assert prepared.cache.path(prepared.data_files["tiny.txt"]).read_text() == "data"
    prepared_state = _snapshot(cfg)
    (job,) = plan_jobs(cfg, prepared, ledger, GradeOptions(jobs=1), 1)
    assert _snapshot(cfg) == prepared_state
    assert (job.lab, job.student, job.duedate) == ("mini", "s1", "2030-01-01T00:00:00")
    assert job.work_root == str(tmp_path / "work")
    assert prepared.cache.path(job.kit_files["helper.csv"]).read_bytes() == b"a,b\n"  # by digest
    assert job.data_files == prepared.data_files and job.digests() <= prepared.cache.listing()
    assert job.requirements["python"] and job.requirements["code:labkit"]
    assert pickle.loads(pickle.dumps(job)) == job  # carried by value to processes and Dask workers


def _reference_setup(tmp_path, monkeypatch, n_students: int):
    """The mini course with a given model class in a locked cell, ``n_students`` collected submissions."""
    monkeypatch.setattr(inputs, "kit_dir", _fake_kit)
    monkeypatch.setattr(inputs, "ensure_assignment", lambda cfg, lab, kit: None)
    cfg = load_config(mini_course(tmp_path))
    monkeypatch.setattr(type(cfg), "work_root", property(lambda self: tmp_path / "work"))
    kit = _fake_kit(cfg, "mini")
    source = read_notebook(kit / "source" / "mini" / "mini.ipynb")
    given = nbformat.v4.new_code_cell("class Given:\n    pass\n", metadata={"nbgrader": {"locked": True}})
    source.cells.insert(0, given)
    nbformat.write(source, str(kit / "source" / "mini" / "mini.ipynb"))
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for i in range(n_students):
        nbformat.write(read_notebook(cfg.source_notebook("mini")), str(inbox / f"mini_s{i}.ipynb"))
    collect(cfg, inbox)
    (cfg.root / "data").mkdir()
    return cfg, prepare(cfg, ["mini"])


def test_the_reference_runs_beside_the_first_submissions_and_releases_the_rest(tmp_path, monkeypatch):
    cfg, prepared = _reference_setup(tmp_path, monkeypatch, n_students=4)
    opts = GradeOptions(jobs=3)
    recording = reference_jobs(cfg, prepared, opts, 3, {"mini"})
    (reference,) = recording.references
    assert reference.training.record == "Given" and reference.student == REFERENCE_STUDENT
    jobs = plan_jobs(cfg, prepared, Ledger(cfg.state_dir / "ledger.json"), opts, 3)
    schedule = Schedule(prepared, recording, jobs, 3, quiet=True)
    assert [j.student for j in schedule.first] == [REFERENCE_STUDENT, "s0", "s1"]  # 3 workers busy
    assert not any(j.training.store for j in schedule.first)
    assert schedule.after(Result("s0", "mini", jobs[0].key, None, {}, {}, [], None, 1.0)) == []
    entry = "a" * 64 + ".pt"
    done = Result(REFERENCE_STUDENT, "mini", reference.key, None, {}, {}, [], None, 9.0, None,
                  {entry: b"state", "../escape.pt": b"x"})  # fmt: skip
    released = schedule.after(done)
    assert [j.student for j in released] == ["s2", "s3"] and schedule.waiting == []
    store = recording.stores["mini"]
    assert set(store.files) == {entry, "manifest.json"}  # a name that is no key is not kept
    cache = prepared.cache
    stored = {name: cache.path(digest).read_bytes() for name, digest in released[0].training.store.items()}
    assert stored == store.files and all(j.training.manifest == store.manifest_digest for j in released)
    again = reference_jobs(cfg, prepared, opts, 3, {"mini"})  # the next pass: recorded earlier
    assert again.references == [] and again.stores["mini"].files == store.files
