"""nbgrader's command line, started fast: one slow optional import skipped, and a warm fork per submission.

Every submission's ``nbgrader autograde`` runs in a process of its own, so its start-up is paid once per
notebook. Two costs dominate it, and both go:

- ``jsonschema`` imports the optional ``rfc3987_syntax`` package, which compiles dozens of grammars to check
  the ``iri`` string format. No schema nbgrader or nbformat validates uses that format (nbformat validates
  without a format checker), so the import is skipped: the same validation, the same grades.
- importing nbgrader itself (its apps, exchange and server extensions: about 2 s of a cold process). A
  worker keeps a *fork server* (:mod:`multiprocessing`'s ``forkserver``) that has imported nbgrader once;
  each submission's nbgrader is a fresh fork of it: a new process, session and environment per submission,
  so isolation is as before, without a cold interpreter each time.

``python -m autograder.execute.nbgrader_cli ARGS`` runs nbgrader's command line the same way (a cold process
with the import skipped). Plain ``nbgrader`` is untouched.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.util
import os
import sys
import tempfile

#: Optional imports that cost start-up time and serve no check nbgrader makes.
SKIPPED_IMPORTS = ("rfc3987_syntax",)


def skip_slow_imports() -> None:
    """Make the imports in :data:`SKIPPED_IMPORTS` raise ImportError, which their importers expect."""
    for name in SKIPPED_IMPORTS:
        sys.modules.setdefault(name, None)


def run_forked(argv: list[str], cwd: str, env: dict[str, str], log: str) -> None:
    """Run nbgrader's CLI in its own session, environment, folder and log (one forked submission).

    Runs in a child of the fork server (never in the worker itself); the exit status is nbgrader's.
    """
    os.setsid()  # its own process group: a time-out kills it and everything it started
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(env)
    sys.argv = ["nbgrader", *argv]
    main()


_CONTEXT: multiprocessing.context.BaseContext | None = None


#: Longest temporary folder whose sockets (``<folder>/pymp-XXXXXXXX/listener-XXXXXXXX``) fit in 107 bytes.
MAX_SOCKET_FOLDER = 70


def _short_socket_folder() -> None:
    """Give :mod:`multiprocessing` a temporary folder short enough for its Unix sockets.

    The fork server and the resource tracker listen on sockets in ``multiprocessing.util.get_temp_dir()``,
    made once per process under ``TMPDIR``. A long ``TMPDIR`` (a test's or a cluster job's scratch folder)
    would make every grading fail with "AF_UNIX path too long"; under ``/tmp`` they fit.
    """
    if len(tempfile.gettempdir()) <= MAX_SOCKET_FOLDER or not os.path.isdir("/tmp"):
        return
    previous = tempfile.tempdir
    tempfile.tempdir = "/tmp"
    try:
        multiprocessing.util.get_temp_dir()  # made now under /tmp, then kept for this process
    finally:
        tempfile.tempdir = previous


def forked_context() -> multiprocessing.context.BaseContext:
    """Return this process's fork-server context; its server (started on first use) has nbgrader loaded."""
    global _CONTEXT
    if _CONTEXT is None:
        _short_socket_folder()
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["autograder.execute.nbgrader_preload"])
        _CONTEXT = context
    return _CONTEXT


def main() -> None:
    """Run nbgrader's command line (``sys.argv``) in this process, with the slow imports skipped."""
    skip_slow_imports()
    from nbgrader.apps.nbgraderapp import main as nbgrader_main

    nbgrader_main()


if __name__ == "__main__":
    main()
