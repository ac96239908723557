"""autograder/effective.py: ``course-grade config`` shows each setting in effect with its origin."""

from __future__ import annotations

from autograder_support import mini_course

from autograder.cli import main
from autograder.effective import settings_in_effect


def _by_name(root, flags=None):
    return {s.name: s for s in settings_in_effect(root, flags)}


def test_a_changed_setting_shows_the_course_file_as_origin(tmp_path, monkeypatch):
    root = mini_course(tmp_path)
    monkeypatch.delenv("LABKIT_MAX_EPOCHS", raising=False)
    before = _by_name(root)
    assert "Execute.timeout" in before
    config = root / "nbgrader_config.py"
    config.write_text(
        config.read_text() + "\nc.Execute.timeout = 77\nc.ClearSolutions.end_solution_delimeter = 'END IT'\n"
    )
    after = _by_name(root)
    assert (after["Execute.timeout"].value, after["Execute.timeout"].origin) == (77, "nbgrader_config.py")
    assert after["ClearSolutions.end_solution_delimeter"].origin == "nbgrader_config.py"
    assert before["ClearSolutions.end_solution_delimeter"].origin == "nbgrader default"
    assert before["LABKIT_MAX_EPOCHS"].origin == "not set"


def test_flags_and_environment_are_named_as_origins(tmp_path, monkeypatch, capsys):
    root = mini_course(tmp_path)
    monkeypatch.setenv("LABKIT_MAX_EPOCHS", "4")
    found = _by_name(root, {"memory_mb": 512})
    assert (found["grade.memory_mb (--memory-mb)"].value, found["grade.memory_mb (--memory-mb)"].origin) == (
        512,
        "command-line flag",
    )
    assert (found["LABKIT_MAX_EPOCHS"].value, found["LABKIT_MAX_EPOCHS"].origin) == ("4", "environment")
    assert main(["--course", str(root), "config", "--max-epochs", "2", "--timeout-cell", "9"]) == 0
    out = capsys.readouterr().out
    assert "LABKIT_MAX_EPOCHS (--max-epochs)" in out and "'2'  [command-line flag]" in out
    assert "grade.cell_timeout (--timeout-cell)         = 9  [command-line flag]" in out
