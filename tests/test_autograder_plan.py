"""Grading steps before any kernel runs, on the mini course: prepare writes, plan_jobs only reads.

No nbgrader run: the grading kit is a hand-made stand-in (the end-to-end tests grade with real kits).
"""

from __future__ import annotations

import pickle
import shutil

import nbformat
from autograder_support import mini_course, tree_hash

from autograder import grade as grading
from autograder.cells import read_notebook
from autograder.collect import collect
from autograder.config import load_config
from autograder.grade import plan_jobs, prepare
from autograder.jobs import Grade, Result
from autograder.ledger import Ledger
from autograder.options import GradeOptions


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
    monkeypatch.setattr(grading, "kit_dir", _fake_kit)
    monkeypatch.setattr(grading, "ensure_assignment", lambda cfg, lab, kit: "2030-01-01T00:00:00")
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
    assert _snapshot(cfg) != before  # the data copy and the kit are written here
    assert (prepared.data_dir / "tiny.txt").read_text() == "data"
    prepared_state = _snapshot(cfg)
    (job,) = plan_jobs(cfg, prepared, ledger, GradeOptions(jobs=1), 1)
    assert _snapshot(cfg) == prepared_state
    assert (job.lab, job.student, job.duedate) == ("mini", "s1", "2030-01-01T00:00:00")
    assert job.work_root == str(tmp_path / "work") and job.kit_files == {"helper.csv": b"a,b\n"}
    assert job.settings.data_dir == str(prepared.data_dir)
    assert pickle.loads(pickle.dumps(job)) == job  # carried by value to processes and Dask workers


def test_result_grades_are_named_and_pickle():
    result = Result("s1", "mini", "k", None, {"t": Grade(1.0, False, 2.0, "code")}, {}, [], None, 0.5)
    again = pickle.loads(pickle.dumps(result))
    grade = again.grades["t"]
    assert again == result and grade.is_test and (grade.auto_score, grade.max_score) == (1.0, 2.0)
    assert not Grade(None, True, 3.0, "markdown").is_test
