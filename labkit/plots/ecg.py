"""Figures of the ECG rhythm lab: one example strip per rhythm, confusion matrices with accuracy."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from labkit.reproducibility import make_rng
from labkit.training import accuracy


def pretty(label: str) -> str:
    """Return a label for display: ``'sinus_bradycardia'`` -> ``'Sinus bradycardia'``."""
    return str(label).replace("_", " ").capitalize()


def pick_examples(rhythms: np.ndarray, seed: int = 0) -> dict[str, int]:
    """Return one randomly chosen strip index per rhythm (sorted labels), reproducible with ``seed``."""
    rng = make_rng(seed)
    rhythms = np.asarray(rhythms)
    return {str(label): int(rng.choice(np.flatnonzero(rhythms == label))) for label in np.unique(rhythms)}


def plot_examples(
    signals: np.ndarray,
    rhythms: np.ndarray,
    fs: float,
    seed: int = 0,
    figsize: tuple[float, float] = (9.0, 8.0),
) -> Figure:
    """Plot one example strip of every rhythm, one panel per rhythm, on a shared time axis.

    Parameters
    ----------
    signals
        (N, 1, samples) single-lead strips in mV.
    rhythms
        (N,) rhythm labels.
    fs
        Sampling frequency in Hz.
    seed
        Seed of the choice of examples.
    figsize
        Figure size in inches.
    """
    examples = pick_examples(rhythms, seed)
    time = np.arange(signals.shape[-1]) / fs
    fig, axes = plt.subplots(len(examples), 1, sharex=True, figsize=figsize, constrained_layout=True)
    for ax, (label, index) in zip(np.atleast_1d(axes), examples.items(), strict=True):
        ax.plot(time, np.ravel(signals[index]), linewidth=0.8, color="tab:blue")
        ax.set_title(f"{pretty(label)} (strip {index})", loc="left", fontsize="medium")
        ax.set_ylabel("ECG [mV]")
        ax.grid(True)
    ax.set_xlabel("Time [s]")
    ax.set_xlim(time[0], time[-1])
    return fig


def draw_confusion_matrix(ax: Axes, matrix: np.ndarray, labels: Sequence[str], title: str = "") -> None:
    """Draw a confusion matrix (rows: references, columns: predictions) with its counts on ``ax``."""
    matrix = np.asarray(matrix)
    ax.imshow(matrix, cmap="Blues", interpolation="nearest", vmin=0)
    threshold = (matrix.min() + matrix.max()) / 2
    for (i, j), value in np.ndenumerate(matrix):
        color = "white" if value > threshold else "black"
        ax.text(
            j,
            i,
            f"{value:d}" if matrix.dtype.kind in "iu" else f"{value:.2g}",
            color=color,
            ha="center",
            va="center",
        )
    ticks = np.arange(len(labels))
    names = [pretty(label) for label in labels]
    ax.set_xticks(ticks, names, rotation=40, ha="right")
    ax.set_yticks(ticks, names)
    ax.set_xlabel("Predictions")
    ax.set_title(title)


def plot_confusion_matrices(
    matrices: Mapping[str, np.ndarray], labels: Sequence[str], model: str | None = None
) -> Figure:
    """Plot the confusion matrix of every subset side by side, each titled with its accuracy.

    Parameters
    ----------
    matrices
        Subset name -> confusion matrix, as returned by :func:`labkit.training.evaluate_classifier`.
    labels
        Class names in the order of the matrix rows (sorted rhythm labels).
    model
        Name shown above the panels.
    """
    n = len(matrices)
    fig, axes = plt.subplots(1, n, figsize=(3.7 * n + 1.4, 4.4), constrained_layout=True)
    for k, (ax, (subset, matrix)) in enumerate(zip(np.atleast_1d(axes), matrices.items(), strict=True)):
        draw_confusion_matrix(
            ax, matrix, labels, f"{subset.capitalize()} (accuracy = {accuracy(matrix):.3f})"
        )
        if k == 0:
            ax.set_ylabel("References")
        else:
            ax.tick_params(labelleft=False)
    if model:
        fig.suptitle(model)
    return fig
