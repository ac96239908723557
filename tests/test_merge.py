"""autograder/merge.py: one worker `Result` into the course (the autograded notebook and gradebook rows).

The course is the mini course; its lab comes from the real grading kit (nbgrader generate_assignment, no
kernel). The gradebook must end as plain ``nbgrader autograde`` leaves it.
"""

from __future__ import annotations

import pytest
from autograder_support import mini_course, mini_kit
from nbgrader.api import Gradebook

from autograder.config import load_config
from autograder.merge import SECRET_FILE, ensure_assignment, merge_result
from autograder.records import Grade, Result


@pytest.fixture(scope="module")
def kit(tmp_path_factory):
    return mini_kit(tmp_path_factory.mktemp("merge-kit"))


@pytest.fixture
def cfg(tmp_path, kit):
    cfg = load_config(mini_course(tmp_path))
    assert ensure_assignment(cfg, "mini", kit) is None  # no due date set in the course gradebook
    return cfg


def _result(notebook: bytes | None, square: float, mean: float, **extra) -> Result:
    grades = {
        "test_square": Grade(square, False, 2.0, "code"),
        "test_mean": Grade(mean, False, 3.0, "code"),
        "q1": Grade(None, True, 1.0, "markdown"),
    }
    comments = {"square": None, "mean_value": "No response.", "no_such_cell": "ignored"}
    return Result("s1", "mini", "key", notebook, grades, comments, [], "2030-01-02 10:00:00", 1.0, **extra)


def _grades(cfg) -> dict[str, tuple]:
    with Gradebook(cfg.db_url, cfg.course_id) as gb:
        notebook = gb.find_submission_notebook("mini", "mini", "s1")
        rows = {g.name: (g.auto_score, g.needs_manual_grade, g.max_score) for g in notebook.grades}
        rows["comments"] = {c.name: c.auto_comment for c in notebook.comments}
        rows["penalty"] = notebook.late_submission_penalty
        rows["submissions"] = len(gb.find_student("s1").submissions)
        return rows


def test_ensure_assignment_copies_the_kits_cells_and_returns_the_courses_due_date(cfg, kit):
    with Gradebook(cfg.db_url, cfg.course_id) as gb:
        notebook = gb.find_notebook("mini", "mini")
        assert {c.name: c.max_score for c in notebook.grade_cells} == {
            "test_square": 2,
            "test_mean": 3,
            "q1": 1,
        }
        assert {c.name for c in notebook.solution_cells} == {"square", "mean_value", "q1"}
        assert [c.name for c in notebook.source_cells][:3] == ["setup", "square", "test_square"]
        gb.update_or_create_assignment("mini", duedate="2030-01-01 00:00:00")
    assert ensure_assignment(cfg, "mini", kit) == "2030-01-01T00:00:00"  # set by the instructor, kept


def test_a_result_becomes_the_gradebook_rows_and_the_autograded_notebook(cfg):
    submitted = cfg.root / "submitted" / "s1" / "mini"
    submitted.mkdir(parents=True)
    (submitted / SECRET_FILE).write_text("secret-1")
    merge_result(cfg, _result(b'{"first": 1}', 2.0, 0.0, late_penalty=0.5))
    folder = cfg.root / "autograded" / "s1" / "mini"
    assert (folder / "mini.ipynb").read_bytes() == b'{"first": 1}'
    assert (folder / "timestamp.txt").read_text() == "2030-01-02 10:00:00"
    assert (folder / SECRET_FILE).read_text() == "secret-1"  # release_feedback files feedback by it
    assert sorted(p.name for p in folder.iterdir()) == sorted(["mini.ipynb", "timestamp.txt", SECRET_FILE])
    rows = _grades(cfg)
    assert rows["test_square"] == (2.0, False, 2.0) and rows["test_mean"] == (0.0, False, 3.0)
    assert rows["q1"] == (None, True, 1.0)  # a written answer waits for the grader
    assert rows["comments"] == {"square": None, "mean_value": "No response.", "q1": None}
    assert rows["penalty"] == 0.5 and rows["submissions"] == 1
    with Gradebook(cfg.db_url, cfg.course_id) as gb:
        assert str(gb.find_submission("mini", "s1").timestamp) == "2030-01-02 10:00:00"


def test_a_second_merge_replaces_the_first_atomically_and_keeps_a_manual_grade_in_view(cfg):
    merge_result(cfg, _result(b'{"first": 1}', 0.0, 0.0))
    path = cfg.root / "autograded" / "s1" / "mini" / "mini.ipynb"
    with open(path, "rb") as first, Gradebook(cfg.db_url, cfg.course_id) as gb:
        gb.find_grade("test_mean", "mini", "mini", "s1").manual_score = 1.0  # a grader's override
        gb.db.commit()
        inode = path.stat().st_ino
        merge_result(cfg, _result(b'{"second": 2}', 2.0, 3.0))
        assert first.read() == b'{"first": 1}'  # replaced by a rename, never rewritten in place
    assert path.read_bytes() == b'{"second": 2}' and path.stat().st_ino != inode
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".")]  # no temporary file left
    rows = _grades(cfg)
    assert rows["test_square"] == (2.0, False, 2.0) and rows["submissions"] == 1
    assert rows["test_mean"] == (3.0, True, 3.0)  # the manual score stays for the grader to review
    merge_result(cfg, _result(None, 0.0, 0.0))  # nbgrader wrote no notebook this time
    assert not path.exists() and _grades(cfg)["test_square"] == (0.0, False, 2.0)
