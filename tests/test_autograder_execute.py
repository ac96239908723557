"""``GuardedExecute`` with a real kernel: a kernel that dies while starting gets one fresh start."""

from __future__ import annotations

import json
import sys

import nbformat
import pytest

from autograder.execute import GuardedExecute

FLAKY = """import os, sys
marker = sys.argv[1]
if not os.path.exists(marker):
    open(marker, "w").close()
    sys.exit(1)  # the first start dies before replying to kernel_info
os.execv(sys.executable, [sys.executable, "-m", "ipykernel_launcher", "-f", sys.argv[2]])
"""


def _kernel(tmp_path, monkeypatch, marker) -> str:
    spec = tmp_path / "jupyter" / "kernels" / "flaky"
    spec.mkdir(parents=True)
    (tmp_path / "flaky.py").write_text(FLAKY)
    argv = [sys.executable, str(tmp_path / "flaky.py"), str(marker), "{connection_file}"]
    (spec / "kernel.json").write_text(
        json.dumps({"argv": argv, "display_name": "flaky", "language": "python"})
    )
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    return "flaky"


def _run(tmp_path, kernel: str):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(6 * 7)")])
    notes = tmp_path / "notes.json"
    executor = GuardedExecute(kernel_name=kernel, startup_timeout=60, timeout=30, notes_file=str(notes))
    nb, _ = executor.preprocess(nb, {"metadata": {"path": str(tmp_path)}})
    return nb, json.loads(notes.read_text())


@pytest.mark.slow
def test_a_kernel_that_dies_while_starting_is_started_again(tmp_path, monkeypatch):
    nb, notes = _run(tmp_path, _kernel(tmp_path, monkeypatch, tmp_path / "started-once"))
    assert notes == []
    assert nb.cells[0].outputs[0]["text"] == "42\n"


@pytest.mark.slow
def test_a_kernel_that_never_starts_is_graded_with_a_note(tmp_path, monkeypatch):
    kernel = _kernel(tmp_path, monkeypatch, tmp_path / "no-such-dir" / "marker")  # every start dies
    nb, notes = _run(tmp_path, kernel)
    assert len(notes) == 1 and notes[0].startswith("kernel failed: RuntimeError")
    assert nb.cells[0].outputs[0]["ename"] == "NotExecuted"
