"""Facts about where the code runs: graded or interactive, display or not, the training cap."""

from __future__ import annotations

import os
import sys

from labkit.exits import BadArgumentError

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


def started_by_jupyter_server() -> bool:
    """Return True when a Jupyter server (JupyterLab, a person's browser) started this kernel.

    jupyter_server puts ``JPY_SESSION_NAME`` in the environment of the kernels it starts for a notebook;
    nbclient, ``jupyter nbconvert --execute`` and nbgrader do not.
    """
    return bool(os.environ.get("JPY_SESSION_NAME"))


def is_interactive() -> bool:
    """Return True for a student's live kernel: opened from JupyterLab and not executed by nbgrader.

    ``LABKIT_HEADLESS=1`` forces the headless behaviour (static figures, no TensorBoard, two progress
    lines) anywhere.
    """
    if os.environ.get("LABKIT_HEADLESS") or is_graded():
        return False
    return in_notebook() and started_by_jupyter_server()


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
        raise BadArgumentError(
            f"{MAX_EPOCHS_ENV}={value!r} is not a whole number; unset it or use e.g. 2"
        ) from error
    if cap < 1:
        raise BadArgumentError(f"{MAX_EPOCHS_ENV}={cap} must be at least 1; unset it to train fully")
    return cap
