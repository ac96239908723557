"""A student's server, confined: what it sees (bubblewrap), whose account it runs as, what it may use.

The file system of a student's server (and of every kernel and terminal it starts) is built from nothing:

- the system folders (``/usr``, ``/etc``, ``/bin``, ``/lib*``, ``/sys``), the Python installation, the course
  environment, ``labkit`` and the data folder, read-only;
- its own home, read-write; a private ``/tmp``; a new ``/proc`` (own PID namespace: no other process,
  hence no other process's environment, is visible) and a minimal ``/dev``;
- the course exchange as nbgrader's student side needs it, at the path of the course's ``Exchange.root``:
  ``outbound`` (released assignments) read-only, ``inbound`` = the student's own inbound folder (the
  exchange clerk, ``hub/exchange_clerk.py``, takes submissions from there and stamps their time),
  ``feedback`` = the student's own feedback only, read-only.

Nothing else exists in it: not the course folder (``source/``, gradebook, ``submitted/``), not the hub's
folder (database, cookie secret, other homes), not another student's submission or feedback. When the hub
runs as root each student also runs as an account of its own (a user id from ``<hub dir>/accounts.json``,
no system account needed): files of others that are not world-readable stay closed even if a path were
reachable, and process limits count per student. Without ``bwrap`` :func:`problem` says why and how to fix
it in one line, and the spawner refuses to start students' servers (unless the instructor chose a trusted
room, ``COURSE_HUB_TRUSTED_ROOM=1``).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import resource
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

#: First user id of the students' own accounts (when the hub runs as root); far above system and login ids.
UID_BASE = 40000
#: System folders every server needs, read-only (missing ones are skipped).
SYSTEM_FOLDERS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc", "/sys")
REFUSAL = (
    "student servers are not started: bubblewrap (bwrap) {why}, so a student's server would see the course "
    "(solutions, hidden tests), other students' work and the hub's secrets. Fix: install bubblewrap "
    "(Debian/Ubuntu: apt-get install bubblewrap), or, for a room of trusted colleagues only, start the hub "
    "with COURSE_HUB_TRUSTED_ROOM=1 (docs/hub.md)"
)


def running_as_root() -> bool:
    """Return whether the hub runs as root (then each student gets an account of its own)."""
    return hasattr(os, "getuid") and os.getuid() == 0


@functools.cache
def problem() -> str | None:
    """Return the one-line reason students' servers cannot be confined here, or None when they can.

    Probes what a server start does: bwrap with the namespaces and capabilities of :func:`bwrap_command`,
    then (when root) ``setpriv`` to a student account, running ``/bin/true``.
    """
    exe = shutil.which("bwrap")
    if exe is None:
        return REFUSAL.format(why="is not installed")
    view = StudentView(
        "probe", Path("/"), UID_BASE - 1 if running_as_root() else None, Path("/"), "", Path("/"), ()
    )
    probe = [*_namespaces(exe, view), "--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev", "--",
             *_account(view), "/bin/true"]  # fmt: skip
    try:
        done = subprocess.run(probe, capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as error:
        return REFUSAL.format(why=f"cannot run ({error})")
    if done.returncode != 0:
        detail = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
        return REFUSAL.format(why=f"cannot create namespaces here ({detail})")
    return None


def _namespaces(exe: str, view: StudentView) -> list[str]:
    """Return bwrap's namespace and capability options for ``view``.

    As root, bwrap makes the mounts as root (so the course environment need not be readable by others on
    the way to it, e.g. a Python under /root) and keeps only the capabilities to change user, which
    ``setpriv`` (`_account`) then uses to become the student's account, dropping every capability; bwrap's
    ``no_new_privs`` keeps set-user-id programs from giving any back. Otherwise bwrap runs in a user
    namespace as the hub's user.
    """
    argv = [exe, "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--die-with-parent", "--new-session"]
    if view.uid is None:
        return [*argv, "--unshare-user", "--cap-drop", "ALL"]
    return [*argv, "--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]


def _account(view: StudentView) -> list[str]:
    """Return the command prefix that runs the server as the student's account (nothing without one)."""
    if view.uid is None:
        return []
    setpriv = shutil.which("setpriv") or "/usr/bin/setpriv"
    # the home is the student's (0700): only the student's account may enter it, after setpriv
    enter = ["/bin/sh", "-c", 'cd "$1" && shift && exec "$@"', "enter-home", str(view.home)]
    return [setpriv, f"--reuid={view.uid}", f"--regid={view.uid}", "--clear-groups", "--", *enter]


def account(state: Path, user: str) -> int:
    """Return the user id of ``user``'s own account, allocated once and kept in ``<state>/accounts.json``."""
    path = state / "accounts.json"
    accounts = json.loads(path.read_text()) if path.is_file() else {}
    if user not in accounts:
        accounts[user] = UID_BASE + len(accounts)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(accounts, indent=1))
        os.replace(tmp, path)
    return int(accounts[user])


@dataclass(frozen=True)
class StudentView:
    """Everything a student's sandbox is made of.

    Attributes
    ----------
    user, home
        The student and their home (read-write).
    uid
        The student's own user id, or None to run as the hub's user (hub not root).
    exchange, course_id
        The course exchange root (its path is kept inside) and the course id.
    own
        The student's part of the exchange on the hub side: ``inbound/`` (read-write) and ``feedback/``.
    read_only
        Folders mounted read-only besides the system ones: Python, the course environment, the data.
    passwd
        A folder with ``passwd`` and ``group`` naming the student's account, or None.
    """

    user: str
    home: Path
    uid: int | None
    exchange: Path
    course_id: str
    own: Path
    read_only: tuple[str, ...]
    passwd: Path | None = None


def environment_folders() -> tuple[str, ...]:
    """Return the folders of the course environment: Python, the venv, ``labkit`` (an editable install)."""
    import labkit

    folders = {sys.base_prefix, sys.prefix, str(Path(sys.executable).resolve().parent)}
    folders.add(str(Path(labkit.__file__).resolve().parent))
    return tuple(sorted(folders))


def prepare(view: StudentView) -> None:
    """Create (as the hub) the folders and files the sandbox mounts, owned by the student where written."""
    for part in ("outbound", "inbound", "feedback"):
        folder = view.exchange / view.course_id / part
        folder.mkdir(parents=True, exist_ok=True)
    for part in ("inbound", "feedback"):
        (view.own / part).mkdir(parents=True, exist_ok=True)
    view.home.mkdir(parents=True, exist_ok=True)
    if view.uid is not None:
        for path in [
            view.home,
            view.own / "inbound",
            *(view.home / ".jupyter").rglob("*"),
            view.home / ".jupyter",
        ]:
            os.lchown(path, view.uid, view.uid)
        view.home.chmod(0o700)
        (view.own / "inbound").chmod(0o700)
    if view.passwd is not None and view.uid is not None:
        view.passwd.mkdir(parents=True, exist_ok=True)
        line = f"{view.user}:x:{view.uid}:{view.uid}:course student:{view.home}:/bin/bash\n"
        group = f"{view.user}:x:{view.uid}:\n"
        (view.passwd / "passwd").write_text(_read("/etc/passwd") + line)
        (view.passwd / "group").write_text(_read("/etc/group") + group)


def _read(path: str) -> str:
    try:
        text = Path(path).read_text()
    except OSError:
        return ""
    return text if text.endswith("\n") or not text else text + "\n"


def bwrap_command(view: StudentView) -> list[str]:
    """Return the command line (``bwrap ... -- [setpriv ... --]``) that confines ``view.user``'s server."""
    argv = _namespaces(shutil.which("bwrap") or "bwrap", view)
    for folder in SYSTEM_FOLDERS:
        argv += ["--ro-bind-try", folder, folder]
    argv += ["--proc", "/proc", "--dev", "/dev", "--perms", "1777", "--tmpfs", "/tmp"]
    made: set[str] = set(SYSTEM_FOLDERS)

    def mount(option: str, source: str | Path, target: str | Path, perms: str = "") -> None:
        # bwrap makes missing parents of a mount point 0700: make them 0755, so the student's account
        # (after setpriv) can pass through them
        for parent in reversed(Path(target).parents[:-1]):
            if str(parent) not in made and not any(str(parent).startswith(f"{s}/") for s in SYSTEM_FOLDERS):
                argv.extend(["--perms", "0755", "--dir", str(parent)])
                made.add(str(parent))
        argv.extend([*(["--perms", perms] if perms else []), option, *([str(source)] if source else []),
                     str(target)])  # fmt: skip
        made.add(str(target))

    if view.passwd is not None:
        mount("--ro-bind", view.passwd / "passwd", "/etc/passwd")
        mount("--ro-bind", view.passwd / "group", "/etc/group")
    for folder in view.read_only:  # after /tmp: the data may live there (tests)
        mount("--ro-bind", folder, folder)
    mount("--bind", view.home, view.home)
    course = view.exchange / view.course_id
    mount("--tmpfs", "", view.exchange, perms="1777")  # writable (nbgrader checks), private, in memory
    mount("--ro-bind", course / "outbound", course / "outbound")
    mount("--bind", view.own / "inbound", course / "inbound")
    mount("--ro-bind", view.own / "feedback", course / "feedback")
    argv += ["--remount-ro", "/", "--chdir", "/" if view.uid is not None else str(view.home), "--"]
    return [*argv, *_account(view)]


# --- resources --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cgroups:
    """The cgroup folders of one student (v1: one per controller; v2: one) and which limits they carry."""

    folders: tuple[Path, ...]
    memory: bool
    cpu: bool


def cgroups(name: str, memory: int, processes: int, cpu_share: int) -> Cgroups | None:
    """Create or reuse cgroups ``course-hub-<user>`` below the hub's own, with the limits; None if impossible.

    cgroup v1 (a folder per controller) and v2 (one unified folder whose parent delegates ``memory``,
    ``pids`` and ``cpu``) are both handled; without write access to the cgroup file system, None.
    """
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    if Path("/sys/fs/cgroup/cgroup.controllers").is_file():  # unified (v2)
        own = next((line.split(":", 2)[2] for line in lines if line.startswith("0::")), None)
        if own is None:
            return None
        parent = Path("/sys/fs/cgroup") / own.lstrip("/")
        try:
            (parent / "cgroup.subtree_control").write_text("+memory +pids +cpu")
            folder = parent / name
            folder.mkdir(exist_ok=True)
            (folder / "memory.max").write_text(str(memory))
            (folder / "memory.swap.max").write_text("0") if (folder / "memory.swap.max").exists() else None
            (folder / "pids.max").write_text(str(processes))
            (folder / "cpu.weight").write_text(str(cpu_share))
        except OSError:
            return None
        return Cgroups((folder,), memory=True, cpu=True)
    paths = {}
    for line in lines:
        _, controllers, path = line.split(":", 2)
        for controller in controllers.split(","):
            paths[controller] = path
    folders, limits = [], {}
    wanted = {"memory": {"memory.limit_in_bytes": memory}, "pids": {"pids.max": processes},
              "cpu": {"cpu.shares": cpu_share * 10}}  # fmt: skip
    for controller, files in wanted.items():
        mount = Path("/sys/fs/cgroup") / controller
        if controller not in paths or not mount.is_dir():
            continue
        folder = mount / paths[controller].lstrip("/") / name
        try:
            folder.mkdir(exist_ok=True)
            for file, value in files.items():
                (folder / file).write_text(str(value))
        except OSError:
            continue
        folders.append(folder)
        limits[controller] = True
    if not folders:
        return None
    return Cgroups(tuple(folders), memory="memory" in limits, cpu="cpu" in limits)


def cgroup_name(state: Path, user: str) -> str:
    """Return the name of ``user``'s cgroups: ``course-hub-<hub folder digest>-<user>`` (one per hub)."""
    return f"course-hub-{hashlib.sha1(str(state).encode()).hexdigest()[:8]}-{user}"


def remove_cgroups(groups: Cgroups | None) -> None:
    """Remove a student's cgroups once their processes are gone (a folder with processes stays)."""
    for folder in groups.folders if groups else ():
        try:
            folder.rmdir()
        except OSError:
            pass


def preexec(view: StudentView, memory: int, processes: int, groups: Cgroups | None):
    """Return the function run in the server's process before ``bwrap``: join cgroups, limits, the account."""

    def run() -> None:
        for folder in groups.folders if groups else ():
            (folder / "cgroup.procs").write_text(str(os.getpid()))
        if not (groups and groups.memory):  # per process only: address space, 3x the memory figure
            resource.setrlimit(resource.RLIMIT_AS, (3 * memory, 3 * memory))
        if view.uid is not None:  # counted per account: the student's own
            resource.setrlimit(resource.RLIMIT_NPROC, (processes, processes))
        if not (groups and groups.cpu):
            os.nice(5)
        os.chdir(view.home)

    return run
