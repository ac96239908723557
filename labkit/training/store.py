"""The files of a training store, without torch: names, digests and the manifest.

The grader's parent process and its workers handle the store (paths, environment, manifest) but never a
tensor, so this module imports nothing heavy; ``labkit.training.reuse`` adds the keys and the entries.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from pathlib import Path

STORE_ENV = "LABKIT_TRAIN_STORE"
MANIFEST_ENV = "LABKIT_TRAIN_STORE_MANIFEST"
RECORD_ENV = "LABKIT_TRAIN_STORE_RECORD"
MANIFEST = "manifest.json"
SUFFIX = ".pt"
REUSE_NOTE = "epochs not run: the grader's reference solution trained this model"  # printed on reuse


def digest(parts: Iterable[bytes]) -> str:
    """Return the sha256 (hex) of a sequence of byte strings, each length-prefixed."""
    h = hashlib.sha256()
    for part in parts:
        h.update(len(part).to_bytes(8, "little"))
        h.update(part)
    return h.hexdigest()


def recorded_classes() -> set[str]:
    """Return the model class names the reference run records (``$LABKIT_TRAIN_STORE_RECORD``)."""
    return {n.strip() for n in os.environ.get(RECORD_ENV, "").split(",") if n.strip()}


def store_folder() -> Path | None:
    """Return the store folder the grader set (``$LABKIT_TRAIN_STORE``), or None outside grading."""
    folder = os.environ.get(STORE_ENV, "").strip()
    return Path(folder) if folder else None


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


def active() -> bool:
    """Return True when the grader set up a training store for this kernel (recording or reading)."""
    return store_folder() is not None and bool(recorded_classes() or os.environ.get(MANIFEST_ENV, "").strip())
