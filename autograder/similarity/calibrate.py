"""How unusual a pair's similarity is for its exercise: a robust z-score against the class's pairs.

A pair is scored by its rarity score (:mod:`~autograder.similarity.rarity`: the text the two share,
weighted by how few submissions of the exercise hold it). An exercise with one natural solution still has
pairs that look alike; what matters is a pair that stands out from the other pairs of the same exercise.
Each exercise's rarity scores give a centre (the median) and a spread (the median absolute deviation,
scaled to a normal standard deviation, never below `SPREAD_FLOOR`); a pair's *unusualness* is how many
spreads its score lies above the centre. Pairs are ranked by score (so by unusualness), then by how much
rare text they share.

An exercise *converges* when many honest pairs are bound to be alike: when at least `CONVERGED_SHARE` of
its pairs are near-identical in their unweighted overlap (a one-line exercise with one natural solution),
or its median pair overlaps `CONVERGED_MEDIAN`. The report says so and highlights no pair there (a copy of
the common solution cannot be told from it), but still ranks its pairs, rarest shared text first. The
thresholds were set on the generated classes of ``tests/similarity_support.py`` (docs/similarity.md gives
the figures); they are a starting point for an instructor's own class.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from autograder.similarity.exercises import ANSWER, CODE

#: A pair is highlighted when it lies at least this many spreads above its exercise's median ...
HIGHLIGHT_Z = 3.0
#: ... its rarity score is at least this (per kind: a reworded answer keeps less than a renamed copy) ...
HIGHLIGHT_SCORE = {CODE: 0.9, ANSWER: 0.6}
#: ... the rare text the two share weighs at least this (characters of normalised code, words of an
#: answer: two students who both wrote the one-liner are not highlighted) ...
HIGHLIGHT_SHARED = {CODE: 40.0, ANSWER: 8.0}
#: ... and the exercise does not converge. It converges when this share of its pairs or more ...
CONVERGED_SHARE = 0.01
#: ... overlap at least this much, unweighted (near-identical) ...
NEAR_IDENTICAL = 0.9
#: ... or when its median pair overlaps at least this much.
CONVERGED_MEDIAN = 0.3
#: The smallest spread used (scores are shares, 0 to 1): a class of near-identical pairs is not a
#: licence to call a difference of a few characters unusual.
SPREAD_FLOOR = 0.05
#: MAD of a normal distribution times this is its standard deviation.
MAD_TO_SD = 1.4826


@dataclass(frozen=True)
class Calibration:
    """The distribution of one exercise's pair scores.

    Attributes
    ----------
    median, spread
        Centre and robust spread (`MAD_TO_SD` times the MAD, at least `SPREAD_FLOOR`) of the pair scores
        (rarity scores, `~autograder.similarity.rarity`).
    pairs
        How many pairs were scored.
    near_identical
        The share of pairs whose unweighted overlap is at least `NEAR_IDENTICAL`.
    overlap_median
        The median pair's unweighted overlap.
    kind
        The exercise's kind (`~autograder.similarity.exercises.CODE` or ``ANSWER``): which thresholds apply.
    """

    median: float
    spread: float
    pairs: int
    near_identical: float
    overlap_median: float = 0.0
    kind: str = CODE

    @property
    def converges(self) -> bool:
        """Return whether everyone writes nearly the same here (no pair is highlighted)."""
        return self.near_identical >= CONVERGED_SHARE or self.overlap_median >= CONVERGED_MEDIAN

    def unusualness(self, score: float | np.ndarray) -> float | np.ndarray:
        """Return how many spreads ``score`` lies above the median (negative below)."""
        return (score - self.median) / self.spread

    def highlighted(self, score: float, shared: float) -> bool:
        """Return whether a pair with ``score`` and ``shared`` rare text is highlighted, to be read first."""
        return (
            not self.converges
            and score >= HIGHLIGHT_SCORE[self.kind]
            and shared >= HIGHLIGHT_SHARED[self.kind]
            and self.unusualness(score) >= HIGHLIGHT_Z
        )

    def highlights(self, scores: np.ndarray, shared: np.ndarray) -> np.ndarray:
        """Return `highlighted` of every pair (flat arrays in the same order) as a boolean array."""
        if self.converges:
            return np.zeros(scores.shape, bool)
        return (
            (scores >= HIGHLIGHT_SCORE[self.kind])
            & (shared >= HIGHLIGHT_SHARED[self.kind])
            & (self.unusualness(scores) >= HIGHLIGHT_Z)
        )


def calibrate(scores: np.ndarray, overlaps: np.ndarray | None = None, kind: str = CODE) -> Calibration:
    """Return the calibration of one exercise from all its pairs (flat arrays in the same order).

    ``scores`` are the rarity scores that rank the pairs; ``overlaps`` the unweighted shares that say
    whether the exercise converges (``scores`` themselves where not given).
    """
    if scores.size == 0:
        return Calibration(0.0, SPREAD_FLOOR, 0, 0.0, 0.0, kind)
    overlaps = scores if overlaps is None else overlaps
    median = float(np.median(scores))
    mad = float(np.median(np.abs(scores - median)))
    near = float(np.mean(overlaps >= NEAR_IDENTICAL))
    spread = max(MAD_TO_SD * mad, SPREAD_FLOOR)
    return Calibration(median, spread, int(scores.size), near, float(np.median(overlaps)), kind)
