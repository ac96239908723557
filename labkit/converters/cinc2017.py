"""Convert the PhysioNet/CinC Challenge 2017 records (AliveCor, single lead, 300 Hz) to ECG lab strips.

The records come as the Challenge published them: ``NAME.hea`` (a one-signal WFDB header whose record line
writes the base date before the base time, ``A00001 1 300 9000 2014-05-08 05:05:15``, which wfdb 4.3
rejects, so the header is parsed here), ``NAME.mat`` (MATLAB v4, variable ``val``, int16, the gain in the
header, 1000 per mV) and ``REFERENCE.csv`` (``record,label``). Strips of 10 s are cut from each record,
resampled 300 -> 128 Hz with a polyphase filter (32/75) and stored in mV, as
:mod:`labkit.converters.physionet_ecg` does (no other filter).

Labels, as documented in docs/data_ecg.md: ``A`` gives atrial fibrillation; ``N`` (normal rhythm, any
sinus rate) is split by the strip's heart rate (:func:`labkit.converters.heart_rate.sinus_rate`: the
median RR interval of the R peaks, checked against the envelope's autocorrelation): below 60 bpm sinus
bradycardia, 60 to 100 normal sinus rhythm, above 100 sinus tachycardia; a strip whose rate the two
estimates disagree on is dropped (``unclear heart rate``). ``O`` (other rhythm) and ``~`` (too noisy) are
left out. The Challenge has no flutter label, so a converted file holds no atrial flutter.
"""

from __future__ import annotations

import collections
import csv
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.io
import scipy.signal

from labkit.converters.heart_rate import sinus_rate
from labkit.datasets.ecg import FS, N_SAMPLES, RHYTHMS
from labkit.files import DataFileError

CONVERTER = "labkit.converters.cinc2017"
VERSION = "1.0"
SOURCE = "physionet-cinc2017"
LICENCE = "ODC-By 1.0"
CITATION = (
    "Clifford GD et al., AF Classification from a Short Single Lead ECG Recording: the PhysioNet/Computing "
    "in Cardiology Challenge 2017, Computing in Cardiology 44 (2017); Goldberger AL et al., PhysioBank, "
    "PhysioToolkit, and PhysioNet, Circulation 101(23) (2000)"
)
REFERENCE = "REFERENCE.csv"
STRIP_SECONDS = 10
BRADY_BPM, TACHY_BPM = 60.0, 100.0
FLAT_MV = 0.01
KEPT_LABELS = {"A": "atrial_fibrillation", "N": None}  # None: split by heart rate
FIX = "Fix: pass the folder holding the Challenge's NAME.hea, NAME.mat and REFERENCE.csv files"


@dataclass(frozen=True)
class Header:
    """The fields of a one-signal CinC 2017 header that the converter uses."""

    name: str
    fs: float
    n_samples: int
    gain: float
    baseline: int
    signal_file: str


def parse_header(path: Path) -> Header:
    """Parse a CinC 2017 ``.hea`` file (date before time accepted; only the first signal is read).

    Raises
    ------
    DataFileError
        The file is missing or its record or signal line is malformed.
    """
    try:
        lines = [ln for ln in Path(path).read_text().splitlines() if ln.strip() and not ln.startswith("#")]
        record, signal = lines[0].split(), lines[1].split()
        gain_text = signal[2].split("/")[0]
        gain = float(gain_text.split("(")[0])
        baseline = int(gain_text.split("(")[1].rstrip(")")) if "(" in gain_text else int(signal[4])
        header = Header(record[0], float(record[2]), int(record[3]), gain or 200.0, baseline, signal[0])
    except (OSError, IndexError, ValueError) as error:
        raise DataFileError(
            f"{path}: unreadable CinC 2017 header ({type(error).__name__}: {error}). {FIX}."
        ) from None
    return header


def read_record(header_path: Path) -> tuple[np.ndarray, float]:
    """Read a record's signal in mV (float64) and its sampling rate.

    Raises
    ------
    DataFileError
        The ``.mat`` file is missing, unreadable or holds no ``val`` of the header's length.
    """
    header = parse_header(header_path)
    mat = Path(header_path).with_name(header.signal_file)
    try:
        val = np.asarray(scipy.io.loadmat(mat)["val"], dtype=np.float64)
    except (OSError, KeyError, ValueError) as error:
        raise DataFileError(
            f"{mat}: unreadable signal file ({type(error).__name__}: {error}). {FIX}."
        ) from None
    if val.ndim != 2 or val.shape[-1] != header.n_samples:
        raise DataFileError(f"{mat}: 'val' has shape {val.shape}, the header says {header.n_samples} samples")
    return (val[0] - header.baseline) / header.gain, header.fs


def strip_starts(n_samples: int, fs: float, per_record: int | None) -> list[int]:
    """Start samples of the 10-s strips of a record: all non-overlapping ones, or ``per_record`` of them.

    One strip per record is the middle one (the start and end of a hand-held recording are the likeliest
    to hold the hands settling); several are spread evenly over the record.
    """
    width = int(round(STRIP_SECONDS * fs))
    count = n_samples // width
    if count == 0:
        return []
    if per_record is None or per_record >= count:
        offset = (n_samples - count * width) // 2
        return [offset + k * width for k in range(count)]
    if per_record == 1:
        return [(n_samples - width) // 2]
    return [int(round(s)) for s in np.linspace(0, n_samples - width, per_record)]


def heart_rate(strip: np.ndarray, fs: float) -> float:
    """Heart rate (bpm) of a sinus strip, NaN when unclear (see :mod:`labkit.converters.heart_rate`)."""
    return sinus_rate(strip, fs)


def sinus_rhythm(bpm: float) -> str:
    """Return the lab rhythm of a normal (sinus) strip at ``bpm``: bradycardia, normal or tachycardia."""
    if bpm < BRADY_BPM:
        return "sinus_bradycardia"
    return "sinus_tachycardia" if bpm > TACHY_BPM else "normal_sinus_rhythm"


def to_lab_strip(strip: np.ndarray, fs: float) -> np.ndarray:
    """Resample a 10-s strip to the lab's 1280 samples at 128 Hz (polyphase filter), float32 mV."""
    step = math.gcd(FS, int(fs))
    out = scipy.signal.resample_poly(strip, FS // step, int(fs) // step)  # 32 / 75 from 300 Hz
    return out[:N_SAMPLES].astype(np.float32)


def read_reference(root: Path) -> dict[str, str]:
    """Return ``record -> label`` from the folder's REFERENCE.csv."""
    path = root / REFERENCE
    if not path.is_file():
        raise DataFileError(f"{path}: missing (the Challenge's record,label list). {FIX}.")
    with open(path, newline="") as handle:
        return {row[0].strip(): row[1].strip() for row in csv.reader(handle) if len(row) >= 2}


def is_cinc2017(root: str | os.PathLike[str]) -> bool:
    """Return True when ``root`` looks like a CinC 2017 folder (a REFERENCE.csv beside WFDB headers)."""
    root = Path(root)
    return (root / REFERENCE).is_file() and any(root.glob("*.hea"))


def record_strips(header: Path, label: str, per_record: int | None) -> tuple[list, list, list, list[str]]:
    """Cut, label and resample the strips of one record.

    Returns
    -------
    strips, rhythms, ids, dropped
        The kept strips (float32 (1280,)), their rhythms and ids (``NAME`` for one strip per record,
        else ``NAME#k``, k the strip's start in seconds), and one reason per dropped strip.
    """
    signal, fs = read_record(header)
    width = int(round(STRIP_SECONDS * fs))
    strips, rhythms, ids, dropped = [], [], [], []
    for start in strip_starts(signal.size, fs, per_record):
        piece = signal[start : start + width]
        if not np.isfinite(piece).all() or np.ptp(piece) < FLAT_MV:
            dropped.append("flat or NaN")
            continue
        rhythm = KEPT_LABELS[label]
        if rhythm is None:
            bpm = heart_rate(piece, fs)
            if math.isnan(bpm):
                dropped.append("unclear heart rate")
                continue
            rhythm = sinus_rhythm(bpm)
        strips.append(to_lab_strip(piece, fs))
        rhythms.append(rhythm)
        ids.append(header.stem if per_record == 1 else f"{header.stem}#{int(start // fs)}")
    if not strip_starts(signal.size, fs, per_record):
        dropped.append("shorter than 10 s")
    return strips, rhythms, ids, dropped


def prepare_cinc2017(
    root: str | os.PathLike[str], per_record: int | None = None, progress: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
    """Convert a CinC 2017 folder into lab strips.

    Parameters
    ----------
    root
        Folder holding the ``.hea``/``.mat`` records and ``REFERENCE.csv``.
    per_record
        Strips per record (None: every non-overlapping 10-s strip).
    progress
        Show a progress bar on stderr.

    Returns
    -------
    signals : np.ndarray
        float32 (N, 1, 1280) in mV at 128 Hz, in record order.
    rhythms, record_ids : np.ndarray
        (N,) str.
    report : dict
        ``kept`` {rhythm: n}, ``left_out`` {Challenge label: records}, ``dropped`` {reason: strips}.

    Raises
    ------
    DataFileError
        No REFERENCE.csv, an unreadable record, or no usable strip at all.
    """
    from tqdm.auto import tqdm

    root = Path(root)
    reference = read_reference(root)
    strips, rhythms, ids = [], [], []
    left_out: collections.Counter = collections.Counter()
    dropped: collections.Counter = collections.Counter()
    for name, label in tqdm(sorted(reference.items()), desc="records", unit="rec", disable=not progress):
        if label not in KEPT_LABELS:
            left_out[label] += 1
            continue
        header = root / f"{name}.hea"
        if not header.is_file():
            raise DataFileError(f"{header}: listed in {REFERENCE} but missing. {FIX}.")
        kept, labels, names, reasons = record_strips(header, label, per_record)
        strips += kept
        rhythms += labels
        ids += names
        dropped.update(reasons)
    if not strips:
        raise DataFileError(f"{root}: no usable strip of labels A or N. {FIX}.")
    report = {
        "kept": {r: rhythms.count(r) for r in RHYTHMS},
        "left_out": dict(left_out),
        "dropped": dict(dropped),
    }
    return np.stack(strips)[:, None, :], np.asarray(rhythms), np.asarray(ids), report


def format_report(report: dict[str, Any]) -> str:
    """Render a :func:`prepare_cinc2017` report as a few lines of text."""
    lines = ["rhythm                  strips"]
    lines += [f"{rhythm:<22} {n:6d}" for rhythm, n in report["kept"].items()]
    if report["left_out"]:
        labels = ", ".join(f"{k} {v}" for k, v in sorted(report["left_out"].items()))
        lines.append(f"left out (records; O other rhythm, ~ noisy): {labels}")
    if report["dropped"]:
        lines.append("dropped strips: " + ", ".join(f"{k} {v}" for k, v in sorted(report["dropped"].items())))
    return "\n".join(lines)
