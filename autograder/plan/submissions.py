"""Find the submissions of a course: ``<submitted>/<student>/<lab>/<lab>.ipynb``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from autograder.config import CourseConfig


@dataclass(frozen=True)
class Submission:
    """One submitted notebook of the course."""

    lab: str
    student: str
    path: Path


def find_submissions(cfg: CourseConfig, labs: list[str]) -> list[Submission]:
    """Return ``submitted/<student>/<lab>/<lab>.ipynb`` for the given labs, sorted."""
    found = []
    for lab in labs:
        for path in sorted((cfg.root / cfg.folders.submitted).glob(f"*/{lab}/{lab}.ipynb")):
            found.append(Submission(lab, path.parent.parent.name, path))
    return found
