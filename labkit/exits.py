"""How the command lines end: an exit code, and one line on stderr for every failure a user can fix.

Both ``labkit`` and ``course-grade`` run their subcommands through :func:`run_command`, so a bad input, a
missing or invalid file, a refused overwrite and Ctrl-C read the same in both: ``PROG: error: WHAT. Fix:
...`` (exit 2) or ``PROG: interrupted; ...`` (exit 130). Anything else is a bug and keeps its traceback.

What a user can fix is declared, not guessed from the builtin type: code raises a :class:`UserError`
(:class:`BadArgumentError`, :class:`MissingFileError`, :class:`RefusedOverwriteError`,
:class:`UnwritableFileError`, ``labkit.files.DataFileError``, ``autograder.CourseError``), and a plain
``ValueError`` or ``OSError`` from a bug propagates with its traceback. Each declared class also subclasses
the builtin it refines (a ``MissingFileError`` is a ``FileNotFoundError``), so ``except FileNotFoundError``
still catches it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

#: A check ran and found problems.
EXIT_PROBLEMS = 1
#: Bad input: a missing, invalid or existing file, a wrong argument (one line on stderr).
EXIT_ERROR = 2
#: Stopped with Ctrl-C (128 + SIGINT, as shells report it).
EXIT_INTERRUPTED = 130


class UserError(Exception):
    """A failure the user can fix; the message is one line: the file or value, what is wrong, the fix."""


class BadArgumentError(UserError, ValueError):
    """A command-line option or setting out of range or of the wrong form."""


class MissingFileError(UserError, FileNotFoundError):
    """A file or folder the command needs is not there."""


class RefusedOverwriteError(UserError, FileExistsError):
    """An existing file that the command does not replace without ``--force``."""


class UnwritableFileError(UserError, OSError):
    """A file the command must write cannot be created there (permissions, read-only or full file system)."""


#: The failures every command reports in one line: the declared ones only.
USER_ERRORS: tuple[type[Exception], ...] = (UserError,)


def one_line(error: BaseException) -> str:
    """Return the message of ``error`` on one line (its type when it has no message)."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return "; ".join(lines) or type(error).__name__


def run_command(
    prog: str,
    command: Callable[[], int | None],
    errors: tuple[type[Exception], ...] = (),
    interrupted: str = "interrupted",
) -> int:
    """Run ``command`` and return its exit code, turning user-facing failures into one stderr line.

    Parameters
    ----------
    prog
        What the line starts with (``labkit``, ``course-grade grade``).
    command
        The subcommand; returns its exit code (None = 0).
    errors
        More exception types that are the user's to fix, beside :data:`USER_ERRORS` (for a class that
        cannot subclass :class:`UserError`).
    interrupted
        What the line says after Ctrl-C (what was kept, how to go on).

    Returns
    -------
    int
        The command's code, :data:`EXIT_ERROR` after a user-facing failure, :data:`EXIT_INTERRUPTED` after
        Ctrl-C.
    """
    try:
        return int(command() or 0)
    except KeyboardInterrupt:
        print(f"{prog}: {interrupted}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except (*USER_ERRORS, *errors) as error:
        print(f"{prog}: error: {one_line(error)}", file=sys.stderr)
        return EXIT_ERROR
