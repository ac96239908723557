"""autograder/execute/isolation.py: the worker's nbgrader configuration is the course's plus isolation.

The worker's ``nbgrader_config.py`` (``worker_config_text``) is loaded here the way nbgrader loads it
(traitlets' ``PyFileConfigLoader``), next to a copy of a course configuration. No nbgrader run.
"""

from __future__ import annotations

import shutil

import pytest
from autograder_support import FIXTURE
from nbgrader.preprocessors import Execute
from traitlets.config.loader import PyFileConfigLoader

from autograder.checks.steps import DecideHiddenChecks, PrepareHiddenChecks
from autograder.execute.guarded import GuardedExecute
from autograder.execute.isolation import COURSE_CONFIG, socket_prefix, worker_config_text

OVERRIDES = {
    "root": "/work/job",
    "course_id": "course-mini",
    "kernel_name": "course-sandbox",
    "cell_timeout": 7,
    "startup_timeout": 9,
    "sockets": "/work/sockets/kernel",
    "probe_dir": "/work/job/probe",
    "guard": {"notebook_timeout": 99, "notes_file": "/work/job/notes.json", "kernel_uid": -1},
}


def _worker_config(tmp_path, course_config: str | None = None, overrides=OVERRIDES):
    if course_config is None:
        shutil.copy(FIXTURE / "nbgrader_config.py", tmp_path / COURSE_CONFIG)
    else:
        (tmp_path / COURSE_CONFIG).write_text(course_config)
    (tmp_path / "nbgrader_config.py").write_text(worker_config_text(overrides))
    return PyFileConfigLoader("nbgrader_config.py", path=str(tmp_path)).load_config()


def _name(step) -> str:
    return step if isinstance(step, str) else f"{step.__module__}.{step.__qualname__}"


def test_the_course_config_is_loaded_unchanged_but_for_the_isolation_overrides(tmp_path):
    c = _worker_config(tmp_path)
    assert c.CourseDirectory.root == "/work/job" and c.CourseDirectory.course_id == "course-mini"
    assert c.CourseDirectory.ignore == [".ipynb_checkpoints", "*.pyc", "__pycache__", "*.py", "feedback"]
    assert c.RestoreCells.add_missing_cells is True and c.Execute.iopub_timeout == 60  # the course's own
    assert (c.Execute.timeout, c.Execute.startup_timeout, c.Execute.kernel_name) == (7, 9, "course-sandbox")
    assert c.KernelManager.transport == "ipc" and c.KernelManager.ip == "/work/sockets/kernel"
    assert c.PrepareHiddenChecks.evaluation_dir == "/work/job/probe"
    assert c.GuardedExecute.guard is True and c.GuardedExecute.notebook_timeout == 99
    assert c.GuardedExecute.notes_file == "/work/job/notes.json" and c.GuardedExecute.kernel_uid == -1


def test_the_execute_step_becomes_guarded_where_the_course_put_it_between_the_hidden_check_steps(tmp_path):
    steps = [_name(s) for s in _worker_config(tmp_path).Autograde.autograde_preprocessors]
    at = steps.index(_name(GuardedExecute))
    assert steps[at - 1 : at + 2] == [
        _name(PrepareHiddenChecks),
        _name(GuardedExecute),
        _name(DecideHiddenChecks),
    ]
    assert _name(Execute) not in steps and steps.count(_name(PrepareHiddenChecks)) == 1


def test_a_course_config_without_hidden_check_steps_gets_them_around_the_execute_step(tmp_path):
    plain = "c = get_config()  # noqa: F821\nc.Execute.timeout = 5\n"
    c = _worker_config(tmp_path, plain, {**OVERRIDES, "probe_dir": ""})
    steps = [_name(s) for s in c.Autograde.autograde_preprocessors]
    at = steps.index(_name(GuardedExecute))
    assert steps[at - 1] == _name(PrepareHiddenChecks) and steps[at + 1] == _name(DecideHiddenChecks)
    assert _name(Execute) not in steps and len(steps) > 3  # nbgrader's other default steps kept
    assert "evaluation_dir" not in c.PrepareHiddenChecks  # no probe inputs: nothing set


def test_a_course_config_that_runs_no_execute_step_is_refused(tmp_path):
    no_execute = (
        "c = get_config()  # noqa: F821\n"
        "c.Autograde.autograde_preprocessors = ['nbgrader.preprocessors.ClearOutput']\n"
    )
    with pytest.raises(ValueError, match="run no Execute step"):
        _worker_config(tmp_path, no_execute)


def test_the_socket_prefix_fits_a_unix_socket_path(tmp_path):
    assert socket_prefix(tmp_path) == str(tmp_path / "kernel")
    with pytest.raises(ValueError, match="path too long for kernel IPC sockets; use a shorter TMPDIR"):
        socket_prefix(tmp_path / ("x" * 90))


def test_the_course_s_inert_step_stays_last_and_a_course_without_it_gets_it_last(tmp_path):
    from autograder.inert import MakeInert

    course = [_name(s) for s in _worker_config(tmp_path).Autograde.autograde_preprocessors]
    assert course[-1] == "autograder.inert.MakeInert" and course.count("autograder.inert.MakeInert") == 1
    plain = "c = get_config()  # noqa: F821\nc.Execute.timeout = 5\n"
    steps = _worker_config(tmp_path, plain, {**OVERRIDES, "probe_dir": ""}).Autograde.autograde_preprocessors
    assert steps[-1] is MakeInert and sum(s is MakeInert for s in steps) == 1
