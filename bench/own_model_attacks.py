"""Grade the disguised custom models (tests/own_model_support.py) beside their controls, at real settings.

For docs/security.md's "What is closed" rows of issue 39: the real ECG lab at its real training settings (no
cap: 50 epochs for the given CNN, the notebook's 15 for the custom models) on the smaller data file (200
strips per rhythm), where the given CNN reaches the accuracy bar, so passing off its work would pay. Each
disguise replaces ``CustomModel1`` of the value attacks' control (both custom models useless); the control
of a constructor handing back the trained CNN is the same class without that constructor. Run it with the
interpreter of the checkout whose labs and grader are measured (``--checkout``: this repository or an
older commit's worktree with its own ``.venv``)::

    nice -n 10 .venv/bin/python bench/own_model_attacks.py --out logs/own-now.json
    nice -n 10 /work/old/.venv/bin/python bench/own_model_attacks.py --checkout /work/old --out old.json
    nice -n 10 .venv/bin/python bench/own_model_attacks.py --grader nbgrader --out logs/own-plain.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "bench"))

import attack_support as attacks  # noqa: E402
import nbformat  # noqa: E402
import own_model_support as own  # noqa: E402
from value_attacks import _course, _grade  # noqa: E402

LAB = "ecg_rhythm_classification"
#: disguise -> its control's CustomModel1 (None: the value attacks' useless model)
CASES = {
    "forward_calls_the_given_cnn": None,
    "copy_of_the_given_cnn_behind_a_layer": None,
    "constructor_returns_the_trained_cnn": "class CustomModel1(torch.nn.Module):\n    pass\n",
    "stashed_copy_of_the_weights": None,
}


def _submissions(course: Path) -> dict[str, nbformat.NotebookNode]:
    source = nbformat.read(course / "source" / LAB / f"{LAB}.ipynb", as_version=4)
    cases = {}
    for name, control in CASES.items():
        useless = control or attacks.USELESS.format(name="CustomModel1", k=1)
        cases[f"control_{name}"] = attacks.with_cells(
            source, {**attacks.ECG_CONTROL, "custom_model_1": useless}
        )
        cases[name] = attacks.with_cells(
            source, {**attacks.ECG_CONTROL, "custom_model_1": own.DISGUISED[name]}
        )
    return cases


def main() -> None:
    """Grade every disguise beside its control; print and write attack vs control scores."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkout", type=Path, default=REPO)
    parser.add_argument("--grader", choices=("course-grade", "nbgrader"), default="course-grade")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    env.pop("LABKIT_MAX_EPOCHS", None)
    with tempfile.TemporaryDirectory(prefix="own-models-") as tmp:
        data = Path(tmp) / "data"
        data.mkdir()
        labkit = Path(sys.executable).parent / "labkit"
        synth = [labkit, "data", "synth", "--out", data, "--only", "ecg", "--no-progress"]
        import subprocess

        subprocess.run([*synth, "--n-per-rhythm", "200"], check=True, capture_output=True)
        course = _course(args.checkout.resolve(), LAB, Path(tmp), data)
        for student, notebook in _submissions(course).items():
            folder = course / "submitted" / student / LAB
            folder.mkdir(parents=True)
            nbformat.write(notebook, folder / f"{LAB}.ipynb")
        scores = _grade(course, LAB, args.grader, env)
    rows = {name: [scores.get(name), scores.get(f"control_{name}")] for name in CASES}
    for name, (attack, control) in rows.items():
        print(f"{name:40s} {attack} vs {control}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps({"checkout": str(args.checkout), "grader": args.grader, "rows": rows}, indent=1)
    )


if __name__ == "__main__":
    main()
