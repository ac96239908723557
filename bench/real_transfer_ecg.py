"""Do the ECG lab's models, trained on the default synthetic data, hold on real strips?

Executes the lab's own given and reference cells (the given CNN and both reference custom models, at the
notebook's settings: N_EPOCHS, CUSTOM_N_EPOCHS, ...) on the default synthetic data of a data seed, then
applies the three trained models unchanged to the real evaluation set labkit ships
(:func:`labkit.datasets.ecg_real.load_real_ecg_eval`, PhysioNet/CinC 2017), scaled by the notebook's own
``alpha``. Reports accuracy and per-rhythm recall per model (and the synthetic test accuracy beside them).

Targets (issue 42): every model >= 0.75 accuracy on the real strips, every rhythm with at least 20 strips
>= 0.5 recall.

Usage::

    nice -n 10 .venv/bin/python bench/real_transfer_ecg.py --seeds 0 1 2 --threads 1 --cores 2 \\
        --out logs/real_transfer_ecg
    .venv/bin/python bench/real_transfer_ecg.py --table logs/real_transfer_ecg
"""

from __future__ import annotations

import numpy as np
from metric_spread import CELLS
from notebook_runs import load_runs, source_of, sweep, sweep_arguments, train_on_seed, write_run

SOURCE = source_of("ecg_rhythm_classification")
MODELS = {"given CNN": ("cnn", "cnn_matrices"), "custom 1": ("custom1", "custom1_matrices")}
MODELS |= {"custom 2": ("custom2", "custom2_matrices")}
MIN_ACCURACY, MIN_RECALL, MIN_STRIPS = 0.75, 0.5, 20


def real_scores(predicted: np.ndarray, rhythms: np.ndarray) -> dict:
    """Accuracy and per-rhythm recall (with strip counts) of predicted rhythm names on the real strips."""
    recall = {
        str(r): {
            "recall": round(float(np.mean(predicted[rhythms == r] == r)), 3),
            "n": int((rhythms == r).sum()),
        }
        for r in np.unique(rhythms)
    }
    return {"accuracy": round(float(np.mean(predicted == rhythms)), 4), "recall": recall}


def meets_targets(scores: dict) -> bool:
    """True when the accuracy and every recall of a rhythm with enough strips reach the targets."""
    recalls = [v["recall"] for v in scores["recall"].values() if v["n"] >= MIN_STRIPS]
    return scores["accuracy"] >= MIN_ACCURACY and min(recalls, default=1.0) >= MIN_RECALL


def run_one(seed: int, threads: int) -> dict:
    """Train the lab's three models on synthetic data of ``seed``; score them on the real strips."""
    from labkit.datasets.ecg_real import load_real_ecg_eval
    from labkit.synthetic.ecg import GENERATOR, VERSION
    from labkit.training import accuracy, predict

    ns, seconds = train_on_seed(SOURCE, CELLS, seed, threads)
    signals, rhythms, _ = load_real_ecg_eval()
    x = signals * float(ns["alpha"])
    classes = np.asarray(ns["labels"])
    result = {"seed": seed, "threads": threads, "generator": f"{GENERATOR} {VERSION}", "train_s": seconds}
    for name, (model, matrices) in MODELS.items():
        predicted = classes[np.argmax(predict(ns[model], x), axis=1)]
        scores = real_scores(predicted, rhythms)
        result[name] = scores | {"synthetic_test_accuracy": round(accuracy(ns[matrices]["test"]), 4)}
        result[name]["ok"] = meets_targets(scores)
    return result


def format_table(runs: list[dict]) -> str:
    """One row per (seed, model): synthetic test accuracy, real accuracy, real recall per rhythm."""
    rhythms = sorted({r for run in runs for name in MODELS for r in run[name]["recall"]})
    short = {r: "".join(w[0] for w in r.split("_")).upper() for r in rhythms}
    head = "| generator | seed | model | synthetic test acc | real acc | " + " | ".join(
        f"{short[r]} recall (n)" for r in rhythms
    )
    lines = [head + " | targets |", "|" + "---|" * (head.count("|") + 1)]
    for run in sorted(runs, key=lambda r: (r["generator"], r["seed"])):
        for name in MODELS:
            s = run[name]
            cells = [f"{s['recall'][r]['recall']:.2f} ({s['recall'][r]['n']})" for r in rhythms]
            lines.append(
                f"| {run['generator']} | {run['seed']} | {name} | {s['synthetic_test_accuracy']:.3f} | "
                f"{s['accuracy']:.3f} | " + " | ".join(cells) + f" | {'met' if s['ok'] else 'missed'} |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = sweep_arguments(__doc__.splitlines()[0], [1], "logs/real_transfer_ecg")
    args = parser.parse_args()
    if args.one:
        write_run(args.out, run_one(*args.one))
        return
    if not args.table:
        sweep(__file__, args.seeds, args.threads, args.cores, args.out, [])
    print(format_table(load_runs(args.table or args.out)))


if __name__ == "__main__":
    main()
