"""Training reuse changes no grade: the same batch graded by ``course-grade`` with and without reuse.

The HR lab (every model of a correct submission is given code, so all four are reused), capped
(``LABKIT_MAX_EPOCHS=1``), two workers. The batch: the untouched release, the reference, a wrong split,
half the exercises solved and a hostile submission that attacks its training store. Scores, notes and
every printed line of every test and result cell must be identical, bit for bit; the reference must
actually reuse its given models.
The ECG lab's case (the given CNN reused, the student's own models trained) runs inside the batch of
``tests/test_course_grade_labs.py``.
"""

from __future__ import annotations

import copy
import json
import shutil
from dataclasses import asdict

import e2e_support as e2e
import nbformat
import pytest
from labs_support import HR, LABS

from autograder.cells import grade_id, nbgrader_meta, read_notebook
from autograder.config import load_config
from autograder.grade import grade
from autograder.options import GradeOptions

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

STORE_ATTACK = """import os, pathlib
store = os.environ.get("LABKIT_TRAIN_STORE", "")
wrote = 0
for path in sorted(pathlib.Path(store).glob("*")) if store else []:
    try:
        os.chmod(path, 0o644)
        path.write_bytes(b"poison")
        wrote += 1
    except OSError:
        pass
print("ATTACK store", bool(store), "wrote", wrote)
"""


def _batch(lab: str) -> dict[str, nbformat.NotebookNode]:
    case = LABS[lab]
    source = read_notebook(e2e.source_notebook(lab))
    release = read_notebook(e2e.release_notebook(lab))
    exercises = [
        grade_id(c) for c in release.cells if c.cell_type == "code" and nbgrader_meta(c).get("solution")
    ]
    solved = {grade_id(c): c.source for c in source.cells if grade_id(c)}
    partial = copy.deepcopy(release)
    for cell in partial.cells:
        if grade_id(cell) in exercises[: len(exercises) // 2]:
            cell.source = solved[grade_id(cell)]
    hostile = copy.deepcopy(source)
    first_code = next(i for i, c in enumerate(hostile.cells) if c.cell_type == "code")
    hostile.cells.insert(first_code + 1, nbformat.v4.new_code_cell(STORE_ATTACK))
    return {  # graded in name order; with two workers the first runs beside the recording, without a store
        "a_blank": release,
        "partial": partial,
        "ref": source,
        "wrong_split": e2e.replace_solution(source, case.split_id, case.wrong_split),
        "x_hostile": hostile,
    }


def _grade(course, lab: str, reuse: bool) -> dict[str, dict]:
    (course / "data").symlink_to(e2e.capped_data_dir(), target_is_directory=True)
    opts = GradeOptions(jobs=2, cell_timeout=300, quiet=True, train_reuse=reuse)
    return {e.student: asdict(e) for e in grade(load_config(course), [lab], opts)}


def test_the_same_batch_grades_identically_with_and_without_reuse(tmp_path, monkeypatch):
    lab = HR
    monkeypatch.setenv("LABKIT_MAX_EPOCHS", "1")
    courses = {}
    for reuse in (True, False):
        course = e2e.make_course(tmp_path / f"reuse_{reuse}", lab)
        for student, notebook in _batch(lab).items():
            e2e.submit(course, lab, student, notebook)
        courses[reuse] = course
    with_reuse = _grade(courses[True], lab, reuse=True)
    recorded = [
        json.loads(p.read_text()) for p in courses[True].glob(".grading/kits/*/train_store/*/reference.json")
    ]
    assert len(recorded) == 1 and recorded[0]["failed"] == [], recorded  # the recording run: the reference
    assert len(recorded[0]["entries"]) == 4, recorded  # the four given configurations
    without = _grade(courses[False], lab, reuse=False)
    assert set(with_reuse) == set(without) == set(_batch(lab))
    e2e.assert_same_grading(courses[True], with_reuse, courses[False], without, lab, LABS[lab].results)
    reused = {student: e2e.reused_models(courses[True], lab, student) for student in with_reuse}
    assert reused["ref"] == 4 and reused["wrong_split"] == 0, reused  # other inputs: trained, not reused
    assert 0 < reused["partial"] < 4, reused  # windows, split and scaling solved: only the given configs
    assert reused["a_blank"] == 0  # it ran beside the recording (and trains nothing anyway)
    assert "ATTACK store True" in nbformat.writes(e2e.autograded_notebook(courses[True], lab, "x_hostile"))
    assert not any(e2e.reused_models(courses[False], lab, student) for student in without)
    shutil.rmtree(tmp_path, ignore_errors=True)
