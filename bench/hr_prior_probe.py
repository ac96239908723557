"""Do the HR lab's first two models read the pulse, or only each activity's typical heart rate?

Runs the HR lab's cells up to the first training (``ppg_training``: the PPG-only and the PPG + acceleration
CNN, the lab's settings) on the synthetic records of one data seed and prints, per subject and activity,
the models' mean absolute error, their bias (mean of estimate - reference) and the correlation between
estimate and reference *within* the record. A model that reads the heart rate from the signal follows it
inside a record (correlation well above 0, small bias); a model that learned only a typical heart rate per
activity (or per gait) shows a correlation near 0 and a bias per subject: its error is the distance of
the subject's heart rate from that typical level, and the acceleration then helps sitting windows by
telling the activity, not by removing motion artefacts.

    nice -n 10 .venv/bin/python bench/hr_prior_probe.py --seed 2

``--set NAME=VALUE`` (repeatable) overrides a constant of ``labkit.synthetic.ppg`` for this run only, to try a
generator variant without editing it, e.g. ``--set "COUPLING_GAIN=(5.0, 13.0)" --set INTENSITY_GAIN=60.0``
(VALUE is a Python literal). The last line gives the acceleration's gain per activity as issue 14 defines
it: PPG-only minus PPG + acceleration MAE, validation plus test subjects.

About 2 minutes on one CPU thread. See docs/data_ppg.md (fidelity) for what it showed.
"""

from __future__ import annotations

import argparse
import ast

import numpy as np
import pandas as pd
from fidelity_hr import CELLS, execute_on_records

MODELS = {"PPG": ("ppg_cnn", "ppg_windows"), "PPG+ACC": ("ppg_acc_cnn", "ppg_acc_windows")}


def override_generator(assignments: list[str]) -> None:
    """Set constants of :mod:`labkit.synthetic.ppg` from ``NAME=VALUE`` strings (VALUE a Python literal)."""
    import labkit.synthetic.ppg as generator

    for assignment in assignments:
        name, _, value = assignment.partition("=")
        if not hasattr(generator, name) or name != name.upper():
            raise SystemExit(f"--set {assignment}: labkit.synthetic.ppg has no constant {name!r}")
        setattr(generator, name, ast.literal_eval(value))


def train_first_models(seed: int) -> dict:
    """Execute the lab's cells up to ``ppg_training`` on data seed ``seed``; return the namespace."""
    from labkit.synthetic.ppg import generate_ppg_records

    cells = CELLS[: CELLS.index("ppg_training") + 1]
    return execute_on_records(generate_ppg_records(seed=seed), cells, 1)[0]


def estimates(ns: dict) -> pd.DataFrame:
    """Return one row per model and window: reference, estimate, activity, subject and subset."""
    import labkit.training

    subset = np.full(len(ns["targets"]), "train", dtype=object)
    subset[ns["i_val"]], subset[ns["i_test"]] = "val", "test"
    frames = []
    for name, (model, windows) in MODELS.items():
        estimate = labkit.training.predict(ns[model], ns[windows]).ravel()
        frame = pd.DataFrame(
            {"reference": ns["targets"].ravel(), "estimate": estimate, "activity": ns["activities"]}
        )
        frame["subject"], frame["subset"], frame["model"] = np.asarray(ns["subjects"]), subset, name
        frames.append(frame)
    data = pd.concat(frames)
    error = data["estimate"] - data["reference"]
    return data.assign(error=error, abs_error=error.abs())


def activity_gain(data: pd.DataFrame) -> dict[str, float]:
    """Return PPG-only minus PPG + acceleration MAE (validation plus test subjects) per activity."""
    held_out = data[data["subset"] != "train"]
    mae = held_out.groupby(["model", "subset", "activity"])["abs_error"].mean()
    gain = (mae["PPG"] - mae["PPG+ACC"]).groupby("activity").sum()
    return {activity: float(value) for activity, value in gain.items()}


def per_record(data: pd.DataFrame) -> pd.DataFrame:
    """Return MAE, bias and within-record correlation per model, subject and activity."""
    groups = data.groupby(["model", "activity", "subject"])
    return pd.DataFrame(
        {
            "mae": groups["abs_error"].mean(),
            "bias": groups["error"].mean(),
            "corr": groups[["estimate", "reference"]].apply(lambda g: g["estimate"].corr(g["reference"])),
            "reference_sd": groups["reference"].std(),
        }
    ).round(2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0, help="data seed of the synthetic records")
    parser.add_argument(
        "--set", action="append", default=[], metavar="NAME=VALUE", help="override a generator constant"
    )
    args = parser.parse_args()
    override_generator(args.set)
    data = estimates(train_first_models(args.seed))
    table = per_record(data)
    with pd.option_context("display.max_rows", None):
        print(table)
    summary = table.groupby(["model", "activity"])[["mae", "corr"]].median()
    print("\nmedian over subjects:\n" + summary.round(2).to_string())
    gain = activity_gain(data)
    print("\nacceleration gain (val + test, bpm): " + ", ".join(f"{a} {g:.1f}" for a, g in gain.items()))


if __name__ == "__main__":
    main()
