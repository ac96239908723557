"""Grade every submission: isolated workers (local processes or Dask), merged one at a time, resumable.

A submission is graded or left ungraded, never given a grade by a machine's failure: an attempt that fails
outside the graded kernel is retried (:mod:`autograder.execute.dispatch`), and what still fails is reported
with its causes by `UngradedError` after every other result was merged.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from autograder import CourseError
from autograder import reuse as train_reuse
from autograder.build.release import kit_dir
from autograder.cells import read_notebook
from autograder.config import CourseConfig
from autograder.execute.blobs import BlobCache
from autograder.execute.dispatch import LocalRunner, Retries, Ungraded, host_cache
from autograder.execute.gpus import gpu_list
from autograder.execute.processes import job_token, kill_job_processes
from autograder.execute.requirements import requirements
from autograder.kernel.confine import INSTALL_HINT, bwrap_available
from autograder.kernel.sandbox import Limits
from autograder.merge import ensure_assignment, merge_result
from autograder.options import PASS_THROUGH_ENV, GradeOptions
from autograder.plan.ledger import Ledger, job_key
from autograder.progress import progress
from autograder.records import Job, Result, Settings
from labkit.paths import COURSE_MARKER, DATA_ENV


@dataclass(frozen=True)
class Submission:
    """One submitted notebook of the course."""

    lab: str
    student: str
    path: Path


def find_submissions(cfg: CourseConfig, labs: list[str]) -> list[Submission]:
    """Return ``submitted/<student>/<lab>/<lab>.ipynb`` for the given labs, sorted."""
    found = []
    for lab in labs:
        for path in sorted((cfg.root / "submitted").glob(f"*/{lab}/{lab}.ipynb")):
            found.append(Submission(lab, path.parent.parent.name, path))
    return found


class UngradedError(CourseError):
    """Some submissions could not be graded (the machine failed, after retries); nothing was recorded.

    Raised by `grade` once every other result is merged: ``entries`` are those merged, ``ungraded`` the rest.
    """

    def __init__(self, entries: list[dict], ungraded: list[Ungraded]) -> None:
        lines = "\n".join(u.line() for u in ungraded)
        super().__init__(
            f"{len(ungraded)} submission(s) NOT graded (infrastructure failures, no grade recorded); run "
            f"`course-grade grade` again once fixed to grade only these:\n{lines}"
        )
        self.entries, self.ungraded = entries, ungraded


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
    source = kit / "source" / lab
    source_nb = source / f"{lab}.ipynb"
    cells = read_notebook(source_nb).cells if source_nb.is_file() else []
    codes = [c.source for c in cells if c.cell_type == "code"]
    return LabFiles(
        gradebook=cache.add_file(kit / "gradebook.db"),
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


def _settings(cfg: CourseConfig, opts: GradeOptions, jobs: int) -> Settings:
    env = {name: os.environ[name] for name in PASS_THROUGH_ENV if name in os.environ}
    env.update(opts.extra_env)
    return Settings(
        cell_timeout=opts.cell_timeout or cfg.cell_timeout,
        startup_timeout=cfg.startup_timeout,
        notebook_timeout=opts.notebook_timeout,
        limits=Limits(opts.memory_mb, opts.fsize_mb, opts.nproc),
        threads=max(1, (os.cpu_count() or 1) // jobs),
        gpu="",
        extra_env=env,
        keep=opts.keep,
        course_root=str(cfg.root),
        wants_gpu=opts.gpu,
    )


def _settings_text(settings: Settings) -> str:
    relevant = asdict(settings)
    for name in ("threads", "gpu", "keep", "course_root", "wants_gpu"):
        relevant.pop(name)
    return json.dumps(relevant, sort_keys=True)


def plan_jobs(
    cfg: CourseConfig,
    prepared: Prepared,
    ledger: Ledger,
    opts: GradeOptions,
    jobs: int,
) -> list[Job]:
    """Return the jobs still to grade (all with ``opts.force``); reads the course, writes nothing.

    Parameters
    ----------
    cfg
        The course.
    prepared
        What `prepare` made ready for the labs to grade.
    ledger
        The results ledger: a submission graded with the same inputs is skipped.
    opts
        The run's options.
    jobs
        The number of parallel workers (sets each kernel's thread count).
    """
    base = _settings(cfg, opts, jobs)
    gpus, planned = [] if opts.scheduler else gpu_list(), []
    course_config = (cfg.root / COURSE_MARKER).read_bytes()
    for sub in find_submissions(cfg, list(prepared.kits)):
        notebook = sub.path.read_bytes()
        key = job_key(
            notebook, _release(prepared, sub.lab), _context(prepared, base, opts, sub.lab, course_config)
        )
        if not opts.force and ledger.is_done(sub.lab, sub.student, key):
            continue
        stamp = sub.path.parent / "timestamp.txt"
        planned.append(
            _job(
                cfg, prepared, base, sub.lab, sub.student, notebook, key, course_config,
                gpu=gpus[len(planned) % len(gpus)] if gpus else "",
                timestamp=stamp.read_text().strip() if stamp.is_file() else None,
            )
        )  # fmt: skip
    return planned


def _release(prepared: Prepared, lab: str) -> bytes:
    return (prepared.kits[lab] / "release" / lab / f"{lab}.ipynb").read_bytes()


def _context(prepared: Prepared, base: Settings, opts: GradeOptions, lab: str, course_config: bytes) -> str:
    """Return the settings part of the ledger key: a change regrades (training reuse on or off included)."""
    reuse_flag = f"\ntrain_reuse={opts.train_reuse}"
    return (
        _settings_text(base)
        + f"\n{prepared.duedates[lab]}\n"
        + course_config.decode(errors="replace")
        + reuse_flag
    )


def _job(
    cfg: CourseConfig,
    prepared: Prepared,
    base: Settings,
    lab: str,
    student: str,
    notebook: bytes,
    key: str,
    course_config: bytes,
    *,
    gpu: str,
    timestamp: str | None = None,
    record: str = "",
) -> Job:
    files = prepared.files[lab]
    return Job(
        student=student,
        lab=lab,
        key=key,
        course_id=cfg.course_id,
        notebook=notebook,
        timestamp=timestamp,
        kit_gradebook=files.gradebook,
        kit_files=files.kit,
        work_root=str(prepared.work_root),
        settings=Settings(**{**asdict(base), "limits": base.limits, "gpu": gpu}),
        course_config=course_config,
        duedate=prepared.duedates[lab],
        data_files=prepared.data_files,
        train_record=record,
        probe_files=files.probe,
        requirements=files.requirements,
    )


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
    stores: dict[str, train_reuse.Store]
    references: list[Job]


def reference_jobs(
    cfg: CourseConfig, prepared: Prepared, opts: GradeOptions, jobs: int, labs: set[str]
) -> Recording:
    """Return the labs' stores already recorded for this run's settings and the reference jobs still needed.

    Only labs whose source defines given model classes take part. A reference job is graded like a
    submission (same settings, same sandbox) and records the given models' trained states.
    """
    base = _settings(cfg, opts, jobs)
    setting = train_reuse.setting_key(base, prepared.data_files)
    recording = Recording(setting, {}, [])
    gpus = [] if opts.scheduler else gpu_list()
    course_config = (cfg.root / COURSE_MARKER).read_bytes()
    for lab in sorted(labs):
        kit = prepared.kits[lab]
        source = read_notebook(kit / "source" / lab / f"{lab}.ipynb")
        classes = train_reuse.given_classes(source)
        store = train_reuse.load(kit, setting) if classes else None
        if store is not None:
            recording.stores[lab] = store
        elif classes:
            release = read_notebook(kit / "release" / lab / f"{lab}.ipynb")
            notebook = json.dumps(train_reuse.reference_submission(source, release)).encode()
            key = job_key(notebook, _release(prepared, lab), setting)
            recording.references.append(
                _job(cfg, prepared, base, lab, REFERENCE_STUDENT, notebook, key, course_config,
                     gpu=gpus[0] if gpus else "", record=",".join(classes))
            )  # fmt: skip
    return recording


def _with_stores(jobs: list[Job], stores: dict[str, train_reuse.Store], cache: BlobCache) -> list[Job]:
    """Return ``jobs``, those of a lab with a training store reading it (its files put in the host cache)."""
    files = {lab: {n: cache.add_bytes(data) for n, data in st.files.items()} for lab, st in stores.items()}
    return [
        replace(job, train_store=files[job.lab], train_manifest=stores[job.lab].manifest_digest)
        if job.lab in stores
        else job
        for job in jobs
    ]


class _Schedule:
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
        store = train_reuse.save(self.prepared.kits[result.lab], self.recording.setting, result)
        self.recording.stores[result.lab] = store
        if not self.quiet or store.reference["failed"]:
            print(train_reuse.describe(result.lab, store), file=sys.stderr)
        cache = self.prepared.cache
        return _with_stores(self.without_reference(result.lab), {result.lab: store}, cache)

    def without_reference(self, lab: str) -> list[Job]:
        """Return (and stop holding) the jobs that wait for ``lab``'s reference run."""
        released = [job for job in self.waiting if job.lab == lab]
        self.waiting = [job for job in self.waiting if job.lab != lab]
        return released


def _entry(result: Result) -> dict:
    """Return the ledger entry of one result.

    ``score`` / ``auto_max_score`` count the autograded tests (code grade cells) only, whatever happened
    to them, so every submission of a lab has the same maximum; ``manual_max_score`` is what is left to
    grade by hand (written answers); ``max_score`` is the lab total.
    """
    grades = result.grades.values()
    tests = [g for g in grades if g.is_test]
    return {
        "key": result.key,
        "score": sum(g.auto_score or 0.0 for g in tests),
        "max_score": sum(g.max_score for g in grades),
        "auto_max_score": sum(g.max_score for g in tests),
        "manual_max_score": sum(g.max_score for g in grades if not g.is_test),
        "tests": {name: [g.auto_score, g.max_score] for name, g in result.grades.items()},
        "notes": result.notes,
        "late_penalty": result.late_penalty,
        "seconds": round(result.seconds, 2),
        "executed": result.notebook is not None,
        "worker": result.worker,
    }


def _say_recording(recording: Recording, quiet: bool) -> None:
    for lab, store in sorted(recording.stores.items()):
        if not quiet or store.reference["failed"]:
            print(train_reuse.describe(lab, store) + " (recorded earlier)", file=sys.stderr)
    if recording.references and not quiet:
        labs = ", ".join(job.lab for job in recording.references)
        print(f"recording the reference solution's training for reuse: {labs}", file=sys.stderr)


def _raise_interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def _runner(opts: GradeOptions, prepared: Prepared, workers: int):
    if opts.scheduler:
        from autograder.execute.cluster import DaskRunner

        return DaskRunner(opts.scheduler, prepared.cache, gpu=opts.gpu)
    return LocalRunner(workers, prepared.cache)


def _warn_unconfined() -> None:
    if not bwrap_available():
        print(
            "course-grade: warning: kernels run without file-system or network confinement (the network "
            f"is open to submissions); {INSTALL_HINT}",
            file=sys.stderr,
        )


def grade(cfg: CourseConfig, labs: list[str] | None = None, opts: GradeOptions | None = None) -> list[dict]:
    """Grade what changed (everything with ``opts.force``) and return the ledger entries produced.

    Raises
    ------
    CourseError
        When a lab has no source notebook.
    UngradedError
        After merging every other result, when some submissions failed on the machine's side every time.
    """
    opts = opts or GradeOptions()
    labs = labs or list(cfg.labs_with_source)
    _warn_unconfined()
    for lab in labs:
        if not cfg.source_notebook(cfg.check_lab(lab)).is_file():
            raise CourseError(f"{cfg.source_notebook(lab)}: missing; cannot build the grading kit of {lab}")
    workers = opts.jobs or os.cpu_count() or 1
    ledger = Ledger(cfg.state_dir / "ledger.json")
    prepared = prepare(cfg, labs)
    jobs = plan_jobs(cfg, prepared, ledger, opts, workers)
    if not jobs:
        return []
    recording = Recording("", {}, [])
    if opts.train_reuse:
        recording = reference_jobs(cfg, prepared, opts, workers, {job.lab for job in jobs})
        jobs = _with_stores(jobs, recording.stores, prepared.cache)
        _say_recording(recording, opts.quiet)
    schedule = _Schedule(prepared, recording, jobs, workers, opts.quiet)
    runner = _runner(opts, prepared, min(workers, len(jobs) + len(recording.references)))
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    done: list[dict] = []
    ungraded: list[Ungraded] = []
    bar = progress(len(jobs), "grading", opts.quiet)
    try:
        for job in schedule.first:
            runner.submit(job)
        _collect(cfg, runner, schedule, ledger, done, ungraded, bar)
    finally:
        if not opts.quiet:
            print(runner.summary(), file=sys.stderr)
        runner.close()
        bar.close()
        signal.signal(signal.SIGTERM, previous)
        if len(done) < len(jobs):
            for job in [*jobs, *recording.references]:
                kill_job_processes(job_token(job))
    if ungraded:
        raise UngradedError(done, ungraded)
    return done


def _collect(cfg, runner, schedule: _Schedule, ledger: Ledger, done: list, ungraded: list, bar) -> None:
    """Merge each result as it comes, retry what the machine failed, record each submission once."""
    retries, merged = Retries(), set()
    for attempt in runner.attempts():
        job, result = attempt.job, attempt.result
        if result is None:
            gave_up = retries.failed(attempt)
            if gave_up is None:
                runner.submit(job, retries.avoid(job))
            elif job.key in schedule.reference_keys:
                why = gave_up.causes[-1]
                print(f"{job.lab}: the reference run failed ({why}); grading without reuse", file=sys.stderr)
                for waiting in schedule.without_reference(job.lab):
                    runner.submit(waiting)
            else:
                ungraded.append(gave_up)
                print(f"course-grade: {gave_up.line()}", file=sys.stderr)
                bar.update(1)
            continue
        for released in schedule.after(result):
            runner.submit(released)
        if result.key in schedule.reference_keys or (result.lab, result.student) in merged:
            continue  # the reference run (its store is kept) or a duplicate of a result already merged
        merged.add((result.lab, result.student))
        merge_result(cfg, result)
        entry = {"student": result.student, "lab": result.lab, "graded_at": time.time(), **_entry(result)}
        ledger.record(result.lab, result.student, entry)
        done.append(entry)
        bar.update(1)


__all__ = [
    "Prepared",
    "Recording",
    "Submission",
    "UngradedError",
    "data_source",
    "find_submissions",
    "grade",
    "plan_jobs",
    "prepare",
    "reference_jobs",
]
