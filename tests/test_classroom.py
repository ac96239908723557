"""The classroom cycle on one machine through nbgrader's exchange, with plain nbgrader commands.

release_assignment -> two students fetch_assignment (own HOME and nbgrader settings, shared exchange) ->
one solves the exercises, one hands in the untouched notebook -> submit -> instructor collect ->
``course-grade grade`` -> ``course-grade feedback`` (hidden tests withheld) -> release_feedback ->
students fetch_feedback. Training capped (LABKIT_MAX_EPOCHS=1): this test does not judge metrics.
"""

from __future__ import annotations

import html
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from e2e_support import REPO, capped_data_dir, fill_answers, hidden_only_lines, read_scores, source_notebook

from autograder.cells import read_notebook

LAB = "ecg_rhythm_classification"
COURSE_ID = "wearable-cardiac-dl"
BIN = Path(sys.executable).parent
STUDENTS = ("alice", "bob")


def run(args: list[str], cwd: Path, env: dict[str, str], timeout: float = 300) -> str:
    """Run a command; fail the test with its output when it fails; return its output."""
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout + proc.stderr


def account(root: Path, user: str) -> dict[str, str]:
    """Return the environment of ``user``: own HOME (own ~/.jupyter), own USER, the course's tools first."""
    home = root / "homes" / user
    home.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "LABKIT_MAX"))}
    env.update(
        HOME=str(home),
        USER=user,
        LOGNAME=user,
        PATH=os.pathsep.join([str(BIN), os.environ.get("PATH", "")]),
        LABKIT_DATA_DIR=str(capped_data_dir()),
        LABKIT_LOG_DIR=str(home / "logs"),
    )
    return env


def student_settings(home: Path, exchange: Path, student: str) -> None:
    """Write a student's ~/.jupyter/nbgrader_config.py: course id, shared exchange, student id.

    The student id is set because both accounts are one system user here (as on the course hub), whose
    name nbgrader's exchange would use otherwise.
    """
    (home / ".jupyter").mkdir(parents=True, exist_ok=True)
    (home / ".jupyter" / "nbgrader_config.py").write_text(
        f"c = get_config()\nc.CourseDirectory.course_id = {COURSE_ID!r}\n"
        f"c.Exchange.root = {str(exchange)!r}\nc.CourseDirectory.student_id = {student!r}\n"
    )


def solve(notebook: Path) -> None:
    """Fill every exercise of the fetched ``notebook`` with the instructors' answer (a diligent student)."""
    fill_answers(LAB, notebook)


@pytest.mark.e2e
@pytest.mark.slow
@pytest.mark.timeout(900)
def test_release_fetch_submit_collect_grade_feedback_with_two_students(tmp_path: Path) -> None:
    course = tmp_path / "course"
    (course / "source").mkdir(parents=True)
    (course / "nbgrader_config.py").write_bytes((REPO / "nbgrader_config.py").read_bytes())
    subprocess.run(["cp", "-r", str(REPO / "source" / LAB), str(course / "source" / LAB)], check=True)
    (course / "data").symlink_to(capped_data_dir(), target_is_directory=True)  # what the graders read
    exchange = course / "exchange"  # the course config's Exchange.root (inside the course root)
    exchange.mkdir()
    teacher = account(tmp_path, "instructor")
    nbgrader = [str(BIN / "nbgrader")]

    run([*nbgrader, "generate_assignment", LAB, "--force"], course, teacher)
    run([*nbgrader, "release_assignment", LAB, "--force"], course, teacher)
    assert (exchange / COURSE_ID / "outbound" / LAB / f"{LAB}.ipynb").is_file()

    homes = {}
    for student in STUDENTS:
        env = account(tmp_path, student)
        home = homes[student] = Path(env["HOME"])
        student_settings(home, exchange, student)
        listed = run([*nbgrader, "list"], home, env)
        assert LAB in listed, listed
        run([*nbgrader, "fetch_assignment", LAB], home, env)
        fetched = home / LAB / f"{LAB}.ipynb"
        assert fetched.is_file(), sorted(p.name for p in home.iterdir())
        assert "BEGIN SOLUTION" not in fetched.read_text(), "the fetched notebook carries solutions"
        if student == "alice":
            solve(fetched)
        run([*nbgrader, "submit", LAB], home, env)

    run([*nbgrader, "collect", LAB], course, teacher)
    for student in STUDENTS:
        assert (course / "submitted" / student / LAB / f"{LAB}.ipynb").is_file()

    # no training reuse: this test is about the exchange cycle (reuse has its own tests), and two students
    # do not pay back the reference run that records the store
    grade = ["grade", LAB, "--jobs", "2", "--no-train-reuse"]
    graded = run(
        [str(BIN / "course-grade"), "--course", str(course), "--quiet", *grade],
        course,
        {**teacher, "LABKIT_MAX_EPOCHS": "1"},
        timeout=800,
    )
    totals = {s: sum(score for score, _ in read_scores(course, LAB, s).values()) for s in STUDENTS}
    assert totals["bob"] == 0, f"the untouched notebook scored {totals['bob']}:\n{graded}"
    assert totals["alice"] > 0, f"the solved notebook scored nothing:\n{graded}"

    run([str(BIN / "course-grade"), "--course", str(course), "feedback", LAB], course, teacher)
    run([*nbgrader, "release_feedback", LAB], course, teacher)
    source = read_notebook(source_notebook(LAB))
    hidden = hidden_only_lines(source)
    for student in STUDENTS:
        env = account(tmp_path, student)
        run([*nbgrader, "fetch_feedback", LAB], homes[student], env)
        pages = sorted((homes[student] / LAB / "feedback").glob(f"*/{LAB}.html"))
        assert pages, f"{student} received no feedback"
        page = html.unescape(re.sub(r"<[^>]+>", "", pages[-1].read_text()))  # the text a student reads
        assert f"{totals[student]:g}" in page or f"{totals[student]:.1f}" in page, (
            f"{student}'s score missing"
        )
        assert "source withheld" in page, f"{student}'s feedback shows no redacted hidden test"
        shown = [line for line in hidden if line in page]
        assert not shown, f"{student}'s feedback shows hidden-test source: {shown[:3]}"
    assert not list(homes["bob"].rglob("*alice*")), "bob's home holds something of alice's"
