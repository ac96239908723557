"""Browser-test machinery: a JupyterLab server on a loopback port and Debian's Chromium driven by Playwright.

Nothing here downloads anything: Playwright launches the system Chromium (``/usr/bin/chromium``) and the
tests skip, with the reason, when it or the ``playwright`` package is missing.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "test-artifacts" / "browser"
SERVER_CONFIG = REPO / "jupyter_server_config.py"
CHROMIUM = Path(os.environ.get("LABKIT_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def require_chromium() -> Path:
    """Return the Chromium executable, or skip the calling test with the reason."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.skip("browser test skipped: the `playwright` package is not installed (make install)")
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"browser test skipped: no Chromium at {CHROMIUM} (apt-get install chromium)")
    return CHROMIUM


def free_port() -> int:
    """Return a TCP port nothing listens on (the kernel picks it) on loopback."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class LabServer:
    """A running JupyterLab: its base URL, login token, served folder, process and log file."""

    url: str
    token: str
    root: Path
    process: subprocess.Popen[bytes]
    log: Path
    env: dict[str, str]

    def page_url(self, path: str = "lab", reset: bool = False) -> str:
        """Return the browser URL of ``path`` (e.g. ``lab/tree/x.ipynb``) with the login token.

        ``reset`` starts JupyterLab with an empty workspace (no tabs of earlier visits reopened).
        """
        return f"{self.url}/{path}?token={self.token}" + ("&reset" if reset else "")

    def api(
        self, path: str, method: str = "GET", body: dict[str, Any] | None = None, timeout: float = 30
    ) -> Any:
        """Call the server's REST API (``path`` below the base URL) and return the decoded JSON."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"{self.url}/{path}", data=data, method=method)
        request.add_header("Authorization", f"token {self.token}")
        with urllib.request.urlopen(request, timeout=timeout) as response:
            text = response.read().decode()
        return json.loads(text) if text else None

    def log_tail(self, lines: int = 30) -> str:
        """Return the last lines of the server log (for failure messages)."""
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def lab_command(root: Path, port: int, token: str, extra: list[str]) -> list[str]:
    """Return the command line that serves ``root`` with the course's server config."""
    command = [
        str(Path(sys.executable).with_name("jupyter")),
        "lab",
        f"--config={SERVER_CONFIG}",
        "--no-browser",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        *extra,
    ]
    if hasattr(os, "getuid") and os.getuid() == 0:
        command.append("--allow-root")  # containers and CI run as root
    return command


@contextmanager
def running_lab(
    root: Path, env: dict[str, str], log: Path, extra: list[str] = (), timeout: float = 90
) -> Iterator[LabServer]:
    """Start JupyterLab on ``root`` (cwd = ``root``, so nbgrader reads its config there) and stop it after.

    Parameters
    ----------
    root
        The folder served (a course root holding ``nbgrader_config.py``).
    env
        The server's environment; kernels and nbgrader validation inherit it.
    log
        File receiving the server's output.
    extra
        More command-line options.
    timeout
        Seconds to wait for the server to answer.
    """
    port, token = free_port(), secrets.token_hex(16)
    with log.open("wb") as sink:
        process = subprocess.Popen(
            lab_command(root, port, token, list(extra)),
            cwd=root,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = LabServer(f"http://127.0.0.1:{port}", token, root, process, log, env)
    try:
        wait_until_ready(server, timeout)
        yield server
    finally:
        stop_lab(server)


def wait_until_ready(server: LabServer, timeout: float) -> None:
    """Poll ``/api/status`` until the server answers; fail with its log when it exits or times out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(f"JupyterLab exited with code {server.process.returncode}:\n{server.log_tail()}")
        try:
            server.api("api/status", timeout=2)
            return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.3)
    pytest.fail(f"JupyterLab did not answer within {timeout:.0f} s:\n{server.log_tail()}")


def stop_lab(server: LabServer, timeout: float = 20) -> None:
    """Shut the server down (its kernels with it): REST shutdown, then SIGTERM, then SIGKILL."""
    if server.process.poll() is None:
        try:
            server.api("api/shutdown", method="POST", timeout=5)
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            server.process.wait(timeout=timeout)
            return
        except subprocess.TimeoutExpired:
            os.killpg(server.process.pid, sig)
    server.process.wait(timeout=timeout)


@contextmanager
def chromium_page(profile: Path, width: int = 1400, height: int = 900) -> Iterator[Any]:
    """Yield a Playwright page of a headless Debian Chromium with a fresh profile in ``profile``."""
    from playwright.sync_api import sync_playwright

    executable = require_chromium()
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=str(executable),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": width, "height": height},
        )
        page = context.pages[0] if context.pages else context.new_page()
        page.on("dialog", lambda dialog: dialog.accept())  # "leave with unsaved changes?" -> leave
        try:
            yield page
        finally:
            context.close()


def screenshot(page: Any, name: str) -> Path:
    """Save a screenshot of ``page`` as ``test-artifacts/browser/<name>.png`` and return its path."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path


def copy_course(labs: list[str], target: Path) -> Path:
    """Copy the course's config and the release (and source) folders of ``labs`` into ``target``."""
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy2(REPO / "nbgrader_config.py", target / "nbgrader_config.py")
    for lab in labs:
        for folder in ("source", "release"):
            if (REPO / folder / lab).is_dir():
                shutil.copytree(REPO / folder / lab, target / folder / lab, ignore=_ignore)
    return target


def _ignore(folder: str, names: list[str]) -> set[str]:
    return {name for name in names if name in {".ipynb_checkpoints", "__pycache__"}}


# --- JupyterLab in the page (the app object is exposed with --LabApp.expose_app_in_browser) ---------------

OPEN_NOTEBOOK_JS = """async (path) => {
  const app = window.jupyterapp;
  const panel = app.shell.currentWidget;
  if (!panel || !panel.context || panel.context.path !== path) { return false; }
  await panel.context.ready;
  await panel.sessionContext.ready;
  return panel.sessionContext.session?.kernel?.name ?? 'no kernel';
}"""

FACTORY_READY_JS = """(name) => Array.from(window.jupyterapp.docRegistry.widgetFactories())
  .some(f => f.name === name)"""

OPEN_WITH_JS = """async ([path, factory]) => {
  await window.jupyterapp.restored;
  await window.jupyterapp.commands.execute('docmanager:open', {path, factory});
}"""

RUN_CELL_JS = """async (index) => {
  const app = window.jupyterapp;
  const notebook = app.shell.currentWidget.content;
  notebook.activeCellIndex = index;
  const cell = notebook.widgets[index];
  await app.commands.execute('notebook:run-cell');
  if (cell.model.type !== 'code') { return {type: cell.model.type, errors: []}; }
  const outputs = cell.model.outputs.toJSON();
  const errors = outputs.filter(o => o.output_type === 'error').map(o => `${o.ename}: ${o.evalue}`);
  const text = outputs.filter(o => o.output_type === 'stream').map(o => [].concat(o.text).join('')).join('');
  return {type: 'code', errors: errors, count: cell.model.executionCount, text: text.slice(-2000)};
}"""

COUNT_JS = """([i, selector]) => window.jupyterapp.shell.currentWidget.content.widgets[i].node
  .querySelectorAll(selector).length"""

SCROLL_JS = """([i, selector]) => {
  const node = window.jupyterapp.shell.currentWidget.content.widgets[i].node;
  const target = (selector && node.querySelector(selector)) || node;
  target.scrollIntoView({block: selector ? 'center' : 'start'});
}"""

FIRST_WITH_JS = """(selector) => {
  const index = window.jupyterapp.shell.currentWidget.content.widgets.findIndex(
    c => c.node.querySelector(selector) !== null);
  return index < 0 ? null : index;
}"""

CELL_SOURCES_JS = """() => window.jupyterapp.shell.currentWidget.content.widgets.map(c => ({
  type: c.model.type,
  source: c.model.sharedModel.getSource(),
  grade_id: c.model.getMetadata('nbgrader')?.grade_id ?? null,
  solution: c.model.getMetadata('nbgrader')?.solution ?? false,
}))"""

SET_SOURCE_JS = """([i, text]) => window.jupyterapp.shell.currentWidget.content.widgets[i].model
  .sharedModel.setSource(text)"""


def open_notebook(page: Any, server: LabServer, path: str, factory: str = "", timeout: float = 90) -> str:
    """Open ``path`` (relative to the served folder) as a notebook in JupyterLab; return its kernel name.

    ``factory`` names another document factory (e.g. ``"Jupytext Notebook"`` for a ``.py`` script),
    opened the way *Open With* does.
    """
    ms = timeout * 1000
    page.goto(server.page_url("lab" if factory else f"lab/tree/{path}", reset=True))
    page.wait_for_function("() => window.jupyterapp?.shell !== undefined", timeout=ms)
    if factory:
        page.wait_for_function(FACTORY_READY_JS, arg=factory, timeout=ms)
        page.evaluate(OPEN_WITH_JS, [path, factory])
    current = "(p) => window.jupyterapp.shell.currentWidget?.context?.path === p"
    page.wait_for_function(current, arg=path, timeout=ms)
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=ms)
    kernel = page.evaluate(OPEN_NOTEBOOK_JS, path)
    idle = "() => window.jupyterapp.shell.currentWidget.sessionContext.session?.kernel?.status === 'idle'"
    page.wait_for_function(idle, timeout=ms)
    return kernel


def cell_sources(page: Any) -> list[dict[str, Any]]:
    """Return ``type``, ``source``, nbgrader ``grade_id`` and ``solution`` of every cell, in order."""
    return page.evaluate(CELL_SOURCES_JS)


def set_source(page: Any, index: int, text: str) -> None:
    """Replace the source of cell ``index`` of the open notebook (as typing it in would)."""
    page.evaluate(SET_SOURCE_JS, [index, text])


def run_cell(page: Any, index: int) -> dict[str, Any]:
    """Run cell ``index`` of the open notebook as its Run button does, and wait for it to finish.

    Returns its ``type``, ``errors`` (``"Name: message"`` lines), execution ``count`` and the end of its
    printed ``text``. No time limit of its own: the test's ``pytest.mark.timeout`` bounds a hung cell.
    """
    return page.evaluate(RUN_CELL_JS, index)


def count_in_cell(page: Any, index: int, selector: str) -> int:
    """Return how many elements matching the CSS ``selector`` cell ``index`` of the open notebook holds."""
    return page.evaluate(COUNT_JS, [index, selector])


def scroll_to_cell(page: Any, index: int, selector: str = "", settle_ms: int = 800) -> None:
    """Scroll the open notebook to cell ``index`` (to its first ``selector`` element, centred, if given).

    Cells out of view render lazily (CSS content-visibility), so this waits ``settle_ms`` for the paint.
    """
    page.evaluate(SCROLL_JS, [index, selector])
    page.wait_for_timeout(settle_ms)


def first_cell_with(page: Any, selector: str) -> int | None:
    """Return the index of the first cell of the open notebook holding a ``selector`` element."""
    return page.evaluate(FIRST_WITH_JS, selector)


class Stopwatch:
    """Named laps in seconds, for the test's timing line."""

    def __init__(self) -> None:
        self.last, self.laps = time.perf_counter(), {}

    def lap(self, name: str) -> None:
        """Record the seconds since the previous lap under ``name``."""
        now = time.perf_counter()
        self.laps[name], self.last = round(now - self.last, 1), now

    def __str__(self) -> str:
        return ", ".join(f"{name} {seconds} s" for name, seconds in self.laps.items())
