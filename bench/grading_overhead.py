"""Seconds to grade one correct submission at the real settings: two course checkouts, alternating.

Measures what a grader change costs per submission (for example the hidden checks decided outside the
kernel): each checkout grades, with its own interpreter and ``course-grade``, a copy of the HR lab holding
``--k`` copies of its reference solution at the real settings (no training cap, the default data). The
first pass records the reference's trained states (training reuse); every later pass (``--force``)
regrades the same submissions, which load them, and the ledger's per-submission seconds are the figure.
Rounds alternate between the checkouts, so both see the same machine load. ``--no-reuse`` adds one pass
per checkout that trains (``--no-train-reuse``).

    .venv/bin/python bench/grading_overhead.py --checkout before=/work/old --checkout after=. --rounds 3
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

LABS = ("hr_estimation", "ecg_rhythm_classification")
LAB = LABS[0]  # set from --lab in main()


def _course(checkout: Path, root: Path, k: int) -> Path:
    course = root / "course"
    course.mkdir(parents=True)
    shutil.copy2(checkout / "nbgrader_config.py", course / "nbgrader_config.py")
    for folder in ("source", "release"):
        shutil.copytree(checkout / folder / LAB, course / folder / LAB, ignore=shutil.ignore_patterns("*.py"))
    (course / "data").symlink_to((checkout / "data").resolve(), target_is_directory=True)
    for i in range(k):
        target = course / "submitted" / f"correct{i}" / LAB / f"{LAB}.ipynb"
        target.parent.mkdir(parents=True)
        shutil.copy2(checkout / "source" / LAB / f"{LAB}.ipynb", target)
    return course


def _grade(checkout: Path, course: Path, jobs: int, *extra: str) -> list[float]:
    """Grade every submission of the course; return the ledger's seconds of each."""
    command = [checkout / ".venv" / "bin" / "course-grade", "--course", course, "--quiet", "grade", LAB]
    subprocess.run([*command, "--jobs", str(jobs), *extra], check=True, capture_output=True)
    entries = json.loads((course / ".grading" / "ledger.json").read_text())["entries"].values()
    return [entry["seconds"] for entry in entries if entry["lab"] == LAB]


def main() -> None:
    """Alternate the checkouts' passes and print the median seconds of a correct submission for each."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkout", action="append", required=True, help="NAME=PATH, a checkout with .venv")
    parser.add_argument("--lab", choices=LABS, default=LABS[0], help="the lab graded (default: HR)")
    parser.add_argument("--k", type=int, default=2, help="copies of the reference solution per pass")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3, help="passes per checkout that load the states")
    parser.add_argument("--no-reuse", action="store_true", help="also one pass per checkout that trains")
    args = parser.parse_args()
    global LAB
    LAB = args.lab
    checkouts = {name: Path(path).resolve() for name, path in (c.split("=", 1) for c in args.checkout)}
    seconds: dict[str, dict[str, list[float]]] = {name: {"loaded": [], "trained": []} for name in checkouts}
    with tempfile.TemporaryDirectory(prefix="grading-overhead-") as tmp:
        courses = {name: _course(path, Path(tmp) / name, args.k) for name, path in checkouts.items()}
        for name, path in checkouts.items():  # first pass: records the reference's states
            started = time.monotonic()
            _grade(path, courses[name], args.jobs)
            print(f"{name}: recording pass {time.monotonic() - started:.1f} s", flush=True)
        for round_ in range(args.rounds):
            for name, path in checkouts.items():
                found = _grade(path, courses[name], args.jobs, "--force")
                seconds[name]["loaded"] += found
                print(f"round {round_ + 1} {name}: loaded {found}", flush=True)
        if args.no_reuse:
            for name, path in checkouts.items():
                found = _grade(path, courses[name], args.jobs, "--force", "--no-train-reuse")
                seconds[name]["trained"] += found
                print(f"{name}: trained {found}", flush=True)
    names = list(checkouts)
    for kind in ("loaded", "trained"):
        medians = {name: statistics.median(seconds[name][kind]) for name in names if seconds[name][kind]}
        if len(medians) == len(names):
            ratio = medians[names[-1]] / medians[names[0]]
            shown = ", ".join(f"{name} {value:.1f} s" for name, value in medians.items())
            print(f"correct submission, {kind}: median {shown}; {names[-1]} / {names[0]} = {ratio:.3f}")


if __name__ == "__main__":
    main()
