"""CI checks of the real labs (autograder/build/ on the course itself): jupytext pairs in sync, release fresh
and leak-free, every given code cell locked."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

from autograder.build.release import leaks, stale_cells
from autograder.build.sync import check_sync
from autograder.cells import read_notebook, unlocked_code_cells
from autograder.config import load_config

COURSE = load_config(Path(__file__).resolve().parents[1])


def _lab_or_skip(lab: str) -> str:
    if not COURSE.source_notebook(lab).is_file():
        pytest.skip(f"{COURSE.source_notebook(lab)} does not exist yet (lab not written)")
    return lab


@pytest.mark.parametrize("lab", COURSE.labs)
def test_pair_in_sync(lab):
    assert check_sync(COURSE, [_lab_or_skip(lab)]) == []


@pytest.mark.parametrize("lab", COURSE.labs)
def test_release_leak_free(lab):
    _lab_or_skip(lab)
    assert COURSE.release_notebook(lab).is_file(), (
        f"{COURSE.release_notebook(lab)} missing: run `course-grade build`"
    )
    assert leaks(COURSE, lab) == []


@pytest.mark.slow
@pytest.mark.parametrize("lab", COURSE.labs)
def test_release_not_stale(lab):
    assert stale_cells(COURSE, _lab_or_skip(lab)) == []


@pytest.mark.parametrize("lab", COURSE.labs)
def test_every_given_code_cell_of_the_labs_is_locked(lab):
    assert unlocked_code_cells(read_notebook(COURSE.source_notebook(_lab_or_skip(lab)))) == []


def _value_of_last_line(source: str, namespace: dict) -> str | None:
    """Return why the last statement of a test cell's code can leave a value as the cell's output, or None.

    A bare expression is allowed only as a call of a function the lab imports whose annotated return is
    ``None`` (``check_accuracy(...)``) or of ``print``; anything else may print a number nbgrader reads as
    partial credit.
    """
    body = ast.parse(source).body
    last = body[-1] if body else None
    if not isinstance(last, ast.Expr):
        return None
    call = last.value
    name = call.func.id if isinstance(call, ast.Call) and isinstance(call.func, ast.Name) else None
    if name == "print" or (
        name in namespace and inspect.signature(namespace[name]).return_annotation in (None, "None")
    ):
        return None
    return ast.unparse(last)


@pytest.mark.parametrize("lab", COURSE.labs)
def test_no_visible_test_of_the_labs_leaves_a_value_that_reads_as_a_score(lab):
    """nbgrader's Validate (and grading) read a graded cell's numeric output as partial credit: the visible
    code of every test cell of the release ends with a statement, or with a call that returns nothing."""
    import labkit.labs.ecg
    import labkit.labs.hr

    namespace = {**vars(labkit.labs.ecg), **vars(labkit.labs.hr)}
    notebook = read_notebook(COURSE.release_notebook(_lab_or_skip(lab)))
    tests = [
        c for c in notebook.cells if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade")
    ]
    assert tests
    found = {c.metadata["nbgrader"]["grade_id"]: _value_of_last_line(c.source, namespace) for c in tests}
    assert {k: v for k, v in found.items() if v} == {}
