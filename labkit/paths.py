"""Where the course keeps its data and logs.

The notebooks never hard-code a path: nbgrader executes a submission from ``autograded/<student>/<lab>/``
and students may open the notebooks from anywhere inside the course.
"""

from __future__ import annotations

import os
from pathlib import Path

from labkit.exits import MissingFileError

COURSE_MARKER = "nbgrader_config.py"
DATA_ENV = "LABKIT_DATA_DIR"
LOG_ENV = "LABKIT_LOG_DIR"
ECG_FILE = "ecg_rhythms.npz"
ECG_HELD_OUT_FILE = "ecg_rhythms_heldout.npz"  # a real-data course's grading strips, beside ECG_FILE
PPG_FILE = "ppg_dalia.pkl"


class CourseNotFoundError(MissingFileError):
    """Raised when no course root and no environment variable tell where data lives."""


def find_course_root(start: str | os.PathLike[str] | None = None) -> Path | None:
    """Walk up from ``start`` (default: the working directory) to the folder holding the course marker.

    Parameters
    ----------
    start
        Folder to start from.

    Returns
    -------
    Path or None
        The course root, or None when no parent holds ``nbgrader_config.py``.
    """
    here = Path(start if start is not None else Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / COURSE_MARKER).is_file():
            return folder
    return None


def _resolve(env: str, sub: str, start: str | os.PathLike[str] | None) -> Path:
    value = os.environ.get(env)
    if value:
        return Path(value).expanduser().resolve()
    root = find_course_root(start)
    if root is None:
        raise CourseNotFoundError(
            f"cannot tell where the course's {sub}/ folder is: no {COURSE_MARKER} above "
            f"{Path(start or Path.cwd()).resolve()} and {env} is not set. "
            f"Fix: run from inside the course folder, or `export {env}=/path/to/{sub}`."
        )
    return root / sub


def data_dir(start: str | os.PathLike[str] | None = None) -> Path:
    """Return the data folder: ``$LABKIT_DATA_DIR``, else ``data/`` under the course root."""
    return _resolve(DATA_ENV, "data", start)


def log_dir(lab: str | None = None, start: str | os.PathLike[str] | None = None) -> Path:
    """Return the TensorBoard log folder (``$LABKIT_LOG_DIR`` or ``logs/``), optionally for one lab."""
    base = _resolve(LOG_ENV, "logs", start)
    return base / lab if lab else base


def data_file(name: str, start: str | os.PathLike[str] | None = None) -> Path:
    """Return the path of a data file and fail with the command that creates it when it is missing.

    Parameters
    ----------
    name
        File name, e.g. ``ecg_rhythms.npz``.
    start
        Folder to start the course-root search from.

    Raises
    ------
    labkit.exits.MissingFileError
        A ``FileNotFoundError`` with the exact command that creates the file.
    """
    path = data_dir(start) / name
    if not path.is_file():
        raise MissingFileError(
            f"{path}: data file missing. Fix: run `labkit data synth` (offline synthetic default) "
            f"from the course folder, or `labkit data prepare ...` for the real dataset (see README)."
        )
    return path
