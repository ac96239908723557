"""File-system confinement of grading kernels with bubblewrap (``bwrap``).

When ``bwrap`` works on the grading machine, every kernel runs in its own mount and PID namespace with all
capabilities dropped:

- the whole file system is read-only;
- the kernel has its own network namespace with only loopback: no host, local service or name server is
  reachable; it talks to nbgrader over IPC sockets in a private folder (jupyter_client's ``ipc`` transport);
- the course folder, the grading work root (every other submission) and ``/tmp`` are replaced by empty
  in-memory folders, so no path, relative or absolute, reaches source notebooks, the course gradebook or
  another student's work;
- only what the kernel needs is mounted back: its own worker folder (read-write), the data copy and the
  Python environment and ``labkit`` (read-only);
- the worker's private gradebook is masked by an empty read-only file, so student code cannot read
  hidden tests from it (nbgrader, outside the sandbox, still uses it);
- without capabilities the kernel cannot undo mounts, and process-count limits apply even to root.

Where ``bwrap`` is missing or cannot create namespaces, kernels run unconfined (resource limits only) and
``course-grade grade`` says so; docs/security.md lists what that leaves open.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

INSTALL_HINT = "install bubblewrap (Debian/Ubuntu: `apt-get install bubblewrap`)"


@dataclass(frozen=True)
class Confinement:
    """What a kernel may see.

    Attributes
    ----------
    work
        The worker folder (read-write): the notebook's folder, home, runtime files.
    sockets
        The folder of the kernel's IPC sockets (read-write); the kernel has no network, only loopback.
    hide
        Folders replaced by empty ones (the course root, the grading work root).
    read_only
        Folders mounted back read-only after hiding (Python environment, labkit, data copy).
    masked
        Files replaced by ``mask_with``, an empty read-only file (the private gradebook).
    gpu
        Give the kernel the host's ``/dev`` (GPU device files) instead of a minimal one.
    """

    work: str
    sockets: str = ""
    hide: tuple[str, ...] = ()
    read_only: tuple[str, ...] = ()
    masked: tuple[str, ...] = ()
    gpu: bool = False
    mask_with: str = ""
    extra: tuple[str, ...] = field(default=())


@functools.cache
def bwrap_available() -> bool:
    """Return True when ``bwrap`` exists and can create the namespaces the sandbox uses."""
    exe = shutil.which("bwrap")
    if exe is None:
        return False
    probe = [exe, *_base_options(gpu=False), "--", "/bin/true"]
    try:
        return subprocess.run(probe, capture_output=True, timeout=20, check=False).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def _base_options(gpu: bool) -> list[str]:
    options = ["--ro-bind", "/", "/", "--proc", "/proc"]
    options += ["--dev-bind", "/dev", "/dev"] if gpu else ["--dev", "/dev"]
    options += ["--tmpfs", "/tmp", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-net"]
    options += ["--cap-drop", "ALL", "--die-with-parent"]
    # Inside the PID namespace the kernel's parent is PID 1, which ipykernel's parent poller reads as
    # "orphaned" and exits; --die-with-parent already ends the kernel with its launcher.
    options += ["--unsetenv", "JPY_PARENT_PID"]
    return options


def _inside(path: Path, folders: list[Path]) -> bool:
    return any(path == folder or folder in path.parents for folder in folders)


def bwrap_argv(confinement: Confinement) -> list[str]:
    """Return the ``bwrap`` command line (up to and including ``--``) that applies ``confinement``."""
    resolved = sorted({Path(p).resolve() for p in confinement.hide}, key=lambda p: len(p.parts))
    hidden: list[Path] = []
    for folder in resolved:  # a folder inside another hidden one is hidden with it (and mounts over it)
        if not _inside(folder, hidden):
            hidden.append(folder)
    argv = [shutil.which("bwrap") or "bwrap", *_base_options(confinement.gpu)]
    for folder in hidden:
        argv += ["--tmpfs", str(folder)]
    tmp = Path("/tmp")
    for folder in (Path(p).resolve() for p in confinement.read_only):
        if _inside(folder, [*hidden, tmp]):
            argv += ["--ro-bind", str(folder), str(folder)]
    work = str(Path(confinement.work).resolve())
    argv += ["--bind", work, work]
    if confinement.sockets:
        sockets = str(Path(confinement.sockets).resolve())
        argv += ["--bind", sockets, sockets]
    for file in confinement.masked:  # (a bound /dev/null is not openable: binds are nodev)
        argv += ["--ro-bind", confinement.mask_with, str(Path(file).resolve())]
    for folder in hidden:  # after the binds inside them exist: nothing can be created there either
        argv += ["--remount-ro", str(folder)]
    argv += [*confinement.extra, "--"]  # the kernel keeps its working folder (the notebook's)
    return argv


def python_folders() -> tuple[str, ...]:
    """Return the folders the kernel's Python needs: the environment, ``labkit`` and ``autograder``.

    ``autograder`` holds the guarded kernel (:mod:`autograder.kernel.guard`); it carries no hidden test.
    """
    import autograder
    import labkit

    folders = {sys.prefix, sys.base_prefix}
    folders |= {str(Path(pkg.__file__).resolve().parent) for pkg in (labkit, autograder)}
    return tuple(sorted(folders))


def empty_file(folder: str | Path) -> str:
    """Create (once) an empty read-only file in ``folder`` to mask files with, and return its path."""
    path = Path(folder) / "empty-mask"
    if not path.is_file():
        path.write_bytes(b"")
        path.chmod(0o444)
    return str(path)
