"""Quick proxy of bench/real_transfer_ecg.py to iterate on the generator: the given CNN alone, fewer strips.

Trains the lab's given CNN (bench/fidelity_ecg.py's copy) on ``--n-per-rhythm`` synthetic strips per rhythm
for ``--epochs`` epochs at a learning rate of 1e-3 (the lab: 1500 strips, 50 epochs, 1e-4), one thread, then
applies it to the real evaluation set labkit ships, scaled by 1/std of the training strips (the notebook's
``alpha`` rule). ``--generator FILE`` trains on a candidate generator module (a modified copy of
labkit/synthetic/ecg.py) instead of the installed one. Prints one JSON line: synthetic test figures
(fidelity targets), real accuracy, per-rhythm recall and the real confusion matrix (rows: references in
RHYTHMS order). A proxy: its figures rank generator variants, the full bench measures the lab.

Usage::

    nice -n 10 .venv/bin/python bench/real_transfer_quick_ecg.py --seed 0
    nice -n 10 .venv/bin/python bench/real_transfer_quick_ecg.py --seed 0 --generator /tmp/ecg_candidate.py
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import time
from pathlib import Path

import numpy as np
import torch
from fidelity_ecg import cnn_model, confusion, report, split, train

from labkit.datasets.ecg import RHYTHMS
from labkit.datasets.ecg_real import load_real_ecg_eval


def generator(path: Path | None):
    """Return ``generate_ecg_dataset`` of the installed generator, or of the module file ``path``."""
    if path is None:
        from labkit.synthetic.ecg import generate_ecg_dataset

        return generate_ecg_dataset
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.generate_ecg_dataset


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0, help="data seed")
    parser.add_argument("--n-per-rhythm", type=int, default=600)
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--generator", type=Path, help="a candidate generator module file")
    args = parser.parse_args()
    torch.set_num_threads(1)
    tic = time.perf_counter()
    signals, rhythms, _ = generator(args.generator)(args.n_per_rhythm, seed=args.seed)
    synth_s = time.perf_counter() - tic
    classes = np.asarray(RHYTHMS)
    y = np.searchsorted(classes, rhythms)
    i_train, _, i_test = split(rhythms)
    alpha = 1 / signals[i_train].std()
    model = train(cnn_model(), signals[i_train] * alpha, y[i_train], args.epochs, 100, 1e-3, "cpu", seed=42)
    test = confusion(model, signals[i_test] * alpha, y[i_test], "cpu")
    real_x, real_rhythms, _ = load_real_ecg_eval()
    real_y = np.searchsorted(classes, real_rhythms)
    real = confusion(model, (real_x * alpha).astype(np.float32), real_y, "cpu")
    recall = {RHYTHMS[i]: round(real[i, i] / real[i].sum(), 3) for i in range(len(RHYTHMS)) if real[i].sum()}
    synthetic = {k: v for k, v in report(test).items() if not k.startswith("ok_")}
    result = {"generator": str(args.generator or "installed"), "seed": args.seed}
    result["synth_s"] = round(synth_s, 1)
    result |= {"synthetic": synthetic, "real_accuracy": round(float(np.trace(real) / real.sum()), 3)}
    print(json.dumps(result | {"real_recall": recall, "real_confusion": real.tolist()}))


if __name__ == "__main__":
    main()
