"""Training reuse on the grader's side: record the reference once per setting, hand the store to each job.

The first grading pass of a lab under given execution settings runs the instructor's reference solution
(the release with the source's solutions filled in) in a worker exactly like a submission, with
``$LABKIT_TRAIN_STORE_RECORD`` naming the lab's given model classes: `labkit.training.train_model` writes
the trained state of each given model under its training key (see :mod:`labkit.training.reuse`). The grader
keeps these entries in the lab's grading kit, ``<kit>/train_store/<setting>/``, with a manifest of their
sha256; every later job gets them by value, read-only, with the manifest's digest in its environment.
Entries are never made from a submission, so no submission can change what another one loads.
"""

from __future__ import annotations

import ast
import copy
import hashlib
import json
import platform
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import nbformat

from autograder.cells import grade_id, nbgrader_meta
from autograder.records import Result, Settings
from labkit.training import store as train_store

STORE_DIR = "train_store"
REFERENCE = "reference.json"


def given_classes(source: nbformat.NotebookNode) -> list[str]:
    """Return the classes defined in the given (locked, non-solution) code cells of a source notebook."""
    names = []
    for cell in source.cells:
        meta = nbgrader_meta(cell)
        if cell.cell_type != "code" or not meta.get("locked") or meta.get("solution"):
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:
            continue
        names += [node.name for node in tree.body if isinstance(node, ast.ClassDef)]
    return sorted(set(names))


def reference_submission(
    source: nbformat.NotebookNode, release: nbformat.NotebookNode
) -> nbformat.NotebookNode:
    """Return the release with every solution cell replaced by the source's (the reference solution)."""
    solved = {grade_id(c): c.source for c in source.cells if grade_id(c)}
    reference = copy.deepcopy(release)
    for cell in reference.cells:
        if nbgrader_meta(cell).get("solution") and grade_id(cell) in solved:
            cell.source = solved[grade_id(cell)]
    return reference


def setting_key(settings: Settings, data_files: dict[str, str]) -> str:
    """Return the digest of what the recorded entries depend on besides the lab's source (the kit's own key).

    Thread count, GPU or not, the pass-through variables (the epoch cap), the data files, the interpreter.
    Anything it misses only costs a recording: the training key inside each entry decides what is reused.
    """
    h = hashlib.sha256()
    relevant = {"threads": settings.threads, "gpu": bool(settings.gpu), "env": settings.extra_env}
    h.update(json.dumps(relevant, sort_keys=True).encode() + platform.python_version().encode())
    for name, digest in sorted(data_files.items()):  # name and sha256 (:mod:`autograder.execute.blobs`)
        h.update(name.encode() + bytes.fromhex(digest))
    return h.hexdigest()[:16]


@dataclass(frozen=True)
class Store:
    """The recorded entries of one lab under one setting, as they travel with every job."""

    files: dict[str, bytes]
    reference: dict

    @property
    def manifest_digest(self) -> str:
        """The digest a kernel checks the manifest against (``$LABKIT_TRAIN_STORE_MANIFEST``)."""
        return train_store.digest([self.files[train_store.MANIFEST]])


def load(kit: Path, setting: str) -> Store | None:
    """Return the lab's store for ``setting``, or None when it was not recorded yet."""
    folder = kit / STORE_DIR / setting
    if not (folder / train_store.MANIFEST).is_file() or not (folder / REFERENCE).is_file():
        return None
    files = {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.name != REFERENCE}
    return Store(files, json.loads((folder / REFERENCE).read_text()))


def save(kit: Path, setting: str, result: Result) -> Store:
    """Keep the entries the reference run recorded, with their manifest and the reference's scores."""
    folder = kit / STORE_DIR / setting
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{setting}-", dir=folder.parent))
    for name, data in result.recorded.items():
        if name.endswith(train_store.SUFFIX) and len(name) == 64 + len(train_store.SUFFIX):
            (tmp / name).write_bytes(data)
    train_store.write_manifest(tmp)
    summary = reference_summary(result)
    (tmp / REFERENCE).write_text(json.dumps(summary, indent=1, sort_keys=True))
    shutil.rmtree(folder, ignore_errors=True)
    tmp.replace(folder)
    return load(kit, setting)  # type: ignore[return-value]


def reference_summary(result: Result) -> dict:
    """Return the reference run's autograded score, the tests it failed, its notes and time."""
    tests = {name: grade for name, grade in result.grades.items() if grade.is_test}
    return {
        "score": sum(g.auto_score or 0.0 for g in tests.values()),
        "max_score": sum(g.max_score for g in tests.values()),
        "failed": sorted(n for n, g in tests.items() if (g.auto_score or 0.0) < g.max_score),
        "notes": result.notes,
        "seconds": round(result.seconds, 1),
        "entries": sorted(k for k in result.recorded if k.endswith(train_store.SUFFIX)),
    }


def describe(lab: str, store: Store) -> str:
    """Return one line on what the reference run scored and recorded."""
    ref = store.reference
    line = (
        f"{lab}: reference solution {ref['score']:g}/{ref['max_score']:g} autograded points under these "
        f"settings, {len(ref['entries'])} trained state(s) recorded for reuse ({ref['seconds']:.0f} s)"
    )
    if ref["failed"]:
        line += f"; WARNING: the reference fails {', '.join(ref['failed'])}"
    return line


__all__ = ["Store", "describe", "given_classes", "load", "reference_submission", "save", "setting_key"]
