"""Label audit of an ECG rhythm dataset: RR-interval irregularity per rhythm and per source database.

Atrial fibrillation is irregularly irregular; sinus rhythms and flutter with a fixed block are regular. A
rhythm group (one label from one source database) whose records are about as often irregular as the
fibrillation records contradicts its label: the audit flags it. The ecg-arrhythmia release's Ningbo flutter
labels are suspected to hold many fibrillation records; this is the check that shows it.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.signal

from labkit.datasets.ecg import FS, RHYTHMS

IRREGULAR_NRMSSD = 0.10  # RMSSD / mean RR above this: an irregular strip (a common AF screening threshold)
REGULAR_SHARE = 0.5  # a sinus group is flagged when its irregular share reaches this share of AF's
FLUTTER_SHARE = 0.75  # flutter may legitimately be irregular (variable block): flagged only closer to AF
Source = str | os.PathLike[str] | tuple[np.ndarray, np.ndarray, np.ndarray]


def qrs_energy(signals: np.ndarray, fs: int = FS) -> np.ndarray:
    """Rectified 5-20 Hz band (QRS energy) of one strip or of a batch of strips (last axis: time)."""
    sos = scipy.signal.butter(3, [5.0, 20.0], btype="bandpass", fs=fs, output="sos")
    return np.abs(scipy.signal.sosfiltfilt(sos, np.asarray(signals, dtype=float), axis=-1))


def detect_r_peaks(strip: np.ndarray, fs: int = FS, energy: np.ndarray | None = None) -> np.ndarray:
    """Find R peaks in a single-lead strip.

    Band-pass 5-20 Hz (QRS energy), rectify, take peaks at least 0.25 s apart that reach 30% of a robust
    maximum (the 99th percentile), then drop those below half the median peak (T waves, noise bursts).

    Parameters
    ----------
    strip
        (samples,) ECG in mV.
    fs
        Sampling frequency in Hz.
    energy
        The strip's :func:`qrs_energy` when already computed for a batch.

    Returns
    -------
    np.ndarray
        Sample indices of the R peaks.
    """
    energy = qrs_energy(strip, fs) if energy is None else energy
    peaks, props = scipy.signal.find_peaks(
        energy, height=0.3 * np.percentile(energy, 99), distance=int(0.25 * fs)
    )
    heights = props["peak_heights"]
    return peaks[heights >= 0.5 * np.median(heights)] if peaks.size else peaks


def rr_features(strip: np.ndarray, fs: int = FS, energy: np.ndarray | None = None) -> dict[str, float]:
    """Heart rate (bpm), RR coefficient of variation and normalised RMSSD of a strip (NaN below 4 beats)."""
    rr = np.diff(detect_r_peaks(strip, fs, energy)) / fs
    if rr.size < 3:
        return {"hr": np.nan, "cv": np.nan, "nrmssd": np.nan}
    mean = rr.mean()
    return {
        "hr": 60.0 / mean,
        "cv": rr.std() / mean,
        "nrmssd": np.sqrt(np.mean(np.diff(rr) ** 2)) / mean,
    }


def batch_rr_features(signals: np.ndarray, fs: int = FS) -> pd.DataFrame:
    """:func:`rr_features` of every strip of ``signals`` (N, ..., samples), band-passing them in one call."""
    strips = np.asarray(signals).reshape(len(signals), -1)
    energy = qrs_energy(strips, fs)
    return pd.DataFrame([rr_features(s, fs, e) for s, e in zip(strips, energy, strict=True)])


def _arrays(source: Source, progress: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (signals, rhythms, record_ids) from arrays, an ``.npz`` file or an ecg-arrhythmia folder."""
    if isinstance(source, tuple):
        return source
    path = Path(source)
    if path.is_file():
        from labkit.datasets.ecg import load_ecg, load_ecg_provenance

        signals, rhythms, _ = load_ecg(path)
        return signals, rhythms, load_ecg_provenance(path)["record_ids"]
    from labkit.converters.physionet_ecg import prepare_ecg

    signals, rhythms, ids, _ = prepare_ecg(path, n_per_rhythm=10**9, progress=progress)
    return signals, rhythms, ids


def record_table(source: Source, progress: bool = False) -> pd.DataFrame:
    """One row per record: id, rhythm, source database, hr, cv, nrmssd and whether it is irregular."""
    from labkit.converters.physionet_ecg import source_of

    signals, rhythms, ids = _arrays(source, progress)
    table = batch_rr_features(signals)
    table.insert(0, "record", np.asarray(ids).astype(str))
    table.insert(1, "rhythm", np.asarray(rhythms).astype(str))
    table.insert(2, "source", [source_of(str(r)) for r in ids])
    table["irregular"] = table["nrmssd"] > IRREGULAR_NRMSSD
    return table


def audit_ecg(source: Source, progress: bool = False) -> pd.DataFrame:
    """Summarise RR irregularity per rhythm and source database and flag groups that contradict their label.

    Parameters
    ----------
    source
        ``(signals, rhythms, record_ids)`` arrays, an ``ecg_rhythms.npz`` file, or an ecg-arrhythmia folder
        (every record with exactly one lab rhythm is read).
    progress
        Show progress bars when reading a folder.

    Returns
    -------
    pandas.DataFrame
        Columns ``rhythm``, ``source``, ``n``, ``hr_median``, ``cv_median``, ``nrmssd_median``,
        ``irregular_fraction`` and ``flag`` (empty, or why the group contradicts its label).
    """
    table = record_table(source, progress)
    groups = table.groupby(["rhythm", "source"], sort=True)
    summary = groups.agg(
        n=("record", "size"),
        hr_median=("hr", "median"),
        cv_median=("cv", "median"),
        nrmssd_median=("nrmssd", "median"),
        irregular_fraction=("irregular", "mean"),
    ).reset_index()
    af = table.loc[table["rhythm"] == RHYTHMS[0], "irregular"]
    af_share = float(af.mean()) if len(af) else np.nan
    summary["flag"] = [_flag(row.rhythm, row.irregular_fraction, af_share) for row in summary.itertuples()]
    return summary


def _flag(rhythm: str, irregular: float, af_share: float) -> str:
    """Explain why a group's irregularity contradicts its label ('' when it does not)."""
    if np.isnan(af_share):
        return ""
    if rhythm == "atrial_fibrillation":
        return "fibrillation mostly regular" if irregular < 0.5 else ""
    share = FLUTTER_SHARE if rhythm == "atrial_flutter" else REGULAR_SHARE
    if irregular >= share * af_share:
        return f"as irregular as fibrillation ({irregular:.0%} of records vs {af_share:.0%} for AF)"
    return ""
