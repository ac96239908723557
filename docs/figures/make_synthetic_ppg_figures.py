"""Draw docs/figures/synthetic_ppg_{sitting,walking}.png from the synthetic generator (seed 0).

Run: ``.venv/bin/python docs/figures/make_synthetic_ppg_figures.py``
"""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from labkit.datasets.ppg import FS, SHIFT_SIZE, WINDOW_SIZE  # noqa: E402
from labkit.synthetic.ppg import generate_ppg_records  # noqa: E402

HERE = Path(__file__).resolve().parent


def plot_record(record: dict, path: Path, zoom: tuple[float, float] | None = None) -> None:
    """Plot acceleration, PPG and the PPG spectrogram with the reference heart rate on top."""
    signals, hr = record["signals"], record["hr"]
    t = signals["time"].to_numpy()
    fig, axes = plt.subplots(4, 1, figsize=(10, 9), constrained_layout=True)
    fig.suptitle(f"{record['subject']} ({record['activity']}), synthetic")
    axes[0].plot(t, signals[["acc_x", "acc_y", "acc_z"]].to_numpy(), linewidth=0.8)
    axes[0].set_ylabel("Acceleration [g]")
    axes[1].plot(t, signals["ppg"].to_numpy(), linewidth=0.8)
    axes[1].set_ylabel("PPG")
    lo, hi = zoom if zoom else (t[0], t[0] + 20.0)
    mask = (t >= lo) & (t < hi)
    axes[2].plot(t[mask], signals["ppg"].to_numpy()[mask], linewidth=1.0, label="PPG")
    scale = signals["ppg"].to_numpy()[mask].std() / max(signals["acc_x"].to_numpy()[mask].std(), 1e-9)
    axes[2].plot(
        t[mask], scale * signals["acc_x"].to_numpy()[mask], linewidth=0.8, alpha=0.6, label="acc_x (scaled)"
    )
    axes[2].set_ylabel("PPG (zoom)")
    axes[2].legend(loc="upper right")
    axes[3].specgram(signals["ppg"].to_numpy(), Fs=FS, NFFT=WINDOW_SIZE, noverlap=WINDOW_SIZE - SHIFT_SIZE)
    axes[3].plot(hr["time"].to_numpy(), hr["hr"].to_numpy() / 60.0, color="tab:orange", label="Heart rate")
    axes[3].set_ylim(0.0, 4.0)
    axes[3].set_xlabel("Time [s]")
    axes[3].set_ylabel("Frequency [Hz]")
    axes[3].legend(loc="upper right")
    for ax in axes:
        ax.grid(True, alpha=0.3)
    fig.savefig(path, dpi=90)
    plt.close(fig)


def main(subject: str = "S1") -> None:
    """Write one sitting and one walking figure for ``subject``."""
    records = {(r["subject"], r["activity"]): r for r in generate_ppg_records(seed=0)}
    for activity in ("sitting", "walking"):
        plot_record(records[(subject, activity)], HERE / f"synthetic_ppg_{activity}.png", zoom=(100.0, 115.0))


if __name__ == "__main__":
    main(*sys.argv[1:2])
