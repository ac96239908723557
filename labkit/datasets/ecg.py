"""Contract of the ECG rhythms file ``ecg_rhythms.npz``: save, load, provenance and checks.

The file holds ``signals`` float32 (N, 1, 1280) (lead II, mV, 10 s at 128 Hz), ``rhythms`` (N,) str (one of
:data:`RHYTHMS`), ``fs`` (scalar 128) and provenance keys: ``source`` (one of :data:`SOURCES`: 'synthetic',
'physionet-ecg-arrhythmia', 'physionet-cinc2017'), ``generator``, ``seed``, ``record_ids`` (N,) str,
``label_noise`` and ``created``. It is read with ``np.load`` without pickles.

The sibling of :mod:`labkit.datasets.ppg`, in the same order: constants, helpers of the contract, the checks
of in-memory data (:func:`check_arrays`), provenance, ``save_``, reading, ``load_``, ``check_``; the same
order of checks (refuse to overwrite, then validate, then write atomically), one error type,
:class:`~labkit.files.DataFileError`, and the same messages (``FILE: what is wrong. Fix: command.``).
Where the two files differ, the format decides: an ``.npz`` holds flat arrays, so the provenance is one set
of scalar keys for the whole file, read apart from the arrays by :func:`load_ecg_provenance`, and
``generator`` is one string "name version" (e.g. 'labkit.synthetic.ecg 1.0', see :func:`generator_id`); the
PPG file is a list of records, each carrying its own ``provenance`` dict with ``generator`` and ``version``
apart.
"""

from __future__ import annotations

import datetime as _dt
import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from labkit.files import DataFileError, atomic_path, refuse_overwrite, summarise_problems
from labkit.paths import ECG_FILE, data_file

RHYTHMS: tuple[str, ...] = (
    "atrial_fibrillation",
    "atrial_flutter",
    "normal_sinus_rhythm",
    "sinus_bradycardia",
    "sinus_tachycardia",
)
FS = 128
N_SAMPLES = 1280
SOURCES: tuple[str, ...] = ("synthetic", "physionet-ecg-arrhythmia", "physionet-cinc2017")
PROVENANCE_KEYS: tuple[str, ...] = ("source", "generator", "seed", "record_ids", "label_noise", "created")
DATA_KEYS: tuple[str, ...] = ("signals", "rhythms", "fs")
FIX = (
    "Fix: `labkit data synth --only ecg --force` (synthetic) or `labkit data prepare ecg --from PATH --force`"
)

PathLike = str | os.PathLike[str]


def generator_id(name: str, version: str) -> str:
    """Return the ``generator`` value of an ECG file: the generator's or converter's name and version."""
    return f"{name} {version}"


def check_arrays(signals: np.ndarray, rhythms: np.ndarray) -> list[str]:
    """Return every contract violation of in-memory arrays (empty list = valid).

    Parameters
    ----------
    signals, rhythms
        The arrays to check: float32 (N, 1, 1280) and (N,) str labels from :data:`RHYTHMS`.

    Returns
    -------
    list of str
        One line per problem.
    """
    problems = []
    if signals.ndim != 3 or signals.shape[1:] != (1, N_SAMPLES):
        problems.append(f"signals has shape {signals.shape}, expected (N, 1, {N_SAMPLES})")
    if signals.dtype != np.float32:
        problems.append(f"signals has dtype {signals.dtype}, expected float32")
    elif not np.isfinite(signals).all():
        problems.append(f"signals holds {int((~np.isfinite(signals)).sum())} NaN/inf values")
    if rhythms.ndim != 1 or rhythms.shape[0] != signals.shape[0]:
        problems.append(f"rhythms has shape {rhythms.shape}, expected ({signals.shape[0]},)")
    if rhythms.dtype.kind != "U":
        problems.append(f"rhythms has dtype {rhythms.dtype}, expected a unicode string array")
    unknown = sorted(set(np.unique(rhythms).tolist()) - set(RHYTHMS))
    if unknown:
        problems.append(f"unknown rhythm labels {unknown[:5]}; allowed: {list(RHYTHMS)}")
    return problems


def _check_provenance(prov: dict[str, Any], n: int) -> list[str]:
    """Return the provenance violations (empty list = valid)."""
    problems = []
    if str(prov["source"]) not in SOURCES:
        problems.append(f"source {str(prov['source'])!r} is not one of {list(SOURCES)}")
    if np.shape(prov["record_ids"]) != (n,):
        problems.append(f"record_ids has shape {np.shape(prov['record_ids'])}, expected ({n},)")
    noise = float(prov["label_noise"])
    if not 0.0 <= noise <= 1.0:
        problems.append(f"label_noise {noise} is outside [0, 1]")
    return problems


def _complete_provenance(provenance: dict[str, Any], path: Path) -> dict[str, np.ndarray]:
    """Fill defaults (label_noise 0, created now) and convert provenance values to plain numpy arrays."""
    prov = dict(provenance)
    prov.setdefault("label_noise", 0.0)
    prov.setdefault("created", _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"))
    missing = [key for key in PROVENANCE_KEYS if key not in prov]
    if missing:
        raise DataFileError(
            f"{path}: not written, provenance lacks {missing}; expected keys {list(PROVENANCE_KEYS)}"
        )
    return {
        "source": np.str_(prov["source"]),
        "generator": np.str_(prov["generator"]),
        "seed": np.int64(-1 if prov["seed"] is None else prov["seed"]),
        "record_ids": np.asarray(prov["record_ids"]).astype(str),
        "label_noise": np.float64(prov["label_noise"]),
        "created": np.str_(prov["created"]),
    }


def save_ecg(
    path: PathLike,
    signals: np.ndarray,
    rhythms: np.ndarray,
    provenance: dict[str, Any],
    force: bool = False,
    command: str = "labkit data synth --only ecg",
) -> Path:
    """Validate and write an ECG rhythms file atomically.

    Parameters
    ----------
    path
        Target ``.npz`` file.
    signals
        float32 array (N, 1, 1280) in mV.
    rhythms
        (N,) labels from :data:`RHYTHMS`.
    provenance
        ``source``, ``generator``, ``seed``, ``record_ids`` and optionally ``label_noise``; ``created``
        is filled in when absent.
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
        When the arrays or the provenance break the contract (nothing is written).
    """
    path = Path(path)
    refuse_overwrite(path, force, command)
    signals = np.asarray(signals, dtype=np.float32)
    rhythms = np.asarray(rhythms).astype(str)
    prov = _complete_provenance(provenance, path)
    problems = check_arrays(signals, rhythms) + _check_provenance(prov, len(rhythms))
    if problems:
        raise DataFileError(f"{path}: not written, arrays break the contract: {summarise_problems(problems)}")
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as handle:
            np.savez(handle, signals=signals, rhythms=rhythms, fs=np.int64(FS), **prov)
    return path


def _default_path(path: PathLike | None) -> Path:
    return Path(path) if path is not None else data_file(ECG_FILE)


def _read(path: Path) -> dict[str, np.ndarray]:
    """Read every array of the file into memory, turning format errors into one-line DataFileErrors."""
    if not path.is_file():
        raise DataFileError(f"{path}: file missing. {FIX}.")
    try:
        with np.load(path, allow_pickle=False) as data:
            return {key: data[key] for key in data.files}
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as error:
        reason = str(error).splitlines()[0] if str(error) else ""
        raise DataFileError(
            f"{path}: truncated or corrupt .npz file ({type(error).__name__}: {reason}). {FIX}."
        ) from None


def load_ecg(path: PathLike | None = None) -> tuple[np.ndarray, np.ndarray, int]:
    """Load the ECG rhythms file.

    Parameters
    ----------
    path
        The ``.npz`` file; default ``labkit.paths.data_file(ECG_FILE)``.

    Returns
    -------
    signals : np.ndarray
        float32 (N, 1, 1280), mV.
    rhythms : np.ndarray
        (N,) str labels.
    fs : int
        Sampling frequency (128).

    Raises
    ------
    DataFileError
        When the file is missing, corrupt or breaks the contract.
    """
    path = _default_path(path)
    arrays = _read(path)
    missing = [key for key in DATA_KEYS if key not in arrays]
    if missing:
        raise DataFileError(f"{path}: lacks arrays {missing}. {FIX}.")
    signals, rhythms = arrays["signals"], arrays["rhythms"]
    problems = check_arrays(signals, rhythms)
    if problems:
        raise DataFileError(f"{path}: {summarise_problems(problems)}. {FIX}.")
    return signals, rhythms, int(arrays["fs"])


def load_ecg_provenance(path: PathLike | None = None) -> dict[str, Any]:
    """Return the provenance stored in an ECG file (plain Python values; ``record_ids`` as an array)."""
    path = _default_path(path)
    arrays = _read(path)
    missing = [key for key in PROVENANCE_KEYS if key not in arrays]
    if missing:
        raise DataFileError(f"{path}: lacks provenance keys {missing}. {FIX}.")
    prov: dict[str, Any] = {key: arrays[key].item() for key in PROVENANCE_KEYS if key != "record_ids"}
    prov["record_ids"] = arrays["record_ids"]
    return prov


def check_ecg(path: PathLike | None = None) -> list[str]:
    """Check an ECG file against its contract.

    Parameters
    ----------
    path
        The ``.npz`` file; default ``labkit.paths.data_file(ECG_FILE)``.

    Returns
    -------
    list of str
        One line per problem; empty when the file is valid.
    """
    try:
        path = _default_path(path)
        arrays = _read(path)
    except (DataFileError, FileNotFoundError) as error:
        return [str(error)]
    missing = [key for key in DATA_KEYS + PROVENANCE_KEYS if key not in arrays]
    if missing:
        return [f"{path}: lacks keys {missing}. {FIX}."]
    problems = check_arrays(arrays["signals"], arrays["rhythms"])
    if arrays["fs"].shape != () or int(arrays["fs"]) != FS:
        problems.append(f"fs is {arrays['fs']!r}, expected {FS}")
    problems += _check_provenance(arrays, len(arrays["rhythms"]))
    return [f"{path}: {problem}. {FIX}." for problem in problems]
