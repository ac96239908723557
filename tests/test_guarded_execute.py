"""``GuardedExecute`` with a real kernel: a kernel that dies while starting gets one fresh start."""

from __future__ import annotations

import json
import sys

import nbformat
import pytest

from autograder.execute.guarded import GuardedExecute
from autograder.execute.outputs import cap_outputs

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
    notes, failure = tmp_path / "notes.json", tmp_path / "infrastructure.json"
    executor = GuardedExecute(
        kernel_name=kernel, startup_timeout=60, timeout=30, notes_file=str(notes), failure_file=str(failure)
    )
    nb, _ = executor.preprocess(nb, {"metadata": {"path": str(tmp_path)}})
    return nb, json.loads(notes.read_text())


@pytest.mark.slow
def test_a_kernel_that_dies_while_starting_is_started_again(tmp_path, monkeypatch):
    nb, notes = _run(tmp_path, _kernel(tmp_path, monkeypatch, tmp_path / "started-once"))
    assert notes == [] and not (tmp_path / "infrastructure.json").exists()
    assert nb.cells[0].outputs[0]["text"] == "42\n"


@pytest.mark.slow
def test_a_kernel_that_never_starts_is_reported_as_the_machines_failure(tmp_path, monkeypatch):
    """No submitted code ran: the cause goes to the failure file, which makes the worker raise
    InfrastructureError (retried, never a grade) instead of scoring the notebook."""
    kernel = _kernel(tmp_path, monkeypatch, tmp_path / "no-such-dir" / "marker")  # every start dies
    nb, notes = _run(tmp_path, kernel)
    assert len(notes) == 1 and notes[0].startswith("kernel failed: RuntimeError")
    cause = json.loads((tmp_path / "infrastructure.json").read_text())["cause"]
    assert cause == notes[0]
    assert nb.cells[0].outputs[0]["ename"] == "NotExecuted"


def test_text_is_cut_but_figures_and_probe_results_are_never_cut():
    """A cut base64 PNG is a broken image: text outputs are cut, image data is kept whole (or, over the
    image limit, replaced by one line), and probe results reach the grader whole."""
    from autograder.checks.probe import MIME

    step = GuardedExecute(max_output_chars=1000, max_image_chars=50_000)
    png, huge, text = "i" * 20_000, "j" * 60_000, "t" * 5_000
    cell = nbformat.v4.new_code_cell("plot()")
    cell.outputs = [
        nbformat.v4.new_output("display_data", data={"image/png": png, "text/plain": "<Figure>"}),
        nbformat.v4.new_output("display_data", data={"image/png": huge}),
        nbformat.v4.new_output("display_data", data={"text/html": text}),
        nbformat.v4.new_output("display_data", data={MIME: {"name": "x", "value": "v" * 5_000}}),
        nbformat.v4.new_output("stream", name="stdout", text=text),
    ]
    cap_outputs(cell, step.max_output_chars, step.max_image_chars)
    figure, too_big, html, probe, stream = cell.outputs
    assert figure["data"]["image/png"] == png
    assert "image/png" not in too_big["data"] and "withheld" in too_big["data"]["text/plain"]
    assert len(html["data"]["text/html"]) < 1100 and html["data"]["text/html"].endswith("cut")
    assert probe["data"][MIME]["value"] == "v" * 5_000
    assert stream["text"].startswith("t" * 1000) and "output cut at 1000 characters" in stream["text"]
