"""Shared plumbing of the benchmarks that execute a lab's own cells: read them, run them, schedule runs.

A run executes chosen nbgrader cells of a lab's Jupytext source (given code and reference solutions) in
one namespace, in a subprocess per (data seed, thread count), at most ``cores`` threads busy at once, and
writes one JSON file per run; the table is made from those files, so an interrupted sweep keeps its runs.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def source_of(lab: str) -> Path:
    """Return the Jupytext source of ``lab``."""
    return ROOT / "source" / lab / f"{lab}.py"


def notebook_cells(path: Path) -> dict[str, str]:
    """Return grade_id -> code of every nbgrader code cell of the Jupytext percent source ``path``.

    A code cell without nbgrader metadata but with tags (the ``student-free`` cell) is keyed by its first tag.
    """
    cells = {}
    for chunk in re.split(r"^(?=# %%)", path.read_text(), flags=re.M):
        header, _, body = chunk.partition("\n")
        found = re.search(r'"grade_id": "([^"]+)"', header) or re.search(r'tags=\["([^"]+)"', header)
        if found and "[markdown]" not in header:
            cells[found.group(1)] = body
    return cells


def execute_cells(path: Path, grade_ids: Iterable[str], threads: int) -> dict:
    """Execute the cells ``grade_ids`` of ``path`` in order in a fresh namespace; return the namespace.

    ``torch.set_num_threads(threads)`` is applied after the ``setup`` cell (which may set its own count).
    """
    import torch

    cells, ns = notebook_cells(path), {"__name__": "__lab__"}
    for grade_id in grade_ids:
        exec(compile(cells[grade_id], f"<{grade_id}>", "exec"), ns)  # noqa: S102 - our own notebook
        if grade_id == "setup":
            torch.set_num_threads(threads)
    return ns


def schedule(jobs: list[tuple[int, int]], cores: int, launch: Callable[[int, int], subprocess.Popen]) -> None:
    """Run ``launch(seed, threads)`` subprocesses so that at most ``cores`` threads are busy at once."""
    running: list[tuple[subprocess.Popen, int]] = []
    pending = list(jobs)
    while pending or running:
        busy = sum(threads for _, threads in running)
        fits = [job for job in pending if busy + job[1] <= cores or not running]
        if fits:
            pending.remove(fits[0])
            running.append((launch(*fits[0]), fits[0][1]))
            continue
        time.sleep(2.0)
        for process, threads in list(running):
            if process.poll() is not None:
                running.remove((process, threads))
                if process.returncode:
                    print(
                        f"run failed (exit {process.returncode}): {' '.join(process.args)}", file=sys.stderr
                    )


def run_file(folder: Path, seed: int, threads: int) -> Path:
    """Return the JSON file of the run (seed, threads) in ``folder``."""
    return folder / f"run_s{seed}_t{threads}.json"


def write_run(folder: Path, result: dict) -> None:
    """Write one run's result (with ``seed`` and ``threads`` keys) into ``folder``, atomically."""
    folder.mkdir(parents=True, exist_ok=True)
    target = run_file(folder, result["seed"], result["threads"])
    partial = target.with_suffix(".part")
    partial.write_text(json.dumps(result, indent=2))
    partial.replace(target)


def load_runs(folder: Path) -> list[dict]:
    """Read every ``run_s*_t*.json`` of ``folder``."""
    return [json.loads(p.read_text()) for p in sorted(folder.glob("run_s*_t*.json"))]


def sweep(script: str, seeds: list[int], threads: list[int], cores: int, out: Path, extra: list[str]) -> None:
    """Launch ``script --one SEED THREADS --out OUT [extra]`` for every pair not yet in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    jobs = [(s, t) for t in threads for s in seeds if not run_file(out, s, t).is_file()]

    def launch(seed: int, n_threads: int) -> subprocess.Popen:
        print(f"start seed {seed}, {n_threads} thread(s)", flush=True)
        command = [sys.executable, script, "--one", str(seed), str(n_threads), "--out", str(out), *extra]
        return subprocess.Popen(command)

    tic = time.perf_counter()
    schedule(jobs, cores, launch)
    kept = len(seeds) * len(threads) - len(jobs)
    print(f"{len(jobs)} runs in {time.perf_counter() - tic:.0f} s ({kept} kept from earlier)")


def sweep_arguments(description: str, threads: list[int], out: str) -> argparse.ArgumentParser:
    """Return a parser with the options every sweep takes: seeds, threads, cores, out, table, one."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4], help="data seeds")
    parser.add_argument("--threads", type=int, nargs="+", default=threads, help="torch thread counts")
    parser.add_argument("--cores", type=int, default=2, help="threads busy at once over parallel runs")
    parser.add_argument("--out", type=Path, default=Path(out), help="folder of run JSON files")
    parser.add_argument("--table", type=Path, help="only print the table of the runs in this folder")
    parser.add_argument("--one", type=int, nargs=2, metavar=("SEED", "THREADS"), help=argparse.SUPPRESS)
    return parser


def train_on_seed(source: dict, cells: tuple[str, ...], seed: int, threads: int) -> tuple[dict, float]:
    """Run the lab's ``cells`` on freshly synthesised ECG data of ``seed``; return the namespace and seconds.

    The data (and TensorBoard logs) live in a temporary folder removed afterwards.
    """
    with tempfile.TemporaryDirectory() as folder:
        synth = [Path(sys.executable).parent / "labkit", "data", "synth", "--only", "ecg", "--no-progress"]
        subprocess.run([*synth, "--out", folder, "--seed", str(seed)], check=True, capture_output=True)
        os.environ.update(LABKIT_DATA_DIR=folder, LABKIT_LOG_DIR=str(Path(folder) / "logs"), MPLBACKEND="Agg")
        tic = time.perf_counter()
        ns = execute_cells(source, cells, threads)
        return ns, time.perf_counter() - tic
