"""The results ledger ``.grading/ledger.json``: what was graded, from which inputs, with which outcome.

Keyed by ``<lab>/<student>``; each entry stores the sha256 of (submission + release + settings), so a
re-run grades only what changed. Written atomically after every merged result: killing a run loses at most
the submissions still executing.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from labkit.files import DataFileError, atomic_write

VERSION = 1


def job_key(submission: bytes, release: bytes, settings: str) -> str:
    """Return the sha256 identifying one grading of one submission."""
    digest = hashlib.sha256()
    for part in (submission, release, settings.encode()):
        digest.update(hashlib.sha256(part).digest())
    return digest.hexdigest()


class Ledger:
    """Load, query and atomically save the results ledger."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.entries: dict[str, dict] = {}
        if path.is_file():
            try:
                data = json.loads(path.read_text())
            except json.JSONDecodeError as exc:
                raise DataFileError(
                    f"{path}: not valid JSON ({exc.msg}); fix: delete it and run `course-grade grade --force`"
                ) from exc
            self.entries = dict(data.get("entries", {}))

    @staticmethod
    def name(lab: str, student: str) -> str:
        """Return the ledger key of a (lab, student) pair."""
        return f"{lab}/{student}"

    def is_done(self, lab: str, student: str, key: str) -> bool:
        """Return whether this exact submission was already graded and merged."""
        return self.entries.get(self.name(lab, student), {}).get("key") == key

    def record(self, lab: str, student: str, entry: dict) -> None:
        """Store one result and save the whole ledger atomically."""
        self.entries[self.name(lab, student)] = entry
        text = json.dumps({"version": VERSION, "entries": self.entries}, indent=1, sort_keys=True)
        atomic_write(self.path, lambda tmp: tmp.write_text(text))
