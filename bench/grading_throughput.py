"""Grading throughput: plain sequential `nbgrader autograde` vs `course-grade grade`, without and with reuse.

One run grades the same K submissions three times, each in a scratch copy of the course:

1. plain `nbgrader autograde LAB` (sequential; the baseline),
2. `course-grade grade LAB --jobs N --no-train-reuse`,
3. `course-grade grade LAB --jobs N` (training reuse; its first pass includes the reference run that
   records the store, so the figure is what a class pays from scratch).

The K submissions are a realistic mix, cycled in this order: a correct submission (the reference
solution), one with half the exercises solved, one with a wrong split, and (ECG) one with its own custom
models; ``--correct`` grades K copies of the reference instead. The report gives wall times, submissions
per hour, the ratios against the baseline, and the median seconds of a correct submission in runs 2 and 3
(from the ledger), split into those that trained (run 2; in run 3 the ones graded beside the recording)
and those that loaded the reference's trained states (their autograded notebook says so), plus the
recording reference run's own seconds.

    .venv/bin/python bench/grading_throughput.py --lab hr_estimation --k 4 --jobs 2 --max-epochs 0
    .venv/bin/python bench/grading_throughput.py --lab ecg_rhythm_classification --k 4 --jobs 2 --max-epochs 0
    .venv/bin/python bench/grading_throughput.py --lab hr_estimation --k 4 --jobs 2 --max-epochs 2   # quick
    # only the correct-submission figures (no plain pass): trained vs loaded states
    .venv/bin/python bench/grading_throughput.py --lab hr_estimation --k 3 --jobs 2 --correct --skip-plain
    # on a GPU machine (workers share the GPUs round-robin through CUDA_VISIBLE_DEVICES):
    .venv/bin/python bench/grading_throughput.py --lab ecg_rhythm_classification --k 8 --jobs 4 --device
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from autograder.cells import grade_id, nbgrader_meta  # noqa: E402
from labkit.training.reuse import REUSE_NOTE  # noqa: E402

WRONG_SPLIT = {  # (exercise cell, a wrong answer) per lab
    "ecg_rhythm_classification": (
        "split",
        "def split_data(rhythms):\n    n = rhythms.size\n"
        "    return np.arange(0, 3 * n // 5), np.arange(3 * n // 5, 4 * n // 5), "
        "np.arange(4 * n // 5, n)\n\n\n"
        "i_train, i_val, i_test = split_data(rhythms)\n",
    ),
    "hr_estimation": (
        "split_subjects",
        "def split_subjects(subjects):\n    subjects = np.asarray(subjects)\n"
        "    groups = ([f'S{i}' for i in range(1, 11)], ['S11', 'S12'], ['S13', 'S14', 'S15'])\n"
        "    return tuple(np.flatnonzero(np.isin(subjects, g)) for g in groups)\n",
    ),
}
OWN_MODEL = (
    "custom_model_1",
    "class CustomModel1(torch.nn.Module):\n    def __init__(self, input_shape, output_shape):\n"
    "        super().__init__()\n        self.input_shape, self.output_shape = input_shape, output_shape\n"
    "        self.net = torch.nn.Sequential(torch.nn.Conv1d(input_shape[0], 16, 7, stride=4, padding=3),\n"
    "            torch.nn.ReLU(), torch.nn.AdaptiveMaxPool1d(1), torch.nn.Flatten(),\n"
    "            torch.nn.Linear(16, output_shape[0]))\n\n"
    "    def forward(self, x):\n        return self.net(x)\n",
)


def mix(lab: str, source: nbformat.NotebookNode, release: nbformat.NotebookNode, correct: bool) -> list:
    """Return the cycle of submissions: (name, notebook)."""
    solved = {grade_id(c): c.source for c in source.cells if grade_id(c)}
    exercises = [
        grade_id(c) for c in release.cells if nbgrader_meta(c).get("solution") and c.cell_type == "code"
    ]
    partial = copy.deepcopy(release)
    for cell in partial.cells:
        if grade_id(cell) in exercises[: len(exercises) // 2]:
            cell.source = solved[grade_id(cell)]

    def replaced(cell_id: str, text: str) -> nbformat.NotebookNode:
        changed = copy.deepcopy(source)
        for cell in changed.cells:
            if grade_id(cell) == cell_id:
                cell.source = text
        return changed

    cycle = [("correct", source)]
    if not correct:
        cycle.append(("partial", partial))
        if lab in WRONG_SPLIT:
            cycle.append(("wrong_split", replaced(*WRONG_SPLIT[lab])))
        if lab == "ecg_rhythm_classification":
            cycle.append(("own_models", replaced(*OWN_MODEL)))
    return cycle


def scratch_course(course: Path, lab: str, subs: list, into: Path) -> Path:
    """Copy the course's config, source and data into ``into``, build it, place the submissions."""
    into.mkdir(parents=True)
    for part in ("nbgrader_config.py", "source", "data"):
        src = course / part
        if src.is_dir():
            shutil.copytree(src, into / part, symlinks=True)
        elif src.is_file():
            shutil.copy2(src, into / part)
    build = [sys.executable, "-m", "autograder.cli", "--course", str(into), "--quiet", "build"]
    subprocess.run(build, check=True, stdout=subprocess.DEVNULL)
    for i, (name, notebook) in enumerate(subs):
        target = into / "submitted" / f"s{i:03d}_{name}" / lab
        target.mkdir(parents=True)
        nbformat.write(notebook, str(target / f"{lab}.ipynb"))
    return into


def timed(cmd: list[str], cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def _loaded_states(course: Path, lab: str, student: str) -> bool:
    """Return whether the autograded notebook of ``student`` says a trained state was reused."""
    path = course / "autograded" / student / lab / f"{lab}.ipynb"
    return path.is_file() and REUSE_NOTE in path.read_text()


def correct_seconds(course: Path, lab: str) -> dict[str, float]:
    """Median seconds of the correct submissions in a course-grade ledger, split by whether they reused.

    Returns ``{'trained': s, 'loaded': s}`` (a key only when such a submission exists) and, when the
    reference solution ran (training reuse on), ``'reference'``: the recording run's own seconds.
    """
    entries = json.loads((course / ".grading" / "ledger.json").read_text())["entries"]
    split: dict[str, list[float]] = {}
    for key, entry in entries.items():
        student = key.split("/", 1)[1]
        if "_correct" in student:
            kind = "loaded" if _loaded_states(course, lab, student) else "trained"
            split.setdefault(kind, []).append(entry["seconds"])
    result = {kind: statistics.median(values) for kind, values in split.items()}
    for reference in (course / ".grading" / "kits").glob(f"{lab}-*/train_store/*/reference.json"):
        result["reference"] = json.loads(reference.read_text())["seconds"]
    return result


def _describe_correct(seconds: dict[str, dict[str, float]]) -> str:
    """Return the report line on correct submissions: trained without reuse, loaded with it."""
    parts = [f"{kind} {value:.1f} s" for kind, value in seconds["no reuse"].items()]
    line = "correct submission, median: without reuse " + ", ".join(parts)
    reuse = seconds["reuse"]
    line += "; with reuse " + ", ".join(f"{kind} {value:.1f} s" for kind, value in reuse.items())
    if "loaded" in reuse and "trained" in seconds["no reuse"]:
        line += f" (loaded states: {seconds['no reuse']['trained'] / reuse['loaded']:.1f}x faster)"
    return line


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--course", type=Path, default=ROOT)
    parser.add_argument("--lab", default="hr_estimation")
    parser.add_argument("--k", type=int, default=4, help="number of submissions")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument(
        "--max-epochs", type=int, default=0, help="LABKIT_MAX_EPOCHS for every run (0 = none)"
    )
    parser.add_argument("--correct", action="store_true", help="K copies of the reference instead of the mix")
    parser.add_argument("--device", action="store_true", help="keep CUDA visible (GPU machine)")
    parser.add_argument(
        "--skip-plain",
        action="store_true",
        help="leave out the plain nbgrader pass (no ratios; for the correct-submission figures only)",
    )
    args = parser.parse_args()
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}"}
    env.pop("LABKIT_MAX_EPOCHS", None)
    if args.max_epochs:
        env["LABKIT_MAX_EPOCHS"] = str(args.max_epochs)
    if not args.device:
        env["CUDA_VISIBLE_DEVICES"] = ""
    course = args.course.resolve()
    source = nbformat.read(course / "source" / args.lab / f"{args.lab}.ipynb", as_version=4)
    grade = [sys.executable, "-m", "autograder.cli", "--course", "{root}", "--quiet", "grade", args.lab]
    grade += ["--jobs", str(args.jobs)]
    times, seconds = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        built = scratch_course(course, args.lab, [], Path(tmp) / "release")  # the release, built here
        release = nbformat.read(built / "release" / args.lab / f"{args.lab}.ipynb", as_version=4)
        cycle = mix(args.lab, source, release, args.correct)
        subs = [cycle[i % len(cycle)] for i in range(args.k)]
        if not args.skip_plain:
            plain = scratch_course(course, args.lab, subs, Path(tmp) / "plain")
            times["plain"] = timed([sys.executable, "-m", "nbgrader", "autograde", args.lab], plain, env)
        for name, extra in (("no reuse", ["--no-train-reuse"]), ("reuse", [])):
            root = scratch_course(course, args.lab, subs, Path(tmp) / name.replace(" ", "_"))
            times[name] = timed([a.replace("{root}", str(root)) for a in grade] + extra, root, env)
            seconds[name] = correct_seconds(root, args.lab)
    kinds = ", ".join(f"{n} x{sum(s[0] == n for s in subs)}" for n, _ in cycle)
    print(f"lab={args.lab} K={args.k} ({kinds}) jobs={args.jobs} max_epochs={args.max_epochs or 'none'} "
          f"cpus={os.cpu_count()} device={'visible' if args.device else 'cpu'}")  # fmt: skip
    for name, label in (("plain", "plain nbgrader autograde (sequential)"),
                        ("no reuse", f"course-grade --jobs {args.jobs} --no-train-reuse"),
                        ("reuse", f"course-grade --jobs {args.jobs} (reuse, first pass)")):  # fmt: skip
        if name not in times:
            continue
        ratio = f"{times['plain'] / times[name]:5.2f}x plain" if "plain" in times else ""
        print(f"{label:48s} {times[name]:8.1f} s = {3600 * args.k / times[name]:6.1f} subs/h {ratio}")
    print(_describe_correct(seconds))


if __name__ == "__main__":
    main()
