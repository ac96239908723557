"""The results ledger ``.grading/ledger.json``: what was graded, from which inputs, with which outcome.

Keyed by ``<lab>/<student>``; each `LedgerEntry` stores the sha256 of (submission + release + settings), so
a re-run grades only what changed. Written atomically after every merged result: killing a run loses at
most the submissions still executing.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from autograder.records import Result
from labkit.files import DataFileError, atomic_write

VERSION = 1


def job_key(submission: bytes, release: bytes, settings: str) -> str:
    """Return the sha256 identifying one grading of one submission."""
    digest = hashlib.sha256()
    for part in (submission, release, settings.encode()):
        digest.update(hashlib.sha256(part).digest())
    return digest.hexdigest()


@dataclass(frozen=True)
class LedgerEntry:
    """The outcome of grading one submission, as the ledger keeps it.

    Attributes
    ----------
    student, lab
        Whose submission, of which lab.
    key
        The job key (`job_key`): the same inputs are not graded again.
    score
        Autograded points: the autograded tests (code grade cells) only, whatever happened to them.
    max_score
        The lab's total (autograded and written answers).
    auto_max_score, manual_max_score
        The autograded maximum (the same for every submission of a lab) and what is left to grade by hand.
    tests
        Grade id -> [points scored (None: a written answer), maximum].
    notes
        Execution notes (killed, timed out, failed, restored).
    late_penalty
        nbgrader's late penalty (None when on time or without a due date).
    seconds
        How long grading took.
    executed
        Whether nbgrader wrote an autograded notebook.
    worker
        Where it ran (a Dask worker's address, or empty).
    graded_at
        When it was merged (seconds since the epoch).
    """

    student: str
    lab: str
    key: str
    score: float
    max_score: float
    auto_max_score: float
    manual_max_score: float
    tests: dict[str, list] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    late_penalty: float | None = None
    seconds: float = 0.0
    executed: bool = True
    worker: str = ""
    graded_at: float = 0.0

    @classmethod
    def of(cls, result: Result) -> LedgerEntry:
        """Return the entry of one worker result, stamped now."""
        grades = result.grades.values()
        tests = [g for g in grades if g.is_test]
        return cls(
            student=result.student,
            lab=result.lab,
            key=result.key,
            score=sum(g.auto_score or 0.0 for g in tests),
            max_score=sum(g.max_score for g in grades),
            auto_max_score=sum(g.max_score for g in tests),
            manual_max_score=sum(g.max_score for g in grades if not g.is_test),
            tests={name: [g.auto_score, g.max_score] for name, g in result.grades.items()},
            notes=list(result.notes),
            late_penalty=result.late_penalty,
            seconds=round(result.seconds, 2),
            executed=result.notebook is not None,
            worker=result.worker,
            graded_at=time.time(),
        )

    @classmethod
    def from_json(cls, data: dict) -> LedgerEntry:
        """Return an entry read back from the ledger (fields it does not know are dropped)."""
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


class Ledger:
    """Load, query and atomically save the results ledger."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.entries: dict[str, LedgerEntry] = {}
        if path.is_file():
            try:
                data = json.loads(path.read_text())
            except json.JSONDecodeError as exc:
                raise DataFileError(
                    f"{path}: not valid JSON ({exc.msg}); fix: delete it and run `course-grade grade --force`"
                ) from exc
            self.entries = {k: LedgerEntry.from_json(v) for k, v in dict(data.get("entries", {})).items()}

    @staticmethod
    def name(lab: str, student: str) -> str:
        """Return the ledger key of a (lab, student) pair."""
        return f"{lab}/{student}"

    def is_done(self, lab: str, student: str, key: str) -> bool:
        """Return whether this exact submission was already graded and merged."""
        entry = self.entries.get(self.name(lab, student))
        return entry is not None and entry.key == key

    def record(self, entry: LedgerEntry) -> None:
        """Store one entry and save the whole ledger atomically."""
        self.entries[self.name(entry.lab, entry.student)] = entry
        entries = {name: asdict(e) for name, e in self.entries.items()}
        text = json.dumps({"version": VERSION, "entries": entries}, indent=1, sort_keys=True)
        atomic_write(self.path, lambda tmp: tmp.write_text(text))
