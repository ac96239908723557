"""autograder/execute/restore.py: ``RestoreCells`` puts back every deleted grade cell, in source order.

On the mini lab's grading kit (source cells: setup, square, test_square, mean_value, test_mean, q1; grade
cells test_square, test_mean and the written answer q1). No kernel runs.
"""

from __future__ import annotations

import copy

import pytest
from autograder_support import mini_kit

from autograder.cells import grade_id, read_notebook
from autograder.execute.restore import RestoreCells


@pytest.fixture(scope="module")
def kit(tmp_path_factory):
    return mini_kit(tmp_path_factory.mktemp("restore"))


def _restored(kit, deleted: set[str]):
    release = read_notebook(kit / "release" / "mini" / "mini.ipynb")
    nb = copy.deepcopy(release)
    nb.cells = [cell for cell in nb.cells if grade_id(cell) not in deleted]
    resources = {
        "nbgrader": {"notebook": "mini", "assignment": "mini", "db_url": f"sqlite:///{kit / 'gradebook.db'}"}
    }
    nb, _ = RestoreCells(add_missing_cells=True).preprocess(nb, resources)
    return release, nb


def _ids(nb) -> list[str | None]:
    return [grade_id(cell) for cell in nb.cells]


def test_a_deleted_exercise_and_its_test_put_the_test_back_after_the_nearest_surviving_cell(kit):
    release, nb = _restored(kit, {"square", "test_square"})
    expected = [i for i in _ids(release) if i != "square"]
    assert _ids(nb) == expected  # test_square right after setup, every other cell where it was
    cell = nb.cells[expected.index("test_square")]
    meta = cell.metadata["nbgrader"]
    assert meta["grade"] and not meta["solution"] and meta["points"] == 2
    assert cell.cell_type == "code" and cell.outputs == []
    original = next(c for c in release.cells if grade_id(c) == "test_square")
    assert (
        cell.source.startswith("# This cell (id:test_square) was missing") and original.source in cell.source
    )


def test_every_grade_cell_comes_back_in_source_order_first_when_no_predecessor_survives(kit):
    everything = {"setup", "square", "test_square", "mean_value", "test_mean", "q1"}
    release, nb = _restored(kit, everything)
    assert [i for i in _ids(nb) if i] == ["test_square", "test_mean", "q1"]
    assert _ids(nb)[:3] == ["test_square", "test_mean", "q1"]  # first: nothing before them survived
    answer = nb.cells[2]
    assert answer.cell_type == "markdown" and answer.metadata["nbgrader"]["solution"] is True
    assert "editable" not in answer.metadata  # a written answer stays editable for the grader
    assert answer.metadata["nbgrader"]["points"] == 1


def test_a_deleted_test_after_a_deleted_first_cell_goes_first_and_later_ones_follow_their_predecessor(kit):
    release, nb = _restored(kit, {"setup", "square", "test_square", "test_mean"})
    ids = _ids(nb)
    assert ids[0] == "test_square"
    assert ids.index("test_mean") == ids.index("mean_value") + 1
    assert [i for i in ids if i] == ["test_square", "mean_value", "test_mean", "q1"]


def test_a_complete_submission_is_left_as_it_is(kit):
    release, nb = _restored(kit, set())
    assert _ids(nb) == _ids(release) and len(nb.cells) == len(release.cells)
