"""autograder/config.py: the course's settings read from its nbgrader_config.py."""

from __future__ import annotations

import pytest
from autograder_support import mini_course

from autograder import CourseError
from autograder.config import load_config


def test_config_reads_labs_and_timeouts(tmp_path):
    cfg = load_config(mini_course(tmp_path))
    assert cfg.labs == ("mini",) and cfg.cell_timeout == 20 and cfg.course_id == "course-mini"
    assert not str(cfg.work_root).startswith(str(cfg.root))
    with pytest.raises(CourseError, match="unknown lab"):
        cfg.check_lab("nope")
    with pytest.raises(CourseError, match="no nbgrader_config.py"):
        load_config(tmp_path / "nowhere")
