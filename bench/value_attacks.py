"""Grade the value-attack catalogue (tests/attack_support.py) beside its controls, with a chosen grader.

For docs/security.md's threat table: the same submissions graded by ``course-grade grade`` and by plain
``nbgrader autograde`` of a course checkout (``--checkout``: this repository, or an older commit's worktree
with its own ``.venv``; run this script with that checkout's interpreter). Every grading run uses the
capped training (``LABKIT_MAX_EPOCHS=1``, the smaller capped ECG data): the attacks target tests that do
not depend on the models' quality, and the ECG control's models are useless either way.

    .venv/bin/python bench/value_attacks.py --grader course-grade --out logs/attacks-new.json
    .venv/bin/python bench/value_attacks.py --grader nbgrader --out logs/attacks-plain-new.json
    /work/old/.venv/bin/python bench/value_attacks.py --checkout /work/old --grader course-grade ...
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

import attack_support as attacks  # noqa: E402
import nbformat  # noqa: E402

LABS = {
    "mini": ("control", attacks.MINI_CONTROL, attacks.MINI_ATTACKS),
    "hr_estimation": ("control", attacks.HR_CONTROL, attacks.HR_ATTACKS),
    "ecg_rhythm_classification": ("control", attacks.ECG_CONTROL, attacks.ECG_ATTACKS),
}


def _course(checkout: Path, lab: str, root: Path, data: Path) -> Path:
    course = root / lab
    if lab == "mini":
        shutil.copytree(checkout / "tests" / "fixtures" / "course_mini", course)
        nbgrader = Path(sys.executable).parent / "nbgrader"
        env = {**os.environ, "PATH": f"{nbgrader.parent}:{os.environ['PATH']}"}
        subprocess.run(
            [nbgrader, "generate_assignment", "mini", "--force"],
            cwd=course,
            env=env,
            check=True,
            capture_output=True,
        )
    else:
        course.mkdir(parents=True)
        shutil.copy2(checkout / "nbgrader_config.py", course / "nbgrader_config.py")
        for folder in ("source", "release"):
            shutil.copytree(
                checkout / folder / lab, course / folder / lab, ignore=shutil.ignore_patterns("*.py")
            )
        (course / "data").symlink_to(data, target_is_directory=True)
    return course


def _submissions(course: Path, lab: str) -> dict[str, nbformat.NotebookNode]:
    """Control and attacks, written on the checkout's own solved release (the fixture's answers for mini)."""
    release = nbformat.read(course / "release" / lab / f"{lab}.ipynb", as_version=4)
    source = nbformat.read(course / "source" / lab / f"{lab}.ipynb", as_version=4)
    answers = {
        c.metadata["nbgrader"]["grade_id"]: c.source
        for c in source.cells
        if c.metadata.get("nbgrader", {}).get("solution") and c.cell_type == "code"
    }
    solved = attacks.with_cells(release, answers)
    control_name, control, catalogue = LABS[lab]
    cases = {control_name: attacks.with_cells(solved, control)}
    for name, (cells, extra) in catalogue.items():
        cases[name] = attacks.with_cells(solved, {**control, **cells}, extra)
    return cases


def _grade(course: Path, lab: str, grader: str, env: dict[str, str]) -> dict[str, float]:
    bin_dir = Path(sys.executable).parent
    run = {"cwd": course, "env": env, "check": True, "capture_output": True, "text": True}
    if grader == "course-grade":
        subprocess.run([bin_dir / "course-grade", "--quiet", "build"], **run)
        subprocess.run([bin_dir / "course-grade", "--quiet", "grade", lab, "--jobs", "2"], **run)
        ledger = json.loads((course / ".grading" / "ledger.json").read_text())
        entries = ledger.get("entries", ledger)
        return {
            e["student"]: e["score"]
            for e in (entries.values() if isinstance(entries, dict) else entries)
            if isinstance(e, dict) and e.get("lab") == lab
        }
    subprocess.run([bin_dir / "nbgrader", "generate_assignment", lab, "--force"], **run)
    subprocess.run([bin_dir / "nbgrader", "autograde", lab, "--force"], **run)
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        return {s.student.id: s.score for s in gb.find_assignment(lab).submissions}


def main() -> None:
    """Grade the catalogue and print attack vs control per lab; write the scores as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--checkout", type=Path, default=REPO, help="course checkout whose labs and grader run"
    )
    parser.add_argument("--grader", choices=("course-grade", "nbgrader"), default="course-grade")
    parser.add_argument("--labs", nargs="*", default=list(LABS))
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    env = {
        **os.environ,
        "LABKIT_MAX_EPOCHS": "1",
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
    }
    results = {}
    with tempfile.TemporaryDirectory(prefix="value-attacks-") as tmp:
        data = Path(tmp) / "data"
        data.mkdir()
        labkit = Path(sys.executable).parent / "labkit"
        synth = [
            labkit,
            "data",
            "synth",
            "--out",
            data,
            "--only",
            "ecg",
            "--no-progress",
            "--n-per-rhythm",
            "200",
        ]
        subprocess.run(synth, check=True, capture_output=True)
        shutil.copy2(args.checkout / "data" / "ppg_dalia.pkl", data / "ppg_dalia.pkl")
        for lab in args.labs:
            course = _course(args.checkout, lab, Path(tmp), data)
            for student, nb in _submissions(course, lab).items():
                target = course / "submitted" / student / lab / f"{lab}.ipynb"
                target.parent.mkdir(parents=True)
                nbformat.write(nb, str(target))
            scores = _grade(course, lab, args.grader, {**env, "LABKIT_DATA_DIR": str(data)})
            control = scores["control"]
            results[lab] = scores
            for name in LABS[lab][2]:
                verdict = "beats its control" if scores[name] > control else "= control"
                print(f"{lab:27} {name:48} {scores[name]:5.1f} vs {control:4.1f}  {verdict}", flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps({"checkout": str(args.checkout), "grader": args.grader, "scores": results}, indent=1)
    )


if __name__ == "__main__":
    main()
