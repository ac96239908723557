"""Course settings read from the course's ``nbgrader_config.py`` (the single source of truth)."""

from __future__ import annotations

import functools
import hashlib
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from traitlets.config import Config

from autograder import CourseError
from labkit.paths import COURSE_MARKER, find_course_root

#: The gradebook file of a course, a grading kit and a worker folder (nbgrader's default ``db_url``).
GRADEBOOK = "gradebook.db"


def setting(config: Config, owner: type, name: str) -> Any:
    """Return the trait ``owner.name`` as ``config`` sets it, else the trait's own default."""
    configured = config.get(owner.__name__, {}).get(name)
    return owner.class_traits()[name].default() if configured is None else configured


@dataclass(frozen=True)
class Timeouts:
    """Time limits of a grading run, in seconds: read from the course's ``nbgrader_config.py``.

    Attributes
    ----------
    cell
        Per cell (``Execute.timeout``).
    startup
        For the kernel to start (``Execute.startup_timeout``).
    notebook
        For the whole notebook (``GuardedExecute.notebook_timeout``; 0 = none).
    """

    cell: int
    startup: int
    notebook: int

    @classmethod
    def of(cls, config: Config) -> Timeouts:
        """Return the limits ``config`` sets; what it leaves unset is the trait's own default."""
        from nbgrader.preprocessors import Execute

        from autograder.execute.guarded import GuardedExecute

        return cls(
            cell=int(setting(config, Execute, "timeout")),
            startup=int(setting(config, Execute, "startup_timeout")),
            notebook=int(setting(config, GuardedExecute, "notebook_timeout")),
        )

    def replaced(self, cell: int | None = None, notebook: int | None = None) -> Timeouts:
        """Return these limits with a run's overrides (None: keep the course's)."""
        return Timeouts(
            self.cell if cell is None else cell, self.startup, self.notebook if notebook is None else notebook
        )


#: The ``Execute`` traits that nbgrader's Validate shares with grading: the time limits and what happens at
#: one. Validate runs a notebook with nbgrader's ``Execute`` as grading does, so a student's copy of the
#: course (the hand-out, a hub server) must set them as the course does, or Validate interrupts a
#: training cell after nbgrader's 30 s default that grading runs in full.
EXECUTE_LIMITS = ("timeout", "startup_timeout", "iopub_timeout", "interrupt_on_timeout")


def execute_limits(config: Config) -> dict[str, Any]:
    """Return ``{trait: value}`` of :data:`EXECUTE_LIMITS` as ``config`` sets them, else nbgrader's."""
    from nbgrader.preprocessors import Execute

    return {name: setting(config, Execute, name) for name in EXECUTE_LIMITS}


def execute_settings(limits: dict[str, Any]) -> str:
    """Return the ``nbgrader_config.py`` lines that set ``limits`` (``c.Execute.timeout = 1200``, ...)."""
    return "".join(f"c.Execute.{name} = {value!r}\n" for name, value in limits.items())


@dataclass(frozen=True)
class Folders:
    """nbgrader's folder names, as the course's ``CourseDirectory.*_directory`` sets them.

    Every path the grader builds inside a course, a grading kit or a worker folder uses these names, so a
    course that renames a folder in its ``nbgrader_config.py`` is graded the same.
    """

    source: str
    release: str
    submitted: str
    autograded: str
    feedback: str

    @classmethod
    def of(cls, config: Config) -> Folders:
        """Return the names ``config`` sets; what it leaves unset is nbgrader's own default."""
        from nbgrader.coursedir import CourseDirectory

        kinds = ("source", "release", "submitted", "autograded", "feedback")
        return cls(*(str(setting(config, CourseDirectory, f"{kind}_directory")) for kind in kinds))

    def lab(self, root: Path, kind: str, lab: str, student: str = "") -> Path:
        """Return ``root/<kind's folder>/[<student>/]<lab>``."""
        folder = root / getattr(self, kind)
        return (folder / student if student else folder) / lab

    def notebook(self, root: Path, kind: str, lab: str, student: str = "") -> Path:
        """Return ``root/<kind's folder>/[<student>/]<lab>/<lab>.ipynb``."""
        return self.lab(root, kind, lab, student) / f"{lab}.ipynb"


@dataclass(frozen=True)
class Markers:
    """The lines that open and close solution and hidden-test regions, as the course configures them.

    nbgrader takes them from ``ClearSolutions.begin_solution_delimeter`` / ``end_solution_delimeter`` and
    ``ClearHiddenTests.begin_test_delimeter`` / ``end_test_delimeter``; a marker line is a comment holding
    the delimiter (``### BEGIN SOLUTION``).
    """

    begin_solution: re.Pattern[str]
    end_solution: re.Pattern[str]
    begin_hidden: re.Pattern[str]
    end_hidden: re.Pattern[str]

    @classmethod
    def of(cls, config: Config | None = None) -> Markers:
        """Return the markers ``config`` sets; what it leaves unset is nbgrader's own default."""
        from nbgrader.preprocessors import ClearHiddenTests, ClearSolutions

        def line(owner: type, name: str) -> re.Pattern[str]:
            text = setting(config or Config(), owner, name)
            return re.compile(rf"^\s*#+\s*{re.escape(str(text))}")

        return cls(
            line(ClearSolutions, "begin_solution_delimeter"),
            line(ClearSolutions, "end_solution_delimeter"),
            line(ClearHiddenTests, "begin_test_delimeter"),
            line(ClearHiddenTests, "end_test_delimeter"),
        )

    def all(self) -> tuple[re.Pattern[str], ...]:
        """Return the four marker patterns."""
        return (self.begin_solution, self.end_solution, self.begin_hidden, self.end_hidden)

    def has_hidden(self, source: str) -> bool:
        """Return whether ``source`` holds a hidden-test region."""
        return any(self.begin_hidden.match(line) for line in source.splitlines())


@functools.cache
def default_markers() -> Markers:
    """Return nbgrader's default markers (a course that configures none)."""
    return Markers.of()


@dataclass(frozen=True)
class CourseConfig:
    """What ``course-grade`` needs to know about a course.

    Attributes
    ----------
    root
        Course root (the folder holding ``nbgrader_config.py``).
    labs
        Lab (nbgrader assignment) ids in teaching order.
    course_id
        nbgrader course id.
    timeouts
        The course's time limits (`Timeouts`).
    folders
        The course's nbgrader folder names (`Folders`).
    markers
        The solution and hidden-test region markers (`Markers`).
    evaluation_files
        Lab -> held-out file whose signals the hidden checks' probes classify ("" = drawn from the
        synthetic generator); labs not listed have no probe inputs (``PrepareHiddenChecks.evaluation_files``).
    execution
        ``(trait, value)`` of the ``Execute`` limits students' copies of the course carry for Validate
        (:data:`EXECUTE_LIMITS`; ``timeout`` is ``timeouts.cell``).
    """

    root: Path
    labs: tuple[str, ...]
    course_id: str
    timeouts: Timeouts
    folders: Folders
    markers: Markers
    evaluation_files: tuple[tuple[str, str], ...] = ()
    execution: tuple[tuple[str, Any], ...] = ()

    @property
    def validate_settings(self) -> str:
        """Return the ``nbgrader_config.py`` lines of a students' copy: the course's ``Execute`` limits."""
        return execute_settings(dict(self.execution))

    @property
    def gradebook(self) -> Path:
        """Return the course gradebook path."""
        return self.root / GRADEBOOK

    @property
    def db_url(self) -> str:
        """Return the course gradebook as an SQLAlchemy URL."""
        return f"sqlite:///{self.gradebook}"

    @property
    def state_dir(self) -> Path:
        """Return ``.grading/`` (ledger, grading kits) inside the course."""
        return self.root / ".grading"

    @property
    def work_root(self) -> Path:
        """Return the temp root for worker directories, outside the course tree."""
        digest = hashlib.sha256(str(self.root).encode()).hexdigest()[:12]
        return Path(tempfile.gettempdir()) / f"course-grade-{digest}"

    @property
    def labs_with_source(self) -> tuple[str, ...]:
        """Return the declared labs that have a source notebook (``source/<lab>/<lab>.ipynb``), in order."""
        return tuple(lab for lab in self.labs if self.source_notebook(lab).is_file())

    def source_notebook(self, lab: str) -> Path:
        """Return ``source/<lab>/<lab>.ipynb``."""
        return self.folders.notebook(self.root, "source", lab)

    def source_script(self, lab: str) -> Path:
        """Return the jupytext pair ``source/<lab>/<lab>.py``."""
        return self.source_notebook(lab).with_suffix(".py")

    def release_notebook(self, lab: str) -> Path:
        """Return ``release/<lab>/<lab>.ipynb``."""
        return self.folders.notebook(self.root, "release", lab)

    def submitted_notebook(self, student: str, lab: str) -> Path:
        """Return ``submitted/<student>/<lab>/<lab>.ipynb``."""
        return self.folders.notebook(self.root, "submitted", lab, student)

    def autograded_notebook(self, student: str, lab: str) -> Path:
        """Return ``autograded/<student>/<lab>/<lab>.ipynb``."""
        return self.folders.notebook(self.root, "autograded", lab, student)

    @property
    def ledger_path(self) -> Path:
        """Return the results ledger, ``.grading/ledger.json``."""
        return self.state_dir / "ledger.json"

    def check_lab(self, lab: str) -> str:
        """Return ``lab`` when the course declares it, else raise a one-line `CourseError`."""
        if lab not in self.labs:
            raise CourseError(
                f"unknown lab {lab!r}: {self.root / COURSE_MARKER} declares LABS = {list(self.labs)}"
            )
        return lab


def read_nbgrader_config(path: Path) -> tuple[Config, dict]:
    """Execute an ``nbgrader_config.py`` and return its traitlets config and its module namespace."""
    config = Config()
    namespace: dict = {"get_config": lambda: config, "__file__": str(path), "__name__": "nbgrader_config"}
    try:
        exec(compile(path.read_text(), str(path), "exec"), namespace)  # noqa: S102 (the course's own config)
    except Exception as exc:  # noqa: BLE001 (any error in the file is reported in one line)
        raise CourseError(f"{path}: cannot be read ({type(exc).__name__}: {exc}); fix the file") from exc
    return config, namespace


def folders_of(root: Path) -> Folders:
    """Return the folder names of the course at ``root`` (nbgrader's defaults when it has no config)."""
    path = root / COURSE_MARKER
    return Folders.of(read_nbgrader_config(path)[0] if path.is_file() else Config())


def load_config(root: str | os.PathLike[str] | None = None) -> CourseConfig:
    """Find the course root (``root`` or the working directory upwards) and read its settings.

    Raises
    ------
    CourseError
        When there is no ``nbgrader_config.py`` or it declares no ``LABS``.
    """
    found = find_course_root(root)
    if found is None:
        where = Path(root or Path.cwd()).resolve()
        raise CourseError(
            f"{where}: no {COURSE_MARKER} here or above; run from the course folder or pass --course"
        )
    config, namespace = read_nbgrader_config(found / COURSE_MARKER)
    labs = namespace.get("LABS")
    if not labs:
        raise CourseError(f"{found / COURSE_MARKER}: defines no LABS list; add LABS = ['lab_id', ...]")
    return CourseConfig(
        root=found,
        labs=tuple(labs),
        course_id=str(config.get("CourseDirectory", {}).get("course_id", "course")),
        timeouts=Timeouts.of(config),
        folders=Folders.of(config),
        markers=Markers.of(config),
        evaluation_files=tuple(
            (str(lab), str(path or ""))
            for lab, path in dict(config.get("PrepareHiddenChecks", {}).get("evaluation_files", {})).items()
        ),
        execution=tuple(execute_limits(config).items()),
    )


def ensure_tools_on_path() -> None:
    """Put this interpreter's ``bin/`` first on ``PATH`` (nbgrader's Gradebook runs ``alembic`` from PATH)."""
    bin_dir = str(Path(sys.executable).parent)
    parts = os.environ.get("PATH", "").split(os.pathsep)
    if parts[:1] != [bin_dir]:
        os.environ["PATH"] = os.pathsep.join([bin_dir, *[p for p in parts if p and p != bin_dir]])


def run_nbgrader(folder: Path, *args: str, where: str | os.PathLike[str] | None = None) -> None:
    """Run ``nbgrader ARGS --log-level=ERROR`` with ``folder`` as the course root.

    nbgrader's own command line, started through :mod:`autograder.execute.nbgrader_cli` (a slow optional
    import skipped; the same commands and results).

    Raises
    ------
    CourseError
        Naming ``where`` (default ``folder``) and nbgrader's last error line when the command fails.
    """
    ensure_tools_on_path()
    proc = subprocess.run(
        [sys.executable, "-m", "autograder.execute.nbgrader_cli", *args, "--log-level=ERROR"],
        cwd=folder,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        lines = [ln.strip() for ln in (proc.stderr + proc.stdout).splitlines() if ln.strip()]
        last = lines[-1] if lines else f"exit code {proc.returncode}, no output"
        raise CourseError(f"{where or folder}: nbgrader {' '.join(args)} failed: {last}")
