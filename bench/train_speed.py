"""Training speed: labkit's loop (train_model, on-device tensor batches) against the original labs' loop.

Baseline (named "dataloader"): the original labs' recipe, a ``TensorDataset`` + ``DataLoader`` (batch 100,
shuffled, no workers) fed to a ``pl.Trainer`` with the same Lightning module (progress bar and logger off
in both, so only the data path differs). Models: the ECG lab's given CNN (input (1, 1280), 5 classes) and
the HR lab's PPG+ACC CNN configuration (input (4, 200), 4 conv blocks 16-128, 3 dense layers, regression).
Data are random arrays of the labs' shapes (speed does not depend on values). Both loops run in one process,
alternating, and the best of ``--repeats`` timings per loop is kept.

Usage::

    .venv/bin/python bench/train_speed.py                 # CPU, 2 threads
    .venv/bin/python bench/train_speed.py --device cuda   # on a GPU machine
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    parser.add_argument("--epochs", type=int, default=3, help="epochs per timing")
    parser.add_argument("--repeats", type=int, default=2, help="timings per loop (best kept)")
    parser.add_argument("--n-train", type=int, default=4500)
    parser.add_argument("--n-val", type=int, default=1500)
    return parser.parse_args(argv)


ARGS = parse_args()
if ARGS.device == "cpu":
    os.environ["CUDA_VISIBLE_DEVICES"] = ""  # labkit trains on the GPU whenever it sees one

import numpy as np  # noqa: E402
import pytorch_lightning as pl  # noqa: E402
import torch  # noqa: E402

from labkit.training import Classifier, Regressor, train_model  # noqa: E402


def ecg_cnn(kernel_size: int = 5) -> torch.nn.Module:
    """The ECG lab's given CNN."""
    layers: list[torch.nn.Module] = []
    channels = [1, 8, 16, 32, 64]
    for i in range(4):
        layers += [torch.nn.Conv1d(channels[i], channels[i + 1], kernel_size, padding="same")]
        layers += [torch.nn.BatchNorm1d(channels[i + 1]), torch.nn.ReLU()]
        layers.append(torch.nn.MaxPool1d(2) if i < 3 else torch.nn.AdaptiveAvgPool1d(1))
    model = torch.nn.Sequential(*layers, torch.nn.Flatten(), torch.nn.Linear(64, 5))
    model.input_shape = (1, 1280)
    return model


def hr_ppg_acc_cnn() -> torch.nn.Module:
    """The HR lab's PPG+ACC CNN configuration (4 conv blocks 16..128, k 5, no BN, dense 128-128-1)."""
    layers: list[torch.nn.Module] = []
    n_in = 4
    for i in range(4):
        n_out = 16 * 2**i
        layers += [torch.nn.Conv1d(n_in, n_out, 5, padding="same"), torch.nn.ReLU()]
        if i < 3:
            layers.append(torch.nn.MaxPool1d(2))
        n_in = n_out
    layers += [torch.nn.AdaptiveAvgPool1d(1), torch.nn.Flatten()]
    layers += [torch.nn.Linear(128, 128), torch.nn.ReLU(), torch.nn.Linear(128, 128), torch.nn.ReLU()]
    model = torch.nn.Sequential(*layers, torch.nn.Linear(128, 1))
    model.input_shape = (4, 200)
    return model


def data(shape: tuple[int, ...], classes: int | None, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, *shape)).astype(np.float32)
    if classes is None:
        return x, rng.normal(70, 15, size=(n, 1)).astype(np.float32)
    return x, np.eye(classes, dtype=np.float32)[rng.integers(0, classes, n)]


def dataloader_loop(module, x, y, i_train, i_val, n_epochs: int, device: str) -> None:
    """The original labs' loop."""

    def loader(*arrays, shuffle=False):
        dataset = torch.utils.data.TensorDataset(*map(torch.Tensor, arrays))
        return torch.utils.data.DataLoader(dataset, batch_size=100, shuffle=shuffle, num_workers=0)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trainer = pl.Trainer(
            max_epochs=n_epochs,
            accelerator="gpu" if device == "cuda" else "cpu",
            devices=1,
            logger=False,
            enable_checkpointing=False,
            enable_progress_bar=False,
            enable_model_summary=False,
            num_sanity_val_steps=0,
        )
        trainer.fit(module, loader(x[i_train], y[i_train], shuffle=True), loader(x[i_val], y[i_val]))


def labkit_loop(module, x, y, i_train, i_val, n_epochs: int, device: str) -> None:
    """labkit's loop (its progress display prints two lines per call)."""
    train_model(module, x, y, i_train, i_val, n_epochs=n_epochs, name="bench", summary=False)


def seconds_per_epoch(loop, make_model, wrapper, x, y, splits, args) -> float:
    torch.manual_seed(0)
    module = wrapper(make_model(), 1e-4)
    if args.device == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    loop(module, x, y, *splits, args.epochs, args.device)
    if args.device == "cuda":
        torch.cuda.synchronize()
    return (time.perf_counter() - start) / args.epochs


def main(args: argparse.Namespace) -> int:
    torch.set_num_threads(args.threads)
    n = args.n_train + args.n_val
    splits = (np.arange(args.n_train), np.arange(args.n_train, n))
    cases = {
        "ECG given CNN (1, 1280)": (ecg_cnn, Classifier, data((1, 1280), 5, n)),
        "HR PPG+ACC CNN (4, 200)": (hr_ppg_acc_cnn, Regressor, data((4, 200), None, n)),
    }
    loops = {"dataloader": dataloader_loop, "labkit": labkit_loop}
    print(
        f"device {args.device}, {args.threads} threads, {args.n_train} train / {args.n_val} val samples, "
        f"{args.epochs} epochs per timing, best of {args.repeats}",
        file=sys.stderr,
    )
    rows = []
    for case, (make_model, wrapper, (x, y)) in cases.items():
        best = {name: float("inf") for name in loops}
        for _ in range(args.repeats):
            for name, loop in loops.items():
                best[name] = min(best[name], seconds_per_epoch(loop, make_model, wrapper, x, y, splits, args))
        rows.append((case, best["dataloader"], best["labkit"]))
    print(f"\n{'model':<26} {'dataloader s/epoch':>19} {'labkit s/epoch':>15} {'speed-up':>9}")
    for case, base, ours in rows:
        print(f"{case:<26} {base:>19.3f} {ours:>15.3f} {base / ours:>8.2f}x")
    slower = [case for case, base, ours in rows if ours > base * 1.05]
    if slower:
        print(f"labkit's loop is slower than the baseline on: {', '.join(slower)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(ARGS))
