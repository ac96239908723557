"""End-to-end grading of the mini course: reference, blank, broken and hostile submissions in one run."""

from __future__ import annotations

import html
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path

import nbformat
import psutil
import pytest
from autograder_support import SOLVED, mini_course, tree_hash, with_cells

from autograder.cells import MIN_SECRET_LINE, grade_id, hidden_test_cells, read_notebook
from autograder.cli import main
from autograder.config import load_config
from autograder.execute.processes import JOB_ENV
from autograder.grade import grade
from autograder.kernel.confine import bwrap_available
from autograder.options import GradeOptions

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

HOSTILE = r"""
import json, os, shutil, subprocess, time
found = []
for depth in range(1, 8):
    up = "../" * depth
    for target in ("source/mini/mini.ipynb", "source/mini/mini.py", "gradebook.db", "submitted"):
        if os.path.exists(up + target):
            found.append(up + target)
for path in found:
    try:
        if path.endswith("gradebook.db"):
            with open(path, "ab") as handle:
                handle.write(b"HACKED")
        elif path.endswith("submitted"):
            shutil.rmtree(path, ignore_errors=True)
    except OSError as exc:
        print("refused:", path, exc.errno)
import glob
absolute = []
for pattern in ("/tmp/**/gradebook.db", "/tmp/**/source/*/*.ipynb", "/tmp/**/submitted/*/*/*.ipynb"):
    absolute += glob.glob(pattern, recursive=True)
for path in absolute:
    try:
        with open(path, "ab") as handle:
            handle.write(b"HACKED")
    except OSError:
        pass
leaked = [path for path in absolute if path.endswith("gradebook.db") and os.path.getsize(path) > 6]
print("FOUND", json.dumps(found))
print("ABSOLUTE", len(absolute), "GRADEBOOK_BYTES", sum(os.path.getsize(p) for p in leaked))
print("ENV", json.dumps(dict(os.environ)))
print("CWD", os.getcwd())
for _ in range(20):
    subprocess.Popen(["sleep", "600"])
if os.fork() == 0:
    time.sleep(600)
print("x" * 3_000_000)
try:
    with open("big.bin", "wb") as handle:
        handle.write(b"0" * (40 * 1024 * 1024))
except OSError as exc:
    print("write refused:", exc)
try:
    hog = bytearray(3 * 1024 ** 3)
except MemoryError:
    print("memory refused")
"""


MEAN_CELLS = ("mean_value", "test_mean")


def _submit(root: Path, student: str, nb) -> None:
    folder = root / "submitted" / student / "mini"
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(folder / "mini.ipynb"))


def _cases(root: Path) -> dict[str, float]:
    """Write every case into submitted/ and return the expected auto score of each."""
    source = read_notebook(root / "source" / "mini" / "mini.ipynb")
    release = read_notebook(root / "release" / "mini" / "mini.ipynb")
    solved = with_cells(release, SOLVED)
    cases = {
        "reference": (source, 5),
        "blank": (release, 0),
        "hostile": (with_cells(solved, after_setup=HOSTILE), 5),
        "syntax": (with_cells(solved, {"square": "def square(x) return x * x"}), 3),
        "loop": (with_cells(solved, {"mean_value": "while True:\n    pass"}), 2),
        "exits": (with_cells(solved, {"mean_value": "import os\nos._exit(3)"}), 2),
        "edits_tests": (
            with_cells(
                solved,
                {
                    "mean_value": "def mean_value(v):\n    return sum(v) // len(v)",
                    "test_mean": "pass",
                    "test_square": "pass",
                },
            ),
            2,
        ),
        "wrong_lab": (nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print('other lab')")]), 0),
    }
    deleted = with_cells(solved, {"mean_value": "def mean_value(v):\n    return sum(v) // len(v)"})
    deleted.cells = [c for c in deleted.cells if not (grade_id(c) or "").startswith("test_")]
    cases["deletes_tests"] = (deleted, 2)  # both tests put back and run: square passes, mean fails
    gone = with_cells(solved)
    gone.cells = [c for c in gone.cells if grade_id(c) not in MEAN_CELLS]
    cases["deletes_exercise_and_test"] = (gone, 2)  # plain nbgrader 0.9 fails here (KeyError): all zero
    dup = with_cells(solved)
    dup.cells[1].id = dup.cells[2].id = "same-id"
    cases["duplicate_ids"] = (dup, 5)
    for student, (nb, _) in cases.items():
        _submit(root, student, nb)
    return {student: expected for student, (_, expected) in cases.items()}


def _leftovers() -> list[psutil.Process]:
    """Return the processes of this course's grading jobs (the mini lab's) still alive."""
    left = []
    for proc in psutil.process_iter():
        try:
            if proc.environ().get(JOB_ENV, "").startswith("mini/"):
                left.append(proc)
        except psutil.Error:
            continue
    return left


def test_grade_batch_reference_broken_hostile(tmp_path, capsys):
    root = mini_course(tmp_path)
    assert main(["--course", str(root), "build"]) == 0
    expected = _cases(root)
    before = tree_hash(root)
    cfg = load_config(root)
    opts = GradeOptions(jobs=2, cell_timeout=6, notebook_timeout=60, memory_mb=1024, fsize_mb=16, quiet=True)
    entries = {e.student: asdict(e) for e in grade(cfg, ["mini"], opts)}
    assert tree_hash(root) == before, "grading changed course files"
    assert set(entries) == set(expected)
    for student, score in expected.items():
        assert entries[student]["score"] == score, (student, entries[student])
    assert any("kernel died" in n for n in entries["exits"]["notes"])
    assert any("per-cell limit" in n for n in entries["loop"]["notes"])
    assert not _leftovers(), "processes of graded submissions survived"
    restored = json.dumps(read_notebook(root / "autograded" / "deletes_tests" / "mini" / "mini.ipynb"))
    assert restored.count("was missing from the submission") == 2
    assert any("is not mini's" in n for n in entries["wrong_lab"]["notes"])
    hostile = read_notebook(root / "autograded" / "hostile" / "mini" / "mini.ipynb")
    text = json.dumps(hostile)
    assert str(root) not in text, "the course path leaked into the kernel"
    assert "source/mini/mini.ipynb" not in text.split("FOUND", 1)[1].split("\\n", 1)[0]
    assert len(text) < 1_500_000
    if bwrap_available():  # confined kernels: absolute paths reach no course file and no gradebook
        assert "GRADEBOOK_BYTES 0" in text, "a confined kernel could read a gradebook"
        assert "/course/source/" not in text
    assert (root / "submitted" / "reference" / "mini" / "mini.ipynb").is_file()
    again = grade(cfg, ["mini"], opts)
    assert again == [], "an unchanged class was regraded"

    assert main(["--course", str(root), "--quiet", "feedback", "mini"]) == 0
    hidden = [  # ("" or ")" reveal nothing: secrets are longer)
        ln.strip()
        for lines in hidden_test_cells(read_notebook(cfg.source_notebook("mini"))).values()
        for ln in lines
        if len(ln.strip()) >= MIN_SECRET_LINE
    ]
    feedback = sorted((root / "feedback").rglob("*.html"))
    assert len(feedback) >= 7
    students = len({p.parent.parent.name for p in feedback})
    assert f"mini: {len(feedback)} feedback page(s) for {students} student(s)" in capsys.readouterr().out
    for path in feedback:
        page = html.unescape(path.read_text())
        assert not [line for line in hidden if line in page], path
    blank = html.unescape((root / "feedback" / "blank" / "mini" / "mini.html").read_text())
    assert "hidden tests for test_mean: source withheld" in blank and "NotImplementedError" in blank

    out = tmp_path / "export"
    assert main(["--course", str(root), "export", "--out", str(out)]) == 0
    grades = (out / "grades.csv").read_text().splitlines()
    assert grades[0].startswith("assignment,duedate,timestamp,student_id")
    assert len(grades) == 1 + len(expected)
    assert "test_mean" in (out / "pass_rates.csv").read_text()
    assert "kernel died" in (out / "notes.csv").read_text()
    assert (out / "grade_distribution.png").stat().st_size > 5000
    assert main(["--course", str(root), "export", "--out", str(out)]) == 2


def test_killed_run_resumes_without_redoing(tmp_path):
    root = mini_course(tmp_path)
    release = root / "release" / "mini"
    subprocess.run([sys.executable, "-m", "autograder.cli", "--course", str(root), "build"], check=True)
    solved = with_cells(read_notebook(release / "mini.ipynb"), SOLVED)
    for student in ("s1", "s2", "s3"):
        _submit(root, student, solved)
    ledger = root / ".grading" / "ledger.json"
    cmd = [sys.executable, "-m", "autograder.cli", "--course", str(root), "--quiet", "grade", "--jobs", "1"]
    proc = subprocess.Popen(cmd, start_new_session=True)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and not (
        ledger.is_file() and json.loads(ledger.read_text())["entries"]
    ):
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    first = json.loads(ledger.read_text())["entries"]
    assert 1 <= len(first) < 3
    subprocess.run(cmd, check=True)
    final = json.loads(ledger.read_text())["entries"]
    assert len(final) == 3 and all(e["score"] == 5 for e in final.values())
    for name, entry in first.items():
        assert final[name]["graded_at"] == entry["graded_at"], "a finished grade was redone"


def test_a_kernel_that_never_starts_leaves_the_submission_ungraded_not_zero(tmp_path):
    """Local grading, the machine's failure (the kernel cannot start under an 8 MB limit): retried, then
    reported with its cause, no grade recorded, exit status 3; the next run grades it."""
    root = mini_course(tmp_path)
    assert main(["--course", str(root), "build"]) == 0
    _submit(root, "solved", with_cells(read_notebook(root / "release" / "mini" / "mini.ipynb"), SOLVED))
    cmd = [sys.executable, "-m", "autograder.cli", "--course", str(root), "grade", "--jobs", "1"]
    failed = subprocess.run([*cmd, "--memory-mb", "8"], capture_output=True, text=True, timeout=600)
    assert failed.returncode == 3, failed.stderr[-2000:]
    assert "mini/solved: NOT GRADED after 3 infrastructure failure(s)" in failed.stderr
    assert "no submitted code ran" in failed.stderr
    assert not (root / ".grading" / "ledger.json").exists() and not (root / "autograded").exists()
    assert subprocess.run(cmd, capture_output=True, timeout=600).returncode == 0
    entries = json.loads((root / ".grading" / "ledger.json").read_text())["entries"]
    assert entries["mini/solved"]["score"] == 5


def test_a_local_worker_process_killed_mid_job_is_replaced_and_its_job_retried(tmp_path):
    """The local pool's worker process dies (killed, as the out-of-memory killer would): its job is retried
    in a new process, every submission is graded once, and the command succeeds."""
    root = mini_course(tmp_path)
    assert main(["--course", str(root), "build"]) == 0
    solved = with_cells(read_notebook(root / "release" / "mini" / "mini.ipynb"), SOLVED)
    for student in ("a", "b", "c"):
        _submit(root, student, solved)
    cmd = [sys.executable, "-m", "autograder.cli", "--course", str(root), "grade", "--jobs", "1"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    victim = None
    while victim is None and time.monotonic() < deadline:
        for child in psutil.Process(proc.pid).children(recursive=True):
            try:
                if "multiprocessing.spawn" in " ".join(child.cmdline()) and any(
                    p.environ().get(JOB_ENV) for p in child.children(recursive=True)
                ):
                    victim = child  # the pool's worker, grading a submission right now
            except psutil.Error:
                continue
        time.sleep(0.1)
    assert victim is not None, "no worker process was grading"
    victim.kill()
    stdout, stderr = proc.communicate(timeout=600)
    assert proc.returncode == 0, stderr[-2000:]
    assert "graded 3 submission(s)" in stdout
    entries = json.loads((root / ".grading" / "ledger.json").read_text())["entries"]
    assert {name: e["score"] for name, e in entries.items()} == {"mini/a": 5, "mini/b": 5, "mini/c": 5}
