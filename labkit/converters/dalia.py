"""Convert the real PPG-DaLiA dataset into the ``ppg_dalia.pkl`` contract (sitting and walking records).

PPG-DaLiA (Reiss et al., 2019; UCI repository) holds one Python-2 pickle per subject,
``PPG_FieldStudy/S<i>/S<i>.pkl``, a dict with:

- ``signal['wrist']['BVP']`` (n, 1) at 64 Hz and ``signal['wrist']['ACC']`` (n, 3) at 32 Hz in 1/64 g
  (Empatica E4); other wrist and chest signals are ignored;
- ``label`` (m,): reference heart rate (bpm) from the chest ECG's R-peaks, one value per 8 s window shifted
  by 2 s; assumption: label ``k`` covers ``[2k, 2k + 8)`` s of the recording;
- ``activity`` (k, 1) at 4 Hz: 0 transient, 1 sitting, 2 stairs, 3 table soccer, 4 cycling, 5 driving,
  6 lunch, 7 walking, 8 working. Only 1 and 7 are kept.

S6's recording is valid only for its first ~90 minutes (hardware problem noted by the dataset's authors),
so everything after 5400 s is dropped; its walking part lies after that, leaving 29 records.

Steps per subject: resample BVP and ACC to 25 Hz (``scipy.signal.resample_poly``), band-pass the whole
recording 0.4-4 Hz (:func:`labkit.datasets.ppg.bandpass`, the contract's filter), take the longest
contiguous run of each kept activity, snap it inward to the 2 s label grid, cut it so that its windows are
exactly labels ``a/2 ... a/2 + n - 1`` and write the record with ``time`` starting at 0 s.
"""

from __future__ import annotations

import datetime as _dt
import math
import os
import pickle
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import signal as sps
from tqdm.auto import tqdm

from labkit.datasets.ppg import FS, SHIFT_SIZE, SUBJECTS, WINDOW_SIZE, bandpass, window_centres
from labkit.files import DataFileError

CONVERTER = "labkit.converters.dalia"
VERSION = "1.0"
BVP_FS = 64
ACC_FS = 32
ACTIVITY_FS = 4
ACC_UNIT_G = 1.0 / 64.0
ACTIVITY_CODES: dict[int, str] = {1: "sitting", 7: "walking"}
VALID_SECONDS: dict[str, float] = {"S6": 90 * 60.0}
LABEL_SHIFT_S = SHIFT_SIZE / FS  # 2 s
LABEL_WINDOW_S = WINDOW_SIZE / FS  # 8 s
FIX = (
    "Fix: download PPG-DaLiA (https://archive.ics.uci.edu/dataset/495/ppg+dalia), unzip it and run "
    "`labkit data prepare ppg --from FOLDER` with the folder that holds PPG_FieldStudy/"
)

PathLike = str | os.PathLike[str]


def find_study(root: PathLike) -> Path:
    """Return the ``PPG_FieldStudy`` folder under ``root`` (or ``root`` itself when it is that folder)."""
    root = Path(root).expanduser()
    for candidate in (root / "PPG_FieldStudy", root):
        if candidate.is_dir() and any(candidate.glob("S*/S*.pkl")):
            return candidate
    raise DataFileError(f"{root}: no PPG_FieldStudy/S*/S*.pkl files found. {FIX}")


def read_subject(path: Path) -> dict[str, Any]:
    """Unpickle one subject file (Python-2 pickle, latin-1) and check the parts the converter uses.

    Raises
    ------
    DataFileError
        One line naming the file when it is missing, unreadable or lacks a needed entry.
    """
    if not path.is_file():
        raise DataFileError(f"{path}: subject file missing. {FIX}")
    try:
        with open(path, "rb") as handle:
            data = pickle.load(handle, encoding="latin1")
    except (EOFError, pickle.UnpicklingError, ValueError, AttributeError, ImportError, OSError) as error:
        raise DataFileError(f"{path}: truncated or unreadable pickle ({error}). {FIX}") from error
    try:
        parts = {
            "bvp": np.asarray(data["signal"]["wrist"]["BVP"], dtype=float).reshape(-1),
            "acc": np.asarray(data["signal"]["wrist"]["ACC"], dtype=float),
            "label": np.asarray(data["label"], dtype=float).reshape(-1),
            "activity": np.asarray(data["activity"], dtype=float).reshape(-1),
        }
    except (KeyError, TypeError, IndexError, ValueError) as error:
        raise DataFileError(
            f"{path}: not a PPG-DaLiA subject pickle (missing or malformed entry {error}); expected "
            f"signal/wrist/BVP, signal/wrist/ACC, label and activity. {FIX}"
        ) from error
    if parts["acc"].ndim != 2 or parts["acc"].shape[1] != 3:
        raise DataFileError(
            f"{path}: signal/wrist/ACC has shape {parts['acc'].shape}, expected (n, 3). {FIX}"
        )
    return parts


def wrist_signals(parts: dict[str, Any], valid_s: float | None) -> np.ndarray:
    """Return (n, 4) columns ppg, acc_x, acc_y, acc_z at 25 Hz, band-passed, acc in g."""
    ppg = sps.resample_poly(parts["bvp"], FS, BVP_FS)
    acc = sps.resample_poly(parts["acc"] * ACC_UNIT_G, FS, ACC_FS, axis=0)
    n = min(ppg.shape[0], acc.shape[0])
    if valid_s is not None:
        n = min(n, int(valid_s * FS))
    return bandpass(np.column_stack([ppg[:n], acc[:n]]))


def longest_run(activity: np.ndarray, code: int) -> tuple[float, float] | None:
    """Return (start, end) seconds of the longest contiguous run of ``code`` (end exclusive), or None."""
    mask = np.concatenate([[False], np.round(activity) == code, [False]])
    edges = np.flatnonzero(np.diff(mask.astype(np.int8)))
    if edges.size == 0:
        return None
    starts, ends = edges[::2], edges[1::2]
    best = int(np.argmax(ends - starts))
    return starts[best] / ACTIVITY_FS, ends[best] / ACTIVITY_FS


def label_span(start_s: float, end_s: float, n_labels: int, n_samples: int) -> tuple[int, int]:
    """Return (first label index, number of labels) of the windows lying inside ``[start_s, end_s)``.

    Parameters
    ----------
    start_s, end_s
        The activity run in recording seconds.
    n_labels
        Number of labels of the recording.
    n_samples
        Number of valid 25 Hz samples of the recording.

    Returns
    -------
    tuple of int
        ``(k0, n)``: labels ``k0 .. k0 + n - 1``; ``n`` is 0 when no full window fits.
    """
    k0 = math.ceil(start_s / LABEL_SHIFT_S - 1e-9)
    end_s = min(end_s, n_samples / FS)
    last = math.floor((end_s - LABEL_WINDOW_S) / LABEL_SHIFT_S + 1e-9)
    last = min(last, n_labels - 1)
    return k0, max(last - k0 + 1, 0)


def cut_record(signals: np.ndarray, labels: np.ndarray, k0: int, n: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Cut the samples of windows ``k0 .. k0 + n - 1`` and their labels into contract DataFrames."""
    first = k0 * SHIFT_SIZE
    length = (n - 1) * SHIFT_SIZE + WINDOW_SIZE
    frame = pd.DataFrame(signals[first : first + length], columns=["ppg", "acc_x", "acc_y", "acc_z"])
    frame.insert(0, "time", np.arange(length) / FS)
    hr = pd.DataFrame({"time": window_centres(length), "hr": labels[k0 : k0 + n]})
    return frame, hr


def convert_subject(path: Path, subject: str) -> list[dict]:
    """Return the sitting and walking records of one subject file (those that hold a full window)."""
    parts = read_subject(path)
    valid_s = VALID_SECONDS.get(subject)
    signals = wrist_signals(parts, valid_s)
    created = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
    records = []
    for code, activity in ACTIVITY_CODES.items():
        run = longest_run(parts["activity"], code)
        if run is None:
            continue
        k0, n = label_span(*run, n_labels=parts["label"].size, n_samples=signals.shape[0])
        if n < 1:
            continue
        frame, hr = cut_record(signals, parts["label"], k0, n)
        provenance = {
            "generator": CONVERTER, "version": VERSION, "seed": None, "created": created,
            "file": f"PPG_FieldStudy/{subject}/{subject}.pkl", "start_s": k0 * LABEL_SHIFT_S,
            "valid_s": valid_s,
        }  # fmt: skip
        records.append(
            {
                "subject": subject,
                "activity": activity,
                "signals": frame,
                "hr": hr,
                "source": "ppg-dalia",
                "provenance": provenance,
            }  # fmt: skip
        )
    return records


def prepare_dalia(
    root: PathLike, progress: bool = False, subjects: Sequence[str] | None = None
) -> list[dict]:
    """Convert PPG-DaLiA into records of the ``ppg_dalia.pkl`` contract.

    Parameters
    ----------
    root
        The folder holding ``PPG_FieldStudy`` (or that folder itself).
    progress
        Show a progress bar on stderr (only on a terminal).
    subjects
        Subjects to convert; default all of S1..S15 (each file must exist).

    Returns
    -------
    list of dict
        One record per (subject, activity) found, ``source`` 'ppg-dalia'.

    Raises
    ------
    DataFileError
        One actionable line for a missing root or subject file or an unexpected pickle structure.
    """
    study = find_study(root)
    wanted = list(subjects) if subjects is not None else list(SUBJECTS)
    paths = {s: study / s / f"{s}.pkl" for s in wanted}
    missing = [str(p) for p in paths.values() if not p.is_file()]
    if missing:
        raise DataFileError(f"{missing[0]}: subject file missing ({len(missing)} of {len(wanted)}). {FIX}")
    records = []
    for subject, path in tqdm(paths.items(), desc="PPG-DaLiA", disable=None if progress else True):
        records.extend(convert_subject(path, subject))
    return records
