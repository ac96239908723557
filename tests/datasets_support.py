"""Small valid datasets shared by the dataset tests (test_ecg_dataset, test_ppg_dataset,
test_dataset_siblings)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from labkit.datasets.ecg import N_SAMPLES, RHYTHMS
from labkit.datasets.ppg import FS, SHIFT_SIZE, WINDOW_SIZE, window_centres


def ecg_arrays(n_per=2, seed=0):
    """Return (signals, rhythms, provenance) of a valid ECG file: ``n_per`` strips of every rhythm."""
    rng = np.random.default_rng(seed)
    rhythms = np.repeat(np.array(RHYTHMS), n_per)
    signals = rng.normal(0, 0.3, size=(rhythms.size, 1, N_SAMPLES)).astype(np.float32)
    prov = {
        "source": "synthetic",
        "generator": "test 1.0",
        "seed": seed,
        "record_ids": [f"r{i}" for i in range(rhythms.size)],
    }
    return signals, rhythms, prov


def make_record(subject: str = "S1", activity: str = "sitting", windows: int = 5) -> dict:
    """Return one valid PPG record of ``windows`` windows."""
    n = (windows - 1) * SHIFT_SIZE + WINDOW_SIZE
    t = np.arange(n) / FS
    rng = np.random.default_rng(0)
    signals = pd.DataFrame(
        {
            "time": t,
            "ppg": np.sin(2 * np.pi * 1.2 * t),
            "acc_x": rng.normal(size=n),
            "acc_y": rng.normal(size=n),
            "acc_z": rng.normal(size=n),
        }  # fmt: skip
    )
    hr = pd.DataFrame({"time": window_centres(n), "hr": np.full(windows, 72.0)})
    return {"subject": subject, "activity": activity, "signals": signals, "hr": hr,
            "source": "synthetic", "provenance": {"generator": "test", "seed": 0}}  # fmt: skip
