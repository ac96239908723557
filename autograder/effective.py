"""The course settings in effect and where each comes from (``course-grade config``).

Every setting ``course-grade`` and nbgrader read is listed once: what the course's ``nbgrader_config.py``
sets (every key it sets, whatever the class), the traits the grader reads that the file leaves to
nbgrader's (or the grader's) default, the grading options a flag of ``course-grade grade`` overrides, and
the environment variables the grader and labkit read.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from traitlets.config import Config

from autograder.config import read_nbgrader_config, setting
from autograder.options import GradeOptions
from labkit.paths import COURSE_MARKER, DATA_ENV, LOG_ENV
from labkit.runtime import MAX_EPOCHS_ENV

#: Origins, as printed.
COURSE_FILE = COURSE_MARKER
DEFAULT = "nbgrader default"
GRADER_DEFAULT = "course-grade default"
FLAG = "command-line flag"
ENV = "environment"
UNSET = "not set"


@dataclass(frozen=True)
class Setting:
    """One setting in effect: its name, its value and where the value comes from."""

    name: str
    value: Any
    origin: str

    def line(self, width: int) -> str:
        """Return ``name = value  [origin]`` with the name padded to ``width``."""
        return f"{self.name:{width}s} = {self.value!r}  [{self.origin}]"


def _traits_read() -> list[tuple[type, str]]:
    """Return the nbgrader traits the grader reads (autograder.config), owner class and name."""
    from nbgrader.coursedir import CourseDirectory
    from nbgrader.preprocessors import ClearHiddenTests, ClearSolutions, Execute

    from autograder.execute.guarded import GuardedExecute

    folders = [f"{kind}_directory" for kind in ("source", "release", "submitted", "autograded", "feedback")]
    return [
        (CourseDirectory, "course_id"),
        *((CourseDirectory, name) for name in folders),
        (Execute, "timeout"),
        (Execute, "startup_timeout"),
        (Execute, "iopub_timeout"),
        (GuardedExecute, "notebook_timeout"),
        (ClearSolutions, "begin_solution_delimeter"),
        (ClearSolutions, "end_solution_delimeter"),
        (ClearHiddenTests, "begin_test_delimeter"),
        (ClearHiddenTests, "end_test_delimeter"),
    ]


def _show(value: Any) -> Any:
    """Return ``value`` readable: classes in a list by their dotted name."""
    if isinstance(value, list | tuple):
        return [_show(item) for item in value]
    if isinstance(value, type):
        return f"{value.__module__}.{value.__qualname__}"
    return value


def course_settings(config: Config, namespace: dict[str, Any]) -> list[Setting]:
    """Return what the course file sets (every key) and the traits the grader reads that it leaves unset."""
    found = [Setting("LABS", namespace.get("LABS"), COURSE_FILE)]
    for section in sorted(config):
        for key in sorted(config[section]):
            found.append(Setting(f"{section}.{key}", _show(config[section][key]), COURSE_FILE))
    for owner, name in _traits_read():
        if config.get(owner.__name__, {}).get(name) is None:
            found.append(Setting(f"{owner.__name__}.{name}", setting(config, owner, name), DEFAULT))
    return found


#: ``course-grade grade`` options shown, and the flag that sets each.
GRADE_FLAGS = {
    "jobs": "--jobs",
    "cell_timeout": "--timeout-cell",
    "notebook_timeout": "--timeout-notebook",
    "memory_mb": "--memory-mb",
    "train_reuse": "--no-train-reuse",
}
#: What an option left at None means.
NONE_MEANS = {
    "jobs": "CPU count",
    "cell_timeout": "Execute.timeout",
    "notebook_timeout": "GuardedExecute.notebook_timeout",
}


def grading_settings(flags: dict[str, Any], env: dict[str, str]) -> list[Setting]:
    """Return the grading options and environment settings, with a flag's value where one is given.

    Parameters
    ----------
    flags
        ``GradeOptions`` field (or ``max_epochs``) -> the value given on the command line (None: not given).
    env
        The environment the grader runs in.
    """
    defaults = GradeOptions()
    found = []
    for field, flag in GRADE_FLAGS.items():
        given = flags.get(field)
        value, origin = (getattr(defaults, field), GRADER_DEFAULT) if given is None else (given, FLAG)
        value = NONE_MEANS.get(field, value) if value in (None, 0) and field in NONE_MEANS else value
        found.append(Setting(f"grade.{field} ({flag})", value, origin))
    cap = flags.get("max_epochs")
    if cap is not None:
        found.append(Setting(f"{MAX_EPOCHS_ENV} (--max-epochs)", str(cap), FLAG))
    else:
        found.append(
            Setting(MAX_EPOCHS_ENV, env.get(MAX_EPOCHS_ENV), ENV if MAX_EPOCHS_ENV in env else UNSET)
        )
    for name in (DATA_ENV, LOG_ENV):
        found.append(
            Setting(name, env.get(name), ENV if env.get(name) else f"{UNSET} (course root's folder)")
        )
    return found


def settings_in_effect(root: Path, flags: dict[str, Any] | None = None) -> list[Setting]:
    """Return every setting of the course at ``root`` in effect, with its origin."""
    config, namespace = read_nbgrader_config(root / COURSE_MARKER)
    return [*course_settings(config, namespace), *grading_settings(flags or {}, dict(os.environ))]


def format_settings(settings: list[Setting]) -> str:
    """Return the settings as aligned lines."""
    width = max(len(s.name) for s in settings)
    return "\n".join(s.line(width) for s in settings)


__all__ = ["Setting", "format_settings", "settings_in_effect"]
