"""Run grading jobs on local worker processes, retry what the machine failed, and report what stays ungraded.

A runner (`LocalRunner` here, `autograder.execute.cluster.DaskRunner` for a Dask cluster) takes jobs and
yields one `Attempt` per try: a `Result`, or the cause of an infrastructure failure (`InfrastructureError`
from the worker, a worker process that died, any exception outside the graded kernel). `Retries` decides: an
attempt that failed is tried again, on another worker where the cluster has one, up to `MAX_ATTEMPTS`; after
that the submission is left ungraded with every cause, never given a grade.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
from collections.abc import Iterator
from dataclasses import dataclass, field

from autograder.execute.blobs import BlobCache
from autograder.execute.processes import job_token, kill_job_processes
from autograder.execute.worker import run_job
from autograder.records import Job, Result

#: Tries per submission before it is left ungraded (the first run and two retries).
MAX_ATTEMPTS = 3


@dataclass(frozen=True)
class Attempt:
    """One try of one job: its result, or why the machine failed it (and on which worker)."""

    job: Job
    result: Result | None
    cause: str = ""
    worker: str = ""


@dataclass(frozen=True)
class Ungraded:
    """A submission left ungraded after `MAX_ATTEMPTS` infrastructure failures (no grade was recorded)."""

    lab: str
    student: str
    causes: tuple[str, ...]

    def line(self) -> str:
        """Return the report line: who, how often it failed, the last cause."""
        return (
            f"{self.lab}/{self.student}: NOT GRADED after {len(self.causes)} infrastructure failure(s); "
            f"last: {self.causes[-1]}"
        )


@dataclass
class Retries:
    """The failures so far of each submission and the workers they happened on.

    Counted by lab and student, not by job key: two students' identical notebooks have the same key.
    """

    causes: dict[str, list[str]] = field(default_factory=dict)
    workers: dict[str, set[str]] = field(default_factory=dict)

    def failed(self, attempt: Attempt) -> Ungraded | None:
        """Count a failed attempt; return the `Ungraded` record once the job has no try left, else None."""
        key = _who(attempt.job)
        named = not attempt.worker or attempt.worker in attempt.cause
        where = "" if named else f" (worker {attempt.worker})"
        self.causes.setdefault(key, []).append(f"{attempt.cause}{where}")
        if attempt.worker:
            self.workers.setdefault(key, set()).add(attempt.worker)
        if len(self.causes[key]) < MAX_ATTEMPTS:
            return None
        return Ungraded(attempt.job.lab, attempt.job.student, tuple(self.causes[key]))

    def avoid(self, job: Job) -> frozenset[str]:
        """Return the workers this job already failed on."""
        return frozenset(self.workers.get(_who(job), ()))


def _who(job: Job) -> str:
    return f"{job.lab}/{job.student}"


def describe(exc: BaseException) -> str:
    """Return one line naming an exception (its type and first line)."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:300]}" if text else type(exc).__name__


class LocalRunner:
    """Jobs on local worker processes (``spawn``); a pool whose process died is replaced.

    Parameters
    ----------
    workers
        The number of processes.
    cache
        The grading host's file cache every job reads (:mod:`autograder.execute.blobs`).
    """

    def __init__(self, workers: int, cache: BlobCache) -> None:
        self.workers, self.cache = workers, cache
        self._pool = self._new_pool()
        self._pending: dict[cf.Future, Job] = {}

    def _new_pool(self) -> cf.ProcessPoolExecutor:
        context = multiprocessing.get_context("spawn")
        return cf.ProcessPoolExecutor(max_workers=self.workers, mp_context=context)

    def submit(self, job: Job, avoid: frozenset[str] = frozenset()) -> None:
        """Start ``job`` (``avoid`` is ignored: local processes are alike)."""
        try:
            future = self._pool.submit(run_job, job, self.cache)
        except cf.process.BrokenProcessPool:
            self._replace_pool()
            future = self._pool.submit(run_job, job, self.cache)
        self._pending[future] = job

    def _replace_pool(self) -> None:
        self._stop_pool()
        self._pool = self._new_pool()

    def attempts(self) -> Iterator[Attempt]:
        """Yield each try as it finishes, until nothing is pending (jobs submitted meanwhile included)."""
        while self._pending:
            done, _ = cf.wait(list(self._pending), return_when=cf.FIRST_COMPLETED)
            for future in done:
                job = self._pending.pop(future)
                exc = future.exception()
                if exc is None:
                    yield Attempt(job, future.result())
                else:
                    if isinstance(exc, cf.process.BrokenProcessPool):
                        exc = RuntimeError("a local worker process died (killed, or out of memory)")
                    kill_job_processes(job_token(job))  # what the lost attempt left running
                    yield Attempt(job, None, describe(exc))

    def _stop_pool(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        for process in multiprocessing.active_children():  # the pool's workers: stop running jobs now
            process.kill()

    def summary(self) -> str:
        """Return one line on the workers."""
        return f"{self.workers} local worker process(es)"

    def close(self) -> None:
        """Stop every worker process now."""
        self._stop_pool()


__all__ = ["MAX_ATTEMPTS", "Attempt", "LocalRunner", "Retries", "Ungraded", "describe"]
