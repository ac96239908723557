"""Reading nbgrader cells: grade ids, solution regions, hidden tests (shared by build, collect, feedback)."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
from nbformat import NotebookNode

BEGIN_SOLUTION = re.compile(r"^\s*#+\s*BEGIN SOLUTION")
END_SOLUTION = re.compile(r"^\s*#+\s*END SOLUTION")
BEGIN_HIDDEN = re.compile(r"^\s*#+\s*BEGIN HIDDEN TESTS")
END_HIDDEN = re.compile(r"^\s*#+\s*END HIDDEN TESTS")
MIN_SECRET_LINE = 12
#: Cell tag of a code cell the student may edit that is neither an exercise nor given code.
FREE_TAG = "student-free"


def read_notebook(path: Path) -> NotebookNode:
    """Read a notebook as nbformat v4."""
    return nbformat.read(str(path), as_version=4)


def nbgrader_meta(cell: NotebookNode) -> dict:
    """Return the cell's nbgrader metadata (empty when none)."""
    return dict(cell.get("metadata", {}).get("nbgrader", {}) or {})


def grade_id(cell: NotebookNode) -> str | None:
    """Return the cell's nbgrader grade id, if any."""
    return nbgrader_meta(cell).get("grade_id")


def unlocked_code_cells(nb: NotebookNode) -> list[int]:
    """Return the indices of code cells a student could edit that nbgrader would not restore.

    Given code must be locked (nbgrader restores locked cells at grading); exercises are solution cells;
    a cell the student may change on purpose carries the ``FREE_TAG`` tag.
    """
    return [
        index
        for index, cell in enumerate(nb.cells)
        if cell.cell_type == "code"
        and not any(nbgrader_meta(cell).get(key) for key in ("locked", "solution", "grade"))
        and FREE_TAG not in cell.get("metadata", {}).get("tags", [])
    ]


def grade_ids(nb: NotebookNode) -> set[str]:
    """Return every nbgrader grade id of a notebook."""
    return {gid for gid in (grade_id(c) for c in nb.cells) if gid}


def split_regions(source: str, begin: re.Pattern, end: re.Pattern) -> tuple[list[str], list[str], bool]:
    """Split ``source`` at ``begin`` / ``end`` marker lines (the markers themselves dropped).

    Returns
    -------
    tuple
        The lines outside every region, the lines inside them, and whether the last region was closed.
    """
    outside, within, inside = [], [], False
    for line in source.splitlines():
        if begin.match(line):
            inside = True
        elif end.match(line):
            inside = False
        else:
            (within if inside else outside).append(line)
    return outside, within, not inside


def region_lines(source: str, begin: re.Pattern, end: re.Pattern) -> list[str]:
    """Return the lines strictly between ``begin`` and ``end`` markers."""
    return split_regions(source, begin, end)[1]


def hidden_test_cells(nb: NotebookNode) -> dict[str, list[str]]:
    """Map the grade id of each cell holding hidden tests to its hidden lines."""
    return {
        grade_id(c) or f"cell{i}": region_lines(c.source, BEGIN_HIDDEN, END_HIDDEN)
        for i, c in enumerate(nb.cells)
        if any(BEGIN_HIDDEN.match(line) for line in c.source.splitlines())
    }


def secret_lines(nb: NotebookNode) -> dict[str, list[str]]:
    """Map each secret-bearing cell of a source notebook to its secret lines.

    Secrets are the lines of solution regions, whole markdown model answers and hidden tests; lines
    shorter than ``MIN_SECRET_LINE`` characters or also present outside secret regions (boilerplate such as
    ``return x``) are left out, so that a match in a release is a real leak.
    """
    secrets: dict[str, list[str]] = {}
    public: set[str] = set()
    for i, cell in enumerate(nb.cells):
        key = grade_id(cell) or f"cell{i}"
        meta = nbgrader_meta(cell)
        if cell.cell_type == "markdown" and meta.get("solution"):
            lines = cell.source.splitlines()
        else:
            lines = region_lines(cell.source, BEGIN_SOLUTION, END_SOLUTION)
            lines += region_lines(cell.source, BEGIN_HIDDEN, END_HIDDEN)
            public.update(outside_regions(cell.source))
        if lines:
            secrets[key] = lines
    return {
        key: kept
        for key, lines in secrets.items()
        if (
            kept := [
                ln.strip() for ln in lines if len(ln.strip()) >= MIN_SECRET_LINE and ln.strip() not in public
            ]
        )
    }


def outside_regions(source: str) -> set[str]:
    """Return the stripped lines of ``source`` outside every solution and hidden-test region."""
    inside, public = False, set()
    for line in source.splitlines():
        if BEGIN_SOLUTION.match(line) or BEGIN_HIDDEN.match(line):
            inside = True
        elif END_SOLUTION.match(line) or END_HIDDEN.match(line):
            inside = False
        elif not inside:
            public.add(line.strip())
    return public
