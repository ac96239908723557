"""What grading some labs reads besides the submissions: data, grading kits, probe inputs, requirements.

`prepare` puts every such file in the grading host's cache (:mod:`autograder.execute.blobs`) once, so each
job names them by digest.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from autograder import CourseError
from autograder.build.release import kit_dir
from autograder.cells import read_notebook
from autograder.config import GRADEBOOK, CourseConfig
from autograder.execute.blobs import BlobCache, host_cache
from autograder.execute.requirements import requirements
from autograder.merge import ensure_assignment
from labkit.paths import DATA_ENV


def data_source(cfg: CourseConfig) -> Path:
    """Return the course's data folder: ``data/``, else ``$LABKIT_DATA_DIR`` (as labkit.paths finds it)."""
    source = cfg.root / "data"
    if not source.is_dir() and os.environ.get(DATA_ENV):
        return Path(os.environ[DATA_ENV])
    return source


def _data_files(source: Path, cache: BlobCache) -> dict[str, str]:
    """Put the data files in the host cache; return them by name to digest."""
    files = sorted(p for p in source.iterdir() if p.is_file()) if source.is_dir() else []
    return {path.name: cache.add_file(path) for path in files}


@dataclass(frozen=True)
class LabFiles:
    """One lab's grading kit and probe inputs as digests of the host cache (what its jobs name)."""

    gradebook: str
    kit: dict[str, str]
    probe: dict[str, str]
    requirements: dict[str, str]


@dataclass(frozen=True)
class Prepared:
    """What `prepare` made ready for grading some labs; `plan_jobs` only reads it.

    Attributes
    ----------
    work_root
        The root of the local worker directories (outside the course).
    cache
        The grading host's file cache (:mod:`autograder.execute.blobs`): every file a job names by digest.
    data_files
        The course's data files by name to digest.
    kits
        Each lab's grading kit (see `autograder.build.release.kit_dir`).
    duedates
        Each lab's due date in the course gradebook (ISO, or None).
    files
        Each lab's kit files, probe inputs and environment requirements (`LabFiles`).
    """

    work_root: Path
    cache: BlobCache
    data_files: dict[str, str]
    kits: dict[str, Path]
    duedates: dict[str, str | None]
    files: dict[str, LabFiles]


def prepare(cfg: CourseConfig, labs: list[str]) -> Prepared:
    """Write what grading ``labs`` needs before any job is planned.

    That is: the work root (mode 711) and its file cache holding the data, each lab's grading kit
    (regenerated when its source or the course configuration changed) and probe inputs, and the lab's
    notebooks and cells in the course gradebook.
    """
    work_root = cfg.work_root
    work_root.mkdir(parents=True, exist_ok=True)
    os.chmod(work_root, 0o711)
    cache = host_cache(work_root)
    data_files = _data_files(data_source(cfg), cache)
    kits = {lab: kit_dir(cfg, lab) for lab in labs}
    duedates = {lab: ensure_assignment(cfg, lab, kits[lab]) for lab in labs}
    files = {lab: _lab_files(cfg, lab, kits[lab], cache) for lab in labs}
    return Prepared(work_root, cache, data_files, kits, duedates, files)


def _lab_files(cfg: CourseConfig, lab: str, kit: Path, cache: BlobCache) -> LabFiles:
    source = cfg.folders.lab(kit, "source", lab)
    source_nb = source / f"{lab}.ipynb"
    cells = read_notebook(source_nb).cells if source_nb.is_file() else []
    codes = [c.source for c in cells if c.cell_type == "code"]
    return LabFiles(
        gradebook=cache.add_file(kit / GRADEBOOK),
        kit={
            str(p.relative_to(source)): cache.add_file(p)
            for p in sorted(source.rglob("*"))
            if p.is_file() and p.suffix not in (".ipynb", ".py")
        },
        probe={name: cache.add_bytes(data) for name, data in _probe_files(cfg, lab).items()},
        requirements=requirements(codes),
    )


def _probe_files(cfg: CourseConfig, lab: str) -> dict[str, bytes]:
    """Return the lab's probe inputs (built in the course's ``.grading/evaluation`` when missing)."""
    held_out = dict(cfg.evaluation_files)
    if lab not in held_out:
        return {}
    from autograder.checks.evaluation import ensure_inputs, input_files

    previous = os.environ.get(DATA_ENV)
    os.environ[DATA_ENV] = str(data_source(cfg))
    try:
        return input_files(ensure_inputs(cfg.root, lab, held_out[lab]), lab)
    except (ValueError, OSError) as exc:
        raise CourseError(f"{lab}: cannot prepare the hidden checks' evaluation signals: {exc}") from exc
    finally:
        if previous is None:
            os.environ.pop(DATA_ENV, None)
        else:
            os.environ[DATA_ENV] = previous
