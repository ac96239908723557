"""One exercise's pairs scored, calibrated and ranked; the top ones with their matching passages."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from autograder.similarity.calibrate import Calibration, calibrate
from autograder.similarity.exercises import Exercise, Work
from autograder.similarity.scoring import Passages, all_pairs, given_hashes, passages, prepare


@dataclass(frozen=True)
class Pair:
    """Two submissions' work on one exercise, as the report shows it.

    Attributes
    ----------
    rank
        1 for the pair most unusual for its exercise.
    score
        Share of their fingerprinted text the two have in common (0 to 1).
    unusualness
        Robust z-score of ``score`` among the exercise's pairs.
    highlighted
        Whether the report highlights the pair (`Calibration.highlighted`).
    """

    exercise: str
    rank: int
    student_a: str
    student_b: str
    score: float
    unusualness: float
    highlighted: bool
    text_a: str
    text_b: str
    passages: Passages


@dataclass(frozen=True)
class ExerciseResult:
    """What the report says about one exercise.

    Attributes
    ----------
    students
        Submissions with their own text in the exercise.
    scores
        Every pair's score (flat, for the class-wide figure).
    top
        The highest-ranked pairs, best first.
    """

    exercise: Exercise
    students: int
    calibration: Calibration
    scores: np.ndarray
    top: tuple[Pair, ...]

    @property
    def highlighted(self) -> tuple[Pair, ...]:
        """Return the highlighted pairs among the top ones."""
        return tuple(p for p in self.top if p.highlighted)


def rank_exercise(
    exercise: Exercise,
    works: list[Work],
    given: str,
    top: int,
    advance: Callable[[int], object] = lambda n: None,
    jobs: int = 1,
) -> ExerciseResult:
    """Score every pair of ``works`` on ``exercise`` (``given``: the release's text) and rank them.

    Parameters
    ----------
    exercise
        The exercise.
    works
        Each student's own text of it.
    given
        The release's text a student may quote (`~autograder.similarity.exercises.given_text`).
    top
        How many pairs keep their passages for the report (every highlighted pair does, too).
    advance
        Progress: called with the number of pairs scored.
    jobs
        Processes that score the pairs (`~autograder.similarity.scoring.all_pairs`).
    """
    excluded = given_hashes(given, exercise.kind)
    prepared = [prepare(w, exercise.kind, excluded) for w in sorted(works, key=lambda w: w.student)]
    matrix = all_pairs(prepared, advance, jobs)
    rows, cols = np.triu_indices(len(prepared), k=1)
    scores = matrix[rows, cols]
    calibration = calibrate(scores)
    highlighted = sum(calibration.highlighted(float(s)) for s in scores)
    order = np.lexsort((cols, rows, -scores))[: max(top, highlighted)]
    pairs = []
    for rank, index in enumerate(order, start=1):
        a, b = prepared[rows[index]], prepared[cols[index]]
        score = float(scores[index])
        pairs.append(
            Pair(
                exercise.grade_id,
                rank,
                a.student,
                b.student,
                score,
                float(calibration.unusualness(score)),
                calibration.highlighted(score),
                a.text,
                b.text,
                passages(a, b),
            )
        )
    return ExerciseResult(exercise, len(prepared), calibration, scores, tuple(pairs))
