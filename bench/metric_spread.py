"""Spread of the ECG lab's thresholded metrics over CPU thread counts, data seeds and devices.

The graded bar of each custom model (``test_custom1_accuracy``, ``test_custom2_accuracy``) is a test
accuracy of at least ``MIN_ACCURACY`` and at least the given CNN's minus ``ACCURACY_MARGIN``
(:mod:`labkit.labs.ecg`). A bar is fair when a correct submission
clears it on every machine a student or a grader uses. Each run executes the lab's own given and reference
cells (``source/ecg_rhythm_classification/ecg_rhythm_classification.py``: load, split, scaling, encoding,
the given CNN for 50 epochs, both custom models for the notebook's ``CUSTOM_N_EPOCHS``, the notebook's
seeds) on the synthetic data of one
data seed, with ``torch.set_num_threads(THREADS)`` (and on the GPU when one is visible), and records the
test accuracy of the three models. The table gives, per data seed, each model's accuracy at every thread
count, its spread (max - min over thread counts and devices), and the margin of each custom model over
its bar (the bar computed on the same run), and checks: margin >= 3 x the largest spread.

The HR lab has no graded metric threshold (its performance check is not graded) and pins one CPU thread in
its setup cell; its numbers over seeds are in ``bench/fidelity_hr.py``.

Run (at most ``--cores`` threads busy at once; runs already in ``--out`` are kept)::

    nice -n 10 .venv/bin/python bench/metric_spread.py --seeds 0 1 2 3 4 --threads 1 2 4 --cores 2 --out DIR
    .venv/bin/python bench/metric_spread.py --table DIR
"""

from __future__ import annotations

import numpy as np
from notebook_runs import load_runs, source_of, sweep, sweep_arguments, train_on_seed, write_run

from labkit.labs.ecg import ACCURACY_MARGIN as MARGIN
from labkit.labs.ecg import MIN_ACCURACY

SOURCE = source_of("ecg_rhythm_classification")
CELLS = (  # given and reference cells that build the data and train the three models, in notebook order
    "setup", "load", "split", "scaling", "encoding", "cnn_model", "cnn_training", "custom_model_1",
    "custom_model_2", "student-free", "custom1_training", "custom2_training",
)  # fmt: skip
MODELS = {"given CNN": "cnn_matrices", "custom 1": "custom1_matrices", "custom 2": "custom2_matrices"}
SAFETY = 3.0  # a bar is fair when every margin is at least this many spreads


def run_one(seed: int, threads: int) -> dict:
    """Execute the lab's cells on synthetic ECG data of ``seed`` with ``threads`` torch threads."""
    from labkit.training import accuracy

    ns, seconds = train_on_seed(SOURCE, CELLS, seed, threads)
    device = str(ns["labkit"].training.training_device()) if "labkit" in ns else "cpu"
    test = {name: accuracy(ns[variable]["test"]) for name, variable in MODELS.items()}
    return {"seed": seed, "threads": threads, "device": device, "train_s": seconds, "test_accuracy": test}


def format_table(runs: list[dict]) -> str:
    """Return the per-seed table of accuracies, spreads and margins, and the verdict."""
    lines = [f"{'seed':>4} {'model':10} " + " ".join(f"{'t' + str(t):>6}" for t in _threads(runs))
             + f" {'spread':>7} {'margin':>7}"]  # fmt: skip
    spreads, margins = [], []
    for seed in sorted({r["seed"] for r in runs}):
        mine = {r["threads"]: r for r in runs if r["seed"] == seed}
        for model in MODELS:
            values = [mine[t]["test_accuracy"][model] for t in sorted(mine)]
            spread = max(values) - min(values)
            spreads.append(spread)
            bars = [max(MIN_ACCURACY, r["test_accuracy"]["given CNN"] - MARGIN) for r in mine.values()]
            margin = (
                min(r["test_accuracy"][model] - bar for r, bar in zip(mine.values(), bars, strict=True))
                if model != "given CNN" else float("nan")
            )  # fmt: skip
            if model != "given CNN":
                margins.append(margin)
            cells = " ".join(f"{mine[t]['test_accuracy'][model]:6.3f}" if t in mine else f"{'':6}"
                             for t in _threads(runs))  # fmt: skip
            lines.append(f"{seed:>4} {model:10} {cells} {spread:7.3f} {margin:7.3f}")
    worst_spread, worst_margin = max(spreads), min(margins)
    verdict = "PASS" if worst_margin >= SAFETY * worst_spread else "FAIL"
    seeds = {r["seed"] for r in runs}
    if any(len({r["threads"] for r in runs if r["seed"] == seed}) < 2 for seed in seeds):
        verdict = "INCOMPLETE (a seed with one thread count has no spread yet)"
    lines.append(
        f"{verdict}: smallest margin over the bar {worst_margin:.3f}, largest spread {worst_spread:.3f} "
        f"(needs margin >= {SAFETY:.0f} x spread = {SAFETY * worst_spread:.3f}); "
        f"{len(runs)} runs, devices {sorted({r['device'] for r in runs})}, "
        f"median run {np.median([r['train_s'] for r in runs]):.0f} s"
    )
    return "\n".join(lines)


def _threads(runs: list[dict]) -> list[int]:
    return sorted({r["threads"] for r in runs})


def main() -> None:
    parser = sweep_arguments(__doc__.splitlines()[0], [1, 2, 4], "logs/metric_spread")
    args = parser.parse_args()
    if args.table:
        print(format_table(load_runs(args.table)))
        return
    if args.one:
        write_run(args.out, run_one(*args.one))
        return
    sweep(__file__, args.seeds, args.threads, args.cores, args.out, [])
    jobs = {(s, t) for t in args.threads for s in args.seeds}
    print(format_table([r for r in load_runs(args.out) if (r["seed"], r["threads"]) in jobs]))


if __name__ == "__main__":
    main()
