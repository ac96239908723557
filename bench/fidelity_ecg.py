"""Fidelity of the synthetic ECG: train the original lab's baseline CNN and compare with the real-data result.

Targets (the original lab on the real PhysioNet subset reached ~0.72 test accuracy, AF <-> AFL dominant):
test accuracy within [0.65, 0.90], atrial fibrillation <-> atrial flutter the most confused pair, sinus
bradycardia <-> sinus tachycardia confused in under 1% of their test strips.

Usage::

    .venv/bin/python bench/fidelity_ecg.py                      # full check: 1500/rhythm, 50 epochs
    .venv/bin/python bench/fidelity_ecg.py --epochs 15 --n-per-rhythm 600 --threads 1   # quick iteration
"""

from __future__ import annotations

import argparse
import json
import operator
import sys
import time
from pathlib import Path

import numpy as np
import sklearn.model_selection
import torch

from labkit.datasets.ecg import RHYTHMS
from labkit.synthetic.ecg import DEFAULT_LABEL_NOISE, generate_ecg_dataset

TARGET_ACCURACY = (0.65, 0.90)


def cnn_model(n_classes: int = 5, kernel_size: int = 5) -> torch.nn.Module:
    """The original lab's baseline: four Conv1d-BatchNorm-ReLU blocks (8/16/32/64), pooling, linear."""
    layers, channels = [], [1, 8, 16, 32, 64]
    for i, (c_in, c_out) in enumerate(zip(channels[:-1], channels[1:], strict=True)):
        layers += [torch.nn.Conv1d(c_in, c_out, kernel_size, padding="same"), torch.nn.BatchNorm1d(c_out)]
        layers += [torch.nn.ReLU(), torch.nn.MaxPool1d(2) if i < 3 else torch.nn.AdaptiveAvgPool1d(1)]
    return torch.nn.Sequential(*layers, torch.nn.Flatten(), torch.nn.Linear(64, n_classes))


def split(rhythms: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The lab's stratified split: StratifiedKFold(5) folds 0-2 train, 3 validation, 4 test."""
    splitter = sklearn.model_selection.StratifiedKFold(n_splits=5)
    folds = list(map(operator.itemgetter(1), splitter.split(np.zeros((rhythms.size, 1)), rhythms)))
    return np.hstack(folds[:3]), folds[3], folds[4]


def train(model, x, y, epochs: int, batch: int, lr: float, device: str, seed: int) -> torch.nn.Module:
    """Plain Adam / cross-entropy loop over shuffled mini-batches held as tensors on ``device``."""
    torch.manual_seed(seed)
    model.to(device).train()
    x, y = torch.as_tensor(x, device=device), torch.as_tensor(y, device=device)
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    for epoch in range(epochs):
        order = torch.randperm(len(x), device=device)
        total = 0.0
        for start in range(0, len(x), batch):
            idx = order[start : start + batch]
            loss = torch.nn.functional.cross_entropy(model(x[idx]), y[idx])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            total += loss.item() * len(idx)
        print(f"epoch {epoch + 1}/{epochs} loss {total / len(x):.3f}", file=sys.stderr, flush=True)
    return model.eval()


def confusion(model, x, y, device: str) -> np.ndarray:
    """Confusion matrix (rows: reference, columns: prediction)."""
    with torch.no_grad():
        pred = model(torch.as_tensor(x, device=device)).argmax(1).cpu().numpy()
    matrix = np.zeros((len(RHYTHMS), len(RHYTHMS)), int)
    np.add.at(matrix, (y, pred), 1)
    return matrix


def most_confused(matrix: np.ndarray) -> tuple[str, str, int]:
    """The unordered pair of rhythms with the most test strips confused in either direction."""
    sym = matrix + matrix.T
    np.fill_diagonal(sym, -1)
    i, j = np.unravel_index(np.argmax(sym), sym.shape)
    return RHYTHMS[min(i, j)], RHYTHMS[max(i, j)], int(sym[i, j])


def report(matrix: np.ndarray) -> dict:
    """Accuracy, most confused pair and the bradycardia <-> tachycardia rate, with the target verdicts."""
    acc = float(np.trace(matrix) / matrix.sum())
    a, b, count = most_confused(matrix)
    sb, st = RHYTHMS.index("sinus_bradycardia"), RHYTHMS.index("sinus_tachycardia")
    brady_tachy = float((matrix[sb, st] + matrix[st, sb]) / (matrix[sb].sum() + matrix[st].sum()))
    return {
        "test_accuracy": round(acc, 4),
        "most_confused_pair": [a, b, count],
        "brady_tachy_confusion": round(brady_tachy, 4),
        "ok_accuracy": TARGET_ACCURACY[0] <= acc <= TARGET_ACCURACY[1],
        "ok_pair": {a, b} == {"atrial_fibrillation", "atrial_flutter"},
        "ok_brady_tachy": brady_tachy < 0.01,
    }


def save_figure(matrix: np.ndarray, accuracy: float, path: Path) -> None:
    """Draw the test confusion matrix."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 5), constrained_layout=True)
    ax.imshow(matrix, cmap="Blues")
    for (i, j), value in np.ndenumerate(matrix):
        ax.text(
            j, i, str(value), ha="center", va="center", color="white" if value > matrix.max() / 2 else "k"
        )
    names = [r.replace("_", " ") for r in RHYTHMS]
    ax.set_xticks(range(5), names, rotation=45, ha="right")
    ax.set_yticks(range(5), names)
    ax.set(
        xlabel="Predictions",
        ylabel="References",
        title=f"Synthetic ECG, baseline CNN: test acc {accuracy:.3f}",
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-per-rhythm", type=int, default=1500)
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0, help="generator seed")
    parser.add_argument("--label-noise", type=float, default=DEFAULT_LABEL_NOISE)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch default)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--figure", type=Path, default=None, help="write the test confusion matrix here")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    start = time.perf_counter()
    signals, rhythms, _ = generate_ecg_dataset(
        args.n_per_rhythm, seed=args.seed, label_noise=args.label_noise
    )
    y = np.searchsorted(np.asarray(RHYTHMS), rhythms)
    i_train, i_val, i_test = split(rhythms)
    x = signals / signals[i_train].std()
    model = train(cnn_model(), x[i_train], y[i_train], args.epochs, 100, 1e-4, args.device, seed=42)
    val, test = (
        confusion(model, x[i_val], y[i_val], args.device),
        confusion(model, x[i_test], y[i_test], args.device),
    )
    result = report(test) | {
        "val_accuracy": round(float(np.trace(val) / val.sum()), 4),
        "test_confusion": test.tolist(),
        "labels": list(RHYTHMS),
        "args": {k: str(v) for k, v in vars(args).items()},
        "seconds": round(time.perf_counter() - start, 1),
    }
    print(json.dumps(result, indent=1))
    if args.figure:
        save_figure(test, result["test_accuracy"], args.figure)
    return 0 if result["ok_accuracy"] and result["ok_pair"] and result["ok_brady_tachy"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
