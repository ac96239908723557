"""Contract of the heart-rate records file ``ppg_dalia.pkl``: save, load and checks.

The file is a joblib pickle of a list of dicts, one per (subject, activity):

- ``subject``: 'S1' .. 'S15'; ``activity``: 'sitting' or 'walking';
- ``signals``: DataFrame with columns ``time`` (s, from 0), ``ppg``, ``acc_x``, ``acc_y``, ``acc_z``,
  sampled at :data:`FS` = 25 Hz and band-passed 0.4-4 Hz;
- ``hr``: DataFrame with columns ``time`` (s, window centre) and ``hr`` (bpm), one row per 8 s window
  shifted by 2 s, so ``len(hr) == (len(signals) - WINDOW_SIZE) // SHIFT_SIZE + 1`` and window ``k``
  (samples ``[k * SHIFT_SIZE, k * SHIFT_SIZE + WINDOW_SIZE)``) pairs with row ``k``;
- ``source`` (optional): a non-empty string naming where the record comes from, open-ended; the course's
  own tools write :data:`KNOWN_SOURCES` ('synthetic', 'ppg-dalia'), a converter for another public PPG+ACC
  set names its own; ``provenance`` (optional): dict (generator or converter name and version, seed,
  created, ...).

A file in the original lab's layout (records without ``source`` and ``provenance``) is valid: :func:`load_ppg`
states once that its provenance is unknown and fills in ``source`` :data:`UNKNOWN_SOURCE` and an empty
``provenance``, so code that reads ``record['source']`` keeps working.

The sibling of :mod:`labkit.datasets.ecg`, in the same order: constants, helpers of the contract, the checks
of in-memory data (:func:`check_records`), provenance, ``save_``, reading, ``load_``, ``check_``; the same
order of checks (refuse to overwrite, then validate, then write atomically), one error type,
:class:`~labkit.files.DataFileError`, and the same messages (``FILE: what is wrong. Fix: command.``).
The amplitude check, beyond the contract, comes last. Provenance travels inside each record (``generator``
and ``version`` apart, written by :mod:`labkit.synthetic.ppg` and :mod:`labkit.converters.dalia`); the ECG
file, flat arrays, keeps one set for the whole file. The contract's band-pass is :func:`bandpass`, used by
every writer.
"""

from __future__ import annotations

import os
import pickle
import warnings
import zlib
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd

from labkit.files import DataFileError, atomic_path, refuse_overwrite, summarise_problems
from labkit.paths import PPG_FILE, data_file

FS = 25
WINDOW_SIZE = 200
SHIFT_SIZE = 50
BAND: tuple[float, float] = (0.4, 4.0)  # Hz, pass band of every channel
SUBJECTS: tuple[str, ...] = tuple(f"S{i}" for i in range(1, 16))
ACTIVITIES: tuple[str, ...] = ("sitting", "walking")
KNOWN_SOURCES: tuple[str, ...] = ("synthetic", "ppg-dalia")  # written by labkit; others are allowed
UNKNOWN_SOURCE = "unknown"  # filled in by load_ppg for records without provenance
SIGNAL_COLUMNS: tuple[str, ...] = ("time", "ppg", "acc_x", "acc_y", "acc_z")
HR_COLUMNS: tuple[str, ...] = ("time", "hr")
RECORD_KEYS: tuple[str, ...] = ("subject", "activity", "signals", "hr")
PROVENANCE_KEYS: tuple[str, ...] = ("source", "provenance")  # optional
HR_RANGE: tuple[float, float] = (30.0, 230.0)
FIX = (
    "Fix: `labkit data synth --only ppg --force` (synthetic) or `labkit data prepare ppg --from PATH --force`"
)

PathLike = str | os.PathLike[str]


def bandpass(x: np.ndarray) -> np.ndarray:
    """Band-pass ``x`` along its first axis as the contract asks: 0.4-4 Hz, 4th-order Butterworth, zero phase.

    Parameters
    ----------
    x
        Samples at :data:`FS` Hz, time along the first axis (one or more channels).

    Returns
    -------
    numpy.ndarray
        The filtered samples, same shape.
    """
    from scipy import signal as sps  # imported here: loading a records file needs no scipy (2 s)

    sos = sps.butter(4, BAND, btype="bandpass", fs=FS, output="sos")
    return sps.sosfiltfilt(sos, x, axis=0)


def n_windows(n_samples: int) -> int:
    """Return the number of 8 s windows (2 s shift) in a signal of ``n_samples`` samples."""
    return max((n_samples - WINDOW_SIZE) // SHIFT_SIZE + 1, 0)


def window_centres(n_samples: int) -> np.ndarray:
    """Return the centre time (s) of every window of a record of ``n_samples`` samples starting at 0 s."""
    return (np.arange(n_windows(n_samples)) * SHIFT_SIZE + WINDOW_SIZE / 2) / FS


def _check_frame(frame: Any, columns: tuple[str, ...], name: str) -> list[str]:
    """Return the problems of one DataFrame: type, columns, numeric values, NaN/inf."""
    if not isinstance(frame, pd.DataFrame):
        return [f"{name} is a {type(frame).__name__}, expected a pandas DataFrame"]
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        return [f"{name} lacks columns {missing} (has {list(frame.columns)})"]
    values = frame[list(columns)]
    if not all(pd.api.types.is_numeric_dtype(values[c]) for c in columns):
        return [f"{name} has non-numeric columns"]
    bad = int((~np.isfinite(values.to_numpy(dtype=float))).sum())
    return [f"{name} holds {bad} NaN/inf values"] if bad else []


def _check_signals(signals: pd.DataFrame, name: str) -> list[str]:
    """Return sampling-rate and length problems of a valid signals frame."""
    time = signals["time"].to_numpy(dtype=float)
    if time.size < WINDOW_SIZE:
        return [f"{name} has {time.size} samples, fewer than one {WINDOW_SIZE}-sample window"]
    step = np.diff(time)
    if not np.allclose(step, 1.0 / FS, rtol=0.0, atol=1e-3 / FS):
        rate = 1.0 / np.median(step) if np.median(step) > 0 else float("nan")
        return [f"{name}.time is not sampled uniformly at {FS} Hz (median rate {rate:.3g} Hz)"]
    return []


def _check_hr(hr: pd.DataFrame, signals: pd.DataFrame, name: str) -> list[str]:
    """Return alignment and plausibility problems of a valid hr frame against its signals."""
    expected = n_windows(len(signals))
    if len(hr) != expected:
        return [
            f"{name}.hr has {len(hr)} rows but its {len(signals)} samples hold {expected} windows "
            f"(rule: (len(signals) - {WINDOW_SIZE}) // {SHIFT_SIZE} + 1)"
        ]
    problems = []
    centres = float(signals["time"].iloc[0]) + window_centres(len(signals))
    if not np.allclose(hr["time"].to_numpy(dtype=float), centres, rtol=0.0, atol=0.05):
        problems.append(f"{name}.hr.time is not the window centres ({WINDOW_SIZE / FS / 2:g} s + 2 s * k)")
    values = hr["hr"].to_numpy(dtype=float)
    low, high = HR_RANGE
    if values.size and (values.min() < low or values.max() > high):
        problems.append(
            f"{name}.hr outside the plausible {low:g}-{high:g} bpm ({values.min():.1f}-{values.max():.1f})"
        )
    return problems


def _check_record(record: Any, index: int) -> list[str]:
    """Return the problems of one record dict."""
    name = f"record {index}"
    if not isinstance(record, dict):
        return [f"{name} is a {type(record).__name__}, expected a dict"]
    missing = [key for key in RECORD_KEYS if key not in record]
    if missing:
        return [f"{name} lacks keys {missing}"]
    name = f"record {index} ({record['subject']}, {record['activity']})"
    problems = []
    if record["subject"] not in SUBJECTS:
        problems.append(f"{name}: unknown subject {record['subject']!r}; allowed S1..S15")
    if record["activity"] not in ACTIVITIES:
        problems.append(f"{name}: unknown activity {record['activity']!r}; allowed {list(ACTIVITIES)}")
    source = record.get("source", UNKNOWN_SOURCE)
    if not isinstance(source, str) or not source.strip():
        problems.append(f"{name}: source is {source!r}, expected a non-empty string naming the data set")
    provenance = record.get("provenance", {})
    if not isinstance(provenance, dict):
        problems.append(f"{name}: provenance is a {type(provenance).__name__}, expected a dict")
    frame_problems = _check_frame(record["signals"], SIGNAL_COLUMNS, f"{name}.signals")
    frame_problems += _check_frame(record["hr"], HR_COLUMNS, f"{name}.hr")
    if frame_problems:
        return problems + frame_problems
    signal_problems = _check_signals(record["signals"], f"{name}.signals")
    if signal_problems:
        return problems + signal_problems
    return problems + _check_hr(record["hr"], record["signals"], name)


def check_records(records: Any) -> list[str]:
    """Return every contract violation of in-memory records (empty list = valid).

    Parameters
    ----------
    records
        The object to check: should be a non-empty list of record dicts.

    Returns
    -------
    list of str
        One line per problem.
    """
    if not isinstance(records, list):
        return [f"holds a {type(records).__name__}, expected a list of record dicts"]
    if not records:
        return ["holds no records"]
    problems = []
    for index, record in enumerate(records):
        problems.extend(_check_record(record, index))
    keys = [(r.get("subject"), r.get("activity")) for r in records if isinstance(r, dict)]
    duplicates = sorted({key for key in keys if keys.count(key) > 1}, key=str)
    if duplicates:
        problems.append(f"duplicate (subject, activity) records: {duplicates}")
    return problems


class ProvenanceWarning(UserWarning):
    """A records file does not say where its records come from."""


def unknown_provenance(records: list[dict]) -> list[int]:
    """Return the indices of the records that do not say where they come from.

    That is: no ``source`` (or ``source`` 'unknown', as :func:`load_ppg` fills it in) and no or an empty
    ``provenance``.
    """
    return [
        i
        for i, r in enumerate(records)
        if r.get("source", UNKNOWN_SOURCE) == UNKNOWN_SOURCE and not r.get("provenance")
    ]


def _fill_provenance(records: list[dict], path: Path) -> list[dict]:
    """Give records without provenance ``source`` 'unknown' and an empty ``provenance``; say so once."""
    missing = unknown_provenance(records)
    if missing:
        warnings.warn(
            f"{path}: {len(missing)} of {len(records)} records carry no source or provenance (the original "
            f"lab's layout): provenance unknown, source set to {UNKNOWN_SOURCE!r}",
            ProvenanceWarning,
            stacklevel=3,
        )
    for record in records:
        record.setdefault("source", UNKNOWN_SOURCE)
        record.setdefault("provenance", {})
    return records


def save_ppg(
    path: PathLike, records: list[dict], force: bool = False, command: str = "labkit data synth --only ppg"
) -> Path:
    """Validate the records and write them atomically with joblib.

    Parameters
    ----------
    path
        Target ``.pkl`` file.
    records
        Records in the contract.
    force
        Replace an existing file.
    command
        The command that writes the file, repeated (with ``--force``) when the file exists.

    Returns
    -------
    Path
        The written file.

    Raises
    ------
    FileExistsError
        When the file exists and ``force`` is false (checked first).
    DataFileError
        When the records break the contract (nothing is written).
    """
    path = Path(path)
    refuse_overwrite(path, force, command)
    problems = check_records(records)
    if problems:
        raise DataFileError(
            f"{path}: not written, records break the contract: {summarise_problems(problems)}"
        )
    with atomic_path(path) as tmp:
        joblib.dump(records, tmp)
    return path


def _default_path(path: PathLike | None) -> Path:
    return Path(path) if path is not None else data_file(PPG_FILE)


def _read(path: Path) -> Any:
    """Unpickle ``path`` and turn any read failure into one :class:`DataFileError` line."""
    if not path.is_file():
        raise DataFileError(f"{path}: file missing. {FIX}.")
    try:
        return joblib.load(path)
    except (EOFError, pickle.UnpicklingError, zlib.error, ValueError, KeyError, IndexError,
            AttributeError, ImportError, TypeError, OSError) as error:  # fmt: skip
        reason = str(error).splitlines()[0] if str(error) else ""
        raise DataFileError(
            f"{path}: truncated or corrupt joblib pickle ({type(error).__name__}: {reason}). {FIX}."
        ) from None


def load_ppg(path: PathLike | None = None) -> list[dict]:
    """Load and validate the heart-rate records.

    Parameters
    ----------
    path
        The file to read; default ``labkit.paths.data_file(PPG_FILE)``.

    Returns
    -------
    list of dict
        The records, in the contract described in this module's docstring; records without provenance get
        ``source`` 'unknown' and an empty ``provenance`` (with one :class:`ProvenanceWarning`).

    Raises
    ------
    DataFileError
        One line naming the file, the first problem and the command that fixes it.
    """
    path = _default_path(path)
    records = _read(path)
    problems = check_records(records)
    if problems:
        raise DataFileError(f"{path}: {summarise_problems(problems)}. {FIX}.")
    return _fill_provenance(records, path)


def check_ppg(path: PathLike | None = None) -> list[str]:
    """Check a records file against its contract.

    Parameters
    ----------
    path
        The ``.pkl`` file; default ``labkit.paths.data_file(PPG_FILE)``.

    Returns
    -------
    list of str
        One line per problem, each prefixed with the file name; empty when the file is valid. A missing,
        truncated or corrupt file gives one line.
    """
    try:
        path = _default_path(path)
        records = _read(path)
    except (DataFileError, FileNotFoundError) as error:
        return [str(error)]
    return [f"{path}: {problem}. {FIX}." for problem in check_records(records)]


AMPLITUDE_RATIO = 10.0  # a held-out subject this many times above/below the training amplitude: warn
TRAIN_SUBJECTS: tuple[str, ...] = tuple(f"S{i}" for i in range(1, 10))  # the lab's split
HELD_OUT_SUBJECTS: tuple[str, ...] = tuple(f"S{i}" for i in range(10, 16))


def ppg_amplitudes(records: list[dict]) -> dict[str, float]:
    """Return each subject's PPG amplitude: the median standard deviation of its 8 s windows."""
    stds: dict[str, list[np.ndarray]] = {}
    for record in records:
        ppg = record["signals"]["ppg"].to_numpy(dtype=float)
        windows = np.lib.stride_tricks.sliding_window_view(ppg, WINDOW_SIZE)[::SHIFT_SIZE]
        stds.setdefault(record["subject"], []).append(windows.std(axis=-1))
    return {subject: float(np.median(np.concatenate(parts))) for subject, parts in stds.items()}


def amplitude_mismatch(
    records: list[dict],
    train_subjects: tuple[str, ...] = TRAIN_SUBJECTS,
    held_out: tuple[str, ...] = HELD_OUT_SUBJECTS,
    ratio: float = AMPLITUDE_RATIO,
) -> list[str]:
    """Return one line per held-out subject whose PPG amplitude is ``ratio`` times off the training range.

    A model trained on globally scaled windows (one factor from the training subjects) sees such a subject
    at a scale it never met; real records from different devices differ by 10x or more.

    Parameters
    ----------
    records
        Valid records.
    train_subjects, held_out
        The subjects the scaling factors come from, and the subjects to compare (the lab's split by default).
    ratio
        How far outside ``[min, max]`` of the training subjects' amplitudes counts as far.

    Returns
    -------
    list of str
        Empty when every held-out subject is within range.
    """
    amplitude = ppg_amplitudes(records)
    train = [amplitude[s] for s in train_subjects if s in amplitude]
    if not train:
        return []
    low, high = min(train), max(train)
    lines = []
    for subject in (s for s in held_out if s in amplitude):
        value = amplitude[subject]
        if value > ratio * high or value < low / ratio:
            lines.append(
                f"{subject}'s PPG amplitude {value:.3g} is {ratio:g}x or more outside the training subjects' "
                f"{low:.3g}-{high:.3g}: one global scaling factor does not fit it (scale per record instead)"
            )
    return lines
