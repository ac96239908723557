"""Grade on a Dask cluster whose workers share nothing with the grading host but the Python environment.

Host side (`DaskRunner`): before the first job it asks every worker which files its cache holds
(:mod:`autograder.execute.blobs`); each file some worker lacks is scattered into the cluster once and
published under a name holding its digest (removed when the run ends). Jobs carry digests and the names of
those scattered files. A job that wants a GPU asks for a worker started with ``--resources GPU=1`` (one such
job per GPU at a time).

Worker side (`run_remote`): the job's files come from the worker's own cache, and the digests it lacks
are fetched through Dask from wherever the scattered copy is, verified and kept for every later job and run.
The worker folders live under the worker's own temporary folder, and a GPU job gets one of the worker's
GPUs to itself. Every failure outside the graded kernel comes back as an `InfrastructureError` naming
the worker, so the host retries it elsewhere (:mod:`autograder.execute.dispatch`).
"""

from __future__ import annotations

import contextlib
import tempfile
import threading
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import replace
from pathlib import Path

from autograder import CourseError
from autograder.execute.blobs import BlobCache, MissingBlobsError, default_root
from autograder.execute.dispatch import Attempt, describe
from autograder.execute.gpus import gpu_list
from autograder.execute.worker import run_job
from autograder.records import InfrastructureError, Job, Result

#: Seconds a worker waits for a scattered file to become available before giving up (the host resends).
FETCH_TIMEOUT = 120
#: Seconds the host waits for the scheduler to answer, and then for a first worker.
CONNECT_TIMEOUT = 30
_gpu_lock = threading.Lock()
_gpus_busy: set[str] = set()


def cached_digests() -> list[str]:
    """Return the digests in this worker's cache (run on every worker by the host)."""
    return sorted(BlobCache(default_root()).listing())


def _fetch_through_dask(keys: Mapping[str, str]):
    """Return a fetch function that gathers scattered files by key from the cluster."""

    def fetch(digests: list[str]) -> dict[str, bytes]:
        from distributed import get_client, wait

        client = get_client()
        wanted = [d for d in digests if d in keys]
        futures = [client.get_dataset(keys[d]) for d in wanted]  # published by the host (DaskRunner.send)
        wait(futures, timeout=FETCH_TIMEOUT)
        return dict(zip(wanted, client.gather(futures), strict=True))

    return fetch


@contextlib.contextmanager
def gpu_slot() -> Iterator[str]:
    """Hold one of this worker's GPUs (``CUDA_VISIBLE_DEVICES``, else ``nvidia-smi -L``) for one job.

    Raises
    ------
    InfrastructureError
        When the worker sees no GPU, or all are held (more ``GPU`` resource than devices).
    """
    devices = gpu_list()
    with _gpu_lock:
        free = [d for d in devices if d not in _gpus_busy]
        if not free:
            why = "sees no GPU" if not devices else f"has all its GPUs ({', '.join(devices)}) busy"
            raise InfrastructureError(
                f"this worker was given a GPU job but {why}; start one worker per GPU with "
                "`dask worker ADDRESS --resources GPU=1 --nthreads 1`"
            )
        _gpus_busy.add(free[0])
    try:
        yield free[0]
    finally:
        with _gpu_lock:
            _gpus_busy.discard(free[0])


def _worker_address() -> str:
    try:
        from distributed import get_worker

        return get_worker().address
    except (ImportError, ValueError):
        return ""


def run_remote(job: Job, keys: Mapping[str, str]) -> Result:
    """Grade ``job`` on this Dask worker: its own cache, folders and GPU; failures name the worker.

    Parameters
    ----------
    job
        The job (its ``work_root`` is the host's and is replaced by this worker's own).
    keys
        The Dask keys of the scattered files, by digest (those some worker lacked).
    """
    address = _worker_address()
    work_root = Path(tempfile.gettempdir()) / "course-grade-worker"
    job = replace(job, work_root=str(work_root))
    try:
        cache, fetch = BlobCache(default_root()), _fetch_through_dask(keys)
        if job.settings.wants_gpu:
            with gpu_slot() as gpu:
                result = run_job(replace(job, settings=replace(job.settings, gpu=gpu)), cache, fetch)
        else:
            result = run_job(job, cache, fetch)
    except MissingBlobsError as exc:
        raise MissingBlobsError(str(exc), exc.digests, address) from None
    except InfrastructureError as exc:
        raise InfrastructureError(str(exc), address) from None
    except Exception as exc:  # noqa: BLE001 (anything outside the graded kernel is the machine's)
        raise InfrastructureError(describe(exc), address) from None
    result.worker = address
    return result


class DaskRunner:
    """Jobs on a Dask cluster (see the module's docstring).

    Parameters
    ----------
    address
        The scheduler's address.
    cache
        The grading host's file cache: the source of every file sent to workers.
    """

    def __init__(self, address: str, cache: BlobCache, gpu: bool = False) -> None:
        from distributed import Client, as_completed

        self.cache = cache
        self.client = _connect(Client, address)
        _require_workers(self.client, address, gpu)
        self._queue = as_completed()
        self._pending: dict[str, tuple[Job, object]] = {}  # future key -> the job and its future
        self._scattered: dict[str, object] = {}  # digest -> Future of its scattered bytes
        self._published: list[str] = []
        self.sent_files, self.sent_bytes = 0, 0
        self._cached_everywhere: set[str] | None = None

    def _known_to_all_workers(self) -> set[str]:
        if self._cached_everywhere is None:
            listings = self.client.run(cached_digests)
            sets = [set(found) for found in listings.values()]
            self._cached_everywhere = set.intersection(*sets) if sets else set()
        return self._cached_everywhere

    def send(self, digests: set[str], again: bool = False) -> None:
        """Scatter the files some worker lacks (``again``: these ones anew, their copy was lost)."""
        if again:
            self._cached_everywhere = set()
            for digest in digests:
                self._scattered.pop(digest, None)
        present = self._known_to_all_workers()
        todo = sorted(d for d in digests if d not in self._scattered and d not in present)
        for digest in todo:
            path = self.cache.path(digest)
            if path is None:
                raise InfrastructureError(f"the grading host's cache lost file {digest[:12]}; grade again")
            key = f"course-grade-file-{digest}-{uuid.uuid4().hex[:8]}"
            data = path.read_bytes()
            future = self.client.scatter({key: data}, hash=False)[key]
            self.sent_files, self.sent_bytes = self.sent_files + 1, self.sent_bytes + len(data)
            self.client.publish_dataset(**{key: future})  # a worker's client finds it by name
            self._published.append(key)
            self._scattered[digest] = future

    def submit(self, job: Job, avoid: frozenset[str] = frozenset()) -> None:
        """Start ``job`` on the cluster, preferring workers it has not failed on."""
        self.send(job.digests())
        keys = {d: self._scattered[d].key for d in job.digests() if d in self._scattered}
        workers = sorted(set(self.client.scheduler_info()["workers"]) - avoid) if avoid else None
        future = self.client.submit(
            run_remote,
            job,
            keys,
            pure=False,
            key=f"grade-{job.lab}-{job.student}-{uuid.uuid4().hex[:8]}",
            workers=workers or None,
            allow_other_workers=bool(workers),
            resources={"GPU": 1} if job.settings.wants_gpu else None,
        )
        self._pending[future.key] = (job, future)
        self._queue.add(future)

    def attempts(self) -> Iterator[Attempt]:
        """Yield each try as it finishes (jobs submitted meanwhile included)."""
        for future in self._queue:
            job, _ = self._pending.pop(future.key)
            try:
                result = future.result()
            except MissingBlobsError as exc:
                self.send(set(exc.digests), again=True)
                yield Attempt(job, None, describe(exc), exc.worker)
            except Exception as exc:  # noqa: BLE001 (a worker's error, a lost worker: never a grade)
                yield Attempt(job, None, describe(exc), getattr(exc, "worker", ""))
            else:
                yield Attempt(job, result, worker=result.worker)
            if not self._pending:
                return

    def summary(self) -> str:
        """Return one line: how many workers, the files sent into the cluster and their size."""
        try:
            workers = str(len(self.client.scheduler_info()["workers"]))
        except Exception:  # noqa: BLE001 (a report line: the scheduler may be gone)
            workers = "?"
        return (
            f"Dask cluster: {workers} worker(s); {self.sent_files} file(s) sent "
            f"({self.sent_bytes / 1e6:.1f} MB, once each; workers fetch what their cache lacks)"
        )

    def close(self) -> None:
        """Cancel what is still running and disconnect."""
        with contextlib.suppress(Exception):
            self.client.cancel([future for _, future in self._pending.values()])
        for name in self._published:
            with contextlib.suppress(Exception):
                self.client.unpublish_dataset(name)
        self.client.close()


def _connect(client_class, address: str):
    """Return a client of the scheduler at ``address``, or raise `CourseError` saying what to start."""
    try:
        return client_class(address, timeout=f"{CONNECT_TIMEOUT}s")
    except (OSError, TimeoutError, ValueError) as exc:
        raise CourseError(
            f"{address}: no Dask scheduler answered within {CONNECT_TIMEOUT} s ({type(exc).__name__}); fix: "
            "start one (`dask scheduler`) and its workers (`dask worker ADDRESS`), or grade locally without "
            "--scheduler"
        ) from exc


def _require_workers(client, address: str, gpu: bool) -> None:
    """Wait for a worker (with a ``GPU`` resource for ``gpu``), else raise `CourseError`: jobs would wait."""
    try:
        client.wait_for_workers(1, timeout=CONNECT_TIMEOUT)
    except (TimeoutError, OSError) as exc:
        client.close()
        raise CourseError(
            f"{address}: no Dask worker connected within {CONNECT_TIMEOUT} s; fix: start workers in the "
            "course environment (`dask worker ADDRESS --nthreads 1`)"
        ) from exc
    workers = client.scheduler_info()["workers"].values()
    if gpu and not any(w.get("resources", {}).get("GPU") for w in workers):
        client.close()
        raise CourseError(
            f"{address}: --gpu, but no worker has a GPU resource; fix: start one per GPU with "
            "`CUDA_VISIBLE_DEVICES=N dask worker ADDRESS --nthreads 1 --resources GPU=1`"
        )


__all__ = ["DaskRunner", "cached_digests", "gpu_slot", "run_remote"]
