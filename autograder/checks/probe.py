"""The kernel half of a hidden check: hand the submission's raw results to the grader as plain data.

A hidden test cell of a lab runs a *probe* in the student's kernel: it calls the submission's functions on
inputs it is given (or its models on evaluation signals whose labels never enter the kernel) and passes
what came back to `emit`. The grading process decides (:mod:`autograder.checks.steps`): nothing in the kernel
knows the expected values, so what a submission does to the kernel's names, libraries or objects cannot
make a check pass.

`emit` accepts only plain data: ``None``, ``bool``, ``int``, ``float``, ``str``, lists, tuples, dicts with
string keys, numpy arrays of numbers, booleans or strings and numpy scalars, checked by exact type (a float
subclass whose ``__eq__`` says yes is not a float). Anything else travels as a "not plain data" marker and
the check fails with a message naming the type. Nothing is pickled.

Usage, in a hidden-test region (docs/authoring.md, "Writing a hidden check")::

    import autograder.checks.probe as probe

    probe.emit("mean of [1, 2]", mean_value([1, 2]))
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

#: The MIME type of a probe's output in the executed notebook (removed once the grader decided).
MIME = "application/vnd.course-grade.probe+json"
#: Folder holding the kernel-readable probe inputs (evaluation signals), set by the grader.
INPUTS_ENV = "COURSE_PROBE_INPUTS"
#: Key of the marker that replaces a value that is not plain data.
NOT_PLAIN = "__not_plain__"
#: Key of an encoded numpy array.
ARRAY = "__ndarray__"
_SCALARS = (bool, int, float, str, type(None))


def _numpy():
    import numpy

    return numpy


def _numpy_scalar_types() -> tuple[type, ...]:
    np = _numpy()
    return (
        np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64,
        np.float16, np.float32, np.float64, np.str_,
    )  # fmt: skip


def plain(value: Any, where: str = "value") -> Any:
    """Return ``value`` as JSON-ready plain data, with a "not plain data" marker where it is not.

    Parameters
    ----------
    value
        What the submission returned (or a container of such values built by the probe).
    where
        How the messages name the value (the path inside containers is appended).
    """
    kind = type(value)
    if kind in _SCALARS:
        return value
    if kind in (list, tuple):
        return [plain(item, f"{where}[{i}]") for i, item in enumerate(value)]
    if kind is dict:
        if not all(type(key) is str for key in value):
            return {NOT_PLAIN: f"{where} is a dict whose keys are not all strings"}
        return {key: plain(item, f"{where}[{key!r}]") for key, item in value.items()}
    if "numpy" in _loaded_modules():
        np = _numpy()
        if kind in _numpy_scalar_types():
            return value.item()
        if kind is np.ndarray and value.dtype.kind in "biufU":
            data = value.tolist()
            return {ARRAY: {"dtype": value.dtype.str, "shape": list(value.shape), "data": data}}
    return {NOT_PLAIN: f"{where} is a {kind.__module__}.{kind.__qualname__} object, not plain data"}


def _loaded_modules() -> dict:
    import sys

    return sys.modules


def emit(name: str, value: Any) -> None:
    """Hand ``value`` to the grader under ``name`` (one display output of the cell, MIME type `MIME`)."""
    from IPython.display import publish_display_data

    publish_display_data({MIME: {"name": str(name), "value": plain(value, str(name))}})


def inputs(name: str) -> Any:
    """Return the probe input ``name`` (a numpy array, e.g. a lab's evaluation signals) given by the grader.

    Outside grading (an instructor running the source notebook in the course), the course's own inputs are
    built and used, as ``PrepareHiddenChecks`` would (:mod:`autograder.checks.evaluation`).

    Raises
    ------
    FileNotFoundError
        When neither the grader nor the course provides it (the course configuration names none).
    """
    np = _numpy()
    folder = os.environ.get(INPUTS_ENV, "") or _course_inputs(name)
    path = Path(folder) / f"{name}.npy"
    if not folder or not path.is_file():
        raise FileNotFoundError(
            f"probe input {name!r} not found in {folder or '$' + INPUTS_ENV}: the grader prepares it "
            "(autograder.checks.steps.PrepareHiddenChecks in nbgrader_config.py)"
        )
    return np.load(path, allow_pickle=False)


def _course_inputs(lab: str) -> str:
    """Return the folder of ``lab``'s inputs in the course holding the working directory ("" when none)."""
    from labkit.paths import find_course_root

    root = find_course_root()
    if root is None:
        return ""
    from autograder.checks.evaluation import ensure_inputs
    from autograder.config import load_config

    held_out = dict(load_config(root).evaluation_files)
    return str(ensure_inputs(root, lab, held_out[lab])) if lab in held_out else ""
