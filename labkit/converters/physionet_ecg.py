"""Convert PhysioNet "ecg-arrhythmia" 1.0.0 (WFDB, 12 leads, 500 Hz, 10 s) to ``ecg_rhythms.npz``.

Records are kept when their ``#Dx:`` line (``# Dx:`` also accepted) holds exactly one of the five lab
rhythms. Lead II is picked by its signal name, resampled 500 -> 128 Hz with a polyphase filter (32/125) and
stored in mV. A balanced, seeded sample of ``n_per_rhythm`` records per rhythm is drawn; when a rhythm has
fewer usable records, all of them are taken and the shortfall is reported (the notebooks' stratified split
copes with unequal classes). Records with an unreadable file, no lead II, a wrong rate or length, NaN values
or a flat lead are dropped and counted by reason.
"""

from __future__ import annotations

import collections
import math
import os
import re
from pathlib import Path
from typing import Any

import numpy as np
import scipy.signal

from labkit.datasets.ecg import FS, N_SAMPLES, RHYTHMS
from labkit.files import DataFileError
from labkit.reproducibility import make_rng

CONVERTER = "labkit.converters.physionet_ecg"
VERSION = "1.0"
SOURCE = "physionet-ecg-arrhythmia"
SNOMED = {
    "164889003": "atrial_fibrillation",
    "164890007": "atrial_flutter",
    "426783006": "normal_sinus_rhythm",
    "426177001": "sinus_bradycardia",
    "427084000": "sinus_tachycardia",
}
SOURCE_FS = 500
SOURCE_SAMPLES = 5000
LEAD = "II"
FLAT_MV = 0.01  # a lead whose peak-to-peak amplitude stays below 10 microvolts carries no ECG
DX_LINE = re.compile(r"^\s*Dx:\s*(.*)$")
PREFIXES = {"E": "Georgia", "HR": "PTB-XL", "A": "CPSC", "Q": "CPSC-extra", "I": "INCART", "S": "PTB"}
REFETCH = "Fix: re-download it (`labkit data download ecg`) or delete it and rerun"


def dx_codes(comments: list[str]) -> list[str]:
    """Return the SNOMED CT codes of a header's ``Dx`` comment (``#Dx:`` or ``# Dx:``), in order."""
    for line in comments:
        match = DX_LINE.match(line.lstrip("#"))
        if match:
            return [code.strip() for code in match.group(1).split(",") if code.strip()]
    return []


def lab_rhythm(codes: list[str]) -> str | None:
    """Return the lab rhythm of a record whose codes name exactly one of the five rhythms, else None."""
    found = {SNOMED[code] for code in codes if code in SNOMED}
    return found.pop() if len(found) == 1 else None


def source_of(record_id: str) -> str:
    """Name the database a record comes from by its id: JS00001-JS10646 Chapman, other JS Ningbo."""
    match = re.match(r"^([A-Za-z]+)(\d*)", record_id)
    prefix, number = (match.group(1), match.group(2)) if match else (record_id, "")
    if prefix == "JS":
        return "Chapman" if number and 1 <= int(number) <= 10646 else "Ningbo"
    if record_id.startswith("syn"):
        return "synthetic"
    return PREFIXES.get(prefix, prefix or "unknown")


def find_headers(root: str | os.PathLike[str]) -> list[Path]:
    """Return every WFDB header under ``root`` (sorted), or raise a one-line error when there is none."""
    root = Path(root)
    if not root.is_dir():
        raise DataFileError(
            f"{root}: not a folder. Fix: pass the ecg-arrhythmia folder (holding WFDBRecords/)."
        )
    headers = sorted(root.rglob("*.hea"))
    if not headers:
        raise DataFileError(
            f"{root}: no WFDB headers (*.hea) found. Fix: `labkit data download ecg --to DIR`, then "
            "`labkit data prepare ecg --from DIR`."
        )
    return headers


def read_rhythm(header: Path) -> str | None:
    """Read one header with wfdb and return its lab rhythm (None when not exactly one of the five)."""
    import wfdb

    try:
        comments = wfdb.rdheader(str(header.with_suffix(""))).comments
    except Exception as error:  # wfdb raises many types for a malformed header
        raise DataFileError(f"{header}: unreadable WFDB header ({_reason(error)}). {REFETCH}.") from None
    return lab_rhythm(dx_codes(comments))


def read_lead_ii(header: Path) -> np.ndarray:
    """Read lead II of a record in mV and resample it to 128 Hz.

    Parameters
    ----------
    header
        The record's ``.hea`` file.

    Returns
    -------
    np.ndarray
        float32 (1280,) strip in mV.

    Raises
    ------
    DataFileError
        Unreadable or truncated file, or no lead named II.
    ValueError
        A record to drop: the message starts with the counted reason (``wrong rate``, ``wrong length``,
        ``NaN``, ``flat lead``).
    """
    import wfdb

    name = str(header.with_suffix(""))
    try:
        names = wfdb.rdheader(name).sig_name
    except Exception as error:
        raise DataFileError(f"{header}: unreadable WFDB header ({_reason(error)}). {REFETCH}.") from None
    if LEAD not in names:
        raise ValueError(f"no lead II: {header} has leads {names}")
    try:
        record = wfdb.rdrecord(name, channel_names=[LEAD])
    except Exception as error:
        raise DataFileError(
            f"{header.with_suffix('.mat')}: unreadable signal file ({_reason(error)}). {REFETCH}."
        ) from None
    return to_strip(record.p_signal[:, 0], record.fs, header)


def to_strip(lead: np.ndarray, fs: float, header: Path) -> np.ndarray:
    """Validate a 500 Hz lead and resample it to N_SAMPLES at FS."""
    if fs != SOURCE_FS:
        raise ValueError(f"wrong rate: {header} is sampled at {fs} Hz, expected {SOURCE_FS}")
    if lead.size != SOURCE_SAMPLES:
        raise ValueError(f"wrong length: {header} holds {lead.size} samples, expected {SOURCE_SAMPLES}")
    if not np.isfinite(lead).all():
        raise ValueError(f"NaN: {header} lead II holds NaN values")
    if np.ptp(lead) < FLAT_MV:
        raise ValueError(f"flat lead: {header} lead II is flat")
    step = math.gcd(FS, SOURCE_FS)
    strip = scipy.signal.resample_poly(lead, FS // step, SOURCE_FS // step)  # 32 / 125
    return strip[:N_SAMPLES].astype(np.float32)


def _reason(error: BaseException) -> str:
    text = str(error).splitlines()[0] if str(error) else ""
    return f"{type(error).__name__}: {text}"[:160]


def scan(
    root: str | os.PathLike[str], progress: bool = False
) -> tuple[dict[str, list[Path]], collections.Counter]:
    """Group the headers under ``root`` by lab rhythm.

    Returns
    -------
    candidates : dict
        Rhythm -> list of header paths with exactly that one lab rhythm.
    skipped : collections.Counter
        ``not exactly one lab rhythm`` (none or several) and ``unreadable header`` counts.
    """
    from tqdm.auto import tqdm

    candidates: dict[str, list[Path]] = {rhythm: [] for rhythm in RHYTHMS}
    skipped: collections.Counter = collections.Counter()
    for header in tqdm(find_headers(root), desc="headers", unit="rec", disable=not progress):
        try:
            rhythm = read_rhythm(header)
        except DataFileError:
            skipped["unreadable header"] += 1
            continue
        if rhythm is None:
            skipped["not exactly one lab rhythm"] += 1
        else:
            candidates[rhythm].append(header)
    return candidates, skipped


def prepare_ecg(
    root: str | os.PathLike[str], n_per_rhythm: int = 1500, seed: int = 0, progress: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
    """Build the lab dataset from an ecg-arrhythmia folder.

    Parameters
    ----------
    root
        Folder holding the WFDB records (searched recursively, e.g. the release's ``WFDBRecords/``).
    n_per_rhythm
        Records drawn per rhythm; a rhythm with fewer usable records contributes all it has.
    seed
        Seed of the sample and of the output order.
    progress
        Show progress bars on stderr.

    Returns
    -------
    signals : np.ndarray
        float32 (N, 1, 1280) lead II in mV at 128 Hz.
    rhythms : np.ndarray
        (N,) str labels.
    record_ids : np.ndarray
        (N,) str record names (e.g. ``JS00012``).
    report : dict
        ``kept`` {rhythm: n}, ``by_source`` {rhythm: {source: n}}, ``dropped`` {reason: n},
        ``skipped`` {reason: n}, ``shortfall`` {rhythm: n missing}, ``errors`` (first few dropped-file lines).

    Raises
    ------
    DataFileError
        No headers under ``root`` or no usable record at all.
    """
    from tqdm.auto import tqdm

    rng = make_rng(seed)
    candidates, skipped = scan(root, progress)
    dropped: collections.Counter = collections.Counter()
    errors: list[str] = []
    strips, labels, ids = [], [], []
    total = sum(min(len(c), n_per_rhythm) for c in candidates.values())
    with tqdm(total=total, desc="lead II", unit="rec", disable=not progress) as bar:
        for rhythm in RHYTHMS:
            kept = 0
            for header in rng.permutation(np.array(candidates[rhythm], dtype=object)):
                if kept == n_per_rhythm:
                    break
                try:
                    strips.append(read_lead_ii(header))
                except (DataFileError, ValueError) as error:
                    reason = (
                        "unreadable file" if isinstance(error, DataFileError) else str(error).split(":")[0]
                    )
                    dropped[reason] += 1
                    errors.append(str(error))
                    continue
                labels.append(rhythm)
                ids.append(header.stem)
                kept += 1
                bar.update(1)
    if not strips:
        raise DataFileError(
            f"{root}: no usable record of the five rhythms. Fix: check the folder is ecg-arrhythmia."
        )
    order = rng.permutation(len(labels))
    rhythms, record_ids = np.asarray(labels)[order], np.asarray(ids)[order]
    report = _report(rhythms, record_ids, n_per_rhythm, dropped, skipped, errors)
    return np.stack(strips)[order, None, :], rhythms, record_ids, report


def _report(rhythms, record_ids, n_per_rhythm, dropped, skipped, errors) -> dict[str, Any]:
    sources = np.array([source_of(r) for r in record_ids])
    kept = {r: int((rhythms == r).sum()) for r in RHYTHMS}
    return {
        "kept": kept,
        "by_source": {r: dict(collections.Counter(sources[rhythms == r].tolist())) for r in RHYTHMS},
        "dropped": dict(dropped),
        "skipped": dict(skipped),
        "shortfall": {r: n_per_rhythm - k for r, k in kept.items() if k < n_per_rhythm},
        "errors": errors[:5],
    }


def format_report(report: dict[str, Any]) -> str:
    """Render a :func:`prepare_ecg` report as a few lines of text."""
    lines = ["rhythm                  kept  by source"]
    for rhythm, n in report["kept"].items():
        by_source = ", ".join(f"{s} {k}" for s, k in sorted(report["by_source"][rhythm].items()))
        lines.append(f"{rhythm:<22} {n:5d}  {by_source}")
    for key in ("dropped", "skipped"):
        if report[key]:
            lines.append(f"{key}: " + ", ".join(f"{reason} {k}" for reason, k in sorted(report[key].items())))
    for rhythm, missing in report["shortfall"].items():
        lines.append(
            f"shortfall: {rhythm} has {missing} records fewer than asked; all usable ones were taken"
        )
    lines += [f"dropped file: {line}" for line in report["errors"]]
    return "\n".join(lines)
