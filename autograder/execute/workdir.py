"""The worker directory of one job: its folders, private gradebook, nbgrader configuration and environment.

Everything a graded kernel may see is written here (see docs/grading.md): the submission, the lab's grading
kit, a private copy of the kit's gradebook, the sandboxed kernelspec and a minimal environment.
"""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from autograder.checks.evaluation import LABELS_SUFFIX
from autograder.config import GRADEBOOK
from autograder.execute.blobs import BlobCache, Fetch
from autograder.execute.isolation import COURSE_CONFIG, socket_prefix, worker_config_text
from autograder.execute.processes import JOB_ENV, job_token
from autograder.kernel.confine import Confinement, empty_file, python_folders
from autograder.kernel.sandbox import KERNEL_NAME, write_kernelspec
from autograder.records import Job
from autograder.reuse.kernel import kernel_environment
from labkit.paths import COURSE_MARKER, DATA_ENV, LOG_ENV

#: The file GuardedExecute writes when no kernel started (see `autograder.execute.guarded`).
FAILURE_FILE = "infrastructure.json"


@dataclass(frozen=True)
class JobInputs:
    """The verified local copies of the files a job names by digest (see :mod:`autograder.execute.blobs`).

    Attributes
    ----------
    cache
        The cache folder they live in (hidden from the kernel).
    data_dir
        The read-only data folder the kernel sees as ``LABKIT_DATA_DIR``.
    gradebook
        The lab kit's gradebook.
    kit, store, probe
        The kit's files by path in the lab's source folder, the training store and the probe inputs by name.
    """

    cache: Path
    data_dir: Path
    gradebook: Path
    kit: dict[str, Path]
    store: dict[str, Path]
    probe: dict[str, Path]


def gather_inputs(job: Job, cache: BlobCache, fetch: Fetch | None = None) -> JobInputs:
    """Return the job's files from ``cache``, fetching what it lacks once with ``fetch`` (all verified)."""
    paths = cache.ensure(job.digests(), fetch)
    return JobInputs(
        cache=cache.root,
        data_dir=cache.folder(job.data_files),
        gradebook=paths[job.kit_gradebook],
        kit={rel: paths[d] for rel, d in job.kit_files.items()},
        store={name: paths[d] for name, d in job.training.store.items()},
        probe={name: paths[d] for name, d in job.probe_files.items()},
    )


def _copy_in(source: Path, target: Path, mode: int) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    os.chmod(target, mode)


def make_dirs(job: Job, inputs: JobInputs, work: Path, uid: int | None, sockets: Path) -> dict[str, Path]:
    """Fill ``work`` with the job's folders, submission, kit files, gradebook and kernelspec.

    Parameters
    ----------
    job
        The job.
    inputs
        Its verified files.
    work
        The (empty) worker directory.
    uid
        The unprivileged uid the kernel runs as (owns its home and sockets), or None.
    sockets
        The private folder of the kernel's IPC sockets.

    Returns
    -------
    dict of str to Path
        The folders by name: home, jupyter, runtime, tmp, submitted, source, store (the training store
        the kernel reads), recorded (where a reference run records one).
    """
    lab, student = job.lab, job.student
    dirs = {
        "home": work / "home",
        "jupyter": work / "jupyter",
        "runtime": work / "runtime",
        "tmp": work / "tmp",
        "submitted": job.folders.lab(work, "submitted", lab, student),
        "source": job.folders.lab(work, "source", lab),
        "store": work / "train_store",
        "recorded": work / "home" / "train_store",  # where a reference run records (its own home)
        "probe": work / "probe",
    }
    for path in dirs.values():
        path.mkdir(parents=True, exist_ok=True)
    (dirs["home"] / "logs").mkdir()
    (dirs["submitted"] / f"{lab}.ipynb").write_bytes(job.notebook)
    if job.timestamp:
        (dirs["submitted"] / "timestamp.txt").write_text(job.timestamp)
    for rel, path in inputs.kit.items():
        _copy_in(path, dirs["source"] / rel, 0o644)
    for name, path in inputs.store.items():
        _copy_in(path, dirs["store"] / name, 0o444)
    os.chmod(dirs["store"], 0o555)
    for name, path in inputs.probe.items():
        _copy_in(path, dirs["probe"] / name, 0o400 if name.endswith(LABELS_SUFFIX) else 0o444)
    os.chmod(dirs["probe"], 0o555)
    _copy_in(inputs.gradebook, work / GRADEBOOK, 0o600)
    if job.duedate:
        _set_duedate(work / GRADEBOOK, job.lab, job.duedate)
    for path in (work, dirs["runtime"], work.parent, work.parent.parent):
        os.chmod(path, 0o711)
    if uid is not None:
        for root, subdirs, files in os.walk(dirs["home"]):
            for name in [*subdirs, *files]:
                os.chown(os.path.join(root, name), uid, uid)
        os.chown(dirs["home"], uid, uid)
        os.chown(sockets, uid, uid)
    write_kernelspec(dirs["jupyter"], job.settings.limits, _confinement(job, inputs, work, sockets))
    return dirs


def _set_duedate(gradebook: Path, lab: str, duedate: str) -> None:
    """Give the private gradebook the course's due date (nbgrader's late penalties read it)."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{gradebook}") as gb:
        gb.update_or_create_assignment(lab, duedate=duedate)


def _grader_home() -> str:
    """Return the grading user's home folder, or "" where it is "/" (never hidden whole)."""
    home = str(Path.home().resolve())
    return "" if home == "/" else home


def _confinement(job: Job, inputs: JobInputs, work: Path, sockets: Path) -> Confinement:
    """Return what the kernel sees: course, worker folders, file cache and the grader's home hidden.

    A confined kernel keeps the grader's uid (without capabilities), so folders only its owner may read
    are not enough: the grader's home holds the default file cache of every worker of this user
    (kits with hidden tests, held-out labels) and the user's own files. What the kernel needs from
    there (the Python environment, ``labkit``, the job's data folder) is mounted back read-only.
    """
    s = job.settings
    hidden = (s.course_root, job.work_root, str(inputs.cache), _grader_home())
    return Confinement(
        work=str(work),
        sockets=str(sockets),
        hide=tuple(path for path in hidden if path and os.path.isdir(path)),
        read_only=(*python_folders(), str(inputs.data_dir), str(work / "train_store")),
        masked=(str(work / GRADEBOOK), *(str(p) for p in (work / "probe").glob(f"*{LABELS_SUFFIX}"))),
        gpu=bool(s.gpu),
        mask_with=empty_file(job.work_root),
    )


def write_config(job: Job, work: Path, uid: int | None, sockets: Path) -> None:
    """Write the worker's nbgrader_config.py: the course's configuration plus the isolation overrides."""
    s = job.settings
    (work / COURSE_CONFIG).write_bytes(job.course_config)
    overrides = {
        "root": str(work),
        "course_id": job.course_id,
        "kernel_name": KERNEL_NAME,
        "cell_timeout": s.timeouts.cell,
        "startup_timeout": s.timeouts.startup,
        "sockets": socket_prefix(sockets),
        "probe_dir": str(work / "probe") if job.probe_files else "",
        "guard": {
            "notebook_timeout": s.timeouts.notebook,
            "notes_file": str(work / "notes.json"),
            "failure_file": str(work / FAILURE_FILE),
            "kernel_uid": -1 if uid is None else uid,
        },
    }
    (work / COURSE_MARKER).write_text(worker_config_text(overrides))


def environment(job: Job, inputs: JobInputs, dirs: dict[str, Path], run_id: str) -> dict[str, str]:
    """Return the minimal environment ``nbgrader autograde`` (and so the kernel) runs with."""
    s = job.settings
    env = {
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), "/usr/local/bin", "/usr/bin", "/bin"]),
        "HOME": str(dirs["home"]),
        "LANG": "C.UTF-8",
        "JUPYTER_PATH": str(dirs["jupyter"]),
        "JUPYTER_CONFIG_DIR": str(dirs["jupyter"] / "config"),
        "JUPYTER_DATA_DIR": str(dirs["jupyter"] / "data"),
        "JUPYTER_RUNTIME_DIR": str(dirs["runtime"]),
        # inside the worker: confined kernels get an empty /tmp, and nbclient puts connection files here
        "TMPDIR": str(dirs["tmp"]),
        "JUPYTER_PLATFORM_DIRS": "1",
        "IPYTHONDIR": str(dirs["home"] / ".ipython"),
        "MPLCONFIGDIR": str(dirs["home"] / ".matplotlib"),
        "MPLBACKEND": "Agg",
        DATA_ENV: str(inputs.data_dir),
        LOG_ENV: str(dirs["home"] / "logs"),
        "OMP_NUM_THREADS": str(s.threads),
        "MKL_NUM_THREADS": str(s.threads),
        "CUDA_VISIBLE_DEVICES": s.gpu,
        "PYTHONDONTWRITEBYTECODE": "1",
        # a worker configuration that fails to load must fail the run, never grade with nbgrader's defaults
        "TRAITLETS_APPLICATION_RAISE_CONFIG_FILE_ERROR": "1",
        JOB_ENV: job_token(job) + run_id,
    }
    env.update(s.extra_env)
    env.update(kernel_environment(job.training, dirs["store"], dirs["recorded"]))
    return env
