"""Training reuse in a worker: the variables a job's kernel gets, and the states a reference run recorded."""

from __future__ import annotations

from pathlib import Path

from autograder.records import Training
from labkit.training.reuse import MANIFEST_ENV, RECORD_ENV, STORE_ENV, SUFFIX


def kernel_environment(training: Training, store: Path, record: Path) -> dict[str, str]:
    """Return the variables that give the kernel its part in reuse (none when the job has no part).

    Parameters
    ----------
    training
        The job's part.
    store
        The read-only folder holding the store's files (read by every job but the reference run).
    record
        The folder the reference run writes its entries to (in its own home).
    """
    if training.record:
        return {STORE_ENV: str(record), RECORD_ENV: training.record}
    if training.store:
        return {STORE_ENV: str(store), MANIFEST_ENV: training.manifest}
    return {}


def recorded_states(training: Training, record: Path) -> dict[str, bytes]:
    """Return the entries a reference run recorded in ``record`` by file name (nothing for other jobs)."""
    if not training.record:
        return {}
    return {p.name: p.read_bytes() for p in sorted(record.glob(f"*{SUFFIX}"))}
