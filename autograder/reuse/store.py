"""The training store a reference run recorded, kept in the grading kit: ``<kit>/train_store/<setting>/``.

A store holds the recorded entries (``<training key>.pt``), their ``manifest.json`` (the sha256 of every
entry, in the format :mod:`labkit.training.reuse` checks) and ``reference.json``, the reference run's
scores (`ReferenceRecord`).
"""

from __future__ import annotations

import hashlib
import json
import platform
import shutil
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

from autograder.records import Result, Settings
from labkit.training.reuse import MANIFEST, SUFFIX, digest

STORE_DIR = "train_store"
REFERENCE = "reference.json"


def setting_key(settings: Settings, data_files: dict[str, str]) -> str:
    """Return the digest of what the recorded entries depend on besides the lab's source (the kit's own key).

    Thread count, GPU or not, the pass-through variables (the epoch cap), the data files, the interpreter.
    Anything it misses only costs a recording: the training key inside each entry decides what is reused.
    """
    h = hashlib.sha256()
    relevant = {"threads": settings.threads, "gpu": bool(settings.gpu), "env": settings.extra_env}
    h.update(json.dumps(relevant, sort_keys=True).encode() + platform.python_version().encode())
    for name, sha in sorted(data_files.items()):  # name and sha256 (:mod:`autograder.execute.blobs`)
        h.update(name.encode() + bytes.fromhex(sha))
    return h.hexdigest()[:16]


@dataclass(frozen=True)
class ReferenceRecord:
    """What the reference run scored and recorded (``reference.json`` beside the store's entries).

    Attributes
    ----------
    score, max_score
        Its autograded points and the lab's autograded maximum.
    failed
        The autograded tests it did not pass in full (a warning for the instructor).
    notes
        Its execution notes.
    seconds
        How long it ran.
    entries
        The entry files it recorded.
    """

    score: float
    max_score: float
    failed: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    entries: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, result: Result) -> ReferenceRecord:
        """Return the record of a reference run's result."""
        tests = {name: grade for name, grade in result.grades.items() if grade.is_test}
        return cls(
            score=sum(g.auto_score or 0.0 for g in tests.values()),
            max_score=sum(g.max_score for g in tests.values()),
            failed=sorted(n for n, g in tests.items() if (g.auto_score or 0.0) < g.max_score),
            notes=list(result.notes),
            seconds=round(result.seconds, 1),
            entries=sorted(k for k in result.recorded if k.endswith(SUFFIX)),
        )

    def describe(self, lab: str) -> str:
        """Return one line on what the reference run scored and recorded."""
        line = (
            f"{lab}: reference solution {self.score:g}/{self.max_score:g} autograded points under these "
            f"settings, {len(self.entries)} trained state(s) recorded for reuse ({self.seconds:.0f} s)"
        )
        if self.failed:
            line += f"; WARNING: the reference fails {', '.join(self.failed)}"
        return line


@dataclass(frozen=True)
class Store:
    """The recorded entries of one lab under one setting, as they travel with every job."""

    files: dict[str, bytes]
    reference: ReferenceRecord

    @property
    def manifest_digest(self) -> str:
        """The digest a kernel checks the manifest against (``$LABKIT_TRAIN_STORE_MANIFEST``)."""
        return digest([self.files[MANIFEST]])


def write_manifest(folder: Path) -> str:
    """Write ``folder/manifest.json`` listing every entry's sha256; return the manifest's own digest.

    Run by the grader (never inside a kernel) on the entries the reference run recorded.
    """
    entries = {p.name[: -len(SUFFIX)]: digest([p.read_bytes()]) for p in sorted(folder.glob(f"*{SUFFIX}"))}
    text = json.dumps({"version": 1, "entries": entries}, indent=1, sort_keys=True).encode()
    partial = folder / f"{MANIFEST}.part"
    partial.write_bytes(text)
    partial.replace(folder / MANIFEST)
    return digest([text])


def load(kit: Path, setting: str) -> Store | None:
    """Return the lab's store for ``setting``, or None when it was not recorded yet."""
    folder = kit / STORE_DIR / setting
    if not (folder / MANIFEST).is_file() or not (folder / REFERENCE).is_file():
        return None
    files = {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.name != REFERENCE}
    return Store(files, ReferenceRecord(**json.loads((folder / REFERENCE).read_text())))


def save(kit: Path, setting: str, result: Result) -> Store:
    """Keep the entries the reference run recorded, with their manifest and the reference's scores."""
    folder = kit / STORE_DIR / setting
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{setting}-", dir=folder.parent))
    for name, data in result.recorded.items():
        if name.endswith(SUFFIX) and len(name) == 64 + len(SUFFIX):
            (tmp / name).write_bytes(data)
    write_manifest(tmp)
    record = ReferenceRecord.of(result)
    (tmp / REFERENCE).write_text(json.dumps(asdict(record), indent=1, sort_keys=True))
    shutil.rmtree(folder, ignore_errors=True)
    tmp.replace(folder)
    return load(kit, setting)  # type: ignore[return-value]


__all__ = ["ReferenceRecord", "Store", "load", "save", "setting_key", "write_manifest"]
