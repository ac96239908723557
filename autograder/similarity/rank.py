"""One exercise's pairs scored, calibrated and ranked; the top ones with their matching passages."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from autograder.similarity.calibrate import Calibration, calibrate
from autograder.similarity.exercises import Exercise, Work
from autograder.similarity.rarity import rarity_scores
from autograder.similarity.scoring import Passages, all_pairs, given_hashes, passages, prepare


@dataclass(frozen=True)
class Pair:
    """Two submissions' work on one exercise, as the report shows it.

    Attributes
    ----------
    rank
        1 for the pair most unusual for its exercise.
    score
        Rarity score: the share of what is particular to each of them that they have in common, each
        fingerprint weighted by how rare it is in the class (0 to 1, `~autograder.similarity.rarity`).
    overlap
        Share of their fingerprinted text the two have in common, unweighted (0 to 1).
    shared
        How much rare text they have in common: characters of normalised code or words of an answer,
        each weighted by its rarity (ranks pairs of equal score).
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
    overlap: float
    shared: float
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
    names
        Their students, sorted: the flat arrays hold the pairs ``(names[i], names[j])``, ``i < j``, row by
        row.
    scores
        Every pair's rarity score (flat, for the class-wide figure).
    overlaps
        Every pair's unweighted overlap, in the same order.
    shared
        Every pair's weighted amount of text in common, in the same order (ranks pairs of equal score).
    top
        The highest-ranked pairs, best first.
    """

    exercise: Exercise
    students: int
    names: tuple[str, ...]
    calibration: Calibration
    scores: np.ndarray
    overlaps: np.ndarray
    shared: np.ndarray
    top: tuple[Pair, ...]

    @property
    def highlighted(self) -> tuple[Pair, ...]:
        """Return the highlighted pairs among the top ones."""
        return tuple(p for p in self.top if p.highlighted)

    def rank_of(self, a: str, b: str) -> int:
        """Return the rank of the pair ``a``, ``b`` among all pairs, counting every tie as ahead of it.

        Pairs are ordered by score, then by the rare text they share; a pair tied with it on both counts
        is ranked ahead of it, so the rank never depends on the students' names.
        """
        i, j = sorted((self.names.index(a), self.names.index(b)))
        n = len(self.names)
        at = i * n - i * (i + 1) // 2 + (j - i - 1)
        score, shared = self.scores[at], self.shared[at]
        ahead = (self.scores > score) | ((self.scores == score) & (self.shared >= shared))
        return int(ahead.sum())


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
    overlap = all_pairs(prepared, advance, jobs)
    rarity = rarity_scores(prepared)
    rows, cols = np.triu_indices(len(prepared), k=1)
    scores, overlaps, shared = rarity.score[rows, cols], overlap[rows, cols], rarity.shared[rows, cols]
    calibration = calibrate(scores, overlaps, exercise.kind)
    order = np.lexsort((cols, rows, -shared, -scores))
    flagged = np.flatnonzero(calibration.highlights(scores, shared)[order])
    order = order[: max(top, int(flagged[-1]) + 1 if flagged.size else 0)]
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
                float(overlaps[index]),
                float(shared[index]),
                float(calibration.unusualness(score)),
                calibration.highlighted(score, float(shared[index])),
                a.text,
                b.text,
                passages(a, b),
            )
        )
    names = tuple(p.student for p in prepared)
    return ExerciseResult(exercise, len(prepared), names, calibration, scores, overlaps, shared, tuple(pairs))
