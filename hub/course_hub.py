"""The course's single-machine JupyterHub: settings from the environment, per-user homes, nbgrader roles.

Read by ``hub/jupyterhub_config.py``. Every user gets a home under ``<hub dir>/homes/<name>`` holding their
Jupyter and nbgrader settings: students see the assignment list and Validate, instructors also formgrader
and the course list, on the course folder itself. Everyone shares the course's exchange folder
(``Exchange.root`` of the course's ``nbgrader_config.py``) and runs the course environment's kernel.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from jupyterhub.spawner import SimpleLocalProcessSpawner
from traitlets import Unicode

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
    """

    course: Path
    state: Path
    instructors: tuple[str, ...]
    students: tuple[str, ...]
    port: int

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
        )

    def home(self, user: str) -> Path:
        """Return the home folder of ``user`` (created on first spawn)."""
        return self.state / "homes" / user


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


def write_user_settings(home: Path, course: Path, user: str, instructor: bool) -> None:
    """Write ``home/.jupyter``: nbgrader settings, and for students the instructor tools switched off.

    A student's submissions and feedback are filed under ``user`` (``CourseDirectory.student_id``):
    every server runs as the hub's system user, whose name nbgrader would use otherwise.
    """
    course_id, exchange = course_exchange(course)
    jupyter = home / ".jupyter"
    (jupyter / "labconfig").mkdir(parents=True, exist_ok=True)
    if instructor:
        nbgrader = f"c = get_config()  # noqa: F821\nload_subconfig({str(course / 'nbgrader_config.py')!r})\n"
    else:
        nbgrader = (
            "c = get_config()  # noqa: F821\n"
            f"c.CourseDirectory.course_id = {course_id!r}\nc.Exchange.root = {str(exchange)!r}\n"
            f"c.CourseDirectory.student_id = {user!r}\n"
        )
    (jupyter / "nbgrader_config.py").write_text(nbgrader)
    news = jupyter / "lab" / "user-settings" / "@jupyterlab" / "apputils-extension"
    news.mkdir(parents=True, exist_ok=True)  # no "get Jupyter news?" pop-up over the labs
    if not (news / "notification.jupyterlab-settings").exists():  # the user's own choice stays
        (news / "notification.jupyterlab-settings").write_text(json.dumps({"fetchNews": "false"}))
    disabled = {} if instructor else dict.fromkeys(INSTRUCTOR_PLUGINS, True)
    (jupyter / "labconfig" / "page_config.json").write_text(json.dumps({"disabledExtensions": disabled}))
    server = {} if instructor else dict.fromkeys(INSTRUCTOR_SERVER_EXTENSIONS, False)
    (jupyter / "jupyter_server_config.json").write_text(
        json.dumps({"ServerApp": {"jpserver_extensions": server}}, indent=1)
    )


class CourseSpawner(SimpleLocalProcessSpawner):
    """A local process per user with its own home under the hub folder (users need no system account).

    All servers run as the hub's system user: fine for one trusted machine (a workshop, a lab room, tests);
    for a class of strangers use ``LocalProcessSpawner`` with system users or a container spawner
    (docs/hub.md). Instructors' servers open on the course folder (formgrader), students' on their home.
    """

    course = Unicode(help="the course folder").tag(config=True)
    instructors = Unicode(help="comma-separated instructor names").tag(config=True)

    def is_instructor(self) -> bool:
        """Return whether this spawner's user is one of the course's instructors."""
        return self.user.name in _names(self.instructors)

    def make_preexec_fn(self, name: str):
        """Create the home, then start in the course folder (instructors) or the home (students)."""
        home, start = self.home_dir, self.course if self.is_instructor() else self.home_dir

        def preexec() -> None:
            os.makedirs(home, 0o755, exist_ok=True)
            os.chdir(start)

        return preexec

    async def start(self):
        """Write the user's settings and start the single-user server in the course environment."""
        home = Path(self.home_dir)
        write_user_settings(home, Path(self.course), self.user.name, self.is_instructor())
        self.notebook_dir = self.course if self.is_instructor() else str(home)
        return await super().start()

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
