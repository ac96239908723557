"""The course's single-machine JupyterHub: settings from the environment, per-user homes, nbgrader roles.

Read by ``hub/jupyterhub_config.py``. Every user gets a home under ``<hub dir>/homes/<name>`` holding their
Jupyter and nbgrader settings: students see the assignment list and Validate, instructors also formgrader
and the course list, on the course folder itself. Everyone runs the course environment's kernel.

Students' servers are confined (`student_sandbox`): bubblewrap gives each one a file system made of the
system folders, the course environment and data (read-only), its own home (read-write) and its own view of
the exchange (released assignments read-only, its own inbound folder, its own feedback), as an account of
its own when the hub runs as root; `hub/exchange_clerk.py` moves submissions from the per-student inbound
folders into the course exchange and stamps their time. Instructors' servers see the course.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

import student_sandbox as sandbox
from jupyterhub.spawner import SimpleLocalProcessSpawner
from traitlets import Any, Bool, Unicode

HUB_FOLDER = Path(__file__).resolve().parent
#: nbgrader's instructor-only JupyterLab plugins and server extensions (disabled for students).
INSTRUCTOR_PLUGINS = ("@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment",
                      "@jupyter/nbgrader:course-list")  # fmt: skip
INSTRUCTOR_SERVER_EXTENSIONS = (
    "nbgrader.server_extensions.formgrader",
    "nbgrader.server_extensions.course_list",
)


@dataclass(frozen=True)
class HubSettings:
    """What the hub needs to know, read once from ``COURSE_HUB_*`` environment variables.

    Attributes
    ----------
    course
        The course folder (``COURSE_HUB_COURSE``, default: the folder above ``hub/``).
    state
        Hub state: database, cookie secret, user homes (``COURSE_HUB_DIR``, default ``<course>/.hub``).
    instructors, students
        User names (``COURSE_HUB_INSTRUCTORS``, default ``instructor``; ``COURSE_HUB_STUDENTS``, comma lists).
    port
        Public port on loopback (``COURSE_HUB_PORT``, default 8000; the hub API and the proxy API use the
        next two ports). Put a TLS proxy in front for a class.
    trusted_room
        ``COURSE_HUB_TRUSTED_ROOM=1``: students' servers run unconfined, as the hub's user, sharing the
        course exchange, when bubblewrap is missing (a workshop among colleagues). Default: refused.
    limits
        Per-student resources (`Limits`), from ``COURSE_HUB_MEM_LIMIT``, ``COURSE_HUB_MAX_PROCESSES``,
        ``COURSE_HUB_CPU_SHARE``, ``COURSE_HUB_IDLE_TIMEOUT``, ``COURSE_HUB_CULL_EVERY``.
    """

    course: Path
    state: Path
    instructors: tuple[str, ...]
    students: tuple[str, ...]
    port: int
    trusted_room: bool = False
    limits: Limits = field(default_factory=lambda: Limits())

    @classmethod
    def from_environment(cls, env: dict[str, str] | None = None) -> HubSettings:
        """Read the settings from ``env`` (default ``os.environ``)."""
        env = dict(os.environ if env is None else env)
        course = Path(env.get("COURSE_HUB_COURSE", HUB_FOLDER.parent)).resolve()
        return cls(
            course=course,
            state=Path(env.get("COURSE_HUB_DIR", course / ".hub")).resolve(),
            instructors=_names(env.get("COURSE_HUB_INSTRUCTORS", "instructor")),
            students=_names(env.get("COURSE_HUB_STUDENTS", "")),
            port=int(env.get("COURSE_HUB_PORT", "8000")),
            trusted_room=env.get("COURSE_HUB_TRUSTED_ROOM", "").lower() in {"1", "yes", "true"},
            limits=Limits.from_environment(env),
        )

    def home(self, user: str) -> Path:
        """Return the home folder of ``user`` (created on first spawn)."""
        return self.state / "homes" / user


@dataclass(frozen=True)
class Limits:
    """Per-student resources: the one place they are set (docs/hub.md, "Resources for a class").

    Attributes
    ----------
    memory
        Bytes of memory for all of a student's processes together (``COURSE_HUB_MEM_LIMIT``, e.g. ``2G``;
        default 3 GiB): a cgroup memory limit where the hub can create cgroups, else the address-space
        limit of each process (``RLIMIT_AS``, then 3 times the figure: address space is not memory).
    processes
        Processes and threads of a student (``COURSE_HUB_MAX_PROCESSES``, default 512): cgroup ``pids``
        limit, and ``RLIMIT_NPROC`` of the student's own account when the hub runs as root.
    cpu_share
        Relative CPU weight of a student against the others (``COURSE_HUB_CPU_SHARE``, default 100, as
        cgroup v2's ``cpu.weight``; v1's ``cpu.shares`` gets 10 times it); without cgroups the server
        runs at ``nice`` 5 instead, which keeps the hub and instructors responsive but does not group a
        student's processes.
    idle_timeout, cull_every
        Seconds without activity after which jupyterhub-idle-culler stops a server
        (``COURSE_HUB_IDLE_TIMEOUT``, default 3600), and how often it looks (``COURSE_HUB_CULL_EVERY``,
        default 300).
    """

    memory: int = 3 << 30
    processes: int = 512
    cpu_share: int = 100
    idle_timeout: int = 3600
    cull_every: int = 300

    @classmethod
    def from_environment(cls, env: dict[str, str]) -> Limits:
        """Read the limits from ``COURSE_HUB_*`` variables of ``env``; unset ones keep their default."""
        default = cls()
        return cls(
            memory=_bytes(env.get("COURSE_HUB_MEM_LIMIT", str(default.memory))),
            processes=int(env.get("COURSE_HUB_MAX_PROCESSES", default.processes)),
            cpu_share=int(env.get("COURSE_HUB_CPU_SHARE", default.cpu_share)),
            idle_timeout=int(env.get("COURSE_HUB_IDLE_TIMEOUT", default.idle_timeout)),
            cull_every=int(env.get("COURSE_HUB_CULL_EVERY", default.cull_every)),
        )


def _bytes(value: str) -> int:
    """Return the bytes of ``512M``, ``2G``, ``1.5G`` or a plain number."""
    value = value.strip().upper().removesuffix("B")
    scale = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}.get(value[-1:], 1)
    return int(float(value.rstrip("KMGT")) * scale)


def _names(value: str) -> tuple[str, ...]:
    return tuple(name.strip() for name in value.split(",") if name.strip())


def course_exchange(course: Path) -> tuple[str, Path]:
    """Return the course id and the exchange folder configured in ``<course>/nbgrader_config.py``.

    Raises
    ------
    RuntimeError
        When the file sets no ``Exchange.root`` (one line naming the file and the fix).
    """
    from autograder.config import read_nbgrader_config

    config, _ = read_nbgrader_config(course / "nbgrader_config.py")
    root = config.get("Exchange", {}).get("root")
    if not root:
        raise RuntimeError(
            f"{course / 'nbgrader_config.py'}: sets no c.Exchange.root; add one for the hub to share"
        )
    return str(config.get("CourseDirectory", {}).get("course_id", "course")), Path(root)


def validate_limits(course: Path) -> str:
    """Return the ``Execute`` limits of ``<course>/nbgrader_config.py`` as ``nbgrader_config.py`` lines.

    A student's Validate runs a notebook with them, as grading does (nbgrader's 30 s default would stop a
    training cell that grading runs in full).
    """
    from autograder.config import execute_limits, execute_settings, read_nbgrader_config

    return execute_settings(execute_limits(read_nbgrader_config(course / "nbgrader_config.py")[0]))


def write_user_settings(home: Path, course: Path, user: str, instructor: bool) -> None:
    """Write ``home/.jupyter``: nbgrader settings, and for students the instructor tools switched off.

    A student's submissions and feedback are filed under ``user`` (``CourseDirectory.student_id``): the
    servers need no system account, whose name nbgrader would use otherwise. A student's exchange is the
    course's path, where the sandbox shows the student's own view of it. A student's Validate runs within
    the course's ``Execute`` limits (`validate_limits`); an instructor's server reads the course's own file.
    """
    course_id, exchange = course_exchange(course)
    exchange = exchange.resolve()
    jupyter = home / ".jupyter"
    (jupyter / "labconfig").mkdir(parents=True, exist_ok=True)
    if instructor:
        nbgrader = f"c = get_config()  # noqa: F821\nload_subconfig({str(course / 'nbgrader_config.py')!r})\n"
    else:
        nbgrader = (
            "c = get_config()  # noqa: F821\n"
            f"c.CourseDirectory.course_id = {course_id!r}\nc.Exchange.root = {str(exchange)!r}\n"
            f"c.CourseDirectory.student_id = {user!r}\n{validate_limits(course)}"
        )
    (jupyter / "nbgrader_config.py").write_text(nbgrader)
    news = jupyter / "lab" / "user-settings" / "@jupyterlab" / "apputils-extension"
    news.mkdir(parents=True, exist_ok=True)  # no "get Jupyter news?" pop-up over the labs
    if not (news / "notification.jupyterlab-settings").exists():  # the user's own choice stays
        (news / "notification.jupyterlab-settings").write_text(json.dumps({"fetchNews": "false"}))
    disabled = {} if instructor else dict.fromkeys(INSTRUCTOR_PLUGINS, True)
    (jupyter / "labconfig" / "page_config.json").write_text(json.dumps({"disabledExtensions": disabled}))
    server = {} if instructor else dict.fromkeys(INSTRUCTOR_SERVER_EXTENSIONS, False)
    # terminals: a non-login bash keeps the course environment's PATH (a login shell would reset it)
    terminals = {"shell_command": ["/bin/bash"]}
    (jupyter / "jupyter_server_config.json").write_text(
        json.dumps({"ServerApp": {"jpserver_extensions": server, "terminado_settings": terminals}}, indent=1)
    )


class CourseSpawner(SimpleLocalProcessSpawner):
    """A local process per user with its own home under the hub folder (users need no system account).

    Students' servers run confined (`sandbox`): their own home, the course environment and data, their own
    part of the exchange; as an account of their own when the hub runs as root; within the per-student
    `Limits`. Without bubblewrap they are refused with one line (why, and how to fix it), unless the
    instructor chose a trusted room (``trusted_room``). Instructors' servers open on the course folder.
    """

    course = Unicode(help="the course folder").tag(config=True)
    instructors = Unicode(help="comma-separated instructor names").tag(config=True)
    state = Unicode(help="the hub folder (accounts, per-student exchange folders)").tag(config=True)
    trusted_room = Bool(False, help="run students unconfined as the hub's user (trusted room)").tag(
        config=True
    )
    limits = Any(Limits(), help="per-student resources (course_hub.Limits)").tag(config=True)

    def is_instructor(self) -> bool:
        """Return whether this spawner's user is one of the course's instructors."""
        return self.user.name in _names(self.instructors)

    def confined(self) -> bool:
        """Return whether this user's server runs in the sandbox (every student, unless a trusted room)."""
        return not self.is_instructor() and not self.trusted_room

    def student_view(self) -> sandbox.StudentView:
        """Return what this student's sandbox is made of."""
        course_id, exchange = course_exchange(Path(self.course))
        state, user = Path(self.state), self.user.name
        uid = sandbox.account(state, user) if sandbox.running_as_root() else None
        data = Path(os.environ.get("LABKIT_DATA_DIR", Path(self.course) / "data")).resolve()
        return sandbox.StudentView(
            user=user,
            home=Path(self.home_dir).resolve(),
            uid=uid,
            exchange=exchange.resolve(),
            course_id=course_id,
            own=state / "exchange" / user,
            read_only=(*sandbox.environment_folders(), str(data)),
            passwd=state / "accounts" / user if uid is not None else None,
        )

    def make_preexec_fn(self, name: str):
        """Create the home, then start in the course folder (instructors) or the home (students)."""
        if self.confined():
            view, limits = self.student_view(), self.limits
            return sandbox.preexec(view, limits.memory, limits.processes, self._cgroups)
        home, start = self.home_dir, self.course if self.is_instructor() else self.home_dir

        def preexec() -> None:
            os.makedirs(home, 0o755, exist_ok=True)
            os.chdir(start)

        return preexec

    async def start(self):
        """Write the user's settings and start the single-user server in the course environment.

        Raises
        ------
        RuntimeError
            For a student when the sandbox cannot be made here (one line: why, and how to fix it); the hub
            shows it on the student's spawn page.
        """
        home = Path(self.home_dir)
        if self.confined() and (reason := sandbox.problem()):
            self.log.error("%s: %s", self.user.name, reason)
            raise RuntimeError(reason)
        if not hasattr(self, "_server_cmd"):
            self._server_cmd = list(self.cmd)
        self.cmd = list(self._server_cmd)
        self._cgroups = None
        write_user_settings(home, Path(self.course), self.user.name, self.is_instructor())
        if self.confined():
            view, limits = self.student_view(), self.limits
            sandbox.prepare(view)
            name = sandbox.cgroup_name(Path(self.state), view.user)
            self._cgroups = sandbox.cgroups(name, limits.memory, limits.processes, limits.cpu_share)
            self.cmd = [*sandbox.bwrap_command(view), *self._server_cmd]
        self.notebook_dir = self.course if self.is_instructor() else str(home)
        return await super().start()

    async def stop(self, now: bool = False) -> None:
        """Stop the server, then remove the student's cgroups (empty by then)."""
        await super().stop(now=now)
        sandbox.remove_cgroups(getattr(self, "_cgroups", None))

    def user_env(self, env: dict[str, str]) -> dict[str, str]:
        """Return the user's environment: home, and this environment's ``bin/`` first on ``PATH``."""
        env = super().user_env(env)
        env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", os.defpath)])
        env["LABKIT_DATA_DIR"] = os.environ.get("LABKIT_DATA_DIR", str(Path(self.course) / "data"))
        env["LABKIT_LOG_DIR"] = str(Path(self.home_dir) / "logs")
        for key in ("LABKIT_MAX_EPOCHS",):  # the documented test cap, when the hub was started with it
            if key in os.environ:
                env[key] = os.environ[key]
        return env
