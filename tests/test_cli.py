"""autograder/cli.py: bad input is one line and exit 2."""

from __future__ import annotations

from autograder_support import mini_course

from autograder.cli import main


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
