"""Batch throughput on a real Dask cluster with one worker and with two, and the cost of sending the data.

Everything runs on this machine, with the processes of `tests/cluster_support.py`: a ``dask scheduler``
and ``dask worker`` processes (one thread each, no nanny), each in its own mount namespace where the course
and the grading host's temporary folder are empty, and with its own file cache. The course is the mini
course with the project's data folder (so every job names the real data files, ~54 MB, by digest) and
``--k`` solved submissions.

1. **Sending the data** (per worker): the files a worker lacks are sent through Dask once. For each cluster
   size, the first pass starts with empty worker caches (cold: every worker fetches the data) and a second
   pass regrades with full caches (warm: nothing is sent). Reported: files and MB sent, and both walls.
2. **Throughput**: warm passes (``--force``) alternate between the one-worker and the two-worker cluster,
   ``--rounds`` times each; submissions per hour and the ratio two/one, measured in the same run.

    .venv/bin/python bench/cluster_throughput.py --k 8 --rounds 2 --out bench/results/cluster.json
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from autograder_support import SOLVED, mini_course, with_cells  # noqa: E402
from cluster_support import scheduler, start_worker, wait_for_workers  # noqa: E402

from autograder.cells import read_notebook  # noqa: E402
from autograder.cli import main  # noqa: E402

SENT = re.compile(r"(\d+) file\(s\) sent \(([\d.]+) MB")


def _course(base: Path, k: int) -> Path:
    root = mini_course(base)
    (root / "data").symlink_to((REPO / "data").resolve(), target_is_directory=True)
    assert main(["--course", str(root), "--quiet", "build"]) == 0
    solved = with_cells(read_notebook(root / "release" / "mini" / "mini.ipynb"), SOLVED)
    import nbformat

    for i in range(k):
        folder = root / "submitted" / f"s{i:03d}" / "mini"
        folder.mkdir(parents=True)
        nbformat.write(solved, str(folder / "mini.ipynb"))
    return root


def _pass(root: Path, host_tmp: Path, address: str, workers: int) -> dict:
    env = {**os.environ, "TMPDIR": str(host_tmp)}
    cmd = [sys.executable, "-m", "autograder.cli", "--course", str(root), "grade", "--force"]
    cmd += ["--scheduler", address, "--jobs", str(workers)]
    start = time.monotonic()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    wall = time.monotonic() - start
    if proc.returncode != 0:
        raise SystemExit(f"grading failed ({proc.returncode}): {proc.stderr[-2000:]}")
    files, mb = SENT.search(proc.stderr).groups()
    graded = int(re.search(r"graded (\d+) submission", proc.stdout).group(1))
    return {"wall_s": round(wall, 1), "graded": graded, "files_sent": int(files), "mb_sent": float(mb)}


def _fetch_into_fresh_cache(keys: dict[str, str], folder: str) -> float:
    """On a worker: fetch the files into an empty cache, verified; return the seconds it took."""
    from autograder.execute.blobs import BlobCache
    from autograder.execute.cluster import _fetch_through_dask

    start = time.monotonic()
    BlobCache(Path(folder)).ensure(keys, _fetch_through_dask(keys))
    return time.monotonic() - start


def _send_cost(address: str, base: Path, repeats: int = 3) -> dict:
    """Seconds for one worker to fetch and verify the data files it lacks (sent once by the host)."""
    from autograder.execute.blobs import BlobCache
    from autograder.execute.cluster import DaskRunner

    cache = BlobCache(base / "host-cache")
    digests = {cache.add_file(p) for p in sorted((REPO / "data").iterdir()) if p.is_file()}
    runner = DaskRunner(address, cache)
    try:
        runner.send(digests, again=True)  # sent even when the workers have them cached
        keys = {d: runner._scattered[d].key for d in digests}  # noqa: SLF001 (the bench reads the names)
        seconds = [
            runner.client.submit(_fetch_into_fresh_cache, keys, str(base / f"fresh-{i}"), pure=False).result()
            for i in range(repeats)
        ]
    finally:
        runner.close()
    mb = sum(cache.path(d).stat().st_size for d in digests) / 1e6
    median = round(statistics.median(seconds), 2)
    return {"mb": round(mb, 1), "fetch_s": [round(s, 2) for s in seconds], "median_s": median}


def run(k: int, rounds: int, base: Path) -> dict:
    """Run both clusters side by side and return every measured pass."""
    root, host_tmp = _course(base / "course-root", k), base / "host-tmp"
    host_tmp.mkdir()
    hidden = [base / "course-root", host_tmp]
    results: dict = {"k": k, "cpus": os.cpu_count(), "passes": {"1": [], "2": []}}
    with scheduler(base / "s1") as one, scheduler(base / "s2") as two:
        start_worker(one, "a1", base / "a1", hidden)
        for name in ("b1", "b2"):
            start_worker(two, name, base / name, hidden)
        wait_for_workers(one, 1)
        wait_for_workers(two, 2)
        for label, cluster, n in (("1", one, 1), ("2", two, 2)):
            results[f"cold_{label}"] = _pass(root, host_tmp, cluster.address, n)
            results[f"warm_{label}"] = _pass(root, host_tmp, cluster.address, n)
            print(f"{label} worker(s): cold {results[f'cold_{label}']}, warm {results[f'warm_{label}']}")
        results["fetch_per_worker"] = _send_cost(one.address, base)
        print(f"one worker fetching the data into an empty cache: {results['fetch_per_worker']}")
        for r in range(rounds):
            for label, cluster, n in (("1", one, 1), ("2", two, 2)):
                results["passes"][label].append(_pass(root, host_tmp, cluster.address, n))
                print(f"round {r + 1}, {label} worker(s): {results['passes'][label][-1]}")
    for label in ("1", "2"):
        median = statistics.median(p["wall_s"] for p in results["passes"][label])
        results[f"median_wall_{label}"] = median
        results[f"subs_per_hour_{label}"] = round(3600 * k / median, 1)
    results["ratio_two_over_one"] = round(results["subs_per_hour_2"] / results["subs_per_hour_1"], 2)
    return results


def main_cli() -> None:
    """Parse the options, run, print the table and write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--k", type=int, default=8, help="solved submissions in the batch")
    parser.add_argument("--rounds", type=int, default=2, help="warm passes per cluster size")
    parser.add_argument("--out", type=Path, help="write the results as JSON here")
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="bench-cluster-"))
    try:
        results = run(args.k, args.rounds, base)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    print(json.dumps(results, indent=1))
    print(
        f"| workers | median wall ({args.k} submissions) | subs/h |\n|---|---|---|\n"
        f"| 1 | {results['median_wall_1']} s | {results['subs_per_hour_1']} |\n"
        f"| 2 | {results['median_wall_2']} s | {results['subs_per_hour_2']} |\n"
        f"ratio two/one: {results['ratio_two_over_one']}x"
    )
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main_cli()
