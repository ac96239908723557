"""autograder/cli.py: bad input is one line and exit 2."""

from __future__ import annotations

from autograder_support import mini_course

from autograder.cli import main, score_text
from autograder.plan.ledger import LedgerEntry


def test_cli_bad_input_is_one_line_exit_2(tmp_path, capsys):
    root = mini_course(tmp_path)
    assert main(["--course", str(root), "collect", str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no such folder or zip" in err[0]
    assert main(["--course", str(root), "grade", "nolab"]) == 2


def test_grade_max_epochs_reaches_every_kernel(tmp_path, monkeypatch, capsys):
    root = mini_course(tmp_path)
    seen = []
    monkeypatch.setattr("autograder.grade.grade", lambda cfg, labs, opts: seen.append(opts) or [])
    assert main(["--course", str(root), "grade", "--max-epochs", "3"]) == 0
    assert main(["--course", str(root), "grade"]) == 0
    assert [opts.extra_env for opts in seen] == [{"LABKIT_MAX_EPOCHS": "3"}, {}]
    assert main(["--course", str(root), "grade", "--max-epochs", "0"]) == 2
    assert "--max-epochs 0: must be at least 1" in capsys.readouterr().err


def test_score_line_says_what_is_left_to_grade_by_hand():
    entry = LedgerEntry(
        student="ada",
        lab="mini",
        key="k",
        score=3.0,
        max_score=21.0,
        auto_max_score=6.0,
        manual_max_score=15.0,
    )
    assert score_text(entry) == "   3.0 /   6.0 autograded, 15 points still to grade by hand"
    assert "by hand" not in score_text(LedgerEntry("ada", "mini", "k", 3.0, 6.0, 6.0, 0.0))
