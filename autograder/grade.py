"""Grade every submission: isolated workers (local processes or Dask), merged one at a time, resumable.

A submission is graded or left ungraded, never given a grade by a machine's failure: an attempt that fails
outside the graded kernel is retried (:mod:`autograder.execute.dispatch`), and what still fails is reported
with its causes by `UngradedError` after every other result was merged.
"""

from __future__ import annotations

import os
import signal
import sys

from autograder import CourseError
from autograder.config import CourseConfig
from autograder.execute.dispatch import LocalRunner, Retries, Ungraded
from autograder.execute.processes import job_token, kill_job_processes
from autograder.kernel.confine import INSTALL_HINT, bwrap_available
from autograder.merge import merge_result
from autograder.options import GradeOptions
from autograder.plan.inputs import Prepared, prepare
from autograder.plan.jobs import plan_jobs
from autograder.plan.ledger import Ledger, LedgerEntry
from autograder.progress import progress
from autograder.reuse.reference import Recording, Schedule, announce, reference_jobs, with_stores


class UngradedError(CourseError):
    """Some submissions could not be graded (the machine failed, after retries); nothing was recorded.

    Raised by `grade` once every other result is merged: ``entries`` are those merged, ``ungraded`` the rest.
    """

    def __init__(self, entries: list[LedgerEntry], ungraded: list[Ungraded]) -> None:
        lines = "\n".join(u.line() for u in ungraded)
        super().__init__(
            f"{len(ungraded)} submission(s) NOT graded (infrastructure failures, no grade recorded); run "
            f"`course-grade grade` again once fixed to grade only these:\n{lines}"
        )
        self.entries, self.ungraded = entries, ungraded


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


def grade(
    cfg: CourseConfig, labs: list[str] | None = None, opts: GradeOptions | None = None
) -> list[LedgerEntry]:
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
    ledger = Ledger(cfg.ledger_path)
    prepared = prepare(cfg, labs)
    jobs = plan_jobs(cfg, prepared, ledger, opts, workers)
    if not jobs:
        return []
    recording = Recording("", {}, [])
    if opts.train_reuse:
        recording = reference_jobs(cfg, prepared, opts, workers, {job.lab for job in jobs})
        jobs = with_stores(jobs, recording.stores, prepared.cache)
        announce(recording, opts.quiet)
    schedule = Schedule(prepared, recording, jobs, workers, opts.quiet)
    runner = _runner(opts, prepared, min(workers, len(jobs) + len(recording.references)))
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    done: list[LedgerEntry] = []
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


def _collect(cfg, runner, schedule: Schedule, ledger: Ledger, done: list, ungraded: list, bar) -> None:
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
        entry = LedgerEntry.of(result)
        ledger.record(entry)
        done.append(entry)
        bar.update(1)


__all__ = ["UngradedError", "grade"]
