"""Plan the jobs of a grading run: one per submission whose inputs changed since it was last graded."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, replace

from autograder.config import CourseConfig
from autograder.execute.gpus import gpu_list
from autograder.options import PASS_THROUGH_ENV, GradeOptions
from autograder.plan.inputs import Prepared
from autograder.plan.ledger import Ledger, job_key
from autograder.plan.submissions import find_submissions
from autograder.records import Job, Limits, Settings, Training
from labkit.paths import COURSE_MARKER


def base_settings(cfg: CourseConfig, opts: GradeOptions, jobs: int) -> Settings:
    """Return the settings every job of this run shares (each job then gets its own GPU)."""
    env = {name: os.environ[name] for name in PASS_THROUGH_ENV if name in os.environ}
    env.update(opts.extra_env)
    return Settings(
        timeouts=cfg.timeouts.replaced(cell=opts.cell_timeout, notebook=opts.notebook_timeout),
        limits=Limits(opts.memory_mb, opts.fsize_mb, opts.nproc),
        threads=max(1, (os.cpu_count() or 1) // jobs),
        gpu="",
        extra_env=env,
        keep=opts.keep,
        course_root=str(cfg.root),
        wants_gpu=opts.gpu,
    )


def settings_text(settings: Settings) -> str:
    """Return the settings that change a grade, as text for the ledger key (not where or how fast)."""
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
    base = base_settings(cfg, opts, jobs)
    gpus, planned = [] if opts.scheduler else gpu_list(), []
    course_config = (cfg.root / COURSE_MARKER).read_bytes()
    for sub in find_submissions(cfg, list(prepared.kits)):
        notebook = sub.path.read_bytes()
        key = job_key(
            notebook,
            release_bytes(cfg, prepared, sub.lab),
            _context(prepared, base, opts, sub.lab, course_config),
        )
        if not opts.force and ledger.is_done(sub.lab, sub.student, key):
            continue
        stamp = sub.path.parent / "timestamp.txt"
        planned.append(
            make_job(
                cfg, prepared, base, sub.lab, sub.student, notebook, key, course_config,
                gpu=gpus[len(planned) % len(gpus)] if gpus else "",
                timestamp=stamp.read_text().strip() if stamp.is_file() else None,
            )
        )  # fmt: skip
    return planned


def release_bytes(cfg: CourseConfig, prepared: Prepared, lab: str) -> bytes:
    """Return the lab's release notebook from its grading kit (part of every job key)."""
    return cfg.folders.notebook(prepared.kits[lab], "release", lab).read_bytes()


def _context(prepared: Prepared, base: Settings, opts: GradeOptions, lab: str, course_config: bytes) -> str:
    """Return the settings part of the ledger key: a change regrades (training reuse on or off included)."""
    reuse_flag = f"\ntrain_reuse={opts.train_reuse}"
    return (
        settings_text(base)
        + f"\n{prepared.duedates[lab]}\n"
        + course_config.decode(errors="replace")
        + reuse_flag
    )


def make_job(
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
    """Return the job grading ``notebook`` of ``student`` (``record``: classes a reference run records)."""
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
        settings=replace(base, gpu=gpu),
        folders=cfg.folders,
        course_config=course_config,
        duedate=prepared.duedates[lab],
        data_files=prepared.data_files,
        training=Training(record=record),
        probe_files=files.probe,
        requirements=files.requirements,
    )
