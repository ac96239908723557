"""Render docs/figures/synthetic_ecg_examples.png: two synthetic strips per rhythm on ECG paper scale.

Usage::

    .venv/bin/python bench/ecg_examples_figure.py [--out docs/figures/synthetic_ecg_examples.png]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from labkit.converters.audit import rr_features  # noqa: E402
from labkit.datasets.ecg import FS, RHYTHMS  # noqa: E402
from labkit.synthetic.ecg import generate_ecg_dataset  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/figures/synthetic_ecg_examples.png"))
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    signals, rhythms, _ = generate_ecg_dataset(4, seed=args.seed, label_noise=0.0)
    fig, axes = plt.subplots(10, 1, figsize=(14, 17), sharex=True, constrained_layout=True)
    t = np.arange(signals.shape[-1]) / FS
    rows = [i for r in RHYTHMS for i in np.flatnonzero(rhythms == r)[:2]]
    for ax, i in zip(axes, rows, strict=True):
        strip = signals[i, 0]
        ax.plot(t, strip, lw=0.8, color="k")
        ax.set_xticks(np.arange(0, 10.01, 0.2), minor=True)
        ax.set_yticks(np.arange(np.floor(strip.min() * 2) / 2, strip.max() + 0.5, 0.5))
        ax.grid(True, which="both", color="#f4b6b6", lw=0.5)
        hr = rr_features(strip)["hr"]
        ax.set_title(f"{rhythms[i].replace('_', ' ')} (detected {hr:.0f} bpm)", fontsize=9, loc="left")
        ax.set_ylabel("mV")
    axes[-1].set_xlabel("time (s)")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=80)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
