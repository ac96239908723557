"""The reference run of training reuse: which labs need one, its job, and the jobs that wait for it."""

from __future__ import annotations

import ast
import copy
import json
import sys
from dataclasses import dataclass, replace

import nbformat

from autograder.cells import grade_id, nbgrader_meta, read_notebook
from autograder.config import CourseConfig
from autograder.execute.blobs import BlobCache
from autograder.execute.gpus import gpu_list
from autograder.options import GradeOptions
from autograder.plan.inputs import Prepared
from autograder.plan.jobs import base_settings, make_job, release_bytes
from autograder.plan.ledger import job_key
from autograder.records import Job, Result, Training
from autograder.reuse.store import Store, load, save, setting_key
from labkit.paths import COURSE_MARKER


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


#: The student id of the reference run that records a lab's training store (never a ledger entry).
REFERENCE_STUDENT = "course-reference"


@dataclass
class Recording:
    """The reference runs of a grading pass and what they unlock (see `reference_jobs`).

    Attributes
    ----------
    setting
        The setting key the stores are recorded under.
    stores
        Each lab's training store once known (loaded from the kit, or recorded in this pass).
    references
        The reference jobs still to run, one per lab whose store is missing.
    """

    setting: str
    stores: dict[str, Store]
    references: list[Job]


def reference_jobs(
    cfg: CourseConfig, prepared: Prepared, opts: GradeOptions, jobs: int, labs: set[str]
) -> Recording:
    """Return the labs' stores already recorded for this run's settings and the reference jobs still needed.

    Only labs whose source defines given model classes take part. A reference job is graded like a
    submission (same settings, same sandbox) and records the given models' trained states.
    """
    base = base_settings(cfg, opts, jobs)
    setting = setting_key(base, prepared.data_files)
    recording = Recording(setting, {}, [])
    gpus = [] if opts.scheduler else gpu_list()
    course_config = (cfg.root / COURSE_MARKER).read_bytes()
    for lab in sorted(labs):
        kit = prepared.kits[lab]
        source = read_notebook(cfg.folders.notebook(kit, "source", lab))
        classes = given_classes(source)
        store = load(kit, setting) if classes else None
        if store is not None:
            recording.stores[lab] = store
        elif classes:
            release = read_notebook(cfg.folders.notebook(kit, "release", lab))
            notebook = json.dumps(reference_submission(source, release)).encode()
            key = job_key(notebook, release_bytes(cfg, prepared, lab), setting)
            recording.references.append(
                make_job(cfg, prepared, base, lab, REFERENCE_STUDENT, notebook, key, course_config,
                     gpu=gpus[0] if gpus else "", record=",".join(classes))
            )  # fmt: skip
    return recording


def with_stores(jobs: list[Job], stores: dict[str, Store], cache: BlobCache) -> list[Job]:
    """Return ``jobs``, those of a lab with a training store reading it (its files put in the host cache)."""
    files = {lab: {n: cache.add_bytes(data) for n, data in st.files.items()} for lab, st in stores.items()}
    return [
        replace(job, training=Training(files[job.lab], stores[job.lab].manifest_digest))
        if job.lab in stores
        else job
        for job in jobs
    ]


class Schedule:
    """Which jobs start now and which wait for their lab's reference run, and what each result releases.

    The reference runs start first. While they run, the other workers grade the first submissions of those
    labs without reuse (grade-neutral: reuse changes no result); the rest wait and start with the store.
    """

    def __init__(self, prepared: Prepared, recording: Recording, jobs: list[Job], workers: int, quiet: bool):
        self.prepared, self.recording, self.quiet = prepared, recording, quiet
        pending = {job.lab for job in recording.references}
        free = max(0, workers - len(recording.references))
        waiting = [job for job in jobs if job.lab in pending]
        self.first = [*recording.references, *(j for j in jobs if j.lab not in pending), *waiting[:free]]
        self.waiting = waiting[free:]
        self.reference_keys = {job.key for job in recording.references}

    def after(self, result: Result) -> list[Job]:
        """Keep a reference run's store and return the jobs it releases (none for a submission)."""
        if result.key not in self.reference_keys:
            return []
        store = save(self.prepared.kits[result.lab], self.recording.setting, result)
        self.recording.stores[result.lab] = store
        if not self.quiet or store.reference.failed:
            print(store.reference.describe(result.lab), file=sys.stderr)
        cache = self.prepared.cache
        return with_stores(self.without_reference(result.lab), {result.lab: store}, cache)

    def without_reference(self, lab: str) -> list[Job]:
        """Return (and stop holding) the jobs that wait for ``lab``'s reference run."""
        released = [job for job in self.waiting if job.lab == lab]
        self.waiting = [job for job in self.waiting if job.lab != lab]
        return released


def announce(recording: Recording, quiet: bool) -> None:
    """Say which stores were recorded earlier (and what their reference scored) and which labs record now."""
    for lab, store in sorted(recording.stores.items()):
        if not quiet or store.reference.failed:
            print(store.reference.describe(lab) + " (recorded earlier)", file=sys.stderr)
    if recording.references and not quiet:
        labs = ", ".join(job.lab for job in recording.references)
        print(f"recording the reference solution's training for reuse: {labs}", file=sys.stderr)
