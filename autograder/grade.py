"""Grade every submission: isolated workers (local processes or Dask), merged one at a time, resumable."""

from __future__ import annotations

import concurrent.futures as cf
import json
import multiprocessing
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from autograder import CourseError
from autograder import reuse as train_reuse
from autograder.build import kit_dir
from autograder.cells import read_notebook
from autograder.config import CourseConfig
from autograder.confine import INSTALL_HINT, bwrap_available
from autograder.jobs import Job, Result, Settings
from autograder.ledger import Ledger, job_key
from autograder.merge import ensure_assignment, merge_result
from autograder.options import PASS_THROUGH_ENV, GradeOptions
from autograder.processes import job_token, kill_job_processes
from autograder.progress import progress
from autograder.sandbox import Limits
from autograder.worker import run_job
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


def gpu_list() -> list[str]:
    """Return the GPU ids workers may use: ``$CUDA_VISIBLE_DEVICES``, else ``nvidia-smi -L``, else none."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        return [g for g in visible.split(",") if g.strip()]
    if shutil.which("nvidia-smi") is None:
        return []
    proc = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, check=False)
    return [str(i) for i, line in enumerate(proc.stdout.splitlines()) if line.startswith("GPU ")]


def copy_data(cfg: CourseConfig, work_root: Path) -> Path:
    """Copy the course's data files into a read-only folder under the work root and return it.

    The data is the course's ``data/`` folder, else ``$LABKIT_DATA_DIR`` (as ``labkit.paths`` finds it).
    """
    target = work_root / "data"
    target.mkdir(parents=True, exist_ok=True)
    os.chmod(target, 0o755)
    source = cfg.root / "data"
    if not source.is_dir() and os.environ.get(DATA_ENV):  # a course whose data lives elsewhere (labkit.paths)
        source = Path(os.environ[DATA_ENV])
    for path in sorted(source.iterdir()) if source.is_dir() else []:
        copy = target / path.name
        if path.is_file() and not (
            copy.is_file()
            and copy.stat().st_size == path.stat().st_size
            and copy.stat().st_mtime >= path.stat().st_mtime
        ):
            copy.unlink(missing_ok=True)
            shutil.copy2(path, copy)
            os.chmod(copy, 0o444)
    os.chmod(target, 0o555)
    return target


@dataclass(frozen=True)
class Prepared:
    """What `prepare` made ready for grading some labs; `plan_jobs` only reads it.

    Attributes
    ----------
    work_root
        The root of the worker directories (outside the course).
    data_dir
        The read-only copy of the course's data that kernels see.
    kits
        Each lab's grading kit (see `autograder.build.kit_dir`).
    duedates
        Each lab's due date in the course gradebook (ISO, or None).
    probe_files
        Each lab's probe inputs by file name (empty for a lab without any; `autograder.evaluation`).
    """

    work_root: Path
    data_dir: Path
    kits: dict[str, Path]
    duedates: dict[str, str | None]
    probe_files: dict[str, dict[str, bytes]]


def prepare(cfg: CourseConfig, labs: list[str]) -> Prepared:
    """Write what grading ``labs`` needs before any job is planned.

    That is: the work root (mode 711), a read-only copy of the data, each lab's grading kit (regenerated when
    its source or the course configuration changed) and the lab's notebooks and cells in the course
    gradebook.
    """
    work_root = cfg.work_root
    work_root.mkdir(parents=True, exist_ok=True)
    os.chmod(work_root, 0o711)
    data_dir = copy_data(cfg, work_root)
    kits = {lab: kit_dir(cfg, lab) for lab in labs}
    duedates = {lab: ensure_assignment(cfg, lab, kits[lab]) for lab in labs}
    return Prepared(
        work_root, data_dir, kits, duedates, {lab: _probe_files(cfg, lab, data_dir) for lab in labs}
    )


def _probe_files(cfg: CourseConfig, lab: str, data_dir: Path) -> dict[str, bytes]:
    """Return the lab's probe inputs (built in the course's ``.grading/evaluation`` when missing)."""
    held_out = dict(cfg.evaluation_files)
    if lab not in held_out:
        return {}
    from autograder.evaluation import ensure_inputs, input_files

    previous = os.environ.get(DATA_ENV)
    os.environ[DATA_ENV] = str(data_dir)
    try:
        return input_files(ensure_inputs(cfg.root, lab, held_out[lab]), lab)
    except (ValueError, OSError) as exc:
        raise CourseError(f"{lab}: cannot prepare the hidden checks' evaluation signals: {exc}") from exc
    finally:
        if previous is None:
            os.environ.pop(DATA_ENV, None)
        else:
            os.environ[DATA_ENV] = previous


def _settings(cfg: CourseConfig, opts: GradeOptions, jobs: int, data_dir: Path) -> Settings:
    env = {name: os.environ[name] for name in PASS_THROUGH_ENV if name in os.environ}
    env.update(opts.extra_env)
    return Settings(
        cell_timeout=opts.cell_timeout or cfg.cell_timeout,
        startup_timeout=cfg.startup_timeout,
        notebook_timeout=opts.notebook_timeout,
        limits=Limits(opts.memory_mb, opts.fsize_mb, opts.nproc),
        threads=max(1, (os.cpu_count() or 1) // jobs),
        gpu="",
        data_dir=str(data_dir),
        extra_env=env,
        keep=opts.keep,
        course_root=str(cfg.root),
    )


def _settings_text(settings: Settings) -> str:
    relevant = asdict(settings)
    for name in ("threads", "gpu", "data_dir", "keep", "course_root"):
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
    base = _settings(cfg, opts, jobs, prepared.data_dir)
    gpus, planned = gpu_list(), []
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
    kit = prepared.kits[lab]
    return Job(
        student=student,
        lab=lab,
        key=key,
        course_id=cfg.course_id,
        notebook=notebook,
        timestamp=timestamp,
        kit_gradebook=(kit / "gradebook.db").read_bytes(),
        kit_files={
            str(p.relative_to(kit / "source" / lab)): p.read_bytes()
            for p in (kit / "source" / lab).rglob("*")
            if p.is_file() and p.suffix not in (".ipynb", ".py")
        },
        work_root=str(prepared.work_root),
        settings=Settings(**{**asdict(base), "limits": base.limits, "gpu": gpu}),
        course_config=course_config,
        duedate=prepared.duedates[lab],
        train_record=record,
        probe_files=prepared.probe_files[lab],
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
    base = _settings(cfg, opts, jobs, prepared.data_dir)
    setting = train_reuse.setting_key(base, prepared.data_dir)
    recording = Recording(setting, {}, [])
    gpus, course_config = gpu_list(), (cfg.root / COURSE_MARKER).read_bytes()
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


def _with_store(job: Job, store: train_reuse.Store) -> Job:
    return replace(job, train_store=dict(store.files), train_manifest=store.manifest_digest)


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
        released = [_with_store(job, store) for job in self.waiting if job.lab == result.lab]
        self.waiting = [job for job in self.waiting if job.lab != result.lab]
        return released


def _local(jobs: list[Job], workers: int, more=lambda result: []) -> Iterator[Result]:
    """Run ``jobs`` in local processes; submit what ``more(result)`` returns as each result arrives."""
    context = multiprocessing.get_context("spawn")
    with cf.ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        pending = {pool.submit(run_job, job) for job in jobs}
        try:
            while pending:
                finished, pending = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
                for future in finished:
                    result = future.result()
                    pending |= {pool.submit(run_job, job) for job in more(result)}
                    yield result
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
            for process in list((pool._processes or {}).values()):  # noqa: SLF001 (stop running workers now)
                process.kill()


def _dask(jobs: list[Job], address: str, more=lambda result: []) -> Iterator[Result]:
    """Run ``jobs`` on a Dask cluster; submit what ``more(result)`` returns as each result arrives."""
    from distributed import Client, as_completed

    with Client(address, timeout="30s") as client:
        futures = [client.submit(run_job, job, pure=False) for job in jobs]
        queue = as_completed(futures)
        try:
            for future in queue:
                result = future.result()
                for job in more(result):
                    futures.append(client.submit(run_job, job, pure=False))
                    queue.add(futures[-1])
                yield result
        finally:
            client.cancel(futures)


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


def grade(cfg: CourseConfig, labs: list[str] | None = None, opts: GradeOptions | None = None) -> list[dict]:
    """Grade what changed (everything with ``opts.force``) and return the ledger entries produced.

    Raises
    ------
    CourseError
        When a lab has no source notebook.
    """
    opts = opts or GradeOptions()
    labs = labs or list(cfg.labs_with_source)
    if not bwrap_available():
        print(
            "course-grade: warning: kernels run without file-system or network confinement (the network "
            f"is open to submissions); {INSTALL_HINT}",
            file=sys.stderr,
        )
    for lab in labs:
        if not cfg.source_notebook(cfg.check_lab(lab)).is_file():
            raise CourseError(f"{cfg.source_notebook(lab)}: missing; cannot build the grading kit of {lab}")
    workers = opts.jobs or os.cpu_count() or 1
    ledger = Ledger(cfg.state_dir / "ledger.json")
    prepared = prepare(cfg, labs)
    jobs = plan_jobs(cfg, prepared, ledger, opts, workers)
    done: list[dict] = []
    if not jobs:
        return done
    recording = Recording("", {}, [])
    if opts.train_reuse:
        recording = reference_jobs(cfg, prepared, opts, workers, {job.lab for job in jobs})
        jobs = [_with_store(j, recording.stores[j.lab]) if j.lab in recording.stores else j for j in jobs]
        _say_recording(recording, opts.quiet)
    schedule = _Schedule(prepared, recording, jobs, workers, opts.quiet)
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    results = (
        _dask(schedule.first, opts.scheduler, schedule.after)
        if opts.scheduler
        else _local(schedule.first, min(workers, len(jobs) + len(recording.references)), schedule.after)
    )
    bar = progress(len(jobs), "grading", opts.quiet)
    try:
        for result in results:
            if result.key in schedule.reference_keys:
                continue  # the reference run: its store is kept, it is no submission
            merge_result(cfg, result)
            entry = {"student": result.student, "lab": result.lab, "graded_at": time.time(), **_entry(result)}
            ledger.record(result.lab, result.student, entry)
            done.append(entry)
            bar.update(1)
    finally:
        results.close()
        bar.close()
        signal.signal(signal.SIGTERM, previous)
        if len(done) < len(jobs):
            for job in [*jobs, *recording.references]:
                kill_job_processes(job_token(job))
    return done


__all__ = [
    "Prepared",
    "Recording",
    "Submission",
    "find_submissions",
    "grade",
    "plan_jobs",
    "prepare",
    "reference_jobs",
]
