"""Kernel tampering: cells that change how IPython runs or reports the tests after them.

Every case leaves the exercises unsolved (honest grade 0). ``course-grade grade`` scores them 0 and says
"kernel tampering detected" once. Plain ``nbgrader autograde`` with hidden tests decided in the kernel gave
each of them full marks (docs/security.md); with this course's configuration its hidden checks are decided
in the grading process, so it scores them 0 too, without saying why (asserted below).
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import asdict

import nbformat
import pytest
from autograder_support import TAMPERING, mini_course, with_cells

from autograder.cells import read_notebook
from autograder.cli import main
from autograder.config import load_config
from autograder.grade import grade
from autograder.options import GradeOptions

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def _submit(root, student: str, nb) -> None:
    target = root / "submitted" / student / "mini" / "mini.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(target))


def _course(tmp_path, name: str):
    root = mini_course(tmp_path / name)
    assert main(["--course", str(root), "build"]) == 0
    release = read_notebook(root / "release" / "mini" / "mini.ipynb")
    for student, cell in TAMPERING.items():
        _submit(root, student, with_cells(release, after_setup=cell))
    _submit(root, "untouched", release)
    return root


def test_tampering_scores_zero_and_says_so_plain_nbgrader_scores_zero_silently(tmp_path):
    root = _course(tmp_path, "guarded")
    opts = GradeOptions(jobs=2, cell_timeout=20, notebook_timeout=90, memory_mb=1024, quiet=True)
    entries = {e.student: asdict(e) for e in grade(load_config(root), ["mini"], opts)}
    assert entries["untouched"]["score"] == 0 and entries["untouched"]["notes"] == []
    for student in TAMPERING:
        entry = entries[student]
        assert entry["score"] == 0, (student, entry)
        tampering = [note for note in entry["notes"] if note.startswith("kernel tampering detected")]
        assert len(tampering) == 1, (student, entry["notes"])
    assert main(["--course", str(root), "--quiet", "feedback", "mini"]) == 0
    page = (root / "feedback" / "kernel_execute" / "mini" / "mini.html").read_text()
    assert "kernel tampering detected" in page
    assert main(["--course", str(root), "export", "--out", str(tmp_path / "export")]) == 0
    notes = (tmp_path / "export" / "notes.csv").read_text()
    assert all(f"{student}," in notes for student in TAMPERING) and "kernel tampering detected" in notes

    plain = _course(tmp_path, "plain")
    subprocess.run(
        [sys.executable, "-m", "nbgrader", "autograde", "mini", "--force"],
        cwd=plain,
        check=True,
        capture_output=True,
    )
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{plain / 'gradebook.db'}") as gb:
        scores = {sub.student.id: sub.score for sub in gb.find_assignment("mini").submissions}
    print("plain nbgrader:", scores)
    assert scores == dict.fromkeys([*TAMPERING, "untouched"], 0.0), scores
