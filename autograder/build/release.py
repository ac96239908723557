"""Build the release: sync pairs, ``nbgrader generate_assignment`` per lab, leak and staleness checks."""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from pathlib import Path

from autograder import CourseError
from autograder.build.sync import sync
from autograder.cells import (
    FREE_TAG,
    grade_id,
    nbgrader_meta,
    read_notebook,
    unlocked_code_cells,
)
from autograder.cells import secret_lines as source_secrets
from autograder.config import GRADEBOOK, CourseConfig, run_nbgrader
from labkit.paths import COURSE_MARKER


def generate_assignment(course_root: Path, lab: str, where: Path) -> None:
    """Run ``nbgrader generate_assignment LAB --force`` in ``course_root`` (``where``: named in errors).

    Raises
    ------
    CourseError
        With nbgrader's last error line when generation fails.
    """
    run_nbgrader(course_root, "generate_assignment", lab, "--force", where=where)


def leaks(cfg: CourseConfig, lab: str, release_dir: Path | None = None) -> list[str]:
    """Return one line per leak in a release of ``lab`` (file + cell + what leaked).

    A leak is an nbgrader solution / hidden-test marker, or a line of a solution region, model answer or
    hidden test of the source notebook appearing in any release notebook.
    """
    folder = release_dir or cfg.release_notebook(lab).parent
    secrets = source_secrets(read_notebook(cfg.source_notebook(lab)), cfg.markers)
    markers = cfg.markers.all()
    found = []
    for path in sorted(folder.glob("**/*.ipynb")):
        for index, cell in enumerate(read_notebook(path).cells):
            where = f"{path} cell {index} ({grade_id(cell) or cell.cell_type})"
            found += [
                f"{where}: nbgrader marker {ln.strip()!r}"
                for ln in cell.source.splitlines()
                if any(pattern.match(ln) for pattern in markers)
            ]
            released = {ln.strip() for ln in cell.source.splitlines()}  # whole lines, not substrings
            found += [
                f"{where}: text of source cell {key!r}: {line[:60]!r}"
                for key, lines in secrets.items()
                for line in lines
                if line in released
            ]
    return found


def unlocked_cells(cfg: CourseConfig, lab: str) -> list[str]:
    """Return one line per code cell of the source notebook that a student could edit unnoticed.

    Given code that is not locked keeps the student's edits when graded (a training cell changed to use
    the test subjects, say): lock it, make it an exercise, or tag it ``student-free`` on purpose.
    """
    path = cfg.source_notebook(lab)
    nb = read_notebook(path)
    return [
        f"{path} cell {index} ({nb.cells[index].source.strip().splitlines()[0][:40]!r}...): given code "
        f"that is not locked; fix: mark it locked in its nbgrader header (or tag it {FREE_TAG!r} if the "
        "student may edit it), then `course-grade build`"
        for index in unlocked_code_cells(nb)
    ]


def undecided_hidden_tests(cfg: CourseConfig, lab: str) -> list[str]:
    """Return one line per graded cell whose hidden test has no grader check (it would run in the kernel).

    A hidden test is a probe plus a ``### BEGIN GRADER CHECK`` region decided in the grading process
    (:mod:`autograder.checks.steps`); hidden assertions alone would trust whatever the student's kernel
    returns.
    """
    from autograder.checks.steps import has_check

    path = cfg.source_notebook(lab)
    return [
        f"{path} cell {index} ({grade_id(cell)}): hidden test without a grader check, so the "
        "student's kernel would decide it; fix: move the comparison into a '### BEGIN GRADER CHECK' region "
        "(docs/authoring.md, 'Writing a hidden check'), then `course-grade build`"
        for index, cell in enumerate(read_notebook(path).cells)
        if cell.cell_type == "code" and cfg.markers.has_hidden(cell.source) and not has_check(cell.source)
    ]


def malformed_checks(cfg: CourseConfig, lab: str) -> list[str]:
    """Return one line per graded cell whose grader-check or shared-input markers do not pair up."""
    from autograder.checks.steps import split_checks

    path = cfg.source_notebook(lab)
    found = []
    for index, cell in enumerate(read_notebook(path).cells):
        if cell.cell_type != "code" or not nbgrader_meta(cell).get("grade"):
            continue
        try:
            split_checks(cell.source)
        except ValueError as exc:
            found.append(
                f"{path} cell {index} ({grade_id(cell)}): {exc} (docs/authoring.md, 'One place for a "
                "crafted input'); fix the markers in the lab's .py, then `course-grade build`"
            )
    return found


def regenerate(cfg: CourseConfig, lab: str, into: Path) -> Path:
    """Generate ``lab`` into a scratch course ``into`` (copy of config + source) and return it.

    The scratch course holds ``gradebook.db``, ``source/<lab>`` and ``release/<lab>``: this is also the
    grading kit that every worker copies.
    """
    into.mkdir(parents=True, exist_ok=True)
    shutil.copy2(cfg.root / COURSE_MARKER, into / COURSE_MARKER)
    shutil.copytree(cfg.source_notebook(lab).parent, cfg.folders.lab(into, "source", lab), dirs_exist_ok=True)
    generate_assignment(into, lab, where=cfg.source_notebook(lab).parent)
    return into


def stale_cells(cfg: CourseConfig, lab: str) -> list[str]:
    """Return one line per release cell differing from a fresh regeneration (write nothing in the course)."""
    committed = cfg.release_notebook(lab)
    if not committed.is_file():
        return [f"{committed}: missing; fix: `course-grade build`"]
    with tempfile.TemporaryDirectory(prefix="course-grade-stale-") as tmp:
        fresh = read_notebook(cfg.folders.notebook(regenerate(cfg, lab, Path(tmp)), "release", lab))
    old = read_notebook(committed)
    if len(old.cells) != len(fresh.cells):
        return [
            f"{committed}: {len(old.cells)} cells, a fresh build has {len(fresh.cells)}; "
            f"fix: `course-grade build`"
        ]
    return [
        f"{committed} cell {i} ({grade_id(b) or b.cell_type}): differs from a fresh build; "
        "fix: `course-grade build`"
        for i, (a, b) in enumerate(zip(old.cells, fresh.cells, strict=True))
        if (a.cell_type, a.source) != (b.cell_type, b.source)
    ]


def build(cfg: CourseConfig, labs: list[str] | None = None) -> list[str]:
    """Sync pairs, generate every lab's release and return the leaks found (empty = clean)."""
    sync(cfg)
    found = []
    for lab in labs or list(cfg.labs):
        if not cfg.source_notebook(lab).is_file():
            raise CourseError(f"{cfg.source_notebook(lab)}: missing; write the lab's source notebook first")
        found += unlocked_cells(cfg, lab) + undecided_hidden_tests(cfg, lab) + malformed_checks(cfg, lab)
        generate_assignment(cfg.root, lab, where=cfg.source_notebook(lab).parent)
        found += leaks(cfg, lab)
    return found


def kit_digest(cfg: CourseConfig, lab: str) -> str:
    """Return the key of ``lab``'s grading kit: its source notebook and the course configuration."""
    return hashlib.sha256(
        cfg.source_notebook(lab).read_bytes() + (cfg.root / COURSE_MARKER).read_bytes()
    ).hexdigest()[:16]


def kit_dir(cfg: CourseConfig, lab: str) -> Path:
    """Return the cached grading kit of ``lab``, (re)generated when the source notebook or config changed."""
    kit = cfg.state_dir / "kits" / f"{lab}-{kit_digest(cfg, lab)}"
    if not (kit / GRADEBOOK).is_file():
        tmp = Path(tempfile.mkdtemp(prefix=f".{lab}-", dir=kit.parent if kit.parent.exists() else None))
        regenerate(cfg, lab, tmp)
        kit.parent.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(kit, ignore_errors=True)
        shutil.move(str(tmp), kit)
    return kit
