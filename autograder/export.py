"""Reports: nbgrader's grades CSV, per-test pass rates, a grade-distribution figure and execution notes.

Files go to ``--out`` (default ``exports/``); an existing file is never replaced without ``--force``.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from nbgrader.api import Gradebook

from autograder import CourseError
from autograder.config import CourseConfig, ensure_tools_on_path, run_nbgrader
from autograder.plan.ledger import Ledger
from labkit.files import atomic_write, refuse_overwrite

FILES = ("grades.csv", "pass_rates.csv", "grade_distribution.png", "notes.csv")


def pass_rates(cfg: CourseConfig) -> list[dict]:
    """Return one row per autograded test: lab, test, points, submissions, passed, pass rate, mean score."""
    ensure_tools_on_path()
    rows = []
    with Gradebook(cfg.db_url, cfg.course_id) as gb:
        for assignment in gb.assignments:
            for notebook in assignment.notebooks:
                for cell in notebook.grade_cells:
                    if cell.cell_type != "code":
                        continue
                    scores = [g.score for g in cell.grades]
                    passed = sum(1 for s in scores if s >= cell.max_score)
                    rows.append(
                        {
                            "lab": assignment.name,
                            "test": cell.name,
                            "points": cell.max_score,
                            "submissions": len(scores),
                            "passed": passed,
                            "pass_rate": round(passed / len(scores), 3) if scores else "",
                            "mean_score": round(sum(scores) / len(scores), 3) if scores else "",
                        }
                    )
    return rows


@dataclass(frozen=True)
class LabTotals:
    """One lab's submission scores for the grade-distribution figure."""

    percents: list[float]
    max_score: float
    manual_points: float
    awaiting_manual: int
    #: Per submission (same order as ``percents``): whether its manual points are still to be graded.
    awaiting: tuple[bool, ...] = ()

    def split(self) -> tuple[list[float], list[float]]:
        """Return the percentages of the submissions graded in full and of those awaiting manual grading."""
        waiting = self.awaiting or (False,) * len(self.percents)
        done = [p for p, w in zip(self.percents, waiting, strict=True) if not w]
        return done, [p for p, w in zip(self.percents, waiting, strict=True) if w]


def totals(cfg: CourseConfig) -> dict[str, LabTotals]:
    """Return each lab's submission scores as percentages of the lab's maximum, with its manual part."""
    ensure_tools_on_path()
    with Gradebook(cfg.db_url, cfg.course_id) as gb:
        return {
            a.name: LabTotals(
                percents=[100.0 * s.score / a.max_score for s in a.submissions if a.max_score],
                max_score=a.max_score,
                manual_points=a.max_written_score + a.max_task_score,
                awaiting_manual=sum(1 for s in a.submissions if s.needs_manual_grade),
                awaiting=tuple(bool(s.needs_manual_grade) for s in a.submissions if a.max_score),
            )
            for a in gb.assignments
        }


def notes(cfg: CourseConfig) -> list[dict]:
    """Return the execution notes (killed, timed out, failed) recorded in the results ledger."""
    entries = Ledger(cfg.ledger_path).entries.values()
    return [{"lab": e.lab, "student": e.student, "note": note} for e in entries for note in e.notes]


def _csv_text(rows: list[dict], header: list[str]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=header)
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def _grades_csv(cfg: CourseConfig, target: Path) -> None:
    run_nbgrader(cfg.root, "export", "--to", str(target), where=cfg.gradebook)
    if not target.is_file():
        raise CourseError(f"{cfg.gradebook}: nbgrader export wrote no {target}")


def figure_title(lab: str, lab_totals: LabTotals) -> str:
    """Return the title of ``lab``'s panel: its submissions, and the manual points still awaited."""
    title = f"{lab} (n={len(lab_totals.percents)})"
    if lab_totals.awaiting_manual:
        waiting = lab_totals.awaiting_manual
        verb = "submission awaits" if waiting == 1 else "submissions await"
        share = f"{lab_totals.manual_points:g} of {lab_totals.max_score:g} points"
        title += f"\n{waiting} {verb} manual grading ({share})"
    return title


def grade_figure(scores: dict[str, LabTotals], target: Path) -> None:
    """Write the grade distribution of every lab (one panel each, the ungraded manual part apart) as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    fig, axes = plt.subplots(1, max(1, len(scores)), figsize=(5 * max(1, len(scores)), 3.8), squeeze=False)
    for ax, (lab, lab_totals) in zip(axes[0], sorted(scores.items()), strict=False):
        done, waiting = lab_totals.split()
        ax.hist(
            [done, waiting],
            bins=[0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100.001],
            stacked=True,
            color=["#4c72b0", "#c8c8c8"],
            edgecolor="white",
            label=["graded (manual points in)", "awaiting manual grading (auto points only)"],
        )
        if lab_totals.manual_points and lab_totals.percents:
            handles, labels = ax.get_legend_handles_labels()
            kept = [(h, lb) for h, lb, data in zip(handles, labels, (done, waiting), strict=True) if data]
            ax.legend(*zip(*kept, strict=True), fontsize="small", loc="upper left")
        ax.set(
            title=figure_title(lab, lab_totals),
            xlabel=f"score (% of the lab's {lab_totals.max_score:g} points)",
            ylabel="submissions",
            xlim=(0, 100),
        )
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    fig.tight_layout()
    fig.savefig(target, dpi=110)
    plt.close(fig)


def export(cfg: CourseConfig, out: Path | None = None, force: bool = False) -> dict[str, Path]:
    """Write every report into ``out`` and return their paths."""
    out = out or cfg.root / "exports"
    paths = {name: out / name for name in FILES}
    for path in paths.values():
        refuse_overwrite(path, force, "course-grade export")
    out.mkdir(parents=True, exist_ok=True)
    rates, noted = pass_rates(cfg), notes(cfg)
    atomic_write(paths["grades.csv"], lambda tmp: _grades_csv(cfg, tmp))
    rate_header = ["lab", "test", "points", "submissions", "passed", "pass_rate", "mean_score"]
    atomic_write(paths["pass_rates.csv"], lambda tmp: tmp.write_text(_csv_text(rates, rate_header)))
    atomic_write(paths["notes.csv"], lambda tmp: tmp.write_text(_csv_text(noted, ["lab", "student", "note"])))
    atomic_write(
        paths["grade_distribution.png"],
        lambda tmp: (
            grade_figure(totals(cfg), tmp.with_suffix(".png")) or tmp.with_suffix(".png").replace(tmp)
        ),
    )
    return paths


def format_table(rows: list[dict]) -> str:
    """Return the pass-rate rows as an aligned text table."""
    header = ["lab", "test", "points", "passed", "submissions", "pass_rate"]
    lines = [header] + [[str(r[h]) for h in header] for r in rows]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)) for line in lines)
