"""autograder/build/sync.py: a source script that drifted from its notebook is found."""

from __future__ import annotations

from autograder_support import mini_course

from autograder.build.sync import check_sync, sync
from autograder.config import load_config


def test_check_sync_detects_drift(tmp_path):
    cfg = load_config(mini_course(tmp_path))
    assert check_sync(cfg) == []
    script = cfg.source_script("mini")
    script.write_text(script.read_text().replace("Return x squared", "Return x times x"))
    problems = check_sync(cfg)
    assert len(problems) == 1 and "course-grade sync" in problems[0]


def test_sync_says_what_it_rewrote(tmp_path):
    cfg = load_config(mini_course(tmp_path))
    assert sync(cfg) == ["mini: in sync"]
    script = cfg.source_script("mini")
    script.write_text(script.read_text().replace("Return x squared", "Return x times x"))
    assert sync(cfg) == ["mini: rewrote mini.ipynb (now in sync)"]
    assert check_sync(cfg) == [] and sync(cfg) == ["mini: in sync"]
