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

``--set NAME=VALUE`` (repeatable) overrides a field of ``labkit.synthetic.ppg.PpgParameters`` (NAME in any
case: ``INTENSITY_GAIN`` or ``intensity_gain``) for this run only, to try a generator variant without
editing it, e.g. ``--set "COUPLING_GAIN=(5.0, 13.0)" --set INTENSITY_GAIN=60.0`` (VALUE is a Python
literal). The last line gives the acceleration's gain per activity as issue 14 defines it: PPG-only minus
PPG + acceleration MAE, validation plus test subjects.

About 2 minutes on one CPU thread. bench/hr_prior_probe.md is the diary of the variants tried with it;
docs/data_ppg.md (fidelity) describes the default generator.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses

import numpy as np
import pandas as pd
from fidelity_hr import CELLS, execute_on_records

from labkit.synthetic.ppg import PpgParameters, generate_ppg_records

MODELS = {"PPG": ("ppg_cnn", "ppg_windows"), "PPG+ACC": ("ppg_acc_cnn", "ppg_acc_windows")}
# knobs of earlier variants, off in generator 2.0 and removed; the diary's rows with them ran before this
REMOVED = ("swing_exponent", "artifact_lowpass", "artifact_order", "coupling_drift", "step_jolt")
REMOVED_AT = "51cada6"  # the last commit whose generator has them (as module constants: --set NAME=VALUE)


def _parse_value(assignment: str, default: object) -> object:
    """Return VALUE of ``NAME=VALUE`` as a Python literal shaped like the field's ``default``."""
    text = assignment.partition("=")[2]
    try:
        value = ast.literal_eval(text.strip())
    except (ValueError, SyntaxError):
        raise SystemExit(f"--set {assignment}: VALUE {text!r} is not a Python literal") from None
    if isinstance(default, tuple):
        if not isinstance(value, tuple | list) or len(value) != len(default) or not all(map(_number, value)):
            raise SystemExit(f"--set {assignment}: wants a tuple of {len(default)} numbers, like {default}")
        return tuple(value)
    if not _number(value):
        raise SystemExit(f"--set {assignment}: wants a number, like {default}")
    return value


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def generator_parameters(assignments: list[str]) -> PpgParameters:
    """Return ``PpgParameters`` with the ``NAME=VALUE`` overrides (NAME a field in any case) applied."""
    defaults = PpgParameters()
    valid = [field.name for field in dataclasses.fields(PpgParameters)]
    changes = {}
    for assignment in assignments:
        name = assignment.partition("=")[0].strip().lower()
        if name not in valid:
            removed = f" ({name} was removed after commit {REMOVED_AT})" if name in REMOVED else ""
            raise SystemExit(
                f"--set {assignment}: PpgParameters has no field {name!r}{removed}; valid: {', '.join(valid)}"
            )
        changes[name] = _parse_value(assignment, getattr(defaults, name))
    return dataclasses.replace(defaults, **changes)


def train_first_models(seed: int, params: PpgParameters | None = None) -> dict:
    """Execute the lab's cells up to ``ppg_training`` on data seed ``seed``; return the namespace.

    ``params`` configures the generator; None: its defaults (version 2.0).
    """
    cells = CELLS[: CELLS.index("ppg_training") + 1]
    records = generate_ppg_records(seed=seed, params=params or PpgParameters())
    return execute_on_records(records, cells, 1)[0]


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
        "--set", action="append", default=[], metavar="NAME=VALUE", help="override a generator parameter"
    )
    args = parser.parse_args()
    params = generator_parameters(args.set)
    data = estimates(train_first_models(args.seed, params))
    table = per_record(data)
    with pd.option_context("display.max_rows", None):
        print(table)
    summary = table.groupby(["model", "activity"])[["mae", "corr"]].median()
    print("\nmedian over subjects:\n" + summary.round(2).to_string())
    gain = activity_gain(data)
    print("\nacceleration gain (val + test, bpm): " + ", ".join(f"{a} {g:.1f}" for a, g in gain.items()))


if __name__ == "__main__":
    main()
