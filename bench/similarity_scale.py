"""Similarity across a class of 300: ``course-grade similarity`` against the naive all-pairs library call.

Builds a generated class of the ECG lab (tests/similarity_support.py: honest independent work and one planted,
disguised copy per exercise where copies can be told apart), writes it as a course, then measures in one run:

1. **this tool**: ``course-grade similarity`` (read every notebook, every exercise's pairs scored,
   calibrated and ranked, the HTML report with its figure and the CSV written), single process;
2. **baseline "naive all-pairs library call"**: what an instructor does by hand with MOSS-like tools:
   every submission's code cells exported as one ``.py`` file and copydetect's own ``CopyDetector`` run on
   all of them at once (the release's code as its boilerplate), with its default settings.

For both it prints the wall time and where the planted copies rank: per exercise for the tool (the acceptance
asks for the top 5), among all pairs of whole notebooks for the baseline (which has no exercise view).

Usage::

    .venv/bin/python bench/similarity_scale.py [--students 300] [--out bench/results/similarity_scale.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import similarity_support as ss  # noqa: E402

from autograder.config import load_config  # noqa: E402
from autograder.similarity.run import similarity  # noqa: E402


def tool_run(root: Path, klass: ss.SyntheticClass) -> dict:
    """Time ``course-grade similarity`` on the course at ``root``; return its time and the copies' ranks."""
    cfg = load_config(root)
    start, cpu = time.perf_counter(), _cpu_seconds()
    report = similarity(cfg, ss.LAB, root / "exports", force=True, top=50, quiet=True)
    seconds, cpu = time.perf_counter() - start, _cpu_seconds() - cpu
    ranks, flagged, honest = {}, 0, 0
    for result in report.results:
        planted = klass.copied_pairs(result.exercise.grade_id)
        for key in planted:  # ties (same score, same rare text) count as ranked ahead of the copy
            ranks[result.exercise.grade_id] = result.rank_of(*sorted(key))
        marked = result.calibration.highlights(result.scores, result.shared)
        listed = {frozenset((p.student_a, p.student_b)): p.highlighted for p in result.top}
        flagged += int(marked.sum()) - sum(listed.get(key, False) for key in planted)
        honest += result.scores.size - len(planted)
    converging = [r.exercise.grade_id for r in report.results if r.calibration.converges]
    return {
        "seconds": round(seconds, 1),
        "cpu_seconds": round(cpu, 1),
        "load_average_1min_after": round(os.getloadavg()[0], 1),
        "copy_rank_per_exercise": ranks,
        "converging": converging,
        "honest_pairs_highlighted": flagged,
        "honest_pairs": honest,
    }


def _cpu_seconds() -> float:
    """Return the CPU time of this process and its finished children (the forked workers), user + system."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _script(path: Path) -> str:
    nb = nbformat.read(str(path), as_version=4)
    return "\n\n".join(c.source for c in nb.cells if c.cell_type == "code")


def baseline_run(root: Path, klass: ss.SyntheticClass) -> dict:
    """Time copydetect's ``CopyDetector`` on whole notebooks exported as scripts; rank the planted pairs."""
    from copydetect import CopyDetector

    scripts, given = root / "scripts", root / "given"
    scripts.mkdir()
    given.mkdir()
    (given / "release.py").write_text(_script(ss.RELEASE))
    students = sorted(klass.cells)
    for student in students:
        notebook = root / "submitted" / student / ss.LAB / f"{ss.LAB}.ipynb"
        (scripts / f"{student}.py").write_text(_script(notebook))
    start = time.perf_counter()
    detector = CopyDetector(
        test_dirs=[str(scripts)],
        boilerplate_dirs=[str(given)],
        extensions=["py"],
        autoopen=False,
        silent=True,
    )
    detector.run()
    seconds = time.perf_counter() - start
    names = [Path(f).stem for f in detector.test_files]
    both = detector.similarity_matrix[:, :, 0] + detector.similarity_matrix[:, :, 1]
    rows, cols = np.triu_indices(len(names), k=1)
    order = np.argsort(-both[rows, cols], kind="stable")
    rank = {frozenset((names[rows[i]], names[cols[i]])): r for r, i in enumerate(order, start=1)}
    copies = {p.exercise: rank.get(frozenset((p.source, p.copier))) for p in klass.plants}
    return {"seconds": round(seconds, 1), "copy_rank_among_all_pairs": copies, "pairs": len(order)}


def main() -> None:
    """Build the class, run both, print and save the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=300, help="class size, planted copiers included")
    parser.add_argument("--out", type=Path, help="also write the figures as JSON here")
    args = parser.parse_args()
    honest = args.students - len(ss.PLANTED_IN)
    klass = ss.build_class(honest, copies=1, seed=0)
    with tempfile.TemporaryDirectory() as tmp:
        root = ss.write_course(klass, Path(tmp) / "course")
        tool = tool_run(root, klass)
        baseline = baseline_run(root, klass)
    figures = {
        "students": len(klass.cells),
        "lab": ss.LAB,
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs",
        "tool": tool,
        "baseline_copydetect_all_pairs_whole_notebooks": baseline,
        "speed_ratio_baseline_over_tool": round(baseline["seconds"] / max(tool["seconds"], 1e-9), 2),
    }
    print(json.dumps(figures, indent=2))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
