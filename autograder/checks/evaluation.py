"""Probe inputs: held-out evaluation signals the kernel classifies while their labels stay with the grader.

A lab listed in ``PrepareHiddenChecks.evaluation_files`` (the course's ``nbgrader_config.py``) gets a
folder with two files per lab: ``<lab>.npy``, the signals (float32, the lab's data contract), which the
kernel reads through :func:`autograder.checks.probe.inputs`, and ``<lab>.labels.npy``, the class index of
every signal in sorted label order, which only the grading process reads (masked from confined kernels).

Where the signals come from:

- an instructor's held-out file named in the configuration (same format as the lab's data file), or else
  the one ``labkit data prepare ecg`` writes beside a real data file (``ecg_rhythms_heldout.npz``): the
  course on real data;
- otherwise, when the course's data file is synthetic, fresh strips drawn from the same generator with the
  file's label noise and a seed derived from the source notebook and the data file, so the strips are the
  same on every grading machine and no student can regenerate them (the source notebook is not public).
A course on real data with neither is refused with the setting that fixes it.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

#: Strips per rhythm drawn from the generator (1500 in all: accuracy resolution 0.0007).
N_PER_RHYTHM = 300
LABELS_SUFFIX = ".labels.npy"
SIGNALS, LABELS, ABOUT = "{lab}.npy", "{lab}" + LABELS_SUFFIX, "{lab}.json"


def inputs_present(folder: Path, lab: str) -> bool:
    """Return True when ``folder`` holds the lab's signals and labels."""
    return all((folder / name.format(lab=lab)).is_file() for name in (SIGNALS, LABELS))


def default_folder(course_root: Path, lab: str, held_out: str) -> Path:
    """Return the inputs folder of ``lab`` under the course (keyed by source, data and held-out file)."""
    digest = hashlib.sha256(_seed_material(course_root, lab) + held_out.encode()).hexdigest()[:16]
    return course_root / ".grading" / "evaluation" / f"{lab}-{digest}"


def _seed_material(course_root: Path, lab: str) -> bytes:
    from autograder.config import folders_of
    from labkit.paths import ECG_FILE

    source = folders_of(course_root).notebook(course_root, "source", lab)
    data = _data_file(course_root, ECG_FILE)
    return hashlib.sha256(source.read_bytes()).digest() + hashlib.sha256(data.read_bytes()).digest()


def _data_file(course_root: Path, name: str) -> Path:
    from labkit.paths import DATA_ENV

    folder = os.environ.get(DATA_ENV) or str(course_root / "data")
    return Path(folder) / name


def build(course_root: Path, lab: str, held_out: str, folder: Path) -> Path:
    """Write the lab's evaluation signals and labels into ``folder`` and return it.

    Raises
    ------
    labkit.exits.BadArgumentError
        A ``ValueError``: the course's data is not synthetic and no held-out file is configured.
    labkit.files.DataFileError
        A ``ValueError``: the held-out file holds labels that are not classes of the course's data.
    """
    from labkit.datasets.ecg import load_ecg, load_ecg_provenance
    from labkit.files import DataFileError, atomic_write
    from labkit.paths import ECG_FILE

    data_file = _data_file(course_root, ECG_FILE)
    classes = np.unique(load_ecg(data_file)[1])
    held_out = held_out or _beside(data_file)
    if held_out:
        path = Path(held_out) if Path(held_out).is_absolute() else course_root / held_out
        signals, rhythms, _ = load_ecg(path)
        about = {"source": str(path)}
    else:
        signals, rhythms, about = _draw(course_root, lab, load_ecg_provenance(data_file), data_file)
    unknown = sorted(set(rhythms) - set(classes))
    if unknown:
        raise DataFileError(f"{about['source']}: labels {unknown} are not classes of {data_file}")
    folder.mkdir(parents=True, exist_ok=True)
    labels = np.searchsorted(classes, rhythms).astype(np.int64)
    for name, array in ((SIGNALS, signals.astype(np.float32)), (LABELS, labels)):
        atomic_write(folder / name.format(lab=lab), lambda tmp, a=array: _save(tmp, a))
    about |= {"classes": classes.tolist(), "n": int(len(labels))}
    atomic_write(folder / ABOUT.format(lab=lab), lambda tmp: tmp.write_text(json.dumps(about, indent=1)))
    for name in (SIGNALS, ABOUT):
        os.chmod(folder / name.format(lab=lab), 0o444)
    os.chmod(folder / LABELS.format(lab=lab), 0o400)
    return folder


def _beside(data_file: Path) -> str:
    """Return the held-out file `labkit data prepare ecg` wrote beside a real data file, else ""."""
    from labkit.datasets.ecg import load_ecg_provenance
    from labkit.datasets.ecg_held_out import held_out_path

    held = held_out_path(data_file)
    real = held.is_file() and load_ecg_provenance(data_file).get("source") != "synthetic"
    return str(held) if real else ""


def _save(path: Path, array: np.ndarray) -> None:
    with open(path, "wb") as handle:
        np.save(handle, array, allow_pickle=False)


def _draw(
    course_root: Path, lab: str, provenance: dict, data_file: Path
) -> tuple[np.ndarray, np.ndarray, dict]:
    from labkit.exits import BadArgumentError
    from labkit.synthetic.ecg import generate_ecg_dataset

    if provenance.get("source") != "synthetic":
        raise BadArgumentError(
            f"{data_file} is {provenance.get('source')!r} data: the ECG accuracy checks need held-out strips "
            f"whose labels the kernel never sees. Fix: `labkit data prepare ecg --from PATH --force` writes "
            f"one beside the data file, or name one in nbgrader_config.py, "
            f"c.PrepareHiddenChecks.evaluation_files = {{{lab!r}: 'path/to/held_out.npz'}}"
        )
    seed = int.from_bytes(hashlib.sha256(_seed_material(course_root, lab)).digest()[:4], "big")
    noise = float(provenance.get("label_noise", 0.0))
    signals, rhythms, _ = generate_ecg_dataset(N_PER_RHYTHM, seed=seed, label_noise=noise)
    return (
        signals,
        rhythms,
        {"source": f"synthetic generator {provenance.get('generator')}, label noise {noise}"},
    )


def ensure_inputs(course_root: Path, lab: str, held_out: str, folder: Path | None = None) -> Path:
    """Return the folder of ``lab``'s probe inputs, building them first when missing."""
    folder = folder or default_folder(course_root, lab, held_out)
    if not inputs_present(folder, lab):
        build(course_root, lab, held_out, folder)
    return folder


def labels_reader(folder: Path | None, lab: str | None) -> Callable[[], np.ndarray]:
    """Return a function that loads the lab's evaluation labels (for the grader-side checks)."""

    def evaluation_labels() -> np.ndarray:
        if folder is None or lab is None or not inputs_present(folder, lab):
            raise FileNotFoundError(f"no evaluation labels for {lab} in {folder}")
        return np.load(folder / LABELS.format(lab=lab), allow_pickle=False)

    return evaluation_labels


def input_files(folder: Path, lab: str) -> dict[str, bytes]:
    """Return the lab's input files by name (a grading job carries them by value)."""
    paths = [folder / name.format(lab=lab) for name in (SIGNALS, LABELS, ABOUT)]
    return {path.name: path.read_bytes() for path in paths if path.is_file()}
