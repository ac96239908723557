"""The held-out ECG file of a course on real data: strips of records the students' file does not hold.

``labkit data prepare ecg`` writes it beside the students' file as ``ecg_rhythms_heldout.npz`` (the ECG
file contract, same source and converter). Grading measures the custom models' accuracy bar on it
(``autograder.checks.evaluation`` finds it beside a real data file). Strips are split by record, the
patient of both real sources (a CinC 2017 record id is ``NAME#start``, see
:func:`labkit.converters.cinc2017.record_of`), and stratified by rhythm: each record counts for the rhythm
of most of its strips, and every rhythm with at least two records gives ``fraction`` of them (at least
one) to the held-out file.
"""

from __future__ import annotations

import collections
import os
from pathlib import Path

import numpy as np

from labkit.datasets.ecg import load_ecg, load_ecg_provenance
from labkit.paths import ECG_HELD_OUT_FILE
from labkit.reproducibility import make_rng

DEFAULT_FRACTION = 0.2


def record_of(strip_id: str) -> str:
    """Return the record (patient) of a strip id: the part before ``#``."""
    return str(strip_id).split("#")[0]


def held_out_path(data_path: str | os.PathLike[str]) -> Path:
    """Return where the held-out file of a data file lives: beside it, :data:`ECG_HELD_OUT_FILE`."""
    return Path(data_path).with_name(ECG_HELD_OUT_FILE)


def split_held_out(
    rhythms: np.ndarray, record_ids: np.ndarray, fraction: float = DEFAULT_FRACTION, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Split strips into the students' and the held-out part, by record and stratified by rhythm.

    Parameters
    ----------
    rhythms, record_ids
        (N,) labels and strip ids of the converted strips.
    fraction
        Share of each rhythm's records held out (0 holds out nothing).
    seed
        Seed of the choice.

    Returns
    -------
    students, held_out : np.ndarray
        Sorted strip indices of each part; no record has strips in both.
    """
    records = np.array([record_of(i) for i in record_ids])
    by_rhythm: dict[str, list[str]] = collections.defaultdict(list)
    for record in sorted(set(records.tolist())):
        rhythm = collections.Counter(rhythms[records == record].tolist()).most_common(1)[0][0]
        by_rhythm[rhythm].append(record)
    rng = make_rng(seed)
    chosen: set[str] = set()
    for rhythm in sorted(by_rhythm):
        group = by_rhythm[rhythm]
        if fraction > 0 and len(group) >= 2:
            count = min(len(group) - 1, max(1, round(fraction * len(group))))
            chosen |= set(rng.permutation(np.array(group))[:count].tolist())
    held = np.isin(records, sorted(chosen))
    return np.flatnonzero(~held), np.flatnonzero(held)


def check_held_out(data_path: str | os.PathLike[str], held_path: str | os.PathLike[str]) -> list[str]:
    """Return the problems of a held-out file against its data file (empty: usable for grading).

    The held-out file must pass the ECG contract, hold only rhythms of the data file and share no record
    with it.
    """
    from labkit.datasets.ecg import check_ecg

    problems = check_ecg(held_path)
    if problems:
        return problems
    fix = "Fix: `labkit data prepare ecg --from PATH --force` writes both files"
    data_rhythms = set(load_ecg(data_path)[1].tolist())
    extra = sorted(set(load_ecg(held_path)[1].tolist()) - data_rhythms)
    if extra:
        problems.append(f"{held_path}: rhythms {extra} are not in {data_path}. {fix}.")
    ours = {record_of(i) for i in load_ecg_provenance(data_path)["record_ids"].tolist()}
    shared = sorted(ours & {record_of(i) for i in load_ecg_provenance(held_path)["record_ids"].tolist()})
    if shared:
        problems.append(f"{held_path}: {len(shared)} records also in {data_path} ({shared[:3]}...). {fix}.")
    return problems
