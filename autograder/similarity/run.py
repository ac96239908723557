"""``course-grade similarity``: read a lab's submissions, rank every exercise's pairs, write the report."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from autograder import CourseError
from autograder.config import CourseConfig
from autograder.plan.submissions import find_submissions
from autograder.progress import progress
from autograder.similarity.exercises import class_work, exercises, given_text, read_release
from autograder.similarity.figure import distribution_png
from autograder.similarity.rank import ExerciseResult, rank_exercise
from autograder.similarity.report_csv import csv_text
from autograder.similarity.report_html import html_page
from labkit.files import atomic_write, refuse_overwrite

#: Pairs listed per exercise (report and CSV) unless ``--top`` says otherwise.
TOP = 10


@dataclass(frozen=True)
class Comparison:
    """A lab's exercises with their pairs ranked, and the notebooks that could not be read."""

    results: list[ExerciseResult]
    unreadable: tuple[str, ...] = ()


@dataclass(frozen=True)
class Report:
    """What one run wrote: the page, the CSV and the comparison they show."""

    html: Path
    csv: Path
    results: list[ExerciseResult]
    unreadable: tuple[str, ...] = ()


def report_paths(out: Path, lab: str) -> tuple[Path, Path]:
    """Return ``out/similarity_<lab>.html`` and ``out/similarity_<lab>.csv``."""
    return out / f"similarity_{lab}.html", out / f"similarity_{lab}.csv"


def compare_lab(
    cfg: CourseConfig, lab: str, top: int = TOP, quiet: bool = False, jobs: int = 0
) -> Comparison:
    """Return every exercise of ``lab`` with its pairs ranked (progress on stderr unless ``quiet``).

    ``jobs`` processes score the pairs (0: one per CPU).

    Raises
    ------
    CourseError
        When the lab has no release notebook or fewer than two submissions.
    """
    release = read_release(cfg.release_notebook(lab))
    found = find_submissions(cfg, [lab])
    if len(found) < 2:
        where = cfg.root / cfg.folders.submitted
        raise CourseError(
            f"{where}: {len(found)} submission(s) of {lab}; nothing to compare. "
            f"Fix: `course-grade collect EXPORT --lab {lab}` first"
        )
    with progress(len(found), f"read {lab}", quiet) as bar:
        read = class_work(release, [(s.student, s.path) for s in found], lambda: bar.update(1))
    work = read.work
    todo = [e for e in exercises(release) if len(work[e.grade_id]) >= 2]
    pairs = sum(len(work[e.grade_id]) * (len(work[e.grade_id]) - 1) // 2 for e in todo)
    given = {kind: given_text(release, kind) for kind in {e.kind for e in todo}}
    with progress(pairs, f"compare {lab}", quiet, unit="pair") as bar:
        jobs = jobs or os.cpu_count() or 1
        results = [rank_exercise(e, work[e.grade_id], given[e.kind], top, bar.update, jobs) for e in todo]
    return Comparison(results, read.unreadable)


def similarity(
    cfg: CourseConfig,
    lab: str,
    out: Path | None = None,
    force: bool = False,
    top: int = TOP,
    quiet: bool = False,
    jobs: int = 0,
) -> Report:
    """Write ``lab``'s similarity report (HTML and CSV) into ``out`` (default ``exports/``).

    Nothing is replaced without ``force``; each file is written atomically. ``jobs``: see `compare_lab`.
    """
    html_path, csv_path = report_paths(out or cfg.root / "exports", lab)
    for path in (html_path, csv_path):
        refuse_overwrite(path, force, "course-grade similarity")
    compared = compare_lab(cfg, lab, top, quiet, jobs)
    results = compared.results
    figure = distribution_png(results, f"{lab}: pair scores per exercise")
    page = html_page(lab, results, figure, unreadable=compared.unreadable)
    atomic_write(html_path, lambda tmp: tmp.write_text(page, encoding="utf-8"))
    atomic_write(csv_path, lambda tmp: tmp.write_text(csv_text(lab, results), encoding="utf-8"))
    return Report(html_path, csv_path, results, compared.unreadable)


def summary_lines(lab: str, results: list[ExerciseResult], shown: int = 3) -> list[str]:
    """Return the lines printed after a run: per exercise, its state and its top pairs."""
    lines = []
    for r in results:
        c = r.calibration
        state = "converges (nothing highlighted)" if c.converges else f"median {c.median:.2f}"
        lines.append(f"{lab} / {r.exercise.grade_id} ({r.students} submissions): {state}")
        for p in r.top[:shown]:
            mark = "  highlighted" if p.highlighted else ""
            pair = f"{p.student_a} + {p.student_b}"
            shares = f"score {p.score:.2f} (overlap {p.overlap:.2f}), z {p.unusualness:+.1f}"
            lines.append(f"  #{p.rank} {pair}: {shares}{mark}")
    return lines
