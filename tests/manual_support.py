"""A class of 20 graded submissions of a small lab with two written questions, for the manual-grading tests.

The lab ``written`` is made here with nbformat and released with ``nbgrader generate_assignment``; each
student's autograded notebook (their answers and the printed number the first question is about) and
gradebook rows are written through nbgrader's own API, as ``nbgrader autograde`` leaves them, without
executing 20 kernels.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from autograder.config import load_config, run_nbgrader

REPO = Path(__file__).resolve().parents[1]
LAB = "written"
QUESTION = "q_error"
OTHER_QUESTION = "q_divide"
MODEL_ANSWER = "Compare the MAE printed above with 5 bpm and quote it: below 5 bpm is good enough"
NOTES = "Full marks need the student's own number, compared with 5 bpm."
CONFIG = '''"""The course of the manual-grading tests: one lab with two written questions."""

import os

c = get_config()  # noqa: F821

LABS = ["written"]

c.CourseDirectory.course_id = "course-written"
c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
c.CourseDirectory.notebook_id = "*"
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "*.py", "feedback"]
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"
'''
DECLARATION = f'''[written.q_error]
show = ["results"]
notes = "{NOTES}"
'''


def _meta(gid: str, grade: bool = False, solution: bool = False, locked: bool = False, points: float = 0):
    meta = {"grade": grade, "grade_id": gid, "locked": locked, "schema_version": 3, "solution": solution}
    meta["task"] = False
    if grade:
        meta["points"] = points
    return {"nbgrader": meta}


def source_notebook() -> nbformat.NotebookNode:
    """Return the instructors' notebook of the lab (solutions and model answers in it)."""
    cells = [
        new_markdown_cell("# Written lab\n\nOne exercise, one result, two questions."),
        new_code_cell("ERRORS = [3.0, 4.5, 5.1]", metadata=_meta("setup", locked=True)),
        new_code_cell(
            "def mean_of(values):\n    ### BEGIN SOLUTION\n    return sum(values) / len(values)\n"
            "    ### END SOLUTION",
            metadata=_meta("mean_of", solution=True),
        ),
        new_code_cell(
            'assert mean_of([1, 2, 3]) == 2, "mean_of([1, 2, 3]) should be 2"',
            metadata=_meta("test_mean", grade=True, locked=True, points=2),
        ),
        new_markdown_cell("Your model's validation errors (bpm), one per window:"),
        new_code_cell(
            'print(f"validation MAE: {mean_of(ERRORS):.2f} bpm")', metadata=_meta("results", locked=True)
        ),
        new_markdown_cell(
            "### Question 1 (3 points)\n\nIs your model's validation error good enough for a wrist-worn "
            "heart-rate monitor (within 5 bpm)? Quote your number."
        ),
        new_markdown_cell(
            f"### BEGIN SOLUTION\n{MODEL_ANSWER}; above it is not.\n### END SOLUTION",
            metadata=_meta(QUESTION, grade=True, solution=True, points=3),
        ),
        new_markdown_cell("### Question 2 (2 points)\n\nWhy does `mean_of` divide by `len(values)`?"),
        new_markdown_cell(
            "### BEGIN SOLUTION\nThe mean is the sum divided by the number of values.\n### END SOLUTION",
            metadata=_meta(OTHER_QUESTION, grade=True, solution=True, points=2),
        ),
    ]
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


@dataclass(frozen=True)
class Student:
    """One submission: the answer to Question 1, the MAE the notebook printed, whether the test passed."""

    name: str
    kind: str
    answer: str
    mae: float
    passed: bool


def _class() -> list[Student]:
    """Return 20 submissions: reference, partial, wrong, untouched, empty and varied answers."""
    people = []
    maes = [4.12, 3.87, 6.40, 4.95, 7.21, 2.98, 5.55, 4.44, 8.02, 3.33]
    for i in range(20):
        mae = maes[i % len(maes)]
        verdict = "good enough" if mae < 5 else "not good enough"
        kinds = {
            0: ("reference", f"My validation MAE is {mae:.2f} bpm, {'below' if mae < 5 else 'above'} 5 bpm: "
                f"{verdict}."),
            1: ("partial", f"It is {verdict}."),
            2: ("partial", f"The error is {mae:.2f}."),
            3: ("wrong", "Yes, any error is fine for a watch."),
            4: ("untouched", "YOUR ANSWER HERE"),
        }  # fmt: skip
        kind, answer = kinds[i % 5]
        if i == 9:
            kind, answer = "empty", ""
        if i == 13:
            kind, answer = "varied", f"{mae:.2f} bpm vs 5 bpm -> {verdict}, though walking may be worse."
        people.append(Student(f"s{i + 1:02d}", kind, answer, mae, passed=i % 3 != 2))
    return people


CLASS = _class()


def _set(nb: nbformat.NotebookNode, gid: str, source: str) -> nbformat.NotebookNode:
    cell = next(c for c in nb.cells if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == gid)
    cell.source = source
    return cell


def build_course(root: Path, students: list[Student] = CLASS) -> Path:
    """Write the course into ``root``, release the lab and enter every graded submission; return ``root``."""
    from nbgrader.api import Gradebook

    (root / "source" / LAB).mkdir(parents=True)
    (root / "nbgrader_config.py").write_text(CONFIG)
    (root / "manual_grading.toml").write_text(DECLARATION)
    nbformat.write(source_notebook(), str(root / "source" / LAB / f"{LAB}.ipynb"))
    run_nbgrader(root, "generate_assignment", LAB, "--force", where=root)
    release = nbformat.read(str(root / "release" / LAB / f"{LAB}.ipynb"), as_version=4)
    cfg = load_config(root)
    with Gradebook(cfg.db_url, cfg.course_id) as gb, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # nbgrader's own SQLAlchemy autoflush warnings
        for i, student in enumerate(students):
            nb = nbformat.from_dict(json.loads(json.dumps(release)))
            _set(nb, "mean_of", "def mean_of(values):\n    return sum(values) / len(values)")
            _set(nb, QUESTION, student.answer)
            _set(nb, OTHER_QUESTION, "Because the mean divides the sum by the count.")
            results = _set(nb, "results", 'print(f"validation MAE: {mean_of(ERRORS):.2f} bpm")')
            printed = f"validation MAE: {student.mae:.2f} bpm\n"
            results.outputs = [nbformat.v4.new_output("stream", name="stdout", text=printed)]
            stamp = f"2026-11-{10 + i % 10:02d} 12:00:00.000000 UTC"
            for stage in ("submitted", "autograded"):
                folder = root / stage / student.name / LAB
                folder.mkdir(parents=True)
                nbformat.write(nb, str(folder / f"{LAB}.ipynb"))
                (folder / "timestamp.txt").write_text(stamp)
            gb.update_or_create_student(student.name, first_name=student.name.upper(), last_name=student.kind)
            gb.add_submission(LAB, student.name, timestamp=stamp)
            test = gb.find_grade("test_mean", LAB, LAB, student.name)
            test.auto_score, test.needs_manual_grade = (2.0 if student.passed else 0.0), False
        gb.db.commit()
    return root


_TEMPLATE: list[Path] = []


def class_course(factory, target: Path) -> Path:
    """Copy the class course (built once per test session under ``factory``'s base folder) to ``target``."""
    import shutil

    if not _TEMPLATE:
        _TEMPLATE.append(build_course(factory.mktemp("written-template") / "course"))
    shutil.copytree(_TEMPLATE[0], target)
    return target


def grader(db_url: str, grades: list[str], item: int, barrier, edit: tuple[int, float] | None) -> None:
    """Apply ``item`` to every answer of ``grades`` in turn; halfway, change ``edit``'s points."""
    from autograder.manual.rubric import RubricStore

    store = RubricStore(db_url)
    barrier.wait()
    for i, grade in enumerate(grades):
        store.mark(grade, item, True)
        if edit and i == len(grades) // 2:
            store.edit_item(edit[0], edit[1], "item b, worth more")
    store.close()
