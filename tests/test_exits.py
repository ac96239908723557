"""labkit.exits: the one way both command lines report a failure and an interrupt."""

from __future__ import annotations

import pytest

from autograder import CourseError
from labkit.exits import (
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    BadArgumentError,
    MissingFileError,
    RefusedOverwriteError,
    UnwritableFileError,
    UserError,
    run_command,
)
from labkit.files import DataFileError


class CustomError(RuntimeError):
    pass


def _raise(error: BaseException):  # a command that fails with ``error``
    def command(*args):
        raise error

    return command


@pytest.mark.parametrize(
    "error",
    [
        DataFileError("x.npz: truncated. Fix: labkit data synth --force"),
        RefusedOverwriteError("x.npz: already exists"),
        MissingFileError("nowhere"),
        UnwritableFileError("x: read-only"),
        BadArgumentError("bad value\nsecond line"),
        CourseError("nbgrader_config.py: no labs. Fix: ..."),
    ],
)
def test_declared_user_errors_are_one_line_and_exit_2(error, capsys):
    assert isinstance(error, UserError)
    assert run_command("prog sub", _raise(error)) == EXIT_ERROR
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("prog sub: error: ")


@pytest.mark.parametrize(
    ("declared", "builtin"),
    [
        (DataFileError, ValueError),
        (BadArgumentError, ValueError),
        (MissingFileError, FileNotFoundError),
        (RefusedOverwriteError, FileExistsError),
        (UnwritableFileError, OSError),
        (CourseError, RuntimeError),
    ],
)
def test_declared_errors_are_still_the_builtin_they_refine(declared, builtin):
    assert issubclass(declared, UserError) and issubclass(declared, builtin)


@pytest.mark.parametrize(
    "error",
    [ValueError("a bug"), FileNotFoundError("a bug"), PermissionError("a bug"), OSError("a bug")],
    ids=type,
)
def test_plain_value_and_os_errors_are_bugs_that_keep_their_traceback(error, capsys):
    with pytest.raises(type(error), match="a bug"):
        run_command("prog", _raise(error))
    assert capsys.readouterr().err == ""


def test_extra_error_types_and_ctrl_c(capsys):
    assert run_command("prog", _raise(CustomError("course problem")), errors=(CustomError,)) == EXIT_ERROR
    assert capsys.readouterr().err == "prog: error: course problem\n"
    assert (
        run_command("prog", _raise(KeyboardInterrupt()), interrupted="interrupted; kept") == EXIT_INTERRUPTED
    )
    assert capsys.readouterr().err == "prog: interrupted; kept\n"


def test_exit_code_passes_through_and_bugs_keep_their_traceback():
    assert run_command("prog", lambda: None) == 0
    assert run_command("prog", lambda: 1) == 1
    with pytest.raises(CustomError):
        run_command("prog", _raise(CustomError("a bug")))


@pytest.mark.parametrize("main_name", ["labkit.cli", "autograder.cli"])
def test_both_command_lines_exit_130_with_one_line_on_ctrl_c(main_name, monkeypatch, tmp_path, capsys):
    import importlib

    module = importlib.import_module(main_name)
    if main_name == "labkit.cli":
        import labkit.datacli

        monkeypatch.setattr(labkit.datacli, "cmd_check", _raise(KeyboardInterrupt()))
        argv = ["data", "check", "--dir", str(tmp_path)]
    else:
        monkeypatch.setattr(module, "load_config", _raise(KeyboardInterrupt()))
        argv = ["sync"]
    assert module.main(argv) == EXIT_INTERRUPTED
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and "interrupted" in err[0]
