"""A real Dask cluster for the tests: a ``dask scheduler`` and ``dask worker`` processes that share no files.

Each worker runs in its own mount namespace (bubblewrap) where the hidden folders (the course and the
grading host's temporary folder) are empty, with its own cache and temporary folder: what a worker on
another machine with the same Python environment would see.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import sysconfig
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Cluster:
    """The running processes: the scheduler's address, each worker's process and own folder by name."""

    address: str
    scheduler: subprocess.Popen
    workers: dict[str, subprocess.Popen] = field(default_factory=dict)
    roots: dict[str, Path] = field(default_factory=dict)

    def kill(self, name: str) -> None:
        """Kill worker ``name`` and everything it started (its whole process group), as a machine lost."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.workers[name].pid, signal.SIGKILL)
        self.workers[name].wait()


def _wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"no {what} after {timeout:.0f} s")
        time.sleep(0.2)


def start_worker(
    cluster: Cluster,
    name: str,
    root: Path,
    hide: list[Path],
    python: str = sys.executable,
    resources: str = "",
    env: dict[str, str] | None = None,
) -> None:
    """Start ``dask worker`` ``name`` (one thread, no nanny) in bubblewrap, the ``hide`` folders empty.

    Its cache (``COURSE_GRADE_CACHE``), temporary folder and Dask folder are under ``root``.
    """
    for sub in ("cache", "tmp", "dask"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    hidden = [arg for folder in hide for arg in ("--tmpfs", str(folder))]
    # its own PID namespace (and /proc): killing the worker ends everything it started, as a lost machine
    argv = ["bwrap", "--dev-bind", "/", "/", *hidden, "--unshare-pid", "--proc", "/proc", "--die-with-parent"]
    argv += ["--"]
    argv += [python, "-m", "distributed.cli.dask_worker", cluster.address, "--name", name, "--nthreads", "1"]
    argv += ["--no-nanny", "--no-dashboard", "--local-directory", str(root / "dask")]
    argv += ["--resources", resources] if resources else []
    worker_env = {**os.environ, "TMPDIR": str(root / "tmp"), "COURSE_GRADE_CACHE": str(root / "cache")}
    worker_env.update(env or {})
    log = open(root / "worker.log", "w")  # noqa: SIM115 (kept open for the process's lifetime)
    cluster.workers[name] = subprocess.Popen(
        argv, env=worker_env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    cluster.roots[name] = root


def wait_for_workers(cluster: Cluster, count: int, timeout: float = 90) -> None:
    """Block until ``count`` workers are connected to the scheduler."""
    from distributed import Client

    with Client(cluster.address, timeout="30s") as client:
        client.wait_for_workers(count, timeout=timeout)


@contextlib.contextmanager
def scheduler(folder: Path) -> Iterator[Cluster]:
    """Run a ``dask scheduler`` on 127.0.0.1; yield the `Cluster`; stop it and every worker afterwards."""
    folder.mkdir(parents=True, exist_ok=True)
    info = folder / "scheduler.json"
    argv = [sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", "0"]
    argv += ["--no-dashboard", "--scheduler-file", str(info)]
    log = open(folder / "scheduler.log", "w")  # noqa: SIM115 (kept open for the process's lifetime)
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    cluster = None
    try:
        _wait_for(lambda: info.is_file() and info.stat().st_size > 0, 60, "scheduler file")
        cluster = Cluster(json.loads(info.read_text())["address"], proc)
        yield cluster
    finally:
        for worker in cluster.workers.values() if cluster else []:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def environment_without(folder: Path, missing: str) -> str:
    """Return the python of a new virtual environment holding this one's packages except ``missing``.

    The packages are symbolic links to this environment's; ``missing`` (a distribution's import name) and
    its ``.dist-info`` are left out, as in a worker image built without it.
    """
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True)
    ours = Path(sysconfig.get_paths()["purelib"])
    theirs = folder / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
    for entry in ours.iterdir():
        if entry.name == missing or entry.name.lower().startswith(f"{missing.lower()}-"):
            continue
        target = theirs / entry.name
        if not target.exists():
            target.symlink_to(entry)
    return str(folder / "bin" / "python")
