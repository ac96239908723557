"""Fidelity of the synthetic HR data: train the original lab's CNN configurations and compare test MAE.

Baseline: "PPG CNN" (PPG only), trained in the same run. Targets on synthetic data:
PPG ACC norm CNN test MAE <= 0.75 x baseline and within 3-12 bpm; the baseline's error is largest while
walking. Original lab on real PPG-DaLiA (test MAE, bpm): PPG CNN 12.4, PPG ACC CNN 12.0,
PPG ACC norm CNN 6.2, PPG ACC norm dropout 5.5.

Run: ``.venv/bin/python bench/fidelity_hr.py [--epochs 30] [--threads 2] [--data data/ppg_dalia.pkl]``
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

from labkit.datasets.ppg import SHIFT_SIZE, WINDOW_SIZE, load_ppg
from labkit.synthetic.ppg import generate_ppg_records

VAL_SUBJECTS = ("S10", "S11", "S12")
TEST_SUBJECTS = ("S13", "S14", "S15")
REAL_TEST_MAE = {"PPG CNN": 12.4, "PPG ACC CNN": 12.0, "PPG ACC norm CNN": 6.2, "PPG ACC norm dropout": 5.5}
MODELS = {  # name: (channels, use_normalization, dropout)
    "PPG CNN": (1, False, 0.0),
    "PPG ACC CNN": (4, False, 0.0),
    "PPG ACC norm CNN": (4, True, 0.0),
    "PPG ACC norm dropout": (4, True, 0.5),
}


def extract_windows(records: list[dict]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return windows (N, 4, 200) float32, targets (N, 1), subjects (N,), activities (N,)."""
    windows, targets, subjects, activities = [], [], [], []
    for record in records:
        x = record["signals"][["ppg", "acc_x", "acc_y", "acc_z"]].to_numpy(dtype=np.float32)
        view = np.lib.stride_tricks.sliding_window_view(x, WINDOW_SIZE, axis=0)[::SHIFT_SIZE]
        windows.append(view)
        targets.append(record["hr"]["hr"].to_numpy(dtype=np.float32))
        subjects += [record["subject"]] * view.shape[0]
        activities += [record["activity"]] * view.shape[0]
    return np.concatenate(windows), np.concatenate(targets)[:, None], np.array(subjects), np.array(activities)


def build_cnn(channels: int, use_normalization: bool, dropout: float) -> torch.nn.Sequential:
    """The lab's CnnModel: 4 conv (k=5, 16 doubling) + ReLU + MaxPool/AvgPool, 3 dense layers of 128."""
    layers: list[torch.nn.Module] = []
    n_in = channels
    for i in range(4):
        n_out = 16 * 2**i
        layers.append(torch.nn.Conv1d(n_in, n_out, kernel_size=5, padding="same"))
        if use_normalization:
            layers.append(torch.nn.BatchNorm1d(n_out))
        layers.append(torch.nn.ReLU())
        layers.append(torch.nn.MaxPool1d(2) if i < 3 else torch.nn.AdaptiveAvgPool1d(1))
        n_in = n_out
    layers += [torch.nn.Flatten()]
    sizes = [n_in, 128, 128]
    for a, b in zip(sizes[:-1], sizes[1:], strict=True):
        layers += [torch.nn.Linear(a, b), torch.nn.ReLU()]
        if 0.0 < dropout < 1.0:
            layers.append(torch.nn.Dropout(dropout))
    layers.append(torch.nn.Linear(128, 1))
    return torch.nn.Sequential(*layers)


def train(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, epochs: int, seed: int) -> None:
    """Adam lr 1e-4, MSE loss, batch 100, shuffled; tensors stay on their device."""
    generator = torch.Generator(device="cpu").manual_seed(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
    model.train()
    for _ in range(epochs):
        order = torch.randperm(x.shape[0], generator=generator).to(x.device)
        for start in range(0, x.shape[0], 100):
            batch = order[start : start + 100]
            optimizer.zero_grad()
            loss = torch.nn.functional.mse_loss(model(x[batch]), y[batch])
            loss.backward()
            optimizer.step()


@torch.no_grad()
def predict(model: torch.nn.Module, x: torch.Tensor) -> np.ndarray:
    model.eval()
    return torch.cat([model(x[i : i + 1000]) for i in range(0, x.shape[0], 1000)]).cpu().numpy().ravel()


def split(subjects: np.ndarray) -> dict[str, np.ndarray]:
    val, test = np.isin(subjects, VAL_SUBJECTS), np.isin(subjects, TEST_SUBJECTS)
    return {"train": ~(val | test), "val": val, "test": test}


def fit_plain(model: torch.nn.Module, w: np.ndarray, targets: np.ndarray, subsets: dict, args) -> np.ndarray:
    """Train with the plain loop on ``args.device``; return predictions for every window."""
    model = model.to(args.device)
    x, y = torch.tensor(w, device=args.device), torch.tensor(targets, device=args.device)
    train_mask = torch.tensor(subsets["train"], device=args.device)
    train(model, x[train_mask], y[train_mask], args.epochs, args.torch_seed)
    return predict(model, x)


def fit_labkit(model: torch.nn.Module, w: np.ndarray, targets: np.ndarray, subsets: dict, args) -> np.ndarray:
    """Train with ``labkit.training.train_model`` (Lightning, validation each epoch); return predictions."""
    from labkit.training import Regressor, train_model
    from labkit.training import predict as labkit_predict

    model.input_shape = tuple(w.shape[1:])
    module = Regressor(model, learning_rate=1e-4)
    i_train, i_val = np.flatnonzero(subsets["train"]), np.flatnonzero(subsets["val"])
    train_model(module, w, targets, i_train, i_val, n_epochs=args.epochs, name="fidelity", summary=False)
    return labkit_predict(module, w).ravel()


def run(records: list[dict], names: list[str], args) -> dict:
    """Train every named configuration on the same windows and return MAE per subset and activity."""
    windows, targets, subjects, activities = extract_windows(records)
    subsets = split(subjects)
    results = {"counts": {k: int(v.sum()) for k, v in subsets.items()}, "models": {}}
    for name in names:
        channels, norm, dropout = MODELS[name]
        w = windows[:, :channels].copy()
        w *= 1.0 / np.mean(np.std(w[subsets["train"]], axis=-1, keepdims=True), axis=0)
        torch.manual_seed(args.torch_seed)
        model = build_cnn(channels, norm, dropout)
        tic = time.perf_counter()
        fit = fit_labkit if args.loop == "labkit" else fit_plain
        error = np.abs(fit(model, w, targets, subsets, args) - targets.ravel())
        row = {f"{s}_mae": float(error[m].mean()) for s, m in subsets.items()}
        for activity in ("sitting", "walking"):
            for s in ("val", "test"):
                row[f"{s}_{activity}_mae"] = float(error[subsets[s] & (activities == activity)].mean())
        row["train_s"] = time.perf_counter() - tic
        print(f"{name:22s} " + " ".join(f"{k}={v:6.2f}" for k, v in row.items()), flush=True)
        keys = sorted(set(zip(subjects, activities, strict=True)), key=lambda k: (int(k[0][1:]), k[1]))
        row["per_record_mae"] = {
            f"{s}/{a}": float(error[(subjects == s) & (activities == a)].mean()) for s, a in keys
        }
        results["models"][name] = row
    return results


def _mark(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def verdict(results: dict) -> list[str]:
    """Return the target checks as 'PASS/FAIL: ...' lines."""
    models = results["models"]
    base, best = models.get("PPG CNN"), models.get("PPG ACC norm CNN")
    if not base or not best:
        return []
    ratio = best["test_mae"] / base["test_mae"]
    walk_worst = base["test_walking_mae"] > base["test_sitting_mae"]
    return [
        f"{_mark(ratio <= 0.75)}: PPG ACC norm / PPG test MAE ratio {ratio:.2f} (target <= 0.75)",
        f"{_mark(3 <= best['test_mae'] <= 12)}: PPG ACC norm test MAE {best['test_mae']:.2f} (target 3-12)",
        f"{_mark(walk_worst)}: PPG CNN test MAE walking > sitting",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0, help="synthetic data seed")
    parser.add_argument("--data", help="records file to use instead of generating synthetic data")
    parser.add_argument("--models", nargs="+", default=list(MODELS)[:3], choices=list(MODELS))
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu", help="plain loop")
    parser.add_argument("--loop", choices=("labkit", "plain"), default="labkit", help="training loop")
    parser.add_argument("--torch-seed", type=int, default=42, help="weights and shuffling seed")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    tic = time.perf_counter()
    records = load_ppg(args.data) if args.data else generate_ppg_records(seed=args.seed)
    print(f"data: {len(records)} records in {time.perf_counter() - tic:.2f} s; loop {args.loop}")
    results = run(records, args.models, args)
    results["checks"] = verdict(results)
    print("\n".join(results["checks"]))
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(results, handle, indent=2)


if __name__ == "__main__":
    main()
