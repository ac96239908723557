"""The records a grading run passes between the course and its workers: `Settings`, `Job`, `Grade`, `Result`.

Plain frozen values (or a mutable result), pickled as they are to local processes and Dask workers. A job
carries its submission by value and every other file by sha256 (:mod:`autograder.execute.blobs`): a worker
needs nothing of the course and no path of the grading host.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from autograder.config import Folders, Timeouts

#: The uid of ``nobody``, whom a kernel runs as when the grader runs as root.
NOBODY_UID = 65534


@dataclass(frozen=True)
class Limits:
    """Per-kernel resource limits (0 = no limit).

    Attributes
    ----------
    memory_mb
        Address-space limit (``RLIMIT_AS``); ``RLIMIT_DATA`` when a GPU is visible, since CUDA reserves
        huge, unbacked address ranges.
    fsize_mb
        Largest file the kernel may write (``RLIMIT_FSIZE``).
    nproc
        Extra processes/threads the kernel's user may start (``RLIMIT_NPROC``, fork-bomb guard).
    uid
        User to run the kernel as when the grader runs as root (default ``nobody``); -1 keeps the user.
    """

    memory_mb: int = 4096
    fsize_mb: int = 256
    nproc: int = 512
    uid: int = NOBODY_UID


@dataclass(frozen=True)
class Settings:
    """How a submission is executed.

    Attributes
    ----------
    timeouts
        The run's time limits: the course's (its ``nbgrader_config.py``) with the run's overrides.
    limits
        Kernel resource limits.
    threads
        ``OMP_NUM_THREADS`` / ``MKL_NUM_THREADS`` of the kernel.
    gpu
        Value of ``CUDA_VISIBLE_DEVICES`` ("" = no GPU) on a local worker; a Dask worker picks its own.
    extra_env
        Documented pass-through variables (e.g. ``LABKIT_MAX_EPOCHS``).
    keep
        Keep the worker directory after grading (debugging).
    course_root
        The course folder, hidden from confined kernels where it exists (see
        :mod:`autograder.kernel.confine`).
    wants_gpu
        The job asks a Dask cluster for a worker with a ``GPU`` resource (one job per GPU).
    """

    timeouts: Timeouts
    limits: Limits
    threads: int
    gpu: str
    extra_env: dict[str, str] = field(default_factory=dict)
    keep: bool = False
    course_root: str = ""
    wants_gpu: bool = False


@dataclass(frozen=True)
class Training:
    """A job's part in training reuse (see :mod:`autograder.reuse`): read a recorded store, or record one.

    Attributes
    ----------
    store
        The lab's recorded training store, file name to digest (read-only in the kernel); empty: none.
    manifest
        The digest the store's manifest must have (``$LABKIT_TRAIN_STORE_MANIFEST``).
    record
        The given model classes, comma-separated, when this job is the reference run that records the store.
    """

    store: dict[str, str] = field(default_factory=dict)
    manifest: str = ""
    record: str = ""


@dataclass(frozen=True)
class Job:
    """One submission to grade: the notebook by value, every other file by sha256 digest.

    ``kit_gradebook`` and ``kit_files`` (path in the lab's source folder to digest) are the lab's grading
    kit; ``data_files`` (file name to digest) the course data the kernel reads. ``folders`` are the course's
    nbgrader folder names (the worker folder uses them too); ``course_config`` is the course's
    ``nbgrader_config.py`` (the worker loads it unchanged, see :mod:`autograder.execute.isolation`);
    ``duedate`` the lab's due date in the course gradebook (ISO, or None). ``training`` is the job's part in
    training reuse (`Training`, see :mod:`autograder.reuse`). ``probe_files`` are the lab's probe inputs
    (:mod:`autograder.checks.evaluation`: the evaluation signals the kernel may read and their labels, which
    it may not). ``work_root`` is the worker folders' root on the grading host (a Dask worker uses its own);
    ``requirements`` the distributions and code digests the worker's environment must match
    (:mod:`autograder.execute.requirements`).
    """

    student: str
    lab: str
    key: str
    course_id: str
    notebook: bytes
    timestamp: str | None
    kit_gradebook: str
    kit_files: dict[str, str]
    work_root: str
    settings: Settings
    folders: Folders
    course_config: bytes = b""
    duedate: str | None = None
    data_files: dict[str, str] = field(default_factory=dict)
    training: Training = field(default_factory=lambda: Training())
    probe_files: dict[str, str] = field(default_factory=dict)
    requirements: dict[str, str] = field(default_factory=dict)

    def digests(self) -> set[str]:
        """Return the digest of every file this job needs besides the notebook."""
        groups = (self.kit_files, self.data_files, self.training.store, self.probe_files)
        return {self.kit_gradebook, *(d for group in groups for d in group.values())}


class InfrastructureError(RuntimeError):
    """The grading machine failed, not the submission.

    A kernel that never started, a worker's environment or disk, a file that could not be fetched. Never a
    grade: the job is retried, then left ungraded. ``worker`` names the Dask worker it happened on (empty:
    a local process); the message names it too.
    """

    def __init__(self, message: str, worker: str = "") -> None:
        super().__init__(f"{message} (worker {worker})" if worker else message)
        self.worker = worker


class Grade(NamedTuple):
    """The score of one grade cell as nbgrader saved it in the private gradebook.

    Attributes
    ----------
    auto_score
        Points scored by the autograder (None: left to the grader, a written answer).
    needs_manual
        Whether nbgrader asks for a manual grade.
    max_score
        Points the cell is worth.
    cell_type
        "code": an autograded test; "markdown": a written answer.
    """

    auto_score: float | None
    needs_manual: bool
    max_score: float
    cell_type: str

    @property
    def is_test(self) -> bool:
        """Return True for an autograded test (a code grade cell)."""
        return self.cell_type == "code"


@dataclass
class Result:
    """What grading one submission produced.

    ``grades`` maps grade id to its `Grade`; ``comments`` maps solution cell id to nbgrader's
    ``auto_comment``; ``notebook`` is the autograded notebook (None when nbgrader could not write one; then
    every autograded test scored zero); ``recorded`` holds the trained states a reference run recorded;
    ``worker`` names where it ran (a Dask worker's address, or empty).
    """

    student: str
    lab: str
    key: str
    notebook: bytes | None
    grades: dict[str, Grade]
    comments: dict[str, str | None]
    notes: list[str]
    timestamp: str | None
    seconds: float
    late_penalty: float | None = None
    recorded: dict[str, bytes] = field(default_factory=dict)
    worker: str = ""
