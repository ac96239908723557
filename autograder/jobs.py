"""The records a grading run passes between the course and its workers: `Settings`, `Job`, `Grade`, `Result`.

Plain frozen values (or a mutable result), carried by value and pickled as they are to local processes and
Dask workers: a worker needs nothing else of the course.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from autograder.sandbox import Limits


@dataclass(frozen=True)
class Settings:
    """How a submission is executed.

    Attributes
    ----------
    cell_timeout, startup_timeout, notebook_timeout
        Seconds per cell, for kernel start-up and for the whole notebook.
    limits
        Kernel resource limits.
    threads
        ``OMP_NUM_THREADS`` / ``MKL_NUM_THREADS`` of the kernel.
    gpu
        Value of ``CUDA_VISIBLE_DEVICES`` ("" = no GPU).
    data_dir
        Read-only data folder the kernel sees as ``LABKIT_DATA_DIR``.
    extra_env
        Documented pass-through variables (e.g. ``LABKIT_MAX_EPOCHS``).
    keep
        Keep the worker directory after grading (debugging).
    course_root
        The course folder, hidden from confined kernels (see :mod:`autograder.confine`).
    """

    cell_timeout: int
    startup_timeout: int
    notebook_timeout: int
    limits: Limits
    threads: int
    gpu: str
    data_dir: str
    extra_env: dict[str, str] = field(default_factory=dict)
    keep: bool = False
    course_root: str = ""


@dataclass(frozen=True)
class Job:
    """One submission to grade, carried by value.

    ``course_config`` is the course's ``nbgrader_config.py`` (the worker loads it unchanged, see
    :mod:`autograder.isolation`); ``duedate`` the lab's due date in the course gradebook (ISO, or None).
    ``train_store`` is the lab's recorded training store (file name to bytes; read-only in the kernel) and
    ``train_manifest`` the digest its manifest must have; ``train_record`` names the given model classes
    when this job is the reference run that records the store (see :mod:`autograder.reuse`).
    ``probe_files`` are the lab's probe inputs (:mod:`autograder.evaluation`: the evaluation signals the
    kernel may read and their labels, which it may not).
    """

    student: str
    lab: str
    key: str
    course_id: str
    notebook: bytes
    timestamp: str | None
    kit_gradebook: bytes
    kit_files: dict[str, bytes]
    work_root: str
    settings: Settings
    course_config: bytes = b""
    duedate: str | None = None
    train_store: dict[str, bytes] = field(default_factory=dict)
    train_manifest: str = ""
    train_record: str = ""
    probe_files: dict[str, bytes] = field(default_factory=dict)


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
    every autograded test scored zero); ``recorded`` holds the trained states a reference run recorded.
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
