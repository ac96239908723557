"""CI checks of the real labs (autograder/build/ on the course itself): jupytext pairs in sync, release fresh
and leak-free, every given code cell locked."""

from __future__ import annotations

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
