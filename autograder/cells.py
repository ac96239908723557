"""Reading nbgrader cells: grade ids, solution regions, hidden tests (shared by build, collect, feedback)."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from autograder.config import Markers, default_markers

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


def hidden_test_cells(nb: NotebookNode, markers: Markers | None = None) -> dict[str, list[str]]:
    """Map the grade id of each cell holding hidden tests to its hidden lines."""
    m = markers or default_markers()
    return {
        grade_id(c) or f"cell{i}": region_lines(c.source, m.begin_hidden, m.end_hidden)
        for i, c in enumerate(nb.cells)
        if m.has_hidden(c.source)
    }


def secret_lines(nb: NotebookNode, markers: Markers | None = None) -> dict[str, list[str]]:
    """Map each secret-bearing cell of a source notebook to its secret lines.

    Secrets are the lines of solution regions, whole markdown model answers and hidden tests; lines
    shorter than ``MIN_SECRET_LINE`` characters or also present outside secret regions (boilerplate such as
    ``return x``) are left out, so that a match in a release is a real leak.
    """
    m = markers or default_markers()
    secrets: dict[str, list[str]] = {}
    public: set[str] = set()
    for i, cell in enumerate(nb.cells):
        key = grade_id(cell) or f"cell{i}"
        meta = nbgrader_meta(cell)
        if cell.cell_type == "markdown" and meta.get("solution"):
            lines = cell.source.splitlines()
        else:
            lines = region_lines(cell.source, m.begin_solution, m.end_solution)
            lines += region_lines(cell.source, m.begin_hidden, m.end_hidden)
            public.update(outside_regions(cell.source, m))
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


def outside_regions(source: str, markers: Markers | None = None) -> set[str]:
    """Return the stripped lines of ``source`` outside every solution and hidden-test region."""
    m = markers or default_markers()
    inside, public = False, set()
    for line in source.splitlines():
        if m.begin_solution.match(line) or m.begin_hidden.match(line):
            inside = True
        elif m.end_solution.match(line) or m.end_hidden.match(line):
            inside = False
        elif not inside:
            public.add(line.strip())
    return public
