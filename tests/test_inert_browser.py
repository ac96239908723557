"""Nothing a student's notebook carries runs in a grader's browser: every grader-facing page, in Chromium.

One mini-course batch serves every page. The student ran their notebook (its outputs are in what they
submit) and it carries the catalogue of `inert_support`: script tags, ``onerror``/``onload``/``ontoggle``
handlers, ``javascript:`` links, SVG with script, ``<iframe srcdoc>``, an isolated-iframe output, an
``application/javascript`` output, a remote ``<script src>``, CSS and ``<object>`` loads, an image whose
metadata writes an attribute, in an exercise cell's outputs and in the written answer, beside an honest
pandas table, a matplotlib figure (PNG and SVG), LaTeX and the student's own words.

- alice is graded by ``course-grade grade``, bob by plain ``nbgrader autograde`` with the course's
  configuration; carol's autograded notebook is her notebook as she ran it (what a grader without the
  sanitising step stores): formgrader and the feedback converter must make it inert on their own.
- The control: ``jupyter nbconvert --to html`` of the notebook as the student ran it runs the payloads
  (so the catalogue and the detector work), and the same command on alice's and bob's autograded notebooks
  runs none.
- Pages: formgrader's submission view (the three), the feedback pages of plain ``nbgrader
  generate_feedback`` and of ``course-grade feedback`` (the three each), the nbconvert HTML, and the
  grading-by-question view.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import browser_support as bs
import inert_support as ins
import nbformat
import pytest
from autograder_support import mini_course
from nbgrader.api import Gradebook

from autograder.cells import read_notebook
from autograder.cli import main
from autograder.config import load_config

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.e2e]
VENV_BIN = Path(sys.executable).parent
LAB = "mini"
STAMP = "2026-11-10 12:00:00.000000 UTC"
#: Every honest item a notebook page shows (the grading view shows text and PNG outputs only).
NOTEBOOK_PAGE = {"table": True, "words": True, "png": True, "svg": True}


def _run(root: Path, env: dict[str, str], *command: str) -> None:
    result = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"{' '.join(command)}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"


def _submit(root: Path, student: str, nb: nbformat.NotebookNode, stage: str = "submitted") -> Path:
    folder = root / stage / student / LAB
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(folder / f"{LAB}.ipynb"))
    (folder / "timestamp.txt").write_text(STAMP)
    return folder / f"{LAB}.ipynb"


def _as_the_student_ran_it(root: Path, env: dict[str, str], nb: nbformat.NotebookNode, tmp: Path) -> Path:
    """Return the notebook executed as the student did (its outputs carry the payloads)."""
    plain = tmp / "student.ipynb"
    nbformat.write(nb, str(plain))
    _run(root, env, str(VENV_BIN / "jupyter"), "nbconvert", "--to", "notebook", "--execute", "--inplace",
         str(plain))  # fmt: skip
    return plain


def _register(root: Path, student: str) -> None:
    """Enter ``student``'s submission in the gradebook, as an autograde run does."""
    cfg = load_config(root)
    with Gradebook(cfg.db_url, cfg.course_id) as gb:
        gb.update_or_create_student(student)
        gb.add_submission(LAB, student, timestamp=STAMP)


def _graded_batch(tmp_path: Path, recorder: ins.Recorder) -> tuple[Path, dict[str, str], Path]:
    """Grade the batch; return the course, the environment and the notebook as the student ran it."""
    root = mini_course(tmp_path)
    env = {k: v for k, v in os.environ.items() if k not in ("NBGRADER_EXECUTION", "JPY_SESSION_NAME")}
    env["PATH"] = os.pathsep.join([str(VENV_BIN), env.get("PATH", "")])
    assert main(["--course", str(root), "--quiet", "build"]) == 0
    submission = ins.payload_submission(read_notebook(root / "release" / LAB / f"{LAB}.ipynb"), recorder)
    ran = _as_the_student_ran_it(root, env, submission, tmp_path)
    original = _submit(root, "alice", read_notebook(ran)).read_bytes()
    assert main(["--course", str(root), "--quiet", "grade", LAB]) == 0
    assert (root / "submitted" / "alice" / LAB / f"{LAB}.ipynb").read_bytes() == original, (
        "submitted/ changed"
    )
    _submit(root, "bob", read_notebook(ran))
    _run(root, env, sys.executable, "-m", "nbgrader", "autograde", LAB, "--student", "bob", "--force")
    _submit(root, "carol", read_notebook(ran))
    _submit(root, "carol", read_notebook(ran), stage="autograded")
    _register(root, "carol")
    (root / "manual_grading.toml").write_text(f'[{LAB}.q1]\nshow = ["square"]\n')
    return root, env, ran


def _feedback_and_html(root: Path, env: dict[str, str], ran: Path, out: Path) -> dict[str, Path]:
    """Write the static pages: plain and course-grade feedback, nbconvert HTML; return name -> file."""
    _run(root, env, sys.executable, "-m", "nbgrader", "generate_feedback", LAB, "--force")
    shutil.copytree(root / "feedback", out / "plain-feedback")
    assert main(["--course", str(root), "--quiet", "feedback", LAB, "--force"]) == 0
    html = out / "nbconvert"
    html.mkdir(parents=True)
    for name, path in (
        ("control", ran),
        *((s, root / "autograded" / s / LAB / f"{LAB}.ipynb") for s in ("alice", "bob")),
    ):
        shutil.copy2(path, html / f"{name}.ipynb")
    _run(
        root,
        env,
        str(VENV_BIN / "jupyter"),
        "nbconvert",
        "--to",
        "html",
        *sorted(map(str, html.glob("*.ipynb"))),
    )
    pages = {f"nbconvert {name}": html / f"{name}.html" for name in ("alice", "bob")}
    for student in ("alice", "bob", "carol"):
        pages[f"nbgrader generate_feedback {student}"] = (
            out / "plain-feedback" / student / LAB / f"{LAB}.html"
        )
        pages[f"course-grade feedback {student}"] = root / "feedback" / student / LAB / f"{LAB}.html"
    return {"control": html / "control.html", **pages}


def _offline(page) -> None:
    """Answer no request outside this machine (CDN scripts of the pages fail at once, as offline)."""
    page.context.route(re.compile(r"^https?://(?!127\.0\.0\.1[:/])"), lambda route: route.abort())


@pytest.mark.timeout(600)
def test_no_payload_runs_on_any_grader_page_and_the_honest_content_shows(tmp_path: Path) -> None:
    bs.require_chromium()
    clock = bs.Stopwatch()
    with ins.recording() as recorder:
        root, env, ran = _graded_batch(tmp_path, recorder)
        clock.lap("graded (course-grade, nbgrader)")
        files = _feedback_and_html(root, env, ran, tmp_path / "pages")
        clock.lap("feedback and nbconvert")
        env.update(JUPYTERLAB_SETTINGS_DIR=str(tmp_path / "settings"),
                   JUPYTERLAB_WORKSPACES_DIR=str(tmp_path / "workspaces"))  # fmt: skip
        with (
            bs.running_lab(root, env, tmp_path / "server.log") as server,
            bs.chromium_page(tmp_path / "profile") as page,
        ):
            _offline(page)
            control = ins.inspect_page(page, files.pop("control").as_uri(), recorder)
            reports = {name: ins.inspect_page(page, path.as_uri(), recorder) for name, path in files.items()}
            page.goto(server.page_url("tree"))  # logs in
            cfg = load_config(root)
            with Gradebook(cfg.db_url, cfg.course_id) as gb:
                ids = {s: gb.find_submission_notebook(LAB, LAB, s).id for s in ("alice", "bob", "carol")}
            for student, sid in ids.items():
                url = f"{server.url}/formgrader/submissions/{sid}/"
                reports[f"formgrader {student}"] = ins.inspect_page(page, url, recorder)
            view = ins.inspect_page(page, f"{server.url}/manual-grading/", recorder, settle_ms=3000)
            view_text = page.evaluate("() => document.body.innerText")
            bs.screenshot(page, "inert_manual_grading_view")
        clock.lap("pages in Chromium")
    print(clock)

    catalogue = ins.expected_names(recorder)
    print("control ran:", sorted(control.ran))
    assert catalogue - ins.PASSIVE <= control.ran, (
        f"payloads that did not run unsanitised: {catalogue - control.ran}"
    )
    failures = {}
    for name, report in {**reports, "grading view": view}.items():
        if report.ran or report.active:
            failures[name] = f"ran {sorted(report.ran)}, active in the page {report.active}"
        elif name in reports and report.honest != NOTEBOOK_PAGE:
            failures[name] = f"honest content missing: {report.honest}"
    assert not failures, "\n".join(f"{name}: {what}" for name, what in failures.items())
    assert view.honest["words"] and view.honest["png"], view.honest
    assert str(ins.HONEST_VALUE) in view_text
