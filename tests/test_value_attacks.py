"""Value attacks, each graded beside its control (tests/attack_support.py): the attack scores exactly the
control's score, because hidden checks are decided in the grading process on plain data and the given
names and libraries are restored before the instructor's cells.

The mini course holds the always-equal objects and the attacks on the probes' channel; the HR lab (capped
training, training reuse on) the patched library, rebound globals, the test's frame and the borrowed
reference; the ECG lab's attacks ride in tests/test_course_grade_labs.py's batch.
"""

from __future__ import annotations

from dataclasses import asdict

import nbformat
import pytest
from attack_support import (
    HR_ATTACKS,
    HR_CONTROL,
    MINI_ATTACKS,
    MINI_CHANNEL_ATTACKS,
    MINI_CONTROL,
    with_cells,
)
from autograder_support import SOLVED, mini_course
from e2e_support import capped_data_dir, make_course, release_notebook, source_notebook, submit

from autograder.cells import read_notebook
from autograder.cli import main
from autograder.config import load_config
from autograder.grade import grade
from autograder.options import GradeOptions

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_mini_course_attacks_score_their_controls_score(tmp_path):
    root = mini_course(tmp_path)
    assert main(["--course", str(root), "build"]) == 0
    release = read_notebook(root / "release" / "mini" / "mini.ipynb")
    cases = {"reference": with_cells(release, SOLVED), "control": with_cells(release, MINI_CONTROL)}
    for name, (cells, extra) in {**MINI_ATTACKS, **MINI_CHANNEL_ATTACKS}.items():
        cases[name] = with_cells(release, cells, extra, after="setup")
    for student, nb in cases.items():
        target = root / "submitted" / student / "mini" / "mini.ipynb"
        target.parent.mkdir(parents=True)
        nbformat.write(nb, str(target))
    opts = GradeOptions(jobs=2, cell_timeout=20, notebook_timeout=90, memory_mb=1024, quiet=True)
    entries = {e.student: asdict(e) for e in grade(load_config(root), ["mini"], opts)}
    assert entries["reference"]["score"] == 5 and entries["reference"]["notes"] == [], entries["reference"]
    assert entries["control"]["score"] == 0, entries["control"]
    scores = {name: entries[name]["score"] for name in {**MINI_ATTACKS, **MINI_CHANNEL_ATTACKS}}
    assert scores == dict.fromkeys(scores, 0.0), scores
    restored = entries["patch_the_probe"]["notes"]
    assert any("autograder.checks.probe.emit" in note for note in restored), restored


def test_hr_lab_attacks_score_their_controls_score(tmp_path, monkeypatch):
    lab = "hr_estimation"
    course = make_course(tmp_path, lab)
    (course / "data").symlink_to(capped_data_dir(), target_is_directory=True)
    reference = read_notebook(source_notebook(lab))
    release = read_notebook(release_notebook(lab))
    answers = {
        c.metadata["nbgrader"]["grade_id"]: c.source
        for c in reference.cells
        if c.metadata.get("nbgrader", {}).get("solution")
    }
    solved = with_cells(release, answers)
    submit(course, lab, "control", with_cells(solved, HR_CONTROL))
    for name, (cells, extra) in HR_ATTACKS.items():
        submit(course, lab, name, with_cells(solved, {**HR_CONTROL, **cells}, extra))
    monkeypatch.setenv("LABKIT_MAX_EPOCHS", "1")
    assert main(["--course", str(course), "--quiet", "build"]) == 0
    opts = GradeOptions(jobs=2, cell_timeout=300, quiet=True)
    entries = {e.student: asdict(e) for e in grade(load_config(course), [lab], opts)}
    control = entries["control"]["tests"]
    assert control["test_compute_metrics"][0] == control["test_compute_activity_metrics"][0] == 0, control
    assert control["test_extract_windows"][0] == 3, control  # the rest is solved
    scores = {name: entries[name]["score"] for name in HR_ATTACKS}
    assert scores == dict.fromkeys(HR_ATTACKS, entries["control"]["score"]), (
        entries["control"]["score"],
        scores,
    )
    _check_figures_decode(course, lab, tmp_path / "chromium")


def _check_figures_decode(course, lab: str, profile) -> None:
    """The feedback shows the student's figures whole: every image of the page decodes in Chromium."""
    import browser_support as bs

    assert main(["--course", str(course), "--quiet", "feedback", lab]) == 0
    page_path = course / "feedback" / "control" / lab / f"{lab}.html"
    text = page_path.read_text()
    assert text.count("data:image/png;base64,") >= 3 and "... cut" not in text, page_path
    with bs.chromium_page(profile) as page:
        page.goto(page_path.as_uri())
        page.wait_for_load_state("load")
        images = page.evaluate(
            "Array.from(document.images).map(i => [i.complete, i.naturalWidth, i.naturalHeight])"
        )
        page.evaluate("document.images[0].scrollIntoView()")
        bs.screenshot(page, "feedback_hr_figure")
    assert len(images) >= 3 and all(done and w > 0 and h > 0 for done, w, h in images), images
