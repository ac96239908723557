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
from pathlib import Path
from typing import Any

import browser_support as bs
import pytest

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
    """Return the repository's data folder, failing with the fix when the data files are missing."""
    folder = bs.REPO / "data"
    missing = [name for name in ("ecg_rhythms.npz", "ppg_dalia.pkl") if not (folder / name).is_file()]
    if missing:
        pytest.fail(f"{folder}: {', '.join(missing)} missing; run `make data` (labkit data synth)")
    return folder


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


def first_training_cell(cells: list[dict[str, str]]) -> int:
    """Return the index of the first code cell that trains a model (calls ``train_model(``)."""
    for index, cell in enumerate(cells):
        if cell["type"] == "code" and "train_model(" in cell["source"]:
            return index
    raise AssertionError("the notebook has no cell calling train_model(")


def unexpected_errors(results: list[dict[str, Any]]) -> dict[int, list[str]]:
    """Return the cells whose errors are anything but the release stubs' NotImplementedError."""
    return {
        index: result["errors"]
        for index, result in enumerate(results)
        if any(not error.startswith("NotImplementedError") for error in result["errors"])
    }


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
@pytest.mark.timeout(420)
@pytest.mark.parametrize("lab", LABS)
def test_release_notebook_in_jupyterlab(lab: str, course: Path, lab_server: bs.LabServer, page: Any) -> None:
    release_notebook(lab)
    started = time.perf_counter()
    kernel = bs.open_notebook(page, lab_server, f"release/{lab}/{lab}.ipynb")
    assert kernel == "python3", f"the notebook opened with kernel {kernel!r}, not the course's python3"
    cells = bs.cell_sources(page)
    last = first_training_cell(cells)
    results = [bs.run_cell(page, index) for index in range(last + 1)]
    timings = {"run": time.perf_counter() - started}
    try:
        assert not unexpected_errors(results), f"cells failed: {unexpected_errors(results)}"
        assert results[last]["count"], "the training cell did not run"
        canvas = page.wait_for_selector(".jp-Notebook .jupyter-matplotlib canvas", timeout=30_000)
        canvas.scroll_into_view_if_needed()
        bs.screenshot(page, f"jupyterlab_{lab}_figure")
        bs.scroll_to_cell(page, last)
        bs.screenshot(page, f"jupyterlab_{lab}_training")
        report = validate_in_toolbar(page)
        timings["validate"] = time.perf_counter() - started - timings["run"]
        bs.screenshot(page, f"jupyterlab_{lab}_validate")
        assert "Success" not in report and re.search(r"fail", report, re.IGNORECASE), report
    finally:
        for port in tensorboard_ports(page):
            stop_tensorboard(port)
        close_sessions(lab_server)
    print(f"{lab}: ran cells 0..{last} ({len(cells)} cells) and validated; seconds {timings}")


def tensorboard_ports(page: Any) -> list[int]:
    """Return the ports of the TensorBoard frames shown in the page."""
    sources = page.eval_on_selector_all("iframe[id^='tensorboard-frame']", "frames => frames.map(f => f.src)")
    return [int(match.group(1)) for src in sources if (match := re.search(r":(\d+)/", src))]


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
