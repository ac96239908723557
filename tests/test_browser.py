"""The course as people meet it: JupyterLab in a real (headless) Chromium, TensorBoard ports, headless runs.

Browser tests serve a temporary copy of the course with JupyterLab (loopback, token), data from the
repository's ``data/`` and logs in a temporary folder, with the documented training cap
``LABKIT_MAX_EPOCHS=1`` in the server's environment (the kernels inherit it). Screenshots go to
``test-artifacts/browser/``. Without Chromium they are reported as skipped, with the reason.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import browser_support as bs
import pytest
from e2e_support import capped_data_dir

from labkit import runtime
from labkit import tensorboard as labkit_tensorboard

LABS = ("ecg_rhythm_classification", "hr_estimation")
VENV_BIN = str(Path(sys.executable).parent)
NO_NEWS = {"fetchNews": "false", "checkForUpdates": False}
#: Variables that would change how a kernel behaves; the tests decide them explicitly.
RUNTIME_VARS = ("NBGRADER_EXECUTION", "LABKIT_HEADLESS", "JPY_SESSION_NAME", "LABKIT_MAX_EPOCHS")


def release_notebook(lab: str) -> Path:
    """Return the committed student notebook of ``lab``, or skip when it has not been generated yet."""
    path = bs.REPO / "release" / lab / f"{lab}.ipynb"
    if not path.is_file():
        pytest.skip(f"{path.relative_to(bs.REPO)} missing: run `make build` (nbgrader generate_assignment)")
    return path


def data_folder() -> Path:
    """Return the data of these capped runs (a smaller ECG file, see e2e_support.capped_data_dir), failing
    with the fix when the repository's data files are missing."""
    folder = bs.REPO / "data"
    missing = [name for name in ("ecg_rhythms.npz", "ppg_dalia.pkl") if not (folder / name).is_file()]
    if missing:
        pytest.fail(f"{folder}: {', '.join(missing)} missing; run `make data` (labkit data synth)")
    return capped_data_dir()


def clean_env(**values: str) -> dict[str, str]:
    """Return this process's environment without the runtime switches, plus ``values``."""
    env = {key: value for key, value in os.environ.items() if key not in RUNTIME_VARS}
    env.update(values)
    return env


# --- TensorBoard ports (no browser) ---------------------------------------------------------------------


def listening_socket(port: int) -> socket.socket:
    """Return a socket listening on loopback ``port``."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", port))
    sock.listen()
    return sock


def test_free_port_skips_an_occupied_port() -> None:
    taken = labkit_tensorboard.free_port(6006)  # 6006 itself unless something already holds it
    with listening_socket(taken):
        chosen = labkit_tensorboard.free_port(6006)
        assert chosen != taken
        assert chosen > taken, "free_port should move on to the next port, not below its start"
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind(("127.0.0.1", chosen))  # really free


def stop_tensorboard(port: int) -> list[int]:
    """Terminate the TensorBoard serving ``port`` (from TensorBoard's own registry); return the pids."""
    import signal

    from tensorboard import manager

    pids = [info.pid for info in manager.get_all() if info.port == port]
    for pid in pids:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    return pids


def http_get(url: str, timeout: float = 10) -> tuple[int, str]:
    """Return the status and body text of a GET request."""
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.status, response.read().decode(errors="replace")


@pytest.mark.slow
def test_show_serves_tensorboard_on_a_free_port_when_interactive(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(runtime, "is_interactive", lambda: True)
    # A kernel under `make lab` has the environment's bin/ on PATH (jupyter_server_config.py puts it there).
    monkeypatch.setenv("PATH", os.pathsep.join([VENV_BIN, os.environ.get("PATH", "")]))
    first = labkit_tensorboard.free_port(6006)
    with listening_socket(first):
        port = labkit_tensorboard.show(tmp_path / "logs")
    try:
        assert port is not None and port != first, f"show() chose the occupied port {first}"
        status, body = http_get(f"http://127.0.0.1:{port}/")
        assert status == 200 and "TensorBoard" in body
    finally:
        pids = stop_tensorboard(port) if port else []
    assert pids, f"no TensorBoard registered on port {port}"


def test_show_starts_nothing_when_headless(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys) -> None:
    monkeypatch.setattr(runtime, "is_interactive", lambda: False)
    assert labkit_tensorboard.show(tmp_path / "logs") is None
    assert "tensorboard --logdir" in capsys.readouterr().out


# --- JupyterLab in Chromium -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def course(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A temporary course (config, source and release of both labs) with the labs in its gradebook."""
    bs.require_chromium()
    root = bs.copy_course(list(LABS), tmp_path_factory.mktemp("course"))
    env = clean_env(PATH=os.pathsep.join([VENV_BIN, os.environ.get("PATH", "")]))
    for lab in LABS:
        if (root / "source" / lab).is_dir():
            subprocess.run(
                [f"{VENV_BIN}/nbgrader", "db", "assignment", "add", lab],
                cwd=root, env=env, check=True, capture_output=True, timeout=120,
            )  # fmt: skip
    return root


@pytest.fixture(scope="module")
def lab_server(course: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[bs.LabServer]:
    """JupyterLab on the temporary course with the training cap and a private settings folder."""
    bs.require_chromium()
    home = tmp_path_factory.mktemp("lab")
    settings = home / "settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    (settings / "notification.jupyterlab-settings").write_text(json.dumps(NO_NEWS))
    env = clean_env(
        LABKIT_DATA_DIR=str(data_folder()),
        LABKIT_LOG_DIR=str(home / "logs"),
        LABKIT_MAX_EPOCHS="1",
        JUPYTERLAB_SETTINGS_DIR=str(home / "settings"),
        JUPYTERLAB_WORKSPACES_DIR=str(home / "workspaces"),
    )
    with bs.running_lab(course, env, home / "server.log", ["--LabApp.expose_app_in_browser=True"]) as server:
        yield server


@pytest.fixture(scope="module")
def page(lab_server: bs.LabServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A headless Chromium page with a fresh profile."""
    with bs.chromium_page(tmp_path_factory.mktemp("chromium-profile")) as browser_page:
        yield browser_page


def reference_answers(lab: str) -> dict[str, str]:
    """Return the instructors' answer of every code exercise of ``lab``, by nbgrader grade id."""
    notebook = json.loads((bs.REPO / "source" / lab / f"{lab}.ipynb").read_text())
    answers = {}
    for cell in notebook["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell["cell_type"] == "code" and meta.get("solution"):
            answers[meta["grade_id"]] = "".join(cell["source"])
    return answers


def event_files(log_dir: Path) -> set[Path]:
    """Return the TensorBoard event files below ``log_dir`` (one per trained model)."""
    return set(log_dir.rglob("events.out.tfevents*"))


@dataclass
class Walk:
    """How far a student's walk through the notebook got: cells run, the stub hit, the training cell."""

    results: dict[int, dict[str, Any]] = field(default_factory=dict)
    stub: int | None = None
    stub_errors: list[str] = field(default_factory=list)
    trained_at: int | None = None

    def errors(self) -> dict[int, list[str]]:
        """Return the cells that failed (the stub's NotImplementedError is kept apart, in ``stub_errors``)."""
        return {i: r["errors"] for i, r in self.results.items() if r["errors"]}


def work_through(page: Any, answers: dict[str, str], log_dir: Path) -> Walk:
    """Run the open notebook cell by cell, as a student does, until its first model has trained.

    The untouched cells run until the first exercise stub raises ``NotImplementedError``; from there the
    exercises hold the reference answers (a student who solved them) and the cells run on from the first
    exercise. Stops at the first unexpected error.
    """
    cells, walk, index, before = bs.cell_sources(page), Walk(), 0, event_files(log_dir)
    while index < len(cells) and walk.trained_at is None:
        result = walk.results[index] = bs.run_cell(page, index)
        stub_error = result["errors"] and all(e.startswith("NotImplementedError") for e in result["errors"])
        if stub_error and walk.stub is None:
            walk.stub, walk.stub_errors = index, result["errors"]
            exercises = [i for i, c in enumerate(cells) if c["grade_id"] in answers]
            for i in exercises:
                bs.set_source(page, i, answers[cells[i]["grade_id"]])
            index = min(exercises)
            continue
        if result["errors"]:
            break
        walk.trained_at = index if event_files(log_dir) - before else None
        index += 1
    return walk


def validate_in_toolbar(page: Any, timeout: float = 240) -> str:
    """Press nbgrader's Validate button (it saves, then validates) and return the result dialog's text."""
    page.click(".validate-button")
    dialog = page.wait_for_selector(".jp-Dialog-content", timeout=timeout * 1000)
    return dialog.inner_text()


def close_sessions(server: bs.LabServer) -> None:
    """Shut down every kernel session of the server (one lab's kernel must not outlive its test)."""
    for session in server.api("api/sessions"):
        server.api(f"api/sessions/{session['id']}", method="DELETE")


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.timeout(720)
@pytest.mark.parametrize("lab", LABS)
def test_release_notebook_in_jupyterlab(lab: str, lab_server: bs.LabServer, page: Any) -> None:
    release_notebook(lab)
    clock = bs.Stopwatch()
    kernel = bs.open_notebook(page, lab_server, f"release/{lab}/{lab}.ipynb")
    assert kernel == "python3", f"the notebook opened with kernel {kernel!r}, not the course's python3"
    clock.lap("open")
    try:
        report = validate_in_toolbar(page)
        bs.screenshot(page, f"jupyterlab_{lab}_validate")
        page.click(".jp-Dialog .jp-mod-accept")
        assert "Success" not in report and re.search(r"fail", report, re.IGNORECASE), report
        paired = lab_server.root / "release" / lab / f"{lab}.py"
        wrote_pair = paired.exists()  # Validate saved the notebook; checked last, after the live checks
        clock.lap("validate")
        walk = work_through(page, reference_answers(lab), Path(lab_server.env["LABKIT_LOG_DIR"]))
        clock.lap("run")
        assert not walk.errors(), f"cells failed in JupyterLab: {walk.errors()}"
        assert walk.trained_at is not None, "no model trained (no TensorBoard events) in the whole notebook"
        check_live_outputs(page, lab, walk.trained_at)
        check_tensorboard(page, lab)
        if lab in VALIDATE_ANSWERED:
            for index, text in written_answers(lab, bs.cell_sources(page)).items():
                bs.set_source(page, index, text)
            report = validate_in_toolbar(page)
            bs.screenshot(page, f"jupyterlab_{lab}_validate_answered")
            page.click(".jp-Dialog .jp-mod-accept")
            clock.lap("validate answered")
            check_answered_validation(lab, report)
    finally:
        for port in tensorboard_ports(page):
            stop_tensorboard(port)
        close_sessions(lab_server)
    print(f"{lab}: stub at cell {walk.stub} {walk.stub_errors}, trained at cell {walk.trained_at}; {clock}")
    assert not wrote_pair, (
        f"saving the student notebook wrote {paired.name} beside it: the release notebook still carries "
        "the jupytext pairing (metadata.jupytext.formats); strip it from release/ notebooks"
    )


#: The labs validated again in JupyterLab once they hold every instructors' answer (a full run of the
#: notebook each: the HR lab alone keeps the suite lean; test_bundle validates both from a hand-out).
VALIDATE_ANSWERED = ("hr_estimation",)
#: The test cells Validate fails then, under these tests' one-epoch cap: none in the HR lab; in the ECG lab
#: the two custom models, one epoch old, are under the bar that their visible checks enforce.
FAILED_UNDER_THE_CAP = {
    "ecg_rhythm_classification": {"test_custom1_accuracy", "test_custom2_accuracy"},
    "hr_estimation": set(),
}


def written_answers(lab: str, cells: list[dict[str, Any]]) -> dict[int, str]:
    """Return ``{cell index: the instructors' answer}`` of every written (markdown) answer of ``lab``."""
    notebook = json.loads((bs.REPO / "source" / lab / f"{lab}.ipynb").read_text())
    answers = {
        cell["metadata"]["nbgrader"]["grade_id"]: "".join(cell["source"])
        for cell in notebook["cells"]
        if cell["cell_type"] == "markdown" and cell.get("metadata", {}).get("nbgrader", {}).get("solution")
    }
    found = {i: answers[c["grade_id"]] for i, c in enumerate(cells) if c["grade_id"] in answers}
    assert len(found) == len(answers), f"{lab}: the page lacks written answers {set(answers)}"
    return found


def check_answered_validation(lab: str, report: str) -> None:
    """The Validate dialog of a notebook holding every answer lists exactly :data:`FAILED_UNDER_THE_CAP`
    (nothing: "Success!"), and a model under the bar fails with its accuracy and the bar."""
    notebook = json.loads(release_notebook(lab).read_text())
    tests = {
        cell["metadata"]["nbgrader"]["grade_id"]: "".join(cell["source"]).splitlines()[0]
        for cell in notebook["cells"]
        if cell["cell_type"] == "code" and cell.get("metadata", {}).get("nbgrader", {}).get("grade")
    }
    listed = {grade_id for grade_id, first_line in tests.items() if first_line in report}
    assert listed == FAILED_UNDER_THE_CAP[lab], report[-3000:]
    assert ("Success! Your notebook passes all the tests." in report) == (not listed), report[-3000:]
    for grade_id in listed:
        model = grade_id.removeprefix("test_").removesuffix("_accuracy").replace("custom", "custom model ")
        assert re.search(rf"{model}: test accuracy [\d.]+ is below", report), report[-3000:]


def check_live_outputs(page: Any, lab: str, training_cell: int) -> None:
    """Check the ipympl figure and the training progress bar are live widgets; take screenshots."""
    canvas = ".jupyter-matplotlib canvas"
    page.wait_for_selector(f".jp-Notebook {canvas}", state="attached", timeout=30_000)
    bs.scroll_to_cell(page, bs.first_cell_with(page, canvas), canvas)
    bs.screenshot(page, f"jupyterlab_{lab}_figure")
    bars = bs.count_in_cell(page, training_cell, ".widget-hprogress")
    bs.scroll_to_cell(page, training_cell, ".widget-hprogress")
    bs.screenshot(page, f"jupyterlab_{lab}_training")
    assert bars, "the training cell shows no progress-bar widget"


def check_tensorboard(page: Any, lab: str) -> None:
    """When the notebook shows TensorBoard: it serves the trained run(s); screenshot the refreshed frame."""
    frame = "iframe[id^='tensorboard-frame']"
    ports = tensorboard_ports(page)
    if not ports:
        return
    runs = poll_runs(ports[0], seconds=90)
    assert runs, f"TensorBoard on port {ports[0]} listed no runs within 90 s; {served_logdirs()}"
    page.eval_on_selector(frame, "f => { f.src = f.src; }")  # TensorBoard's reload button, in effect
    page.wait_for_timeout(3000)
    bs.scroll_to_cell(page, bs.first_cell_with(page, frame), frame)
    bs.screenshot(page, f"jupyterlab_{lab}_tensorboard")


def poll_runs(port: int, seconds: float) -> list[str]:
    """Return the runs TensorBoard on ``port`` lists, asking every 2 s until there are some or time is up.

    TensorBoard is started before the first model trains and scans its log folder every few seconds, so on
    a busy machine the first scan after training can come well after the training cell has finished.
    """
    deadline = time.monotonic() + seconds
    while True:
        status, body = http_get(f"http://127.0.0.1:{port}/data/runs")
        runs = json.loads(body) if status == 200 else []
        if runs or time.monotonic() > deadline:
            return runs
        time.sleep(2)


def served_logdirs() -> str:
    """Describe the TensorBoard servers registered on this machine and their log folders (for failures)."""
    from tensorboard import manager

    servers = [f"port {info.port}: {info.logdir}" for info in manager.get_all()]
    return "registered TensorBoard servers: " + ("; ".join(servers) or "none")


def tensorboard_ports(page: Any) -> list[int]:
    """Return the ports of the TensorBoard frames shown in the page."""
    sources = page.eval_on_selector_all("iframe[id^='tensorboard-frame']", "frames => frames.map(f => f.src)")
    return [int(match.group(1)) for src in sources if (match := re.search(r":(\d+)/", src))]


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.timeout(180)
@pytest.mark.parametrize("lab", LABS)
def test_jupytext_opens_the_source_script_as_notebook(lab: str, lab_server: bs.LabServer, page: Any) -> None:
    script = lab_server.root / "source" / lab / f"{lab}.py"
    if not script.is_file():
        pytest.skip(f"source/{lab}/{lab}.py missing")
    paired = json.loads(script.with_suffix(".ipynb").read_text())
    expected = [cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") for cell in paired["cells"]]
    try:
        bs.open_notebook(page, lab_server, f"source/{lab}/{lab}.py", factory="Jupytext Notebook")
        cells = bs.cell_sources(page)
        bs.screenshot(page, f"jupyterlab_{lab}_jupytext")
    finally:
        close_sessions(lab_server)
    assert [cell["grade_id"] for cell in cells] == expected, "the .py opens with other cells than its .ipynb"


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.timeout(180)
def test_formgrader_lists_the_labs(course: Path, lab_server: bs.LabServer, page: Any) -> None:
    labs = [lab for lab in LABS if (course / "source" / lab).is_dir()]
    if not labs:
        pytest.skip("no lab under source/ yet")
    page.goto(lab_server.page_url("formgrader"))
    table = page.wait_for_selector("table", timeout=60_000)
    for lab in labs:
        page.wait_for_selector(f"table >> text={lab}", timeout=30_000)
    bs.screenshot(page, "jupyterlab_formgrader")
    assert all(lab in table.inner_text() for lab in labs)


# --- Headless execution (no browser, no display) ----------------------------------------------------------


def tensorboard_pids() -> set[int]:
    """Return the pids of the TensorBoards registered on this machine."""
    from tensorboard import manager

    return {info.pid for info in manager.get_all()}


def widget_outputs(notebook: dict[str, Any]) -> list[int]:
    """Return the indices of cells with a widget or TensorBoard frame in their outputs."""
    found = []
    for index, cell in enumerate(notebook["cells"]):
        text = json.dumps(cell.get("outputs", []))
        if "application/vnd.jupyter.widget-view+json" in text or "tensorboard-frame" in text:
            found.append(index)
    return found


def unexpected_headless_errors(notebook: dict[str, Any]) -> list[str]:
    """Return the errors of the executed notebook, except graded tests' metric assertions.

    One epoch per model (the cap) cannot reach the performance thresholds, so an ``AssertionError`` in a
    graded test cell is expected; any other error is not.
    """
    found = []
    for cell in notebook["cells"]:
        graded = cell.get("metadata", {}).get("nbgrader", {}).get("grade", False)
        for output in cell.get("outputs", []):
            if output["output_type"] == "error" and not (graded and output["ename"] == "AssertionError"):
                found.append(f"{output['ename']}: {output['evalue']}")
    return found


@pytest.mark.slow
@pytest.mark.timeout(600)
@pytest.mark.parametrize("lab", LABS)
def test_plain_nbconvert_execution_never_waits_for_a_browser(lab: str, tmp_path: Path) -> None:
    """A plain ``jupyter nbconvert --execute`` (no nbgrader, no LABKIT_HEADLESS) of the reference finishes."""
    source = bs.REPO / "source" / lab / f"{lab}.ipynb"
    if not source.is_file():
        pytest.skip(f"{source.relative_to(bs.REPO)} missing")
    env = clean_env(
        LABKIT_DATA_DIR=str(data_folder()), LABKIT_LOG_DIR=str(tmp_path / "logs"), LABKIT_MAX_EPOCHS="1"
    )
    before = tensorboard_pids()
    command = [f"{VENV_BIN}/jupyter", "nbconvert", "--to", "notebook", "--execute", "--allow-errors",
               "--ExecutePreprocessor.timeout=300", f"--output-dir={tmp_path}", str(source)]  # fmt: skip
    done = subprocess.run(command, env=env, cwd=source.parent, capture_output=True, text=True, timeout=540)
    assert done.returncode == 0, done.stderr[-2000:]
    executed = json.loads((tmp_path / source.name).read_text())
    errors = unexpected_headless_errors(executed)
    assert not errors, f"the reference notebook failed headless: {errors}"
    assert not widget_outputs(executed), f"widgets or TensorBoard frames in cells {widget_outputs(executed)}"
    started = tensorboard_pids() - before
    assert not started, f"headless execution started TensorBoard (pids {started})"
    text = json.dumps(executed)
    assert "plots inline" in text and "TensorBoard not started" in text
    assert "\\r" not in text, "a progress bar wrote carriage-return updates into the executed notebook"
