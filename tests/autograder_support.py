"""Helpers shared by the autograder tests: a scratch copy of the mini course and notebook edits."""

from __future__ import annotations

import copy
import hashlib
import shutil
from pathlib import Path

import nbformat

FIXTURE = Path(__file__).parent / "fixtures" / "course_mini"
RUNTIME = {"autograded", "feedback", "gradebook.db", ".grading", "exports", "submitted"}


def mini_course(tmp_path: Path) -> Path:
    """Copy the mini course into ``tmp_path/course`` and return it."""
    root = tmp_path / "course"
    shutil.copytree(FIXTURE, root)
    return root


def tree_hash(root: Path, skip: set[str] = RUNTIME) -> dict[str, str]:
    """Return sha256 of every file under ``root`` except runtime outputs."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.relative_to(root).parts[0] not in skip
    }


def with_cells(nb, replace: dict[str, str] | None = None, after_setup: str | None = None):
    """Return a copy of ``nb`` with cell sources replaced by grade id and an optional extra cell."""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if gid in (replace or {}):
            cell.source = replace[gid]
    if after_setup is not None:
        index = next(i for i, c in enumerate(nb.cells) if "import math" in c.source)
        nb.cells.insert(index + 1, nbformat.v4.new_code_cell(after_setup))
    return nb


SOLVED = {
    "square": "def square(x):\n    return x * x\n",
    "mean_value": "def mean_value(values):\n    return sum(values) / len(values)\n",
    "q1": "Because a product of equal signs is positive.",
}
