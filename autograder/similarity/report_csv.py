"""The report's pairs as CSV: one row per listed pair of each exercise."""

from __future__ import annotations

import csv
import io

from autograder.similarity.rank import ExerciseResult

HEADER = [
    "lab",
    "exercise",
    "kind",
    "rank",
    "student_a",
    "student_b",
    "score",
    "overlap",
    "rare_text",
    "unusualness",
    "highlighted",
    "exercise_converges",
    "exercise_median",
    "exercise_spread",
]


def csv_text(lab: str, results: list[ExerciseResult]) -> str:
    """Return the CSV of every listed pair, exercise by exercise in notebook order, best first."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=HEADER)
    writer.writeheader()
    for result in results:
        c = result.calibration
        for pair in result.top:
            writer.writerow(
                {
                    "lab": lab,
                    "exercise": pair.exercise,
                    "kind": result.exercise.kind,
                    "rank": pair.rank,
                    "student_a": pair.student_a,
                    "student_b": pair.student_b,
                    "score": f"{pair.score:.3f}",
                    "overlap": f"{pair.overlap:.3f}",
                    "rare_text": f"{pair.shared:.1f}",
                    "unusualness": f"{pair.unusualness:.2f}",
                    "highlighted": int(pair.highlighted),
                    "exercise_converges": int(c.converges),
                    "exercise_median": f"{c.median:.3f}",
                    "exercise_spread": f"{c.spread:.3f}",
                }
            )
    return buffer.getvalue()
