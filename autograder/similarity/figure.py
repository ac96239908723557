"""The class-wide view: each exercise's distribution of pair scores, the highlighted pairs marked (PNG)."""

from __future__ import annotations

import io
import math

from autograder.similarity.calibrate import HIGHLIGHT_SCORE, HIGHLIGHT_SHARED, HIGHLIGHT_Z
from autograder.similarity.exercises import CODE
from autograder.similarity.rank import ExerciseResult

#: Pairs marked per panel: the highlighted ones and the top ones, up to this many.
MARKED = 5


def highlight_from(result: ExerciseResult) -> float:
    """Return the lowest score highlighted in ``result``'s exercise (above 1 where none can be).

    A pair above it is highlighted where it also shares enough rare text (`HIGHLIGHT_SHARED`).
    """
    c = result.calibration
    return math.inf if c.converges else max(HIGHLIGHT_SCORE[c.kind], c.median + HIGHLIGHT_Z * c.spread)


def distribution_png(results: list[ExerciseResult], title: str) -> bytes:
    """Return the class-wide figure as PNG bytes.

    One panel per exercise: the histogram of its pair scores (log counts), the highlight region shaded,
    the top `MARKED` pairs marked (red: highlighted, grey: not).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols = 2
    rows = max(1, math.ceil(len(results) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(11, 2.6 * rows), squeeze=False)
    for ax in axes.flat[len(results) :]:
        ax.set_visible(False)
    for ax, result in zip(axes.flat, results, strict=False):
        _panel(ax, result)
    fig.suptitle(title)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    plt.close(fig)
    return buffer.getvalue()


def _panel(ax, result: ExerciseResult) -> None:
    c = result.calibration
    ax.hist(result.scores, bins=40, range=(0, 1), color="#8da0cb", log=True)
    start = highlight_from(result)
    if start <= 1:
        ax.axvspan(start, 1.0, color="#fdd0a2", alpha=0.6, label=f"highlighted (z >= {HIGHLIGHT_Z:g})")
    for pair in result.top[:MARKED]:
        color = "#d62728" if pair.highlighted else "#555555"
        ax.plot([pair.score], [0.7], marker="v", color=color, markersize=8 if pair.highlighted else 5)
    note = (
        "converges: no pair highlighted"
        if c.converges
        else f"median {c.median:.2f}, spread {c.spread:.2f}; highlighted also needs "
        f"{HIGHLIGHT_SHARED[c.kind]:g} rare {'characters' if c.kind == CODE else 'words'}"
    )
    ax.set_title(
        f"{result.exercise.grade_id} ({result.exercise.kind}, {result.students} submissions)\n{note}",
        fontsize=9,
    )
    ax.set_xlim(0, 1)
    ax.set_ylim(0.5, None)
    ax.set_xlabel("share of their text in common, weighted by rarity (pair score)", fontsize=8)
    ax.set_ylabel("pairs", fontsize=8)
    ax.tick_params(labelsize=7)
