"""Grading written answers by question (autograder/manual): questions, rubric store, concurrency, CLI, HTTP.

The store tests run on a class of 20 graded submissions built through nbgrader's API (manual_support).
"""

from __future__ import annotations

import json
import multiprocessing
import re
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import manual_support as ms
import nbformat
import pytest
from nbgrader.api import Gradebook

from autograder import CourseError
from autograder.config import load_config
from autograder.export import totals
from autograder.manual.answers import cell_outputs
from autograder.manual.questions import questions
from autograder.manual.rubric import UNTOUCHED_COMMENT, RubricStore
from autograder.manual.service import Grading

VENV_BIN = Path(sys.executable).parent


def _source_only(tmp_path: Path, declaration: str) -> Path:
    root = tmp_path / "course"
    (root / "source" / ms.LAB).mkdir(parents=True)
    (root / "nbgrader_config.py").write_text(ms.CONFIG)
    (root / "manual_grading.toml").write_text(declaration)
    nbformat.write(ms.source_notebook(), str(root / "source" / ms.LAB / f"{ms.LAB}.ipynb"))
    return root


def test_questions_come_from_the_source_notebook_and_the_declaration(tmp_path):
    declared = ms.DECLARATION + 'rubric = [{points = 1, text = "Quotes the number"}]\n'
    found = questions(load_config(_source_only(tmp_path, declared)), ms.LAB)
    assert [(q.grade_id, q.number, q.points) for q in found] == [("q_error", 1, 3.0), ("q_divide", 2, 2.0)]
    first = found[0]
    assert first.prompt.startswith("### Question 1 (3 points)") and "Quote your number" in first.prompt
    assert first.model_answer.startswith(ms.MODEL_ANSWER) and "BEGIN SOLUTION" not in first.model_answer
    assert first.show == ("results",) and first.notes == ms.NOTES
    assert [(r.points, r.text) for r in first.rubric] == [(1.0, "Quotes the number")]
    assert found[1].show == () and found[1].prompt.startswith("### Question 2")


@pytest.mark.parametrize(
    ("declaration", "message"),
    [
        ('[written.q_error]\nshow = ["no_such_cell"]\n', "no grade ids"),
        ('[written.q_typo]\nshow = ["results"]\n', "no written questions"),
        ("[written.q_error\n", "not valid TOML"),
    ],
)
def test_a_wrong_declaration_says_what_to_fix(tmp_path, declaration, message):
    with pytest.raises(CourseError, match=message):
        questions(load_config(_source_only(tmp_path, declaration)), ms.LAB)


def test_course_declares_outputs_for_every_written_question():
    cfg = load_config(ms.REPO)
    for lab in cfg.labs_with_source:
        for q in questions(cfg, lab):  # raises on unknown cells or stray entries
            assert q.show, f"{lab}/{q.grade_id}: manual_grading.toml shows no outputs for it"
            assert q.model_answer and q.prompt


def test_shown_outputs_are_text_and_png_only():
    cell = {
        "outputs": [
            {"output_type": "stream", "name": "stdout", "text": "".join(f"epoch {i}\n" for i in range(100))},
            {
                "output_type": "display_data",
                "data": {"text/html": "<script>x()</script>", "text/plain": "df"},
            },
            {"output_type": "display_data", "data": {"image/png": "iVBOR\nw0K", "text/plain": "<Figure>"}},
            {"output_type": "error", "ename": "ValueError", "evalue": "bad", "traceback": []},
        ]
    }
    kinds = [(o.kind, o.data) for o in cell_outputs(cell)]
    assert kinds[0][0] == "text" and kinds[0][1].endswith("epoch 99") and "epoch 10\n" not in kinds[0][1]
    assert kinds[1:] == [("text", "df"), ("png", "iVBORw0K"), ("text", "ValueError: bad")]
    assert "<script>" not in json.dumps(kinds)


@pytest.fixture
def course(tmp_path_factory, tmp_path) -> Path:
    return ms.class_course(tmp_path_factory, tmp_path / "course")


def _gradebook(
    root: Path, student: str, question: str = ms.QUESTION
) -> tuple[float | None, bool, str | None]:
    cfg = load_config(root)
    with Gradebook(cfg.db_url, cfg.course_id) as gb:
        grade = gb.find_grade(question, ms.LAB, ms.LAB, student)
        comment = gb.find_comment(question, ms.LAB, ms.LAB, student)
        return grade.manual_score, grade.needs_manual_grade, comment.manual_comment


@pytest.mark.e2e
def test_rubric_items_score_and_comment_in_nbgrader_gradebook(course):
    grading = Grading(load_config(course))
    view = grading.question(ms.LAB, ms.QUESTION)
    by_student = {a["student"]: a for a in view["answers"]}
    blank = [s.name for s in ms.CLASS if s.kind in ("untouched", "empty")]
    assert len(by_student) == 20 and len(blank) == 4
    for name in blank:  # untouched answers: scored 0 and marked, never left pending
        assert by_student[name]["score"] == 0 and by_student[name]["untouched"] and by_student[name]["blank"]
        assert _gradebook(course, name) == (0.0, False, UNTOUCHED_COMMENT)
    assert view["progress"] == {"graded": 4, "total": 20}
    assert by_student["s03"]["shown"] == [
        {"cell": "results", "outputs": [{"kind": "text", "data": "validation MAE: 6.40 bpm"}]}
    ]
    assert view["question"]["model_answer"].startswith(ms.MODEL_ANSWER)
    quote = grading.add_item(ms.LAB, ms.QUESTION, 2, "Quotes their own MAE")["items"][-1]["id"]
    compare = grading.add_item(ms.LAB, ms.QUESTION, 1, "Compares it with 5 bpm")["items"][-1]["id"]
    wrong = grading.add_item(ms.LAB, ms.QUESTION, -1, "Wrong verdict")["items"][-1]["id"]
    s01, s02 = by_student["s01"]["grade"], by_student["s02"]["grade"]
    grading.mark(ms.LAB, ms.QUESTION, s01, quote, True)
    grading.mark(ms.LAB, ms.QUESTION, s01, compare, True)
    grading.mark(ms.LAB, ms.QUESTION, s01, compare, True)  # idempotent
    grading.comment(ms.LAB, ms.QUESTION, s01, "Clear.")
    assert _gradebook(course, "s01") == (
        3.0,
        False,
        "+2: Quotes their own MAE\n+1: Compares it with 5 bpm\nClear.",
    )
    grading.mark(ms.LAB, ms.QUESTION, s02, wrong, True)  # below zero: clipped to 0
    assert _gradebook(course, "s02")[:2] == (0.0, False)
    grading.mark(ms.LAB, ms.QUESTION, s02, quote, True)
    assert _gradebook(course, "s02")[0] == 1.0
    changed = grading.edit_item(ms.LAB, ms.QUESTION, quote, 1.5, "Quotes the MAE printed above")
    assert {a["student"] for a in changed["answers"]} == {"s01", "s02"}
    assert _gradebook(course, "s01")[0] == 2.5 and _gradebook(course, "s02")[0] == 0.5
    assert _gradebook(course, "s01")[2].startswith("+1.5: Quotes the MAE printed above")
    grading.delete_item(ms.LAB, ms.QUESTION, compare)
    assert _gradebook(course, "s01") == (1.5, False, "+1.5: Quotes the MAE printed above\nClear.")
    grading.mark(ms.LAB, ms.QUESTION, s02, quote, False)
    grading.mark(ms.LAB, ms.QUESTION, s02, wrong, False)  # nothing applied: back to ungraded
    assert _gradebook(course, "s02") == (None, True, None)
    assert grading.progress(ms.LAB, ms.QUESTION) == {"graded": 5, "total": 20}
    cfg = load_config(course)
    with Gradebook(cfg.db_url, cfg.course_id) as gb:  # scored in formgrader, then commented in the view
        gb.find_grade(ms.QUESTION, ms.LAB, ms.LAB, "s03").manual_score = 2.0
        gb.db.commit()
    grading.comment(ms.LAB, ms.QUESTION, by_student["s03"]["grade"], "See formgrader.")
    assert _gradebook(course, "s03") == (2.0, False, "See formgrader.")
    with pytest.raises(CourseError, match="no rubric item"):
        grading.mark(ms.LAB, ms.OTHER_QUESTION, s01, quote, True)  # an item of another question
    second = Grading(load_config(course))  # a second grader sees the same rubric
    assert [i["text"] for i in second.items(ms.LAB, ms.QUESTION)] == [
        "Quotes the MAE printed above",
        "Wrong verdict",
    ]


@pytest.mark.e2e
def test_export_counts_manual_points_once_graded(course):
    cfg = load_config(course)
    assert totals(cfg)[ms.LAB].awaiting == (True,) * 20
    grading = Grading(cfg)
    for question in (ms.QUESTION, ms.OTHER_QUESTION):
        item = grading.add_item(ms.LAB, question, 2, "Right")["items"][0]["id"]
        for answer in grading.question(ms.LAB, question)["answers"]:
            if answer["score"] is None:
                grading.mark(ms.LAB, question, answer["grade"], item, True)
    lab = totals(cfg)[ms.LAB]
    assert lab.awaiting == (False,) * 20 and lab.awaiting_manual == 0
    assert len(lab.split()[0]) == 20 and lab.split()[1] == []


@pytest.mark.e2e
def test_two_graders_on_one_question_at_once_lose_no_score(course):
    cfg = load_config(course)
    store = RubricStore(cfg.db_url)
    first = store.add_item(ms.LAB, ms.QUESTION, 1, "item a").id
    second = store.add_item(ms.LAB, ms.QUESTION, 0.5, "item b").id
    grades = [a.grade for a in store.answers(ms.LAB, ms.QUESTION)]
    context = multiprocessing.get_context("spawn")  # a fresh process: no threads of the test session copied
    barrier = context.Barrier(2)
    workers = [  # both graders over all 20 answers, in opposite orders; one edits an item's points midway
        context.Process(target=ms.grader, args=(cfg.db_url, grades, first, barrier, (second, 1.5))),
        context.Process(target=ms.grader, args=(cfg.db_url, grades[::-1], second, barrier, None)),
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
    assert [w.exitcode for w in workers] == [0, 0]
    for answer in store.answers(ms.LAB, ms.QUESTION):
        assert answer.items == (first, second), answer
        assert answer.manual_score == 2.5, answer
    with Gradebook(cfg.db_url, cfg.course_id) as gb:
        scores = [gb.find_grade(ms.QUESTION, ms.LAB, ms.LAB, s.name).manual_score for s in ms.CLASS]
    assert scores == [2.5] * 20


def _request(url: str, body: dict | None = None, headers: dict | None = None) -> tuple[int, dict]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers=headers or {}, method="POST" if data else "GET")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, {}


@pytest.mark.e2e
def test_course_grade_manual_serves_the_view_with_a_token(course):
    done = subprocess.run(
        [str(VENV_BIN / "course-grade"), "--course", str(course), "manual", "--progress"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert re.search(r"written\s+Q1\s+q_error\s+graded\s+0 / 20", done.stdout), done.stdout
    command = [str(VENV_BIN / "course-grade"), "--course", str(course), "manual", ms.LAB, "--port", "0"]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        line = ""
        while "grading view:" not in line:
            line = server.stdout.readline()
            assert line, "course-grade manual exited before serving"
        url = line.split("grading view: ", 1)[1].strip()
        base, token = url.split("/?token=")
        assert _request(f"{base}/api/overview")[0] == 403
        status, page = 200, urllib.request.urlopen(url, timeout=30).read().decode()
        assert "Grade by question" in page
        auth = {"Authorization": f"token {token}", "Content-Type": "application/json"}
        status, overview = _request(f"{base}/api/overview", headers=auth)
        assert status == 200 and overview[0]["questions"][0] == {
            "id": "q_error", "number": 1, "points": 3.0, "graded": 0, "total": 20,
        }  # fmt: skip
        status, view = _request(f"{base}/api/q/{ms.LAB}/{ms.QUESTION}", headers=auth)
        assert status == 200 and view["progress"] == {"graded": 4, "total": 20}
        status, made = _request(
            f"{base}/api/q/{ms.LAB}/{ms.QUESTION}/items", {"points": 3, "text": "All"}, auth
        )
        assert status == 200 and made["items"][0]["text"] == "All"
        cookie_only = {"Cookie": f"manual_grading_token={token}", "Content-Type": "application/json"}
        item = {"points": 1, "text": "forged"}
        assert _request(f"{base}/api/q/{ms.LAB}/{ms.QUESTION}/items", item, cookie_only)[0] == 403  # no XSRF
        grade = view["answers"][0]["grade"]
        mark = {"item": made["items"][0]["id"], "applied": True}
        status, marked = _request(f"{base}/api/q/{ms.LAB}/{ms.QUESTION}/answers/{grade}", mark, auth)
        assert status == 200 and marked["answers"][0]["score"] == 3.0 and marked["progress"]["graded"] == 5
        bad = {"points": 1, "text": " "}
        assert _request(f"{base}/api/q/{ms.LAB}/{ms.QUESTION}/items", bad, auth)[0] == 400
    finally:
        server.terminate()
        server.wait(30)
    assert _gradebook(course, view["answers"][0]["student"])[0] == 3.0


@pytest.mark.e2e
def test_a_deleted_answer_cell_is_untouched_and_a_missing_notebook_stays_pending(course):
    gone = course / "autograded" / "s04" / ms.LAB / f"{ms.LAB}.ipynb"
    nb = nbformat.read(str(gone), as_version=4)
    nb.cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") != ms.QUESTION]
    nbformat.write(nb, str(gone))
    (course / "autograded" / "s09" / ms.LAB / f"{ms.LAB}.ipynb").unlink()  # e.g. the kernel died at grading
    answers = {a["student"]: a for a in Grading(load_config(course)).question(ms.LAB, ms.QUESTION)["answers"]}
    assert answers["s04"]["score"] == 0 and answers["s04"]["untouched"] and not answers["s04"]["found"]
    assert answers["s09"]["score"] is None and not answers["s09"]["notebook"]
    assert _gradebook(course, "s09") == (None, True, None)


def test_nothing_of_the_view_reaches_students():
    """The declarations stay out of release/ (so out of the hand-out); no environment-wide config enables
    the view (students' hub servers read the environment's config, not the course's server config)."""
    assert (ms.REPO / "manual_grading.toml").is_file()
    released = [p.name for lab in load_config(ms.REPO).labs for p in (ms.REPO / "release" / lab).rglob("*")]
    assert released and not [name for name in released if "manual" in name], released
    configs = Path(sys.prefix, "etc", "jupyter").rglob("*.json")
    enabled = [p for p in configs if "autograder.manual" in p.read_text()]
    assert enabled == [], f"the grading view is enabled for every server of the environment by {enabled}"
    assert "autograder.manual.extension" in (ms.REPO / "jupyter_server_config.py").read_text()
    from autograder.build.bundle import SERVER_CONFIG  # the hand-out's own server config

    assert "autograder" not in SERVER_CONFIG and "app_settings_dir" not in SERVER_CONFIG
