"""Start-up cost of grading: the grader's processes import only what they use (issue 16's overhead)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

import labkit.training


def _python(code: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args, "-c", code], capture_output=True, text=True, check=False)


def test_grader_processes_do_not_import_torch_or_lightning():
    code = (
        "import json, sys; import autograder.grade, autograder.execute.worker, autograder.reuse.reference; "
        "import autograder.reuse.store, autograder.reuse.kernel; "
        "print(json.dumps(sorted(m for m in ('torch', 'pytorch_lightning') if m in sys.modules)))"
    )
    proc = _python(code)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == []


def test_labkit_training_names_load_on_first_use():
    from labkit.training import SupervisedModule, train_model

    assert train_model.__module__ == "labkit.training.loop"
    assert SupervisedModule.__module__ == "labkit.training.modules"
    assert set(labkit.training.__all__) <= set(dir(labkit.training))
    with pytest.raises(AttributeError, match="no attribute 'train_modle'"):
        labkit.training.train_modle  # noqa: B018


def test_the_nbgrader_wrapper_skips_the_slow_import_and_runs_nbgrader():
    probe = (
        "import runpy, sys; sys.argv = ['nbgrader', '--version']; "
        "import atexit; atexit.register(lambda: print('rfc3987_syntax loaded:', "
        "sys.modules.get('rfc3987_syntax') is not None, file=sys.stderr)); "
        "runpy.run_module('{module}', run_name='__main__')"
    )
    plain = _python(probe.format(module="nbgrader"))
    wrapped = _python(probe.format(module="autograder.execute.nbgrader_cli"))
    assert plain.stdout == wrapped.stdout and wrapped.stdout.strip()  # the same nbgrader, the same answer
    assert "rfc3987_syntax loaded: False" in wrapped.stderr
    if "rfc3987_syntax loaded: True" not in plain.stderr:
        pytest.skip("rfc3987_syntax is not installed here: nothing to skip")


def test_a_forked_nbgrader_gets_its_own_folder_environment_log_and_exit_status(tmp_path):
    from autograder.execute.nbgrader_cli import forked_context, run_forked

    runs = {}
    for name, argv in {"ok": ["--version"], "bad": ["autograde", "no_such_lab", "--no-such-flag"]}.items():
        folder = tmp_path / name
        folder.mkdir()
        env = {"PATH": "/usr/bin:/bin", "HOME": str(folder), "COURSE_PROBE": name}
        proc = forked_context().Process(target=run_forked, args=(argv, str(folder), env, str(folder / "log")))
        proc.start()
        proc.join(timeout=120)
        runs[name] = (proc.exitcode, (folder / "log").read_text())
    version = _python("import nbgrader; print(nbgrader.__version__)").stdout.strip()
    assert runs["ok"][0] == 0 and runs["ok"][1].strip().endswith(version), runs["ok"]  # its log, its status
    assert runs["bad"][0] not in (0, None), runs["bad"]


def test_the_fork_server_starts_under_a_temporary_folder_too_long_for_unix_sockets(tmp_path):
    long_tmp = tmp_path / ("t" * (120 - len(str(tmp_path))))  # its sockets' paths would exceed 107 bytes
    long_tmp.mkdir()
    code = (
        "from autograder.execute.nbgrader_cli import forked_context\n"
        "p = forked_context().Process(target=print, args=('forked',))\n"
        "p.start(); p.join(); raise SystemExit(p.exitcode)\n"
    )
    env = {**os.environ, "TMPDIR": str(long_tmp)}
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert run.returncode == 0 and "forked" in run.stdout, run.stderr[-2000:]
