"""Every pair of an exercise scored with copydetect's fingerprints (the matcher is the library's).

copydetect (MIT; the winnowing of Schleimer, Wilkerson and Aiken, SIGMOD 2003) hashes the k-grams of a
text, keeps fingerprints and finds the overlap of two sets and the passages it covers. It reads the texts
:mod:`~autograder.similarity.normalise` prepares (its own code filter, which renames every name, is not
used: see there). Two choices here: every k-gram is kept (window 1: exercises are short, and winnowing's
choice of k-grams would depend on Python's per-process string hash, so a rerun would score differently),
and the release's fingerprints are dropped after fingerprinting (copydetect 0.5.0's own ``boilerplate``
argument loses the repeated k-grams of a document, which CNN code is full of).
"""

from __future__ import annotations

import io
import multiprocessing
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
from copydetect.detector import CodeFingerprint, compare_files
from copydetect.utils import get_token_coverage

from autograder.similarity import normalise
from autograder.similarity.exercises import CODE, Work

#: k-gram length in characters of normalised code (the student's names -> V, no spaces or comments).
CODE_K = 25
#: k-gram length of a normalised answer, in words.
ANSWER_K = 3


@dataclass(frozen=True)
class Prepared:
    """One student's work on one exercise, fingerprinted."""

    student: str
    text: str
    normalised: normalise.Normalised
    fingerprint: CodeFingerprint


@dataclass(frozen=True)
class Passages:
    """The matching passages of a pair: (start, end) spans of each student's own text."""

    spans_a: tuple[tuple[int, int], ...]
    spans_b: tuple[tuple[int, int], ...]


def _fingerprint(normalised: normalise.Normalised, kind: str, name: str) -> CodeFingerprint:
    k = CODE_K if kind == CODE else ANSWER_K
    return CodeFingerprint(name, k, 1, filter=False, fp=io.StringIO(normalised.text))


def _normalised(text: str, kind: str, source: str) -> normalise.Normalised:
    if kind == CODE:
        return normalise.code(text, normalise.bound_names(source or text))
    return normalise.as_words(normalise.answer(text))


def given_hashes(given: str, kind: str) -> frozenset:
    """Return the fingerprints of the release's own text (``given``), to be left out of every comparison."""
    return frozenset(_fingerprint(_normalised(given, kind, given), kind, "release").hashes)


def prepare(work: Work, kind: str, given: frozenset) -> Prepared:
    """Fingerprint one student's own text of an exercise, without the fingerprints in ``given``."""
    normalised = _normalised(work.text, kind, work.source)
    fingerprint = _fingerprint(normalised, kind, work.student)
    _drop(fingerprint, given)
    return Prepared(work.student, work.text, normalised, fingerprint)


def _drop(fingerprint: CodeFingerprint, hashes: frozenset) -> None:
    """Remove ``hashes`` from ``fingerprint``: neither matched nor counted in the text it covers."""
    fingerprint.hash_idx = {h: at for h, at in fingerprint.hash_idx.items() if h not in hashes}
    fingerprint.hashes = set(fingerprint.hash_idx)
    fingerprint.token_coverage = get_token_coverage(
        fingerprint.hash_idx, fingerprint.k, len(fingerprint.filtered_code)
    )


def pair_score(a: Prepared, b: Prepared) -> float:
    """Return the share of both students' fingerprinted text that the other also holds (0 to 1, the mean)."""
    if not a.fingerprint.hashes or not b.fingerprint.hashes:
        return 0.0
    _, (share_a, share_b), _ = compare_files(a.fingerprint, b.fingerprint)
    return float(share_a + share_b) / 2


#: Below this many submissions an exercise is scored in this process (starting workers costs more).
PARALLEL_FROM = 60
#: The exercise a worker process scores rows of (set once per worker by `_share`).
_WORKER_CLASS: list[Prepared] = []


def _share(prepared: list[Prepared]) -> None:
    _WORKER_CLASS[:] = prepared


def _row(prepared: list[Prepared], i: int) -> np.ndarray:
    return np.array([pair_score(prepared[i], b) for b in prepared[i + 1 :]])


def _worker_row(i: int) -> tuple[int, np.ndarray]:
    return i, _row(_WORKER_CLASS, i)


def all_pairs(
    prepared: list[Prepared], advance: Callable[[int], object] = lambda n: None, jobs: int = 1
) -> np.ndarray:
    """Return the score of every pair ``i < j`` as an (n, n) array (zero on and below the diagonal).

    ``advance(k)`` is called after each row with the number of pairs it scored (progress). With
    ``jobs`` > 1 and at least `PARALLEL_FROM` submissions, rows are scored by that many forked processes
    (the fingerprints are made here, so every process matches the same hashes).
    """
    n = len(prepared)
    scores = np.zeros((n, n))
    if jobs <= 1 or n < PARALLEL_FROM:
        rows: Iterable[tuple[int, np.ndarray]] = ((i, _row(prepared, i)) for i in range(n))
        return _fill(scores, rows, advance)
    context = multiprocessing.get_context("fork")
    with context.Pool(jobs, initializer=_share, initargs=(prepared,)) as pool:
        return _fill(scores, pool.imap_unordered(_worker_row, range(n), chunksize=4), advance)


def _fill(
    scores: np.ndarray, rows: Iterable[tuple[int, np.ndarray]], advance: Callable[[int], object]
) -> np.ndarray:
    for i, row in rows:
        scores[i, i + 1 :] = row
        advance(row.size)
    return scores


def passages(a: Prepared, b: Prepared) -> Passages:
    """Return the passages of ``a`` and ``b`` that match, as spans of each student's own text."""
    if not a.fingerprint.hashes or not b.fingerprint.hashes:
        return Passages((), ())
    _, _, (slices_a, slices_b) = compare_files(a.fingerprint, b.fingerprint)
    return Passages(_spans(slices_a, a.normalised), _spans(slices_b, b.normalised))


def _spans(slices: np.ndarray, normalised: normalise.Normalised) -> tuple[tuple[int, int], ...]:
    if len(slices) == 0 or np.size(slices) == 0:
        return ()
    return tuple(normalised.to_original(int(s), int(e)) for s, e in zip(slices[0], slices[1], strict=True))
