"""Grading one written question for a class of 20 in Chromium: the grading view against plain formgrader.

Both run in one JupyterLab server on the class course of ``manual_support`` (20 graded submissions:
reference, partial, wrong, untouched, empty and varied answers). The script first grades Question 1 of all
20 in formgrader, as an instructor does today (one submission page after another, typing each score and
comment), then in the grading view with three rubric items, edits one item's points, and checks the
gradebook, the feedback HTML, the export and formgrader on the result. Page loads, key presses and clicks
of both are counted the same way and written to ``test-artifacts/browser/manual_grading_counts.json``.
"""

from __future__ import annotations

import csv
import html
import json
import os
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import browser_support as bs
import manual_support as ms
import pytest
from nbgrader.api import Gradebook, SubmittedNotebook

from autograder.config import load_config
from autograder.manual.rubric import UNTOUCHED_COMMENT

pytestmark = [pytest.mark.browser, pytest.mark.slow]
VENV_BIN = Path(sys.executable).parent
#: The rubric of Question 1: (points, text); the first item's points are edited to EDITED afterwards.
RUBRIC = [
    (2.0, "Quotes their own MAE"),
    (1.0, "Compares it with 5 bpm"),
    (-1.0, "Verdict contradicts the number"),
]
EDITED = 1.5
#: How long a check waits for the page (the machine may be busy with other work).
WAIT_MS = 30_000
#: formgrader loads MathJax 2 from cdnjs and finishes its setup (keyboard shortcuts, input focus) when
#: MathJax signals the end of typesetting. No network here: this stand-in answers the CDN request with the
#: part of MathJax 2's API that formgrader calls, signalling "End" as MathJax does on a page without maths.
MATHJAX_STAND_IN = """window.MathJax = {Hub: {
  Config() {}, Configured() {}, Queue(f) { if (typeof f === 'function') f(); },
  Startup: {signal: {Interest(callback) { setTimeout(() => callback('End'), 0); }}}}};"""
#: formgrader has loaded the submission's scores and comments and focused the input of ``?index=``.
FORMGRADER_READY = """() => window.formgrader?.loaded && formgrader.grades.loaded
  && formgrader.comments.loaded && window.MathJax?.loaded"""
#: Items (1-based keys) each kind of answer earns; untouched and empty answers are scored 0 by the view.
DECISIONS = {"reference": (1, 2), "partial": None, "wrong": (3,), "varied": (1, 2)}
FREE_COMMENT = {"varied": "Good point about walking."}


def decision(student: ms.Student) -> tuple[int, ...]:
    """Return the rubric keys the grader applies to ``student``'s answer (none for untouched ones)."""
    if student.kind == "partial":
        return (1,) if any(ch.isdigit() for ch in student.answer) else (2,)
    return DECISIONS.get(student.kind) or ()


def expected(student: ms.Student, first_points: float) -> tuple[float, str]:
    """Return the score and nbgrader comment of ``student``'s answer under the rubric."""
    if student.kind in ("untouched", "empty"):
        return 0.0, UNTOUCHED_COMMENT
    rubric = [(first_points, RUBRIC[0][1]), *RUBRIC[1:]]
    items = [rubric[key - 1] for key in decision(student)]
    lines = [f"{points:+g}: {text}" if points else f"0: {text}" for points, text in items]
    lines += [FREE_COMMENT[student.kind]] if student.kind in FREE_COMMENT else []
    return min(max(sum(p for p, _ in items), 0.0), 3.0), "\n".join(lines)


@dataclass
class Tally:
    """What a grader does: page loads, key presses (each typed character counts) and clicks."""

    page_loads: int = 0
    key_presses: int = 0
    clicks: int = 0

    def watch(self, page: Any) -> None:
        """Count every load of the page's main frame until `stop`."""
        self._page = page
        page.on("load", self._loaded)

    def stop(self) -> None:
        """Stop counting page loads."""
        self._page.remove_listener("load", self._loaded)

    def _loaded(self, _page: Any) -> None:
        self.page_loads += 1

    def press(self, page: Any, key: str) -> None:
        """Press one key (a chord such as Control+. counts as one)."""
        self.key_presses += 1
        page.keyboard.press(key)

    def type(self, page: Any, text: str) -> None:
        """Type ``text``: one key press per character for the count, entered in one step (as a fast typist,
        without a browser round trip per character; both tools save the field on change or blur)."""
        self.key_presses += len(text)
        page.keyboard.insert_text(text)

    def click(self, locator: Any) -> None:
        """Click an element."""
        self.clicks += 1
        locator.click()


@pytest.fixture
def lab(tmp_path_factory, tmp_path):
    """JupyterLab (with formgrader and the grading view) on a copy of the class course."""
    bs.require_chromium()
    root = ms.class_course(tmp_path_factory, tmp_path / "course")
    env = {k: v for k, v in os.environ.items() if k not in ("NBGRADER_EXECUTION", "JPY_SESSION_NAME")}
    env.update(
        PATH=os.pathsep.join([str(VENV_BIN), os.environ.get("PATH", "")]),
        JUPYTERLAB_SETTINGS_DIR=str(tmp_path / "settings"),
        JUPYTERLAB_WORKSPACES_DIR=str(tmp_path / "workspaces"),
    )
    with bs.running_lab(root, env, tmp_path / "server.log") as server:
        yield server


def _grades(root: Path) -> dict[str, tuple[float | None, str | None]]:
    cfg = load_config(root)
    with Gradebook(cfg.db_url, cfg.course_id) as gb:
        return {
            s.name: (
                gb.find_grade(ms.QUESTION, ms.LAB, ms.LAB, s.name).manual_score,
                gb.find_comment(ms.QUESTION, ms.LAB, ms.LAB, s.name).manual_comment,
            )
            for s in ms.CLASS
        }


def _reset(root: Path) -> None:
    """Take Question 1's formgrader scores and comments out again (the view grades the same answers)."""
    cfg = load_config(root)
    with Gradebook(cfg.db_url, cfg.course_id) as gb:
        for s in ms.CLASS:
            grade = gb.find_grade(ms.QUESTION, ms.LAB, ms.LAB, s.name)
            grade.manual_score, grade.needs_manual_grade = None, True
            gb.find_comment(ms.QUESTION, ms.LAB, ms.LAB, s.name).manual_comment = None
        gb.db.commit()


def _wait_for_next(page: Any, here: str) -> None:
    """Wait until the page has loaded another URL than ``here`` (query aside).

    formgrader's save callback can set ``window.location`` twice (once per saved input); the first of the
    two navigations is then aborted by the second, which Playwright reports as an error of its own.
    """
    from playwright.sync_api import Error

    for _ in range(3):
        try:
            page.wait_for_url(lambda url: url.split("?")[0] != here, wait_until="load", timeout=30_000)
            return
        except Error as exc:
            if "ERR_ABORTED" not in str(exc):
                raise
    raise AssertionError(f"formgrader did not leave {here}")


def open_from_jupyterlab(page: Any, server: bs.LabServer) -> None:
    """Open JupyterLab, then the view from its Grading menu (a new browser tab): 20 answers show."""
    page.goto(server.page_url("lab", reset=True))
    menu = page.locator(".lm-MenuBar-itemLabel", has_text="Grading")
    menu.wait_for(timeout=90_000)
    menu.click()
    item = page.locator(".lm-Menu-itemLabel", has_text="Grade written answers by question")
    item.wait_for(timeout=WAIT_MS)
    bs.screenshot(page, "manual_grading_jupyterlab_menu")
    with page.context.expect_page() as opened:
        item.click()
    view = opened.value
    view.locator("article.answer").nth(19).wait_for(timeout=60_000)
    assert "/manual-grading/" in view.url
    view.close()


def grade_in_formgrader(page: Any, server: bs.LabServer) -> Tally:
    """Grade Question 1 of every submission in formgrader, typing each score and comment; return the tally."""
    cfg = load_config(server.root)
    with Gradebook(cfg.db_url, cfg.course_id) as gb:
        owner = {nb.id: nb.student.id for nb in gb.db.query(SubmittedNotebook)}
    people = {s.name: s for s in ms.CLASS}
    page.route(
        "**/mathjax/**", lambda route: route.fulfill(body=MATHJAX_STAND_IN, content_type="text/javascript")
    )
    tally = Tally()
    tally.watch(page)
    page.goto(f"{server.url}/formgrader/gradebook/{ms.LAB}/{ms.LAB}")
    first = page.locator("a[href*='/formgrader/submissions/']").first
    first.wait_for(timeout=60_000)
    with page.expect_navigation():
        tally.click(first)
    graded = []
    while "/formgrader/submissions/" in page.url:
        student = people[owner[page.url.split("/formgrader/submissions/")[1].split("/")[0].split("?")[0]]]
        score_input = page.locator(f"#{ms.QUESTION}")
        score_input.wait_for()
        page.wait_for_function(FORMGRADER_READY, timeout=WAIT_MS)
        if page.evaluate("() => document.activeElement && document.activeElement.id") != ms.QUESTION:
            tally.click(score_input)
        score, comment = expected(student, RUBRIC[0][0])
        tally.type(page, f"{score:g}")
        if student.kind not in ("untouched", "empty"):
            tally.press(page, "Tab")  # to the extra-credit input
            tally.press(page, "Tab")  # to the comment
            focused = page.evaluate("() => document.activeElement.id")
            assert focused == f"{ms.QUESTION}-comment", f"Tab went to {focused!r}, not the answer's comment"
            tally.type(page, comment)
        here = page.url.split("?")[0]
        tally.press(page, "Control+.")  # save, then the same input of the next submission
        _wait_for_next(page, here)
        graded.append(student.name)
    tally.stop()
    assert sorted(graded) == sorted(people), f"formgrader visited {graded}"
    return tally


def grade_in_view(page: Any, server: bs.LabServer) -> tuple[Tally, Tally, Tally]:
    """Grade Question 1 in the view: rubric (setup), every answer, one item's edit; return the tallies."""
    from playwright.sync_api import expect

    setup, grading, edit = Tally(), Tally(), Tally()
    setup.watch(page)
    page.goto(f"{server.url}/manual-grading/")
    cards = page.locator("article.answer")
    expect(cards).to_have_count(20, timeout=60_000)
    expect(page.locator("#progress")).to_have_text(
        "graded 4 / 20", timeout=WAIT_MS
    )  # untouched and empty: 0, marked
    bs.screenshot(page, "manual_grading_question")
    for points, text in RUBRIC:
        setup.click(page.locator("#new-points"))
        setup.type(page, f"{points:g}")
        setup.press(page, "Tab")
        setup.type(page, text)
        setup.press(page, "Enter")
        expect(page.locator("#items .item-row")).to_have_count(
            RUBRIC.index((points, text)) + 1, timeout=WAIT_MS
        )
    setup.press(page, "Escape")  # leave the new-item field
    setup.stop()
    grading.watch(page)
    grading.press(page, "u")  # ungraded answers only
    todo = [s for s in ms.CLASS if decision(s)]
    for student in todo:
        expect(page.locator("article.answer.current")).to_have_attribute(
            "data-student", student.name, timeout=WAIT_MS
        )
        for key in decision(student):
            grading.press(page, str(key))
        if student.kind in FREE_COMMENT:
            grading.press(page, "c")
            grading.type(page, FREE_COMMENT[student.kind])
            grading.press(page, "Escape")
        if student is not todo[-1]:
            grading.press(page, "j")
    expect(page.locator("#progress")).to_have_text("graded 20 / 20", timeout=WAIT_MS)
    expect(page.locator(f"article.answer[data-student='{todo[-1].name}'] .status")).not_to_have_text(
        "ungraded / 3", timeout=WAIT_MS
    )
    grading.stop()
    bs.screenshot(page, "manual_grading_graded")
    edit.watch(page)
    points = page.locator("#items .item-row input.points").first
    edit.click(points)
    edit.press(page, "Control+a")
    edit.type(page, f"{EDITED:g}")
    edit.press(page, "Tab")
    expect(page.locator("article.answer[data-student='s01'] .status")).to_have_text(
        f"{3 - 2 + EDITED:g} / 3", timeout=WAIT_MS
    )
    page.locator("#items input").first.blur()
    page.keyboard.press("u")  # every answer again, for the screenshot (not counted)
    page.locator("article.answer[data-student='s01']").scroll_into_view_if_needed()
    edit.stop()
    bs.screenshot(page, "manual_grading_edited")
    return setup, grading, edit


@pytest.mark.timeout(420)
def test_grade_one_question_for_20_in_the_view_and_in_formgrader(lab: bs.LabServer, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    root, clock = lab.root, bs.Stopwatch()
    with bs.chromium_page(tmp_path / "profile") as page:
        open_from_jupyterlab(page, lab)  # the instructor's JupyterLab (and its login); not counted
        _reset(root)  # opening the view scored the untouched answers 0: formgrader starts from nothing too
        clock.lap("start")
        formgrader = grade_in_formgrader(page, lab)
        clock.lap("formgrader")
        typed = _grades(root)
        for s in ms.CLASS:  # formgrader stored what was typed: the script really graded there
            score, comment = expected(s, RUBRIC[0][0])
            assert typed[s.name] == (score, None if s.kind in ("untouched", "empty") else comment), s
        _reset(root)
        setup, grading, edit = grade_in_view(page, lab)
        clock.lap("view")
        after = _grades(root)
        for s in ms.CLASS:
            assert after[s.name] == expected(s, EDITED), s

        page.goto(
            lab.page_url(f"formgrader/gradebook/{ms.LAB}/{ms.LAB}")
        )  # formgrader shows the view's grades
        page.locator("a[href*='/formgrader/submissions/']").first.wait_for(timeout=60_000)
        cfg = load_config(root)
        with Gradebook(cfg.db_url, cfg.course_id) as gb:
            s01 = gb.find_submission_notebook(ms.LAB, ms.LAB, "s01").id
        page.goto(lab.page_url(f"formgrader/submissions/{s01}/"))
        expect(page.locator(f"#{ms.QUESTION}")).to_have_value(f"{3 - 2 + EDITED:g}", timeout=WAIT_MS)
        comment = f"+{EDITED:g}: {RUBRIC[0][1]}\n+1: {RUBRIC[1][1]}"
        expect(page.locator(f"#{ms.QUESTION}-comment")).to_have_value(comment, timeout=WAIT_MS)
        page.locator(f"#{ms.QUESTION}-comment").scroll_into_view_if_needed()
        bs.screenshot(page, "manual_grading_formgrader_after")

    command = [str(VENV_BIN / "course-grade"), "--course", str(root), "--quiet"]
    runs = [  # the feedback and the export read the gradebook at once, as two instructors' commands may
        subprocess.Popen([*command, *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for args in (["feedback", ms.LAB, "--force"], ["export", "--out", str(tmp_path / "export")])
    ]
    for run in runs:
        output = run.communicate(timeout=180)[0]
        assert run.returncode == 0, output
    clock.lap("feedback and export")
    pages = {
        p.parts[-3]: html.unescape(p.read_text()) for p in (root / "feedback").glob(f"*/{ms.LAB}/*.html")
    }
    assert len(pages) == 20
    for name, text in pages.items():
        assert ms.MODEL_ANSWER not in text and ms.NOTES not in text, f"{name}: instructor text in feedback"
    assert f"+{EDITED:g}: {RUBRIC[0][1]}" in pages["s01"] and "+1: Compares it with 5 bpm" in pages["s01"]
    assert UNTOUCHED_COMMENT in pages["s05"] and FREE_COMMENT["varied"] in pages["s14"]
    rows = {r["student_id"]: r for r in csv.DictReader((tmp_path / "export" / "grades.csv").open())}
    for s in ms.CLASS:
        assert float(rows[s.name]["raw_score"]) == (2.0 if s.passed else 0.0) + expected(s, EDITED)[0], s
    print(clock)
    counts = {
        "formgrader: grade Question 1 for 20": asdict(formgrader),
        "view: define 3 rubric items (once)": asdict(setup),
        "view: grade Question 1 for 20": asdict(grading),
        "view: change one item's points (9 answers rescored)": asdict(edit),
    }
    bs.ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (bs.ARTIFACTS / "manual_grading_counts.json").write_text(json.dumps(counts, indent=1))
    print(json.dumps(counts))
    assert setup.page_loads == 1 and grading.page_loads == 0 and edit.page_loads == 0
    assert formgrader.page_loads >= 21
    view_actions = sum(asdict(t)[k] for t in (setup, grading) for k in ("key_presses", "clicks"))
    assert view_actions < (formgrader.key_presses + formgrader.clicks) / 3, counts
