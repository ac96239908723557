"""Shared text weighted by how rare it is in the class (MOSS's idea), every pair of an exercise at once.

A k-gram that many submissions of an exercise hold (the natural solution, a common idiom, a stock phrase)
says little about a pair that shares it; one that only the two of them hold says much. Each fingerprint
``h`` of an exercise gets the weight ``min(1, log(n / df(h)) / log(n / 2))`` (``n`` submissions,
``df(h)`` of them hold it): 1 for a k-gram no more than two submissions hold, 0 for one that all hold, the
inverse document frequency in between. Unique k-grams weigh no more than those a pair shares: a student's
own unusual text is not a reason to score anyone lower.

Each character of a student's normalised text weighs the least of the weights of the k-grams that cover
it: a character inside a common passage is common, even where a rarer k-gram overlaps it. A pair's
*rarity score* is, for each of the two, the weighted share of their characters covered by k-grams the
other also holds (copydetect's coverage, each character weighted), and the mean of the two shares (0 to
1). The fingerprints are copydetect's (:mod:`~autograder.similarity.scoring`, the release's dropped).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse

from autograder.similarity.scoring import Prepared


@dataclass(frozen=True)
class RarityScores:
    """Every pair's rarity score, as (n, n) arrays, symmetric with a zero diagonal.

    Attributes
    ----------
    score
        The mean of the two weighted shares (0 to 1).
    shared
        The mean of the two weighted amounts of text in common (characters times their weight: more rare
        text shared ranks first where scores tie).
    """

    score: np.ndarray
    shared: np.ndarray


def weights(holders: np.ndarray, n: int) -> np.ndarray:
    """Return each fingerprint's weight from how many of the ``n`` submissions hold it."""
    if n <= 2:
        return np.ones(holders.shape)
    return np.clip(np.log(n / np.maximum(holders, 1)) / np.log(n / 2), 0.0, 1.0)


def _starts(prepared: list[Prepared]) -> tuple[list[np.ndarray], list[np.ndarray], sparse.csc_matrix]:
    """Return each submission's k-gram starts and their fingerprint columns, and who holds each column."""
    columns: dict[int, int] = {}
    starts, cols, rows, held = [], [], [], []
    for i, p in enumerate(prepared):
        at, col = [], []
        for h in sorted(p.fingerprint.hash_idx):
            c = columns.setdefault(h, len(columns))
            rows.append(i)
            held.append(c)
            for position in p.fingerprint.hash_idx[h]:
                at.append(position)
                col.append(c)
        order = np.argsort(at, kind="stable")
        starts.append(np.asarray(at, np.int64)[order])
        cols.append(np.asarray(col, np.int64)[order])
    matrix = sparse.csc_matrix((np.ones(len(rows)), (rows, held)), shape=(len(prepared), len(columns)))
    return starts, cols, matrix


def _covered(starts: np.ndarray, marks: np.ndarray, k: int, length: int) -> np.ndarray:
    """Return, per character and column of ``marks`` (per start), whether a marked k-gram covers it."""
    opened = np.zeros((length + 1, marks.shape[1]))
    np.add.at(opened, starts, marks)
    np.add.at(opened, np.minimum(starts + k, length), -marks)
    return np.cumsum(opened, axis=0)[:length] > 0


def _character_weights(starts: np.ndarray, kgram: np.ndarray, k: int, length: int) -> np.ndarray:
    """Return each character's weight: the least weight (``kgram``) of the k-grams at ``starts`` over it."""
    out = np.full(length, np.inf)
    for offset in range(k):
        at = starts + offset
        keep = at < length
        np.minimum.at(out, at[keep], kgram[keep])
    return np.where(np.isfinite(out), out, 0.0)


def rarity_scores(prepared: list[Prepared]) -> RarityScores:
    """Return the rarity score and the weighted text in common of every pair of ``prepared``."""
    n = len(prepared)
    share, amount = np.zeros((n, n)), np.zeros((n, n))
    if n < 2:
        return RarityScores(share, amount)
    starts, cols, matrix = _starts(prepared)
    weight = weights(np.asarray(matrix.sum(axis=0)).ravel(), n)
    for i, p in enumerate(prepared):
        if starts[i].size == 0:
            continue
        k, length = p.fingerprint.k, len(p.fingerprint.filtered_code)
        chars = _character_weights(starts[i], weight[cols[i]], k, length)
        held = matrix[:, cols[i]].T.toarray()  # per start of i: which submissions hold its k-gram
        amount[i] = chars @ _covered(starts[i], held, k, length)
        total = amount[i, i]
        share[i] = amount[i] / total if total > 0 else 0.0
    score, shared = (share + share.T) / 2, (amount + amount.T) / 2
    np.fill_diagonal(score, 0.0)
    np.fill_diagonal(shared, 0.0)
    return RarityScores(np.clip(score, 0.0, 1.0), shared)
