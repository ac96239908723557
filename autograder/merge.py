"""Merge one worker `Result` into the course: autograded/ notebook + course gradebook rows.

The course gradebook ends up as plain ``nbgrader autograde`` leaves it (student, submission with timestamp,
``auto_score``/``needs_manual_grade`` per grade cell, ``auto_comment`` per solution cell), so
``nbgrader generate_feedback``, ``nbgrader export`` and formgrader keep working.
"""

from __future__ import annotations

import warnings
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry

from autograder.config import CourseConfig, ensure_tools_on_path
from autograder.records import Result
from labkit.files import atomic_write

#: nbgrader's per-submission secret (written by ``nbgrader submit``), read back by ``release_feedback``.
SECRET_FILE = "submission_secret.txt"
CELL_FIELDS = {
    "grade_cells": ("update_or_create_grade_cell", ("max_score", "cell_type")),
    "solution_cells": ("update_or_create_solution_cell", ()),
    "task_cells": ("update_or_create_task_cell", ("max_score", "cell_type")),
    "source_cells": ("update_or_create_source_cell", ("cell_type", "locked", "source", "checksum")),
}


def ensure_assignment(cfg: CourseConfig, lab: str, kit: Path) -> str | None:
    """Copy the lab's notebooks and cells from the grading kit into the course gradebook.

    Returns the lab's due date in the course gradebook (ISO format, None when it has none): the course
    gradebook is where instructors set it (``nbgrader db assignment add LAB --duedate=...``).
    """
    ensure_tools_on_path()
    with Gradebook(f"sqlite:///{kit / 'gradebook.db'}") as kit_gb, Gradebook(cfg.db_url, cfg.course_id) as gb:
        assignment = kit_gb.find_assignment(lab)
        duedate = gb.update_or_create_assignment(lab).duedate
        for notebook in assignment.notebooks:
            gb.update_or_create_notebook(notebook.name, lab)
            for attribute, (method, fields) in CELL_FIELDS.items():
                for cell in getattr(notebook, attribute):
                    values = {name: getattr(cell, name) for name in fields}
                    getattr(gb, method)(cell.name, notebook.name, lab, **values)
    return duedate.isoformat() if duedate else None


def merge_result(cfg: CourseConfig, result: Result) -> None:
    """Write the autograded notebook and replay the scores into the course gradebook (one at a time)."""
    ensure_tools_on_path()
    folder = cfg.autograded_notebook(result.student, result.lab).parent
    if result.notebook is not None:
        atomic_write(folder / f"{result.lab}.ipynb", lambda tmp: tmp.write_bytes(result.notebook))
    else:
        (folder / f"{result.lab}.ipynb").unlink(missing_ok=True)
    if result.timestamp:
        atomic_write(folder / "timestamp.txt", lambda tmp: tmp.write_text(result.timestamp))
    secret = cfg.submitted_notebook(result.student, result.lab).parent / SECRET_FILE
    if secret.is_file():  # as plain autograde leaves it: release_feedback files feedback by this secret
        atomic_write(folder / SECRET_FILE, lambda tmp: tmp.write_bytes(secret.read_bytes()))
    with Gradebook(cfg.db_url, cfg.course_id) as gb, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # nbgrader's own SQLAlchemy autoflush warnings
        gb.update_or_create_student(result.student)
        extra = {"timestamp": result.timestamp} if result.timestamp else {}
        gb.update_or_create_submission(result.lab, result.student, **extra)
        notebook = gb.find_submission_notebook(result.lab, result.lab, result.student)
        notebook.late_submission_penalty = result.late_penalty
        for name, graded in result.grades.items():
            row = gb.find_grade(name, result.lab, result.lab, result.student)
            row.auto_score = graded.auto_score
            row.needs_manual_grade = (
                graded.needs_manual or row.manual_score is not None or graded.auto_score is None
            )
        for name, auto_comment in result.comments.items():
            try:
                gb.find_comment(name, result.lab, result.lab, result.student).auto_comment = auto_comment
            except MissingEntry:
                continue
        gb.db.commit()
