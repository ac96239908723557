"""The written questions of a lab: prompt, model answer, grading notes and the outputs each is about.

The model answer is the solution region of the answer cell in the *source* notebook (instructor-only).
Which cells' outputs belong to which question, and optional grading notes and starting rubric items, are
declared per lab in the course file ``manual_grading.toml`` (beside ``nbgrader_config.py``, so it never
enters ``release/`` or the hand-out)::

    [hr_estimation.q7_results]
    show = ["test_models", "performance_check"]      # grade ids of the cells whose outputs to show
    notes = "Accept any ranking that matches the student's own table."
    rubric = [{points = 1, text = "Names the best model by MSE and by MAE"}]
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field

from nbformat import NotebookNode

from autograder import CourseError
from autograder.cells import grade_id, nbgrader_meta, read_notebook, region_lines
from autograder.config import CourseConfig, Markers, default_markers

DECLARATION = "manual_grading.toml"
#: What an answer cell of the release says before the student writes anything.
ANSWER_STUB = "YOUR ANSWER HERE"


@dataclass(frozen=True)
class RubricSeed:
    """A rubric item declared in ``manual_grading.toml`` (copied into the gradebook once)."""

    points: float
    text: str


@dataclass(frozen=True)
class Question:
    """One manually graded written answer cell of a lab."""

    lab: str
    grade_id: str
    number: int
    points: float
    prompt: str
    model_answer: str
    notes: str = ""
    show: tuple[str, ...] = ()
    rubric: tuple[RubricSeed, ...] = field(default_factory=tuple)


def is_written_question(cell: NotebookNode) -> bool:
    """Return whether ``cell`` is a manually graded markdown answer cell."""
    meta = nbgrader_meta(cell)
    return cell.cell_type == "markdown" and bool(meta.get("grade")) and bool(meta.get("solution"))


def model_answer(source: str, markers: Markers | None = None) -> str:
    """Return the solution region of an answer cell's source (the whole text when it has no markers)."""
    m = markers or default_markers()
    lines = region_lines(source, m.begin_solution, m.end_solution)
    has_markers = any(m.begin_solution.match(line) for line in source.splitlines())
    return "\n".join(lines if has_markers else source.splitlines()).strip()


def prompt_before(cells: list[NotebookNode], index: int, shown: set[str]) -> str:
    """Return the markdown that asks the question answered in cell ``index``.

    Walks back over the declared output cells and collects markdown up to and including the first heading
    (``### Question 7``), stopping at any other code cell or graded cell.
    """
    parts: list[str] = []
    for cell in reversed(cells[:index]):
        if cell.cell_type == "code":
            if grade_id(cell) in shown:
                continue
            break
        if nbgrader_meta(cell).get("grade") or nbgrader_meta(cell).get("solution"):
            break
        parts.insert(0, cell.source.strip())
        if cell.source.lstrip().startswith("#"):
            break
    return "\n\n".join(parts)


def declarations(cfg: CourseConfig) -> dict:
    """Return the parsed ``manual_grading.toml`` of the course (empty when the course has none)."""
    path = cfg.root / DECLARATION
    if not path.is_file():
        return {}
    try:
        return tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise CourseError(f"{path}: not valid TOML ({exc}); fix the file") from None


def questions(cfg: CourseConfig, lab: str) -> list[Question]:
    """Return the written questions of ``lab`` in notebook order, with their declarations."""
    nb = read_notebook(cfg.source_notebook(lab))
    declared = declarations(cfg).get(lab, {})
    ids = {grade_id(c) for c in nb.cells}
    found = []
    for index, cell in enumerate(nb.cells):
        if not is_written_question(cell):
            continue
        gid = grade_id(cell)
        entry = declared.get(gid, {})
        show = tuple(entry.get("show", ()))
        unknown = [s for s in show if s not in ids]
        if unknown:
            raise CourseError(
                f"{cfg.root / DECLARATION}: [{lab}.{gid}] shows {unknown}, which are no grade ids of "
                f"{cfg.source_notebook(lab).name}; fix `show`"
            )
        seeds = tuple(RubricSeed(float(r["points"]), str(r["text"])) for r in entry.get("rubric", ()))
        found.append(
            Question(
                lab=lab,
                grade_id=gid,
                number=len(found) + 1,
                points=float(nbgrader_meta(cell).get("points", 0)),
                prompt=prompt_before(nb.cells, index, set(show)),
                model_answer=model_answer(cell.source, cfg.markers),
                notes=str(entry.get("notes", "")),
                show=show,
                rubric=seeds,
            )
        )
    stray = sorted(set(declared) - {q.grade_id for q in found})
    if stray:
        raise CourseError(
            f"{cfg.root / DECLARATION}: [{lab}] declares {stray}, which are no written questions of the lab"
        )
    return found


def find_question(cfg: CourseConfig, lab: str, gid: str) -> Question:
    """Return the question ``gid`` of ``lab``, or raise a `CourseError` naming the questions there are."""
    found = {q.grade_id: q for q in questions(cfg, cfg.check_lab(lab))}
    if gid not in found:
        raise CourseError(f"{lab} has no written question {gid!r}; it has {sorted(found)}")
    return found[gid]


def is_untouched(text: str) -> bool:
    """Return whether an answer is empty or still the release's stub."""
    return text.strip() in ("", ANSWER_STUB)
