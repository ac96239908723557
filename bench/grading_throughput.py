"""Grading throughput: plain sequential `nbgrader autograde` (baseline) vs `course-grade grade --jobs N`.

The same K submissions (copies of the reference solution, or of the untouched release with --blank) are
graded twice in scratch copies of the course; the report is the ratio of wall times, measured in one run.

    .venv/bin/python bench/grading_throughput.py --lab hr_estimation --k 4 --jobs 2 --max-epochs 1
    .venv/bin/python bench/grading_throughput.py --course tests/fixtures/course_mini --lab mini --k 6
    # on a GPU machine: every worker gets one GPU round-robin (CUDA_VISIBLE_DEVICES); several workers share
    # one GPU when --jobs exceeds the GPU count:
    .venv/bin/python bench/grading_throughput.py --lab ecg_rhythm_classification --k 8 --jobs 4 --device
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def scratch_course(course: Path, lab: str, k: int, blank: bool, into: Path) -> Path:
    into.mkdir(parents=True)
    for part in ("nbgrader_config.py", "source", "data"):
        src = course / part
        if src.is_dir():
            shutil.copytree(src, into / part, symlinks=True)
        elif src.is_file():
            shutil.copy2(src, into / part)
    subprocess.run(
        [sys.executable, "-m", "autograder.cli", "--course", str(into), "build"],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    notebook = into / ("release" if blank else "source") / lab / f"{lab}.ipynb"
    for i in range(k):
        target = into / "submitted" / f"bench{i:03d}" / lab
        target.mkdir(parents=True)
        shutil.copy2(notebook, target / f"{lab}.ipynb")
    return into


def timed(cmd: list[str], cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--course", type=Path, default=ROOT)
    parser.add_argument("--lab", default="hr_estimation")
    parser.add_argument("--k", type=int, default=4, help="number of submissions")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument(
        "--max-epochs", type=int, default=1, help="LABKIT_MAX_EPOCHS for both runs (0 = none)"
    )
    parser.add_argument("--blank", action="store_true", help="grade untouched releases (no training)")
    parser.add_argument("--device", action="store_true", help="keep CUDA visible (GPU machine)")
    args = parser.parse_args()
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}"}
    if args.max_epochs:
        env["LABKIT_MAX_EPOCHS"] = str(args.max_epochs)
    if not args.device:
        env["CUDA_VISIBLE_DEVICES"] = ""
    with tempfile.TemporaryDirectory() as tmp:
        base = scratch_course(args.course.resolve(), args.lab, args.k, args.blank, Path(tmp) / "plain")
        baseline = timed([sys.executable, "-m", "nbgrader", "autograde", args.lab], base, env)
        ours_root = scratch_course(args.course.resolve(), args.lab, args.k, args.blank, Path(tmp) / "ours")
        ours = timed(
            [
                sys.executable,
                "-m",
                "autograder.cli",
                "--course",
                str(ours_root),
                "--quiet",
                "grade",
                args.lab,
                "--jobs",
                str(args.jobs),
            ],
            ours_root,
            env,
        )
    print(
        f"lab={args.lab} K={args.k} jobs={args.jobs} max_epochs={args.max_epochs or 'none'}"
        f" cpus={os.cpu_count()}"
    )
    print(
        f"plain nbgrader autograde (sequential): {baseline:7.1f} s  = {3600 * args.k / baseline:6.1f} subs/h"
    )
    print(
        f"course-grade grade --jobs {args.jobs}:         {ours:7.1f} s  = {3600 * args.k / ours:6.1f} subs/h"
    )
    print(f"ratio (plain / course-grade): {baseline / ours:.2f}x")


if __name__ == "__main__":
    main()
