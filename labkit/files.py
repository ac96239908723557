"""Atomic, never-clobbering file writes and the one-line error of a bad file.

The bottom layer shared by every writer: labkit's data files and the grader's ledger, gradebook copies and
exports (``autograder`` imports it; of either package it imports only :mod:`labkit.exits`, the declared
user errors).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from labkit.exits import RefusedOverwriteError, UnwritableFileError, UserError


class DataFileError(UserError, ValueError):
    """A data file is missing, truncated, of the wrong format or breaks its contract.

    The message is one line naming the file, what is wrong and the command that fixes it.
    """


def summarise_problems(problems: list[str]) -> str:
    """Return the first problem of a non-empty list, with how many more there are (one line)."""
    more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
    return f"{problems[0]}{more}"


def refuse_overwrite(path: Path, force: bool, command: str) -> None:
    """Refuse to replace ``path`` when it exists and ``force`` is false.

    Raises :class:`~labkit.exits.RefusedOverwriteError`, a ``FileExistsError``.

    Parameters
    ----------
    path
        The file about to be written.
    force
        Whether overwriting was asked for.
    command
        The command the user ran, repeated in the message with ``--force``.
    """
    if path.exists() and not force:
        raise RefusedOverwriteError(
            f"{path}: already exists; nothing was written. "
            f"Fix: `{command} --force` to replace it, or choose another --out."
        )


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path`` in one rename.

    A crash or an exception leaves any existing file untouched and removes the temporary file; a folder that
    cannot be written to is an :class:`~labkit.exits.UnwritableFileError`. The file
    gets the mode a plain ``open(path, "w")`` would give it (``0o666`` less the umask), not the temporary
    file's private ``0o600``: data files must be readable by the students' servers of the course hub.
    """
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as error:
        raise UnwritableFileError(
            f"{target}: cannot be written ({error.strerror or type(error).__name__}); nothing was written. "
            "Fix: choose a folder you can write to, or make this one writable."
        ) from None
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        with open(tmp_path, "rb") as handle:
            os.fsync(handle.fileno())
        os.chmod(tmp_path, 0o666 & ~current_umask())
        os.replace(tmp_path, target)
    finally:
        tmp_path.unlink(missing_ok=True)


def current_umask() -> int:
    """Return the process's umask (from ``/proc/self/status`` where Linux shows it, without changing it)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)  # elsewhere: read it by setting it, and put it back at once
    os.umask(mask)
    return mask


def atomic_write(path: str | os.PathLike[str], writer: Callable[[Path], None]) -> Path:
    """Write a file atomically: ``writer(tmp)`` fills a temporary file that then replaces ``path``."""
    with atomic_path(path) as tmp:
        writer(tmp)
    return Path(path)
