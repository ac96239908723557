"""autograder.config: every course setting is read from the course's nbgrader_config.py, nowhere else.

A course that renames nbgrader's folders, its hidden-test delimiters and its time limits is built, graded
and given feedback under its own names, with the same scores as the default mini course.
"""

from __future__ import annotations

import nbformat
import pytest
from autograder_support import SOLVED, mini_course, with_cells
from traitlets.config import Config

from autograder import CourseError
from autograder.cells import hidden_test_cells, read_notebook
from autograder.cli import main
from autograder.collect import collect
from autograder.config import Folders, Markers, Timeouts, default_markers, load_config
from autograder.grade import grade
from autograder.options import GradeOptions

RENAMED = """
c.CourseDirectory.submitted_directory = "handins"
c.CourseDirectory.autograded_directory = "graded"
c.CourseDirectory.feedback_directory = "returned"
c.ClearHiddenTests.begin_test_delimeter = "BEGIN SECRET TESTS"
c.ClearHiddenTests.end_test_delimeter = "END SECRET TESTS"
c.GuardedExecute.notebook_timeout = 240
"""


def _renamed_course(tmp_path):
    root = mini_course(tmp_path)
    (root / "nbgrader_config.py").write_text((root / "nbgrader_config.py").read_text() + RENAMED)
    for name in ("mini.py", "mini.ipynb"):
        path = root / "source" / "mini" / name
        path.write_text(path.read_text().replace("HIDDEN TESTS", "SECRET TESTS"))
    return root


def test_config_reads_labs_and_timeouts(tmp_path):
    cfg = load_config(mini_course(tmp_path))
    assert cfg.labs == ("mini",) and cfg.timeouts.cell == 20 and cfg.course_id == "course-mini"
    assert not str(cfg.work_root).startswith(str(cfg.root))
    with pytest.raises(CourseError, match="unknown lab"):
        cfg.check_lab("nope")
    with pytest.raises(CourseError, match="no nbgrader_config.py"):
        load_config(tmp_path / "nowhere")


def test_unset_settings_are_nbgraders_own_defaults():
    from nbgrader.coursedir import CourseDirectory
    from nbgrader.preprocessors import Execute

    from autograder.execute.guarded import GuardedExecute

    timeouts = Timeouts.of(Config())
    assert timeouts.cell == Execute.class_traits()["timeout"].default()
    assert timeouts.notebook == GuardedExecute.class_traits()["notebook_timeout"].default()
    folders = Folders.of(Config())
    assert folders.submitted == CourseDirectory.class_traits()["submitted_directory"].default()
    assert default_markers() == Markers.of(Config())


def test_the_course_file_sets_them_and_the_run_overrides_only_what_it_names(tmp_path):
    cfg = load_config(_renamed_course(tmp_path))
    assert (cfg.timeouts.cell, cfg.timeouts.startup, cfg.timeouts.notebook) == (20, 60, 240)
    assert cfg.timeouts.replaced(cell=5) == Timeouts(5, 60, 240)
    assert cfg.timeouts.replaced() == cfg.timeouts
    assert cfg.submitted_notebook("s1", "mini") == cfg.root / "handins" / "s1" / "mini" / "mini.ipynb"
    assert cfg.autograded_notebook("s1", "mini").parts[-4] == "graded"
    source = read_notebook(cfg.source_notebook("mini"))
    assert set(hidden_test_cells(source, cfg.markers)) == {"test_square", "test_mean"}
    assert hidden_test_cells(source) == {}  # nbgrader's default delimiters find nothing here


@pytest.mark.e2e
def test_a_course_with_its_own_folder_names_and_delimiters_is_graded_the_same(tmp_path):
    root = _renamed_course(tmp_path)
    assert main(["--course", str(root), "--quiet", "build"]) == 0
    release = read_notebook(root / "release" / "mini" / "mini.ipynb")
    assert "SECRET TESTS" not in "".join(cell.source for cell in release.cells)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    nbformat.write(with_cells(release, SOLVED), str(inbox / "mini_solved.ipynb"))
    nbformat.write(release, str(inbox / "mini_blank.ipynb"))
    cfg = load_config(root)
    collect(cfg, inbox)
    assert cfg.submitted_notebook("solved", "mini").is_file() and not (root / "submitted").exists()
    opts = GradeOptions(jobs=2, memory_mb=1024, quiet=True)
    scores = {entry.student: entry.score for entry in grade(cfg, ["mini"], opts)}
    assert scores == {"solved": 5, "blank": 0}
    assert cfg.autograded_notebook("solved", "mini").is_file() and not (root / "autograded").exists()
    assert main(["--course", str(root), "--quiet", "feedback", "mini"]) == 0
    (page,) = (root / "returned" / "solved" / "mini").glob("*.html")
    hidden = hidden_test_cells(read_notebook(cfg.source_notebook("mini")), cfg.markers)
    assert not any(
        line.strip() in page.read_text() for lines in hidden.values() for line in lines if len(line) > 20
    )
