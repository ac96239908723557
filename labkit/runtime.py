"""Facts about where the code runs: graded or interactive, display or not, the training cap."""

from __future__ import annotations

import os
import sys

MAX_EPOCHS_ENV = "LABKIT_MAX_EPOCHS"


def is_graded() -> bool:
    """Return True when nbgrader executes the notebook (autograde or validate)."""
    return bool(os.environ.get("NBGRADER_EXECUTION"))


def in_notebook() -> bool:
    """Return True inside a Jupyter kernel (an IPython shell attached to a kernel)."""
    shell = sys.modules.get("IPython")
    if shell is None:
        return False
    ip = shell.get_ipython()  # type: ignore[attr-defined]
    return ip is not None and "IPKernelApp" in getattr(ip, "config", {})


def is_interactive() -> bool:
    """Return True for a student's live kernel: a notebook that nbgrader is not executing.

    nbconvert/nbclient executions set ``LABKIT_HEADLESS=1`` (the test-suite does) to behave the same.
    """
    return in_notebook() and not is_graded() and not os.environ.get("LABKIT_HEADLESS")


def epoch_cap() -> int | None:
    """Return the documented training cap ``$LABKIT_MAX_EPOCHS`` (None when unset).

    Only the tests that do not judge metrics set it, to fit the CI budget; students never see it.
    """
    value = os.environ.get(MAX_EPOCHS_ENV, "").strip()
    if not value:
        return None
    try:
        cap = int(value)
    except ValueError as error:
        raise ValueError(
            f"{MAX_EPOCHS_ENV}={value!r} is not a whole number; unset it or use e.g. 2"
        ) from error
    if cap < 1:
        raise ValueError(f"{MAX_EPOCHS_ENV}={cap} must be at least 1; unset it to train fully")
    return cap
