"""The worker's nbgrader configuration: the course's own ``nbgrader_config.py`` plus isolation overrides.

The course configuration is the single source of truth (preprocessors, ignore list, late penalties, limits):
a grading worker loads it unchanged and overrides only what isolation needs: the course root (the worker
folder), the sandboxed kernel and its transport (IPC sockets, so kernels run without a network), and the
execution guard (`autograder.execute.guarded.GuardedExecute` in place of nbgrader's ``Execute``), and the
steps the grader never runs without (the hidden checks around it, `autograder.inert.MakeInert` after it).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from traitlets.config import Config

COURSE_CONFIG = "course_config.py"


def worker_config_text(overrides: dict[str, Any]) -> str:
    """Return the text of a worker ``nbgrader_config.py`` that loads the course's copy, then ``isolate``."""
    return "\n".join(
        [
            "c = get_config()  # noqa: F821",
            f"load_subconfig({COURSE_CONFIG!r})  # noqa: F821 (the course's nbgrader_config.py, unchanged)",
            "from autograder.execute.isolation import isolate",
            f"isolate(c, {json.dumps(overrides, sort_keys=True)!r})",
            "",
        ]
    )


def _autograde_steps(c: Config) -> list:
    if "autograde_preprocessors" in c.get("Autograde", {}):
        return list(c.Autograde.autograde_preprocessors)
    from nbgrader.converters.autograde import Autograde

    return list(Autograde.class_traits()["autograde_preprocessors"].default())


def _is_a(step: Any, base: type) -> bool:
    """Return whether the configured ``step`` (a class or its dotted name) is ``base`` or a subclass."""
    from traitlets.utils.importstring import import_item

    try:
        cls = import_item(step) if isinstance(step, str) else step
    except ImportError:
        return False  # nbgrader reports the missing preprocessor, as plain nbgrader autograde does
    return isinstance(cls, type) and issubclass(cls, base)


def _is_execute(step: Any) -> bool:
    from nbgrader.preprocessors import Execute

    return _is_a(step, Execute)


def isolate(c: Config, overrides_json: str) -> None:
    """Apply the isolation overrides to the loaded course configuration ``c`` (in place).

    Parameters
    ----------
    c
        The configuration after the course's file ran.
    overrides_json
        JSON with ``root``, ``course_id``, ``kernel_name``, ``cell_timeout``, ``startup_timeout``,
        ``sockets`` (IPC socket path prefix), ``probe_dir`` (the probe inputs the job carries, optional)
        and the ``guard`` traits of `GuardedExecute`.
    """
    from autograder.execute.guarded import GuardedExecute

    o = json.loads(overrides_json)
    c.CourseDirectory.root = o["root"]
    c.CourseDirectory.course_id = o["course_id"]
    c.Execute.timeout = o["cell_timeout"]
    c.Execute.startup_timeout = o["startup_timeout"]
    c.Execute.kernel_name = o["kernel_name"]
    c.KernelManager.transport = "ipc"
    c.KernelManager.ip = o["sockets"]
    steps = _autograde_steps(c)
    if not any(_is_execute(step) for step in steps):
        raise ValueError("the course's Autograde.autograde_preprocessors run no Execute step")
    c.Autograde.autograde_preprocessors = with_inert_notebook(
        with_hidden_checks([GuardedExecute if _is_execute(s) else s for s in steps])
    )
    if o.get("probe_dir"):
        c.PrepareHiddenChecks.evaluation_dir = o["probe_dir"]
    c.GuardedExecute.guard = True
    for name, value in o["guard"].items():
        setattr(c.GuardedExecute, name, value)
    c.DecideHiddenChecks.notes_file = o["guard"].get("notes_file", "")  # findings join the run's notes


def _named(step: Any, cls: type) -> bool:
    name = step if isinstance(step, str) else f"{step.__module__}.{step.__qualname__}"
    return name == f"{cls.__module__}.{cls.__qualname__}"


def with_hidden_checks(steps: list) -> list:
    """Return ``steps`` with the hidden-check steps around the Execute step (kept where the course put them).

    A course configuration without them would send the grader-check code into the kernel; the grader
    never runs such a configuration as it is.
    """
    from autograder.checks.steps import DecideHiddenChecks, PrepareHiddenChecks

    if any(_named(s, PrepareHiddenChecks) for s in steps) and any(
        _named(s, DecideHiddenChecks) for s in steps
    ):
        return steps
    steps = [s for s in steps if not (_named(s, PrepareHiddenChecks) or _named(s, DecideHiddenChecks))]
    at = next(i for i, s in enumerate(steps) if _is_execute(s))
    return [*steps[:at], PrepareHiddenChecks, steps[at], DecideHiddenChecks, *steps[at + 1 :]]


def with_inert_notebook(steps: list) -> list:
    """Return ``steps`` with `autograder.inert.MakeInert` last, unless the course put it somewhere already.

    What a worker stores is opened by graders in their browsers: the grader never stores a notebook that
    could run a submission's script there, whatever the course configuration says.
    """
    from autograder.inert import MakeInert

    return steps if any(_is_a(step, MakeInert) for step in steps) else [*steps, MakeInert]


def socket_prefix(folder: Path) -> str:
    """Return the IPC socket path prefix inside ``folder`` (Unix socket paths hold at most 107 bytes)."""
    prefix = str(folder / "kernel")
    if len(prefix) > 90:
        raise ValueError(f"{folder}: path too long for kernel IPC sockets; use a shorter TMPDIR")
    return prefix
