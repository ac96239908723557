"""Import student notebooks (a folder or a zip) into ``submitted/<student>/<lab>/<lab>.ipynb``.

Accepted names (``LAB`` = a lab id of the course, ``ID`` = letters, digits, ``.``, ``-``):

- nbgrader layout: ``<ID>/<LAB>/<LAB>.ipynb`` (student = the folder name);
- one file per student: ``<LAB>_<ID>.ipynb``, ``<ID>_<LAB>.ipynb``, ``<LAB>-<ID>.ipynb``,
  ``<ID>-<LAB>.ipynb``;
- Moodle/Canvas-like exports: ``<name>_<digits>_<digits>_<LAB>.ipynb`` (student = the first digit group),
  optionally with a ``late_`` prefix or a ``-1`` re-submission suffix.

The lab is taken from the notebook's content (its nbgrader grade ids must match a lab's source); a lab in
the file name must agree. Anything else is reported with the reason and skipped.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

import nbformat

from autograder.cells import grade_ids, read_notebook
from autograder.config import CourseConfig
from labkit.exits import MissingFileError
from labkit.files import DataFileError, atomic_write

STUDENT = r"[A-Za-z0-9][A-Za-z0-9.\-]*"
MIN_OVERLAP = 0.5


@dataclass(frozen=True)
class Outcome:
    """What happened to one input file: ``status`` is imported, unchanged, conflict or rejected."""

    name: str
    status: str
    detail: str
    student: str | None = None
    lab: str | None = None


def parse_name(relpath: str, labs: tuple[str, ...]) -> tuple[str | None, str | None]:
    """Return ``(student, lab_from_name)`` for a file path inside the import, or ``(None, None)``."""
    parts = Path(relpath).parts
    if len(parts) >= 3 and parts[-2] in labs and parts[-1] == f"{parts[-2]}.ipynb":
        return parts[-3], parts[-2]
    stem = re.sub(r"(-\d+)$", "", Path(relpath).stem)
    stem = re.sub(r"^late_", "", stem)
    for lab in sorted(labs, key=len, reverse=True):
        for pattern in (rf"^{lab}[_-]({STUDENT})$", rf"^({STUDENT})[_-]{lab}$", rf"^[^_]+_(\d+)_\d+_{lab}$"):
            match = re.match(pattern, stem)
            if match:
                return match.group(1), lab
    match = re.match(rf"^({STUDENT})$", stem)
    return (match.group(1), None) if match else (None, None)


def lab_of(nb, lab_ids: dict[str, set[str]]) -> str | None:
    """Return the lab whose source grade ids best match the notebook's (None below half a match)."""
    ids = grade_ids(nb)
    scores = {lab: len(ids & known) / max(1, len(known)) for lab, known in lab_ids.items()}
    best = max(scores, key=scores.get, default=None)
    return best if best is not None and scores[best] >= MIN_OVERLAP else None


def _zip_inputs(path: Path) -> list[tuple[str, bytes, float]]:
    """Return the files of the zip archive at ``path``.

    Raises
    ------
    ValueError
        Naming the archive and what is wrong with it (not a zip, truncated, a member that fails its CRC).
    """
    try:
        with zipfile.ZipFile(path) as archive:
            return [
                (info.filename, archive.read(info), dt.datetime(*info.date_time).timestamp())
                for info in archive.infolist()
                if not info.is_dir() and "__MACOSX" not in info.filename
            ]
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError) as exc:
        raise DataFileError(
            f"{path}: not a readable zip archive ({type(exc).__name__}: {exc}); nothing was imported. "
            "Fix: download the archive again, or unzip it and give the folder"
        ) from exc


def _inputs(path: Path) -> list[tuple[str, bytes, float]]:
    if path.is_file() and (zipfile.is_zipfile(path) or path.suffix.lower() == ".zip"):
        return _zip_inputs(path)
    if path.is_file():
        return [(path.name, path.read_bytes(), path.stat().st_mtime)]
    if not path.is_dir():
        raise MissingFileError(
            f"{path}: no such folder or zip file; fix: give the folder or zip of submissions"
        )
    return [
        (str(p.relative_to(path)), p.read_bytes(), p.stat().st_mtime)
        for p in sorted(path.rglob("*"))
        if p.is_file() and ".ipynb_checkpoints" not in p.parts and p.name != "timestamp.txt"
    ]


def _parse_notebook(data: bytes):
    try:
        nb = nbformat.reads(data.decode("utf-8"), as_version=4)
        if not isinstance(nb.get("cells"), list):
            raise ValueError("no cells list")
    except (UnicodeDecodeError, json.JSONDecodeError, nbformat.ValidationError, Exception) as exc:  # noqa: BLE001
        return (
            None,
            f"not a valid notebook ({type(exc).__name__}: {(str(exc) or ' ').splitlines()[0][:80]})",
        )
    return nb, ""


def collect_one(
    cfg: CourseConfig, name: str, data: bytes, mtime: float, lab_ids: dict, lab: str | None, force: bool
) -> Outcome:
    """Import one file (see module docstring) and return what happened."""
    if not name.endswith(".ipynb"):
        return Outcome(name, "rejected", "not a notebook (.ipynb)")
    student, named_lab = parse_name(name, cfg.labs)
    if student is None:
        return Outcome(name, "rejected", "file name matches no accepted pattern (see docs/grading.md)")
    nb, problem = _parse_notebook(data)
    if nb is None:
        return Outcome(name, "rejected", problem, student)
    found = lab_of(nb, lab_ids)
    if found is None:
        return Outcome(
            name, "rejected", "belongs to no known lab (its nbgrader cells match no lab source)", student
        )
    if (named_lab and named_lab != found) or (lab and lab != found):
        return Outcome(
            name,
            "rejected",
            f"content is lab {found!r} but the name/--lab says {named_lab or lab!r}",
            student,
        )
    target = cfg.submitted_notebook(student, found)
    if target.is_file() and target.read_bytes() != data and not force:
        return Outcome(
            name, "conflict", f"{target} exists and differs; use --force to replace it", student, found
        )
    if target.is_file() and target.read_bytes() == data:
        return Outcome(name, "unchanged", str(target), student, found)
    atomic_write(target, lambda tmp: tmp.write_bytes(data))
    stamp = dt.datetime.fromtimestamp(mtime, tz=dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f UTC")
    atomic_write(target.parent / "timestamp.txt", lambda tmp: tmp.write_text(stamp))
    return Outcome(name, "imported", str(target), student, found)


def collect(cfg: CourseConfig, path: Path, lab: str | None = None, force: bool = False) -> list[Outcome]:
    """Import every file of a folder or zip; return one `Outcome` per file."""
    lab_ids = {known: grade_ids(read_notebook(cfg.source_notebook(known))) for known in cfg.labs_with_source}
    return [collect_one(cfg, name, data, mtime, lab_ids, lab, force) for name, data, mtime in _inputs(path)]
