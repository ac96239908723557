"""How the command lines end: an exit code, and one line on stderr for every failure a user can fix.

Both ``labkit`` and ``course-grade`` run their subcommands through :func:`run_command`, so a bad input, a
missing or invalid file, a refused overwrite and Ctrl-C read the same in both: ``PROG: error: WHAT. Fix:
...`` (exit 2) or ``PROG: interrupted; ...`` (exit 130). Anything else is a bug and keeps its traceback.
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
#: The failures every command reports in one line: ``DataFileError`` and bad values are ``ValueError``s,
#: missing, existing and unreadable files ``OSError``s.
USER_ERRORS: tuple[type[Exception], ...] = (ValueError, OSError)


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
        More exception types that are the user's to fix (e.g. ``autograder.CourseError``), beside
        :data:`USER_ERRORS`.
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
