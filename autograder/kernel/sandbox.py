"""Kernel launcher that confines a student's kernel before it starts, and the kernelspec that uses it.

Run as ``python -m autograder.kernel.sandbox [limits] -- -f CONNECTION_FILE``: it starts a new session (so the
whole process group can be killed), sets resource limits (address space or data segment, file size,
process count, core dumps), drops to an unprivileged user when started as root, then replaces itself
with ``python -m autograder.kernel.guard`` (the tamper-evident IPython kernel). See docs/security.md
for what this does and does not prevent.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import sys
from dataclasses import asdict
from pathlib import Path

from autograder.kernel.confine import Confinement, bwrap_argv, bwrap_available
from autograder.records import Limits

KERNEL_NAME = "course-sandbox"


def kernel_uid(limits: Limits) -> int | None:
    """Return the uid the kernel will run as, or None when it keeps the grader's uid.

    Dropping privileges needs root and an interpreter that the other user can reach (every parent
    folder of the Python installation world-searchable); otherwise the kernel keeps the grader's uid.
    """
    if os.geteuid() != 0 or limits.uid < 0 or not _reachable_by_others(Path(sys.executable).resolve()):
        return None
    return limits.uid


def _reachable_by_others(path: Path) -> bool:
    import sysconfig

    stdlib = Path(sysconfig.get_paths()["stdlib"]).resolve()
    folders = {*path.parents, *stdlib.parents, stdlib}
    return bool(os.stat(path).st_mode & 0o001) and all(os.stat(f).st_mode & 0o001 for f in folders)


def write_kernelspec(jupyter_dir: Path, limits: Limits, confinement: Confinement | None = None) -> Path:
    """Write the sandboxed kernelspec under ``jupyter_dir/kernels/`` and return its folder.

    With a ``confinement`` and a working ``bwrap``, the kernel also runs in its own mount and PID
    namespace (see :mod:`autograder.kernel.confine`).
    """
    argv = [sys.executable, "-m", "autograder.kernel.sandbox", "--memory-mb", str(limits.memory_mb)]
    argv += ["--fsize-mb", str(limits.fsize_mb), "--nproc", str(limits.nproc), "--uid", str(limits.uid)]
    if confinement is not None:
        argv += ["--confine", json.dumps(asdict(confinement))]
    argv += ["--", "-f", "{connection_file}"]
    spec = {"argv": argv, "display_name": "Python 3 (sandboxed grading)", "language": "python"}
    folder = jupyter_dir / "kernels" / KERNEL_NAME
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "kernel.json").write_text(json.dumps(spec, indent=1))
    return folder


def _processes_of(uid: int) -> int:
    count = 0
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                count += os.stat(f"/proc/{pid}").st_uid == uid
            except OSError:
                continue
    return count


def apply_limits(limits: Limits, uid: int | None) -> None:
    """Set the resource limits of this process (inherited by the kernel and all its children)."""
    mb = 1024 * 1024
    if limits.memory_mb > 0:
        which = resource.RLIMIT_DATA if os.environ.get("CUDA_VISIBLE_DEVICES") else resource.RLIMIT_AS
        resource.setrlimit(which, (limits.memory_mb * mb, limits.memory_mb * mb))
    if limits.fsize_mb > 0:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limits.fsize_mb * mb, limits.fsize_mb * mb))
    if limits.nproc > 0:
        owner = os.getuid() if uid is None else uid
        cap = _processes_of(owner) + limits.nproc
        resource.setrlimit(resource.RLIMIT_NPROC, (cap, cap))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def drop_privileges(uid: int, connection_file: str) -> None:
    """Hand the connection file to ``uid`` and become that user (only called when running as root)."""
    os.chown(connection_file, uid, uid)
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)


def main(argv: list[str] | None = None) -> None:
    """Confine this process, then exec the IPython kernel."""
    parser = argparse.ArgumentParser(prog="python -m autograder.kernel.sandbox")
    parser.add_argument("--memory-mb", type=int, default=Limits.memory_mb)
    parser.add_argument("--fsize-mb", type=int, default=Limits.fsize_mb)
    parser.add_argument("--nproc", type=int, default=Limits.nproc)
    parser.add_argument("--uid", type=int, default=Limits.uid)
    parser.add_argument("--confine", default="", help="JSON of an autograder.kernel.confine.Confinement")
    parser.add_argument("kernel_args", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    kernel_args = [a for a in args.kernel_args if a != "--"]
    confined = bool(args.confine) and bwrap_available()
    # bwrap drops every capability itself: keep the uid then (a non-root bwrap could not unshare).
    limits = Limits(args.memory_mb, args.fsize_mb, args.nproc, -1 if confined else args.uid)
    uid = kernel_uid(limits)
    try:
        os.setsid()
    except OSError:
        pass  # already a session leader
    if uid is not None:
        drop_privileges(uid, kernel_args[kernel_args.index("-f") + 1])
    apply_limits(limits, uid)
    kernel = [sys.executable, "-m", "autograder.kernel.guard", *kernel_args]
    if confined:
        # Interrupts are sent to the whole process group: bwrap must survive them (the ignored disposition
        # is inherited), while ipykernel installs its own SIGINT handler around each execution.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        command = bwrap_argv(Confinement(**_tuples(json.loads(args.confine)))) + kernel
        os.execv(command[0], command)
    os.execv(sys.executable, kernel)


def _tuples(fields: dict) -> dict:
    return {key: tuple(value) if isinstance(value, list) else value for key, value in fields.items()}


if __name__ == "__main__":
    main()
