"""How unusual a pair's similarity is for its exercise: a robust z-score against the class's pairs.

An exercise with one natural solution makes every pair alike; what matters is a pair that stands out from
the other pairs of the same exercise. Each exercise's pair scores give a centre (the median) and a spread
(the median absolute deviation, scaled to a normal standard deviation, never below `SPREAD_FLOOR`); a
pair's *unusualness* is how many spreads its score lies above the centre.

An exercise *converges* when many honest pairs are bound to be alike: when at least `CONVERGED_SHARE` of
its pairs are near-identical (a one-line exercise with one natural solution), or its median pair shares
`CONVERGED_MEDIAN`. The report says so and highlights no pair there: a copy cannot be told from the
common solution. The thresholds were set on the generated class of ``tests/similarity_support.py``
(docs/similarity.md gives the figures); they are a starting point for an instructor's own class.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: A pair is highlighted when it lies at least this many spreads above its exercise's median ...
HIGHLIGHT_Z = 3.0
#: ... the two students share at least this share of their fingerprinted text ...
HIGHLIGHT_SCORE = 0.7
#: ... and the exercise does not converge. It converges when this share of its pairs or more ...
CONVERGED_SHARE = 0.01
#: ... score at least this (near-identical) ...
NEAR_IDENTICAL = 0.9
#: ... or when its median pair shares at least this much.
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
        Centre and robust spread (`MAD_TO_SD` times the MAD, at least `SPREAD_FLOOR`) of the pair scores.
    pairs
        How many pairs were scored.
    near_identical
        The share of pairs scoring at least `NEAR_IDENTICAL`.
    """

    median: float
    spread: float
    pairs: int
    near_identical: float

    @property
    def converges(self) -> bool:
        """Return whether everyone writes nearly the same here (no pair is highlighted)."""
        return self.near_identical >= CONVERGED_SHARE or self.median >= CONVERGED_MEDIAN

    def unusualness(self, score: float | np.ndarray) -> float | np.ndarray:
        """Return how many spreads ``score`` lies above the median (negative below)."""
        return (score - self.median) / self.spread

    def highlighted(self, score: float) -> bool:
        """Return whether a pair with ``score`` is highlighted for a person to read first."""
        return not self.converges and score >= HIGHLIGHT_SCORE and self.unusualness(score) >= HIGHLIGHT_Z


def calibrate(scores: np.ndarray) -> Calibration:
    """Return the calibration of one exercise from the scores of all its pairs (a flat array)."""
    if scores.size == 0:
        return Calibration(0.0, SPREAD_FLOOR, 0, 0.0)
    median = float(np.median(scores))
    mad = float(np.median(np.abs(scores - median)))
    near = float(np.mean(scores >= NEAR_IDENTICAL))
    return Calibration(median, max(MAD_TO_SD * mad, SPREAD_FLOOR), int(scores.size), near)
