"""The course JupyterHub (hub/): per-user settings, and a class in Chromium (student, then instructor).

The browser test runs a real JupyterHub (dummy authenticator, npm's configurable-http-proxy) on a
temporary copy of the course: a student fetches the ECG lab from the Assignments tab, runs its first
cells, validates and submits; the instructor collects it in formgrader. Screenshots go to
``test-artifacts/browser/hub_*.png``. Skipped, with the reason, without jupyterhub, the proxy or Chromium.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import browser_support as bs
import pytest
from e2e_support import capped_data_dir

pytest.importorskip("jupyterhub", reason="hub tests skipped: jupyterhub not installed (make install)")
sys.path.insert(0, str(bs.REPO / "hub"))
import course_hub  # noqa: E402

LAB = "ecg_rhythm_classification"
PROXY = bs.REPO / "hub" / "node_modules" / ".bin" / "configurable-http-proxy"
BIN = Path(sys.executable).parent


def test_settings_come_from_the_environment(tmp_path: Path) -> None:
    hub = course_hub.HubSettings.from_environment(
        {"COURSE_HUB_COURSE": str(tmp_path), "COURSE_HUB_STUDENTS": "ann, ben,", "COURSE_HUB_PORT": "8111"}
    )
    assert hub.course == tmp_path.resolve() and hub.state == tmp_path.resolve() / ".hub"
    assert hub.students == ("ann", "ben") and hub.instructors == ("instructor",) and hub.port == 8111
    assert hub.home("ann") == tmp_path.resolve() / ".hub" / "homes" / "ann"


def test_students_share_the_exchange_and_lack_the_instructor_tools(tmp_path: Path) -> None:
    course = bs.copy_course([], tmp_path / "course")
    course_hub.write_user_settings(tmp_path / "ann", course, "ann", instructor=False)
    course_hub.write_user_settings(tmp_path / "teach", course, "teach", instructor=True)
    student = (tmp_path / "ann" / ".jupyter" / "nbgrader_config.py").read_text()
    assert f"c.Exchange.root = {str(course / 'exchange')!r}" in student
    assert "c.CourseDirectory.course_id = 'wearable-cardiac-dl'" in student
    assert "c.CourseDirectory.student_id = 'ann'" in student  # not the hub's system user
    disabled = json.loads((tmp_path / "ann" / ".jupyter" / "labconfig" / "page_config.json").read_text())
    assert set(disabled["disabledExtensions"]) == set(course_hub.INSTRUCTOR_PLUGINS)
    server = json.loads((tmp_path / "ann" / ".jupyter" / "jupyter_server_config.json").read_text())
    assert server["ServerApp"]["jpserver_extensions"] == dict.fromkeys(
        course_hub.INSTRUCTOR_SERVER_EXTENSIONS, False
    )
    teacher = (tmp_path / "teach" / ".jupyter" / "nbgrader_config.py").read_text()
    assert f"load_subconfig({str(course / 'nbgrader_config.py')!r})" in teacher
    teacher_lab = json.loads((tmp_path / "teach" / ".jupyter" / "labconfig" / "page_config.json").read_text())
    assert teacher_lab["disabledExtensions"] == {}


def test_a_course_without_an_exchange_is_refused_with_the_file_named(tmp_path: Path) -> None:
    (tmp_path / "nbgrader_config.py").write_text("c = get_config()\nLABS = ['x']\n")
    with pytest.raises(RuntimeError, match=r"nbgrader_config.py: sets no c.Exchange.root"):
        course_hub.write_user_settings(tmp_path / "home", tmp_path, "ann", instructor=False)


# --- a class on the hub, in Chromium ----------------------------------------------------------------------


@contextmanager
def running_hub(course: Path, state: Path, log: Path) -> Iterator[str]:
    """Start the course hub on ``course`` and yield its URL; stop it (and every user server) after."""
    port = bs.free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "LABKIT_"))}
    env.update(
        PATH=os.pathsep.join([str(BIN), env.get("PATH", "")]),
        COURSE_HUB_COURSE=str(course),
        COURSE_HUB_DIR=str(state),
        COURSE_HUB_STUDENTS="student1",
        COURSE_HUB_PORT=str(port),
        COURSE_HUB_SERVER_ARGS="--LabApp.expose_app_in_browser=True",
        LABKIT_DATA_DIR=str(capped_data_dir()),
        LABKIT_MAX_EPOCHS="1",
    )
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [str(BIN / "jupyterhub"), "-f", str(bs.REPO / "hub" / "jupyterhub_config.py")],
            cwd=state.parent, env=env, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert process.poll() is None, f"jupyterhub exited:\n{log.read_text()[-3000:]}"
            assert time.monotonic() < deadline, f"jupyterhub did not answer:\n{log.read_text()[-3000:]}"
            try:
                urllib.request.urlopen(f"{url}/hub/login", timeout=2).close()
                break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.5)
        yield url
    finally:
        process.terminate()  # the hub stops the proxy and the user servers it spawned (cleanup_servers)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)
            process.wait(timeout=10)


def log_in(page: Any, url: str, user: str) -> None:
    """Log in as ``user`` on the hub's login form (any password: dummy authenticator)."""
    page.goto(f"{url}/hub/login")
    page.fill("#username_input", user)
    page.fill("#password_input", "any")
    page.click("#login_submit")


def wait_for_lab(page: Any, timeout_ms: int = 180_000) -> None:
    """Wait until the user's JupyterLab has started and restored."""
    page.wait_for_function("() => window.jupyterapp?.shell !== undefined", timeout=timeout_ms)
    page.evaluate("async () => { await window.jupyterapp.restored; }")


def student_session(page: Any, url: str, home: Path, exchange: Path) -> str:
    """Fetch, run the first cells, validate, submit; return the validation report."""
    log_in(page, url, "student1")
    wait_for_lab(page)
    page.evaluate("() => window.jupyterapp.commands.execute('nbgrader:open-assignment-list')")
    fetch = page.locator("#released_assignments_list button", has_text="Fetch")
    fetch.wait_for(timeout=60_000)
    bs.screenshot(page, "hub_student_assignments")
    fetch.click()
    page.locator("#fetched_assignments_list .assignment-notebooks-link").first.wait_for(timeout=60_000)
    assert (home / LAB / f"{LAB}.ipynb").is_file(), "Fetch put no notebook in the student's home"
    bs.screenshot(page, "hub_student_fetched")
    path = f"{LAB}/{LAB}.ipynb"
    page.evaluate("(path) => window.jupyterapp.commands.execute('docmanager:open', {path})", path)
    page.wait_for_function("(p) => window.jupyterapp.shell.currentWidget?.context?.path === p", arg=path)
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
    idle = "() => window.jupyterapp.shell.currentWidget.sessionContext.session?.kernel?.status === 'idle'"
    page.wait_for_function(idle, timeout=120_000)
    cells = bs.cell_sources(page)
    first_exercise = next(i for i, c in enumerate(cells) if c["solution"])
    results = [bs.run_cell(page, i) for i in range(first_exercise)]
    failed = {i: r["errors"] for i, r in enumerate(results) if r["errors"]}
    assert not failed, f"the lab's first cells failed on the hub: {failed}"
    canvas = ".jupyter-matplotlib canvas"  # the ipympl figure of the examples cell, a live widget
    page.wait_for_selector(f".jp-Notebook {canvas}", state="attached", timeout=60_000)
    bs.scroll_to_cell(page, bs.first_cell_with(page, canvas), canvas)
    bs.screenshot(page, "hub_student_first_cells")
    page.click(".validate-button")
    report = page.wait_for_selector(".jp-Dialog-content", timeout=240_000).inner_text()
    bs.screenshot(page, "hub_student_validate")
    page.click(".jp-Dialog .jp-mod-accept")
    page.evaluate("() => window.jupyterapp.commands.execute('nbgrader:open-assignment-list')")
    submit = page.locator("#fetched_assignments_list button", has_text="Submit").first
    submit.click()
    page.locator("#submitted_assignments_list .list_item").first.wait_for(timeout=60_000)
    bs.screenshot(page, "hub_student_submitted")
    inbound = list((exchange / "wearable-cardiac-dl" / "inbound").glob(f"student1+{LAB}+*"))
    assert inbound, "Submit put nothing in the exchange's inbound folder"
    return report


def instructor_session(page: Any, url: str, course: Path) -> dict[str, str]:
    """Open formgrader in its own tab, collect the submission, list it; return the frame's CSP header."""
    log_in(page, url, "instructor")
    wait_for_lab(page)
    response = page.goto(f"{url}/user/instructor/formgrader/manage_assignments")
    csp = response.headers.get("content-security-policy", "")
    row = page.locator("tr", has_text=LAB).first
    row.wait_for(timeout=60_000)
    bs.screenshot(page, "hub_instructor_formgrader_assignments")
    row.locator("a[title='Collect submissions'], button[title='Collect submissions'], .collect").first.click()
    dialog = page.locator(".modal-dialog")
    dialog.wait_for(timeout=60_000)
    page.locator(".modal-footer button", has_text=re.compile("OK|Close")).first.click()
    page.goto(f"{url}/user/instructor/formgrader/manage_submissions/{LAB}")
    page.locator("td", has_text="student1").first.wait_for(timeout=60_000)
    bs.screenshot(page, "hub_instructor_formgrader_submissions")
    assert (course / "submitted" / "student1" / LAB / f"{LAB}.ipynb").is_file()
    page.goto(f"{url}/user/instructor/lab")
    wait_for_lab(page)
    page.evaluate("() => window.jupyterapp.commands.execute('nbgrader:open-formgrader')")
    page.wait_for_timeout(3000)
    bs.screenshot(page, "hub_instructor_formgrader_in_lab_tab")
    return {"csp": csp}


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.timeout(600)
def test_student_fetches_validates_submits_and_the_instructor_sees_it(tmp_path: Path) -> None:
    bs.require_chromium()
    if not os.access(PROXY, os.X_OK):
        pytest.skip(f"hub test skipped: no proxy at {PROXY} (make hub-proxy: needs nodejs and npm)")
    course = bs.copy_course([LAB], tmp_path / "course")
    exchange = course / "exchange"
    exchange.mkdir()
    env = {**os.environ, "PATH": os.pathsep.join([str(BIN), os.environ.get("PATH", "")])}
    for step in (["generate_assignment", LAB, "--force"], ["release_assignment", LAB, "--force"]):
        subprocess.run([str(BIN / "nbgrader"), *step], cwd=course, env=env, check=True, capture_output=True)
    state = tmp_path / "hub"
    with running_hub(course, state, tmp_path / "hub.log") as url:
        with bs.chromium_page(tmp_path / "profile-student") as page:
            report = student_session(page, url, state / "homes" / "student1", exchange)
        assert re.search(r"fail|NotImplementedError", report, re.IGNORECASE), report
        with bs.chromium_page(tmp_path / "profile-instructor") as page:
            seen = instructor_session(page, url, course)
    # JupyterHub forbids framing user servers (nbgrader #1870): the Lab formgrader tab stays blank, the
    # formgrader in its own browser tab (above) works. docs/hub.md says so; this fails when that changes.
    assert "frame-ancestors 'none'" in seen["csp"], seen["csp"]
