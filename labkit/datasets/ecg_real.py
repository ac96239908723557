"""The real ECG evaluation set shipped with labkit: strips of real recordings, beyond the synthetic data.

``labkit/data/ecg_real_eval.npz`` (package data, so the student wheel carries it) holds one 10-s strip from
the middle of every usable record of the PhysioNet/CinC Challenge 2017 validation set labelled ``A`` or ``N``
(AliveCor hand-held device, a lead close to lead I), made by :mod:`labkit.converters.cinc2017`: atrial
fibrillation from the label, sinus rhythms split by heart rate, no flutter. It follows the ECG file contract
(:mod:`labkit.datasets.ecg`) with ``source = physionet-cinc2017``. Licence: Open Data Commons Attribution
(ODC-By) 1.0; cite :data:`labkit.converters.cinc2017.CITATION`.

It is rebuilt from the records with ``python -m labkit.datasets.ecg_real --from DIR --force``.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

from labkit.datasets.ecg import generator_id, load_ecg, load_ecg_provenance, save_ecg
from labkit.files import DataFileError

REAL_EVAL = Path(__file__).resolve().parents[1] / "data" / "ecg_real_eval.npz"
REAL_SOURCES = ("physionet-ecg-arrhythmia", "physionet-cinc2017")
BUILD = "python -m labkit.datasets.ecg_real --from DIR/cinc2017_validation"


def is_real(source: str) -> bool:
    """Return True when an ECG file's ``source`` names real recordings (not the synthetic generator)."""
    return str(source) in REAL_SOURCES


def load_real_ecg_eval(path: str | os.PathLike[str] | None = None) -> tuple[np.ndarray, np.ndarray, int]:
    """Load the real evaluation strips.

    Parameters
    ----------
    path
        The file; default the one shipped with labkit (:data:`REAL_EVAL`).

    Returns
    -------
    signals : np.ndarray
        float32 (N, 1, 1280), mV (scale them like the training strips before a model sees them).
    rhythms : np.ndarray
        (N,) str labels.
    fs : int
        128.

    Raises
    ------
    DataFileError
        The file is missing, breaks the ECG contract or is not real data.
    """
    path = Path(path) if path is not None else REAL_EVAL
    signals, rhythms, fs = load_ecg(path)
    source = load_ecg_provenance(path)["source"]
    if not is_real(source):
        raise DataFileError(f"{path}: source {source!r} is not real recordings. Fix: `{BUILD} --force`.")
    return signals, rhythms, fs


def build_real_eval(root: str | os.PathLike[str], path: Path = REAL_EVAL, force: bool = False) -> Path:
    """Write the real evaluation set from a CinC 2017 folder: one middle strip per A or N record."""
    from labkit.converters.cinc2017 import CONVERTER, SOURCE, VERSION, format_report, prepare_cinc2017

    signals, rhythms, ids, report = prepare_cinc2017(root, per_record=1)
    print(format_report(report))
    provenance = {
        "source": SOURCE,
        "generator": generator_id(CONVERTER, VERSION),
        "seed": None,
        "record_ids": ids,
    }
    return save_ecg(path, signals, rhythms, provenance, force, BUILD)


def main(argv: list[str] | None = None) -> int:
    """Build the shipped evaluation set (``--from`` the CinC 2017 validation folder)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--from", dest="source", required=True, help="the CinC 2017 validation folder")
    parser.add_argument("--out", type=Path, default=REAL_EVAL)
    parser.add_argument("--force", action="store_true")
    args = parser.parse_args(argv)
    print(f"wrote {build_real_eval(args.source, args.out, args.force)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
