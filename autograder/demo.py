"""``course-grade demo``: the whole pipeline on sample submissions of every lab (offline default data).

Sample students per lab: ``demo_reference`` (the source notebook, solutions included), ``demo_blank`` (the
untouched release), ``demo_partial`` (the release with only the first half of the exercises solved),
``demo_syntax`` (the reference with a syntax error in its last exercise).
"""

from __future__ import annotations

import copy
import tempfile
from pathlib import Path
from typing import NamedTuple

import nbformat
from nbgrader.api import Gradebook, MissingEntry

from autograder import CourseError
from autograder.build.release import build
from autograder.cells import grade_id, nbgrader_meta, read_notebook
from autograder.collect import collect
from autograder.config import CourseConfig, ensure_tools_on_path
from autograder.reuse.reference import reference_submission

#: The reference student's id once collected (``demo_reference`` written as ``<lab>_demo-reference.ipynb``).
REFERENCE_STUDENT = "demo-reference"


def _solution_ids(nb) -> list[str]:
    return [grade_id(c) for c in nb.cells if c.cell_type == "code" and nbgrader_meta(c).get("solution")]


def sample_submissions(cfg: CourseConfig, lab: str) -> dict[str, nbformat.NotebookNode]:
    """Return the demo students' notebooks of ``lab`` (see module docstring)."""
    source, release = read_notebook(cfg.source_notebook(lab)), read_notebook(cfg.release_notebook(lab))
    solved = {grade_id(c): c.source for c in source.cells if grade_id(c)}
    exercises = _solution_ids(release)
    partial = copy.deepcopy(release)
    for cell in partial.cells:
        if grade_id(cell) in exercises[: len(exercises) // 2]:
            cell.source = solved[grade_id(cell)]
    syntax = copy.deepcopy(release)
    for cell in syntax.cells:
        if grade_id(cell) in exercises:
            cell.source = solved[grade_id(cell)]
    for cell in reversed(syntax.cells):
        if grade_id(cell) in exercises:
            cell.source += "\nthis line is not python ((("
            break
    return {
        "demo_reference": reference_submission(source, release),
        "demo_blank": release,
        "demo_partial": partial,
        "demo_syntax": syntax,
    }


def write_samples(cfg: CourseConfig, folder: Path) -> int:
    """Write every lab's demo notebooks as ``<lab>_<student>.ipynb`` files and return how many."""
    count = 0
    for lab in cfg.labs_with_source:
        for student, nb in sample_submissions(cfg, lab).items():
            nbformat.write(nb, str(folder / f"{lab}_{student.replace('_', '-')}.ipynb"))
            count += 1
    return count


def demo_collect(cfg: CourseConfig, force: bool) -> list:
    """Build the course, write the sample submissions and collect them; return the collect outcomes.

    Raises
    ------
    CourseError
        When the build finds a leak or an unlocked cell (the lines of ``course-grade build``).
    """
    leaks = build(cfg, list(cfg.labs_with_source))
    if leaks:
        more = f" (and {len(leaks) - 1} more; `course-grade build` lists them)" if len(leaks) > 1 else ""
        raise CourseError(f"nothing graded, the build found a problem: {leaks[0]}{more}")
    with tempfile.TemporaryDirectory(prefix="course-grade-demo-") as tmp:
        write_samples(cfg, Path(tmp))
        return collect(cfg, Path(tmp), force=force)


class CapVictim(NamedTuple):
    """An autograded test the reference solution fails under the demo's training cap."""

    lab: str
    test: str
    points: float


def cap_invalidated(cfg: CourseConfig, student: str = REFERENCE_STUDENT) -> list[CapVictim]:
    """Return the tests the reference solution fails in the gradebook (under a cap: the cap's doing).

    The reference solution scores full marks with real settings (the reference-solution tests check it),
    so every autograded test it fails in a capped demo judges a metric the cap does not let it reach.
    """
    ensure_tools_on_path()
    victims = []
    with Gradebook(cfg.db_url, cfg.course_id) as gb:
        for assignment in gb.assignments:
            try:
                submission = gb.find_submission(assignment.name, student)
            except MissingEntry:
                continue
            for notebook in submission.notebooks:
                victims += [
                    CapVictim(assignment.name, g.name, g.max_score)
                    for g in notebook.grades
                    if g.cell_type == "code" and g.auto_score is not None and g.score < g.max_score
                ]
    return victims
