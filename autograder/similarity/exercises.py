"""The exercises of a lab and each student's own text in them, the release's text left out."""

from __future__ import annotations

import difflib
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from nbformat import NotebookNode

from autograder import CourseError
from autograder.cells import grade_id, nbgrader_meta, read_notebook

#: An exercise whose code a student writes.
CODE = "code"
#: A written answer (a markdown answer cell).
ANSWER = "answer"


@dataclass(frozen=True)
class Exercise:
    """One graded solution cell or written-answer cell of a lab's release.

    Attributes
    ----------
    grade_id
        The cell's nbgrader grade id (the same in every submission).
    kind
        `CODE` or `ANSWER`.
    given
        The release cell's text (the given code and stub, or the answer placeholder).
    """

    grade_id: str
    kind: str
    given: str


@dataclass(frozen=True)
class Work:
    """One student's work on one exercise.

    Attributes
    ----------
    text
        Their own text: the cell less every line the release cell holds.
    source
        The whole cell as handed in (where the names they bind are read).
    """

    student: str
    text: str
    source: str = ""


def exercises(release: NotebookNode) -> list[Exercise]:
    """Return the solution cells of a release notebook that carry a grade id, in notebook order."""
    found = []
    for cell in release.cells:
        gid = grade_id(cell)
        if gid and nbgrader_meta(cell).get("solution"):
            kind = CODE if cell.cell_type == "code" else ANSWER
            found.append(Exercise(gid, kind, cell.source))
    return found


def given_text(release: NotebookNode, kind: str) -> str:
    """Return every cell of the release a student may quote in an exercise of ``kind``.

    Code exercises are compared without any of the release's code (students adapt the given models);
    answers without any of its text (students quote the questions).
    """
    cell_type = "code" if kind == CODE else "markdown"
    return "\n\n".join(c.source for c in release.cells if c.cell_type == cell_type)


def own_text(source: str, given: str) -> str:
    """Return the lines of ``source`` that the release's ``given`` does not account for, blank lines out.

    Each line of the release accounts for one line of ``source`` (compared stripped): first the lines
    aligned in order (``difflib``), then any other occurrence (a student who moved ``forward`` above
    ``__init__`` moved given lines). A student's own line that equals a given line already accounted for
    (``labels = np.unique(rhythms)`` inside the function, when the release has it after it) stays.
    """
    lines = source.splitlines()
    ours = [line.strip() for line in lines]
    theirs = [line.strip() for line in given.splitlines()]
    matcher = difflib.SequenceMatcher(None, theirs, ours, autojunk=False)
    given_at = {j for block in matcher.get_matching_blocks() for j in range(block.b, block.b + block.size)}
    left = Counter(theirs) - Counter(ours[j] for j in given_at)
    for j, line in enumerate(ours):
        if j not in given_at and left[line] > 0:
            left[line] -= 1
            given_at.add(j)
    return "\n".join(line for j, line in enumerate(lines) if ours[j] and j not in given_at)


def read_release(path: Path) -> NotebookNode:
    """Read a lab's release notebook, or say which command makes it."""
    if not path.is_file():
        raise CourseError(f"{path}: no release notebook; run `course-grade build` first")
    return read_notebook(path)


@dataclass(frozen=True)
class ClassWork:
    """A lab's submissions, read.

    Attributes
    ----------
    work
        Per exercise grade id, every student's own text (a student without the cell is left out).
    unreadable
        ``path: reason`` of each notebook that could not be read (left out of every comparison).
    """

    work: dict[str, list[Work]]
    unreadable: tuple[str, ...]


def class_work(
    release: NotebookNode,
    submissions: Iterable[tuple[str, Path]],
    advance: Callable[[], object] = lambda: None,
) -> ClassWork:
    """Return every student's own text of every exercise of ``release``.

    Parameters
    ----------
    release
        The lab's release notebook.
    submissions
        (student, notebook path) of each submission.
    advance
        Called once per notebook read (progress).
    """
    wanted = {e.grade_id: e for e in exercises(release)}
    work: dict[str, list[Work]] = {gid: [] for gid in wanted}
    unreadable = []
    for student, path in submissions:
        advance()
        try:
            nb = read_notebook(path)
        except Exception as exc:  # noqa: BLE001 (any reading error: the file is named, the class goes on)
            unreadable.append(f"{path}: not a readable notebook ({type(exc).__name__}); re-collect it")
            continue
        for cell in nb.cells:
            gid = grade_id(cell)
            if gid in wanted:
                text = own_text(cell.source, wanted[gid].given)
                if text:
                    work[gid].append(Work(student, text, cell.source))
    return ClassWork(work, tuple(unreadable))
