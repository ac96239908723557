"""Settings of a grading run, each default defined once: the `course-grade` flags read them here.

Kernel resource limits default to `autograder.records.Limits`; the training cap's variable name is
`labkit.runtime.MAX_EPOCHS_ENV`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from autograder.records import Limits
from labkit.runtime import MAX_EPOCHS_ENV

#: Training cap (epochs) of ``course-grade demo`` unless ``--full``.
DEMO_MAX_EPOCHS = 2
#: Variables of the grader's environment handed to every graded kernel (documented test settings only).
PASS_THROUGH_ENV: tuple[str, ...] = (MAX_EPOCHS_ENV,)


@dataclass
class GradeOptions:
    """Options of ``course-grade grade`` (see docs/grading.md)."""

    jobs: int = 0
    scheduler: str | None = None
    gpu: bool = False
    force: bool = False
    cell_timeout: int | None = None
    notebook_timeout: int | None = None
    memory_mb: int = Limits.memory_mb
    fsize_mb: int = Limits.fsize_mb
    nproc: int = Limits.nproc
    quiet: bool = False
    keep: bool = False
    train_reuse: bool = True
    extra_env: dict[str, str] = field(default_factory=dict)
