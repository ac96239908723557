"""``course-grade`` on the real ECG lab: a reference and a hostile submission graded in parallel.

Runs under the documented training cap (``LABKIT_MAX_EPOCHS=1``): it judges isolation and bookkeeping,
not metrics. The hostile submission knows the course's absolute path and attacks it directly.
"""

from __future__ import annotations

import html
import json

import nbformat
import pytest
from autograder_support import tree_hash
from e2e_support import REPO, make_course, release_notebook, source_notebook, submit

from autograder.cells import hidden_test_cells, read_notebook
from autograder.cli import main
from autograder.config import load_config
from autograder.confine import bwrap_available
from autograder.grade import GradeOptions, grade

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
LAB = "ecg_rhythm_classification"
HOSTILE = """
import json, os
targets = {course!r}
read, wrote = [], []
for path in targets:
    try:
        with open(path, "rb") as handle:
            handle.read(100)
        read.append(path)
    except OSError:
        pass
    try:
        with open(path, "ab") as handle:
            handle.write(b"HACKED")
        wrote.append(path)
    except OSError:
        pass
print("ATTACK read", len(read), "wrote", len(wrote))
"""


def test_reference_and_hostile_real_lab(tmp_path, monkeypatch):
    course = make_course(tmp_path, LAB)
    (course / "data").symlink_to(REPO / "data", target_is_directory=True)
    other = course / "submitted" / "ref" / LAB / f"{LAB}.ipynb"
    targets = [
        str(course / "source" / LAB / f"{LAB}.ipynb"),
        str(course / "gradebook.db"),
        str(course / "nbgrader_config.py"),
        str(other),
    ]
    hostile = nbformat.read(release_notebook(LAB), as_version=4)
    first_code = next(i for i, c in enumerate(hostile.cells) if c.cell_type == "code")
    hostile.cells.insert(first_code + 1, nbformat.v4.new_code_cell(HOSTILE.format(course=targets)))
    submit(course, LAB, "ref", source_notebook(LAB))
    submit(course, LAB, "mallory", hostile)
    monkeypatch.setenv("LABKIT_MAX_EPOCHS", "1")
    assert main(["--course", str(course), "--quiet", "build"]) == 0
    (course / "gradebook.db").touch()
    before = tree_hash(course, skip={"autograded", "feedback", "gradebook.db", ".grading", "exports", "logs"})

    entries = {e["student"]: e for e in grade(load_config(course), [LAB], GradeOptions(jobs=2, quiet=True))}

    after = tree_hash(course, skip={"autograded", "feedback", "gradebook.db", ".grading", "exports", "logs"})
    assert after == before, "grading changed course files or another submission"
    assert set(entries) == {"ref", "mallory"}
    ref, mallory = entries["ref"]["tests"], entries["mallory"]["tests"]
    for test in ("test_split_partition", "test_split_stratified", "test_scaling", "test_encoding"):
        assert ref[test][0] == ref[test][1] > 0, (test, ref[test])
    assert all(score == 0 for score, _ in mallory.values() if score is not None), mallory
    executed = read_notebook(course / "autograded" / "mallory" / LAB / f"{LAB}.ipynb")
    text = json.dumps(executed)
    assert "ATTACK read" in text, "the hostile cell did not run"
    if bwrap_available():
        assert "ATTACK read 0 wrote 0" in text, "a confined kernel reached the course"

    assert main(["--course", str(course), "--quiet", "feedback", LAB]) == 0
    page = html.unescape((course / "feedback" / "mallory" / LAB / f"{LAB}.html").read_text())
    hidden = hidden_test_cells(read_notebook(source_notebook(LAB)))
    lines = {ln.strip() for cell in hidden.values() for ln in cell if len(ln.strip()) > 25}
    assert lines and not [ln for ln in lines if ln in page], "hidden test source in feedback"
