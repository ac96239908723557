"""A real-data course in one command: `labkit data prepare ecg` writes the held-out file grading uses.

On the real CinC 2017 records and the real PhysioNet sample records in shared/ (beside the checkout).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from fixtures.ecg_arrhythmia import build_ecg_tree

from autograder.checks import evaluation
from labkit.datacli import main
from labkit.datasets.ecg import load_ecg, load_ecg_provenance, save_ecg
from labkit.datasets.ecg_held_out import check_held_out, record_of, split_held_out

REPO = Path(__file__).resolve().parents[1]
CINC = REPO.parent / "shared" / "data" / "cinc2017_validation"


@pytest.fixture(scope="module")
def cinc_data(tmp_path_factory) -> Path:
    if not (CINC / "REFERENCE.csv").is_file():
        pytest.skip(f"CinC 2017 records not found at {CINC} (shared/ must sit beside the checkout)")
    out = tmp_path_factory.mktemp("cinc") / "data"
    assert main(["prepare", "ecg", "--from", str(CINC), "--out", str(out), "--no-progress"]) == 0
    return out


def test_the_split_keeps_records_apart_and_every_rhythm_on_both_sides():
    rhythms = np.array(["a"] * 10 + ["b"] * 4 + ["c"] * 2 + ["d"])
    ids = np.array([f"r{i // 2}#{i % 2}" for i in range(10)] + [f"s{i}" for i in range(7)])
    students, held = split_held_out(rhythms, ids, fraction=0.2, seed=0)
    assert sorted(np.r_[students, held].tolist()) == list(range(17))
    assert not {record_of(i) for i in ids[students]} & {record_of(i) for i in ids[held]}
    assert sorted(rhythms[held].tolist()) == ["a", "a", "b", "c"]  # 1 of 5 records, 1 of 4, 1 of 2, 0 of 1
    again = split_held_out(rhythms, ids, fraction=0.2, seed=0)
    assert all(np.array_equal(a, b) for a, b in zip((students, held), again, strict=True))
    assert split_held_out(rhythms, ids, fraction=0.0)[1].size == 0


def test_prepare_writes_both_files_with_no_record_in_common(cinc_data, capsys):
    held = cinc_data / "ecg_rhythms_heldout.npz"
    _, rhythms, _ = load_ecg(cinc_data / "ecg_rhythms.npz")
    _, held_rhythms, _ = load_ecg(held)
    assert load_ecg_provenance(held)["source"] == "physionet-cinc2017"
    assert check_held_out(cinc_data / "ecg_rhythms.npz", held) == []
    for rhythm in ("atrial_fibrillation", "normal_sinus_rhythm", "sinus_bradycardia"):  # stratified
        share = (held_rhythms == rhythm).sum() / ((held_rhythms == rhythm).sum() + (rhythms == rhythm).sum())
        assert 0.1 < share < 0.35, rhythm
    assert main(["check", "--dir", str(cinc_data)]) == 1  # no PPG file here
    out = capsys.readouterr().out
    assert "OK   " + str(held) + ": held-out file for grading, no record shared with ecg_rhythms.npz" in out
    assert "physionet-cinc2017 (labkit.converters.cinc2017 1.0; real recordings)" in out


def test_a_held_out_file_sharing_a_record_is_reported(cinc_data, tmp_path, capsys):
    folder = Path(shutil.copytree(cinc_data, tmp_path / "data"))
    signals, rhythms, _ = load_ecg(folder / "ecg_rhythms.npz")
    ids = load_ecg_provenance(folder / "ecg_rhythms.npz")["record_ids"]
    prov = {"source": "physionet-cinc2017", "generator": "test", "seed": 0, "record_ids": ids[:3]}
    save_ecg(folder / "ecg_rhythms_heldout.npz", signals[:3], rhythms[:3], prov, force=True)
    assert main(["check", "--dir", str(folder)]) == 1
    out = capsys.readouterr().out
    assert "FAIL " + str(folder / "ecg_rhythms_heldout.npz") in out and "records also in" in out


def _course(tmp_path: Path, data: Path) -> Path:
    course = tmp_path / "course"
    (course / "source" / "lab").mkdir(parents=True)
    (course / "source" / "lab" / "lab.ipynb").write_text("{}")
    shutil.copytree(data, course / "data")
    return course


def test_grading_finds_the_held_out_file_beside_real_data(cinc_data, tmp_path, monkeypatch):
    monkeypatch.delenv("LABKIT_DATA_DIR", raising=False)
    course = _course(tmp_path, cinc_data)
    folder = evaluation.ensure_inputs(course, "lab", "")  # nothing configured: no hand-made file
    held = course / "data" / "ecg_rhythms_heldout.npz"
    signals, rhythms, _ = load_ecg(held)
    assert np.array_equal(np.load(folder / "lab.npy"), signals)
    classes = np.unique(load_ecg(course / "data" / "ecg_rhythms.npz")[1])
    assert np.array_equal(np.load(folder / "lab.labels.npy"), np.searchsorted(classes, rhythms))
    assert json.loads((folder / "lab.json").read_text())["source"] == str(held)


def test_a_synthetic_course_ignores_a_stale_held_out_file(cinc_data, tmp_path, monkeypatch):
    monkeypatch.delenv("LABKIT_DATA_DIR", raising=False)
    monkeypatch.setattr(evaluation, "N_PER_RHYTHM", 2)
    course = _course(tmp_path, cinc_data)
    assert (
        main(["synth", "--only", "ecg", "--out", str(course / "data"), "--n-per-rhythm", "10", "--force"])
        == 0
    )
    folder = evaluation.ensure_inputs(course, "lab", "")
    assert "synthetic generator" in json.loads((folder / "lab.json").read_text())["source"]


def test_prepare_from_the_physionet_sample_records(tmp_path, capsys):
    out = tmp_path / "data"
    root = build_ecg_tree(tmp_path)
    assert main(["prepare", "ecg", "--from", str(root), "--out", str(out), "--held-out", "0.3"]) == 0
    assert "no configuration to add" in capsys.readouterr().out
    students = set(load_ecg_provenance(out / "ecg_rhythms.npz")["record_ids"].tolist())
    held = set(load_ecg_provenance(out / "ecg_rhythms_heldout.npz")["record_ids"].tolist())
    assert students | held == {
        "E07500",
        "E07501",
        "E07506",
        "E07509",
        "E07512",
        "HR06000",
        "JS20000",
        "JS20007",
    }
    assert not students & held and len(held) == 3  # one of each rhythm with two or more records
    assert main(["prepare", "ecg", "--from", str(root), "--out", str(out), "--held-out", "0", "--force"]) == 0
    assert not (out / "ecg_rhythms_heldout.npz").exists()  # a stale one would be graded on


REAL_CHECK = """import numpy as np
### BEGIN HIDDEN TESTS
import autograder.checks.probe as probe  # noqa: F811 (each hidden region imports it)

_x = probe.inputs("mini")
probe.emit("strips", int(_x.shape[0]))
probe.emit("shape", list(_x.shape[1:]))
### BEGIN GRADER CHECK
def check_real(results, evaluation_labels):
    labels = evaluation_labels()
    assert results["strips"] == labels.size == 3, "the held-out file's three strips"
    assert results["shape"] == [1, 1280]
    assert sorted(labels.tolist()) == [0, 1, 2], "one held-out record of each rhythm with two or more"
### END GRADER CHECK
### END HIDDEN TESTS
"""


@pytest.mark.slow
def test_a_course_prepared_from_real_records_grades_on_its_held_out_file(tmp_path):
    import nbformat
    from autograder_support import mini_course

    from autograder.cli import main as course_grade
    from autograder.config import load_config
    from autograder.grade import grade
    from autograder.options import GradeOptions

    root = mini_course(tmp_path)
    records = build_ecg_tree(tmp_path)  # the real PhysioNet sample records
    assert (
        main(["prepare", "ecg", "--from", str(records), "--out", str(root / "data"), "--held-out", "0.3"])
        == 0
    )
    with open(root / "nbgrader_config.py", "a") as handle:
        handle.write('\nc.PrepareHiddenChecks.evaluation_files = {"mini": ""}  # "": the course default\n')
    source = root / "source" / "mini" / "mini.ipynb"
    nb = nbformat.read(source, as_version=4)
    cell = nbformat.v4.new_code_cell(REAL_CHECK)
    cell.metadata["nbgrader"] = {
        "grade": True, "grade_id": "test_real", "locked": True, "points": 1, "schema_version": 3,
        "solution": False, "task": False,
    }  # fmt: skip
    nb.cells.append(cell)
    nbformat.write(nb, str(source))
    (root / "source" / "mini" / "mini.py").unlink()  # the notebook alone is the source here
    assert course_grade(["--course", str(root), "build"]) == 0
    submitted = root / "submitted" / "reference" / "mini"
    submitted.mkdir(parents=True)
    nbformat.write(nb, str(submitted / "mini.ipynb"))
    opts = GradeOptions(
        jobs=1, cell_timeout=20, notebook_timeout=120, memory_mb=2048, fsize_mb=16, quiet=True
    )
    (entry,) = grade(load_config(root), ["mini"], opts)
    assert entry.score == 6, entry  # 5 of the mini lab + the check on the held-out strips
