"""Figures of the heart-rate lab: one record, predictions against the reference, errors per activity."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib import patheffects
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from labkit.datasets.ppg import BAND, FS, SHIFT_SIZE, WINDOW_SIZE

ACC_COLUMNS = ("acc_x", "acc_y", "acc_z")
DPI = 80  # the noisy spectrograms make large PNGs: keep executed notebooks small
REFERENCE_STYLE = {
    "color": "white",
    "linewidth": 2.0,
    "label": "Reference",
    "path_effects": [patheffects.withStroke(linewidth=3.5, foreground="black")],
}


def _title(record: Mapping) -> str:
    return f"{record['subject']} ({record['activity']})"


def _spectrogram(ax: Axes, ppg: np.ndarray) -> None:
    """Draw the PPG spectrogram on the windows of the reference heart rate (8 s, 2 s shift).

    The colour range spans the 30th to 99.5th percentile of the power (dB), so that the spectral lines stand
    out from the noise floor; bins are drawn as blocks (no interpolation).
    """
    power, _, _, image = ax.specgram(
        ppg, Fs=FS, NFFT=WINDOW_SIZE, noverlap=WINDOW_SIZE - SHIFT_SIZE, cmap="viridis"
    )
    decibels = 10.0 * np.log10(np.maximum(power, np.finfo(float).tiny))
    image.set_clim(*np.percentile(decibels, [30.0, 99.5]))
    image.set_interpolation("nearest")  # the true 0.125 Hz x 2 s bins, and a PNG a third the size
    ax.set_ylim(0.0, BAND[1])
    ax.set_ylabel("Frequency [Hz]")


def plot_record(record: Mapping, figsize: tuple[float, float] = (9.0, 6.0)) -> Figure:
    """Plot a record: 3-axis acceleration, PPG, and the PPG spectrogram with the reference heart rate.

    Parameters
    ----------
    record
        One record of :func:`labkit.datasets.ppg.load_ppg` (``subject``, ``activity``, ``signals``, ``hr``).
    figsize
        Figure size in inches.

    Returns
    -------
    matplotlib.figure.Figure
        The figure (three panels sharing the time axis).
    """
    signals, hr = record["signals"], record["hr"]
    time = signals["time"].to_numpy()
    fig, axes = plt.subplots(3, 1, sharex=True, figsize=figsize, dpi=DPI, constrained_layout=True)
    fig.suptitle(_title(record))
    for column in ACC_COLUMNS:
        axes[0].plot(time, signals[column].to_numpy(), linewidth=0.8, label=column)
    axes[0].set_ylabel("Acceleration")
    axes[0].legend(loc="upper right", ncols=3, fontsize="small")
    axes[1].plot(time, signals["ppg"].to_numpy(), linewidth=0.8, color="tab:red")
    axes[1].set_ylabel("PPG")
    for ax in axes[:2]:
        ax.grid(True)
    _spectrogram(axes[2], signals["ppg"].to_numpy())
    axes[2].plot(hr["time"].to_numpy(), hr["hr"].to_numpy() / 60.0, **REFERENCE_STYLE)
    axes[2].legend(loc="upper right")
    axes[2].set_xlabel("Time [s]")
    return fig


def _check_predictions(record: Mapping, predictions: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Return the predictions as flat float arrays, one value per window of ``record``."""
    n = len(record["hr"])
    curves = {name: np.asarray(values, dtype=float).ravel() for name, values in predictions.items()}
    for name, values in curves.items():
        if values.size != n:
            raise ValueError(
                f"prediction {name!r} has {values.size} values but {_title(record)} has {n} windows; "
                "pass one prediction per window"
            )
    return curves


def _draw_predictions(axes: np.ndarray, record: Mapping, curves: Mapping[str, np.ndarray]) -> None:
    """Draw one record's spectrogram (top) and heart rate (bottom) with reference and predictions."""
    time, reference = record["hr"]["time"].to_numpy(), record["hr"]["hr"].to_numpy()
    axes[0].set_title(_title(record))
    _spectrogram(axes[0], record["signals"]["ppg"].to_numpy())
    axes[0].plot(time, reference / 60.0, **REFERENCE_STYLE)
    axes[1].plot(time, reference, color="black", linewidth=2.5, label="Reference")
    for name, values in curves.items():
        axes[0].plot(time, values / 60.0, linewidth=1.2, label=name)
        axes[1].plot(time, values, linewidth=1.2, label=name)
    axes[1].grid(True)
    axes[1].set_xlabel("Time [s]")


def plot_predictions(
    records: Sequence[Mapping],
    predictions: Sequence[Mapping[str, np.ndarray]],
    limits: tuple[float, float] = (30.0, 210.0),
    figsize: tuple[float, float] = (11.0, 6.0),
) -> Figure:
    """Plot the heart rate predicted by several models against the reference, one column per record.

    Parameters
    ----------
    records
        Records of :func:`labkit.datasets.ppg.load_ppg` (e.g. one sitting and one walking).
    predictions
        For each record: model name -> predicted heart rate (bpm), one value per window (row of its ``hr``).
    limits
        Heart-rate range shown (bpm).
    figsize
        Figure size in inches.

    Returns
    -------
    matplotlib.figure.Figure
        Top row: PPG spectrograms with reference and predictions (Hz); bottom row: the same in bpm.

    Raises
    ------
    ValueError
        When the lists differ in length or a prediction does not have one value per window.
    """
    if len(records) != len(predictions) or not records:
        raise ValueError(
            f"got {len(records)} records and {len(predictions)} prediction sets; pass one per record"
        )
    curves = [_check_predictions(r, p) for r, p in zip(records, predictions, strict=True)]
    fig, axes = plt.subplots(
        2, len(records), sharex="col", squeeze=False, figsize=figsize, dpi=DPI, constrained_layout=True
    )
    for column, (record, record_curves) in enumerate(zip(records, curves, strict=True)):
        _draw_predictions(axes[:, column], record, record_curves)
        axes[0, column].set_ylim(limits[0] / 60.0, limits[1] / 60.0)
        axes[1, column].set_ylim(*limits)
    axes[1, 0].set_ylabel("Heart rate [bpm]")
    axes[1, -1].legend(loc="upper right", fontsize="small")
    return fig


def plot_activity_errors(
    table: pd.DataFrame, metric: str = "MAE [bpm]", figsize: tuple[float, float] = (10.0, 3.8)
) -> Figure:
    """Bar chart of an error per model and activity, one panel per subset.

    Parameters
    ----------
    table
        Index: models; columns: MultiIndex (subset, activity), as made by
        :func:`labkit.labs.hr.activity_table`.
    metric
        Axis label of the error.
    figsize
        Figure size in inches.

    Returns
    -------
    matplotlib.figure.Figure
        One panel per subset; groups of bars per activity, one bar (and its value) per model.
    """
    if not isinstance(table.columns, pd.MultiIndex) or table.columns.nlevels != 2:
        raise ValueError("table needs (subset, activity) columns; pass the output of activity_table")
    subsets = list(pd.unique(table.columns.get_level_values(0)))
    fig, axes = plt.subplots(
        1, len(subsets), sharey=True, squeeze=False, figsize=figsize, dpi=DPI, constrained_layout=True
    )
    width = 0.8 / len(table.index)
    for ax, subset in zip(axes[0], subsets, strict=True):
        activities = list(table[subset].columns)
        for i, model in enumerate(table.index):
            values = table.loc[model, subset].to_numpy(dtype=float)
            offset = (i - (len(table.index) - 1) / 2) * width
            bars = ax.bar(np.arange(len(activities)) + offset, values, width, label=model)
            ax.bar_label(bars, fmt="%.1f", fontsize="x-small")
        ax.set_xticks(np.arange(len(activities)), activities)
        ax.set_title(subset)
        ax.grid(True, axis="y")
    axes[0, 0].set_ylabel(metric)
    axes[0, -1].legend(loc="upper left", fontsize="small")
    return fig
