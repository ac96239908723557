"""A scripted class on the course hub: N students at once, through the hub REST API and the server API.

Starts the course hub (``hub/jupyterhub_config.py``, confined students, exchange clerk, idle culler) on a
temporary copy of the course with the ECG lab released, then, with N students (default 30) all at once:

1. log in and start their servers: time to a running server (p50, p95, max);
2. idle: memory per student server (PSS and RSS of all of the student's processes, from ``/proc``; and
   the student's cgroup figure where the hub made cgroups), with every server running;
3. fetch the lab and submit it, all at once, in a terminal of each server (nbgrader's own commands): every
   submission must reach the course exchange, filed by the clerk (none lost, none twice);
4. nothing more: every server must be stopped by jupyterhub-idle-culler after the idle limit
   (``--idle`` seconds, the culler looking every ``--cull-every`` seconds).

Not a test (minutes of a loaded machine); the figures go to docs/hub.md. Needs root or bwrap working
(students are confined), the proxy (``make hub-proxy``).

Usage::

    nice -n 10 .venv/bin/python bench/hub_load.py --students 30
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "hub"))
from classroom_client import Student  # noqa: E402
from student_sandbox import cgroup_name  # noqa: E402

LAB = "ecg_rhythm_classification"
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def make_course(root: Path) -> Path:
    """A course folder with the ECG lab generated and released into its exchange."""
    course = root / "course"
    (course / "source").mkdir(parents=True)
    shutil.copy(REPO / "nbgrader_config.py", course)
    shutil.copytree(REPO / "source" / LAB, course / "source" / LAB, ignore=shutil.ignore_patterns("*.py"))
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    for step in (["generate_assignment", LAB, "--force"], ["release_assignment", LAB, "--force"]):
        subprocess.run([str(BIN / "nbgrader"), *step], cwd=course, env=env, check=True, capture_output=True)
    return course


def memory_of(uid: int) -> tuple[float, float]:
    """Return (PSS, RSS) in MiB of all processes of ``uid``."""
    pss = rss = 0
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if proc.stat().st_uid != uid:
                continue
            for line in (proc / "smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    pss += int(line.split()[1])
                elif line.startswith("Rss:"):
                    rss += int(line.split()[1])
        except OSError:
            continue
    return pss / 1024, rss / 1024


def cgroup_memory(state: Path, user: str) -> float | None:
    """Return the memory figure (MiB) of the student's cgroup, if the hub made one."""
    name = cgroup_name(state, user)
    for pattern in (f"memory/**/{name}/memory.usage_in_bytes", f"**/{name}/memory.current"):
        for path in Path("/sys/fs/cgroup").glob(pattern):
            return int(path.read_text()) / 2**20
    return None


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def run_class(
    url: str, names: list[str], course: Path, state: Path, idle: int, cull_every: int
) -> dict:
    students = [Student(url, name) for name in names]
    results: dict = {"students": len(names)}
    await asyncio.gather(*(s.log_in() for s in students))
    began = time.monotonic()
    ready = await asyncio.gather(*(s.start_server(timeout=600) for s in students), return_exceptions=True)
    results["all_ready_s"] = round(time.monotonic() - began, 1)
    failed = [f"{s.name}: {r}" for s, r in zip(students, ready, strict=True) if isinstance(r, BaseException)]
    times = [r for r in ready if not isinstance(r, BaseException)]
    results["start_failed"] = failed
    results["ready_s"] = {"p50": round(statistics.median(times), 1), "p95": round(percentile(times, 0.95), 1),
                          "max": round(max(times), 1)}  # fmt: skip
    print("servers:", results["ready_s"], "failed:", failed, flush=True)

    await asyncio.sleep(15)  # let the servers settle: idle
    accounts = (
        json.loads((state / "accounts.json").read_text()) if (state / "accounts.json").is_file() else {}
    )
    memory = [memory_of(accounts[name]) for name in names if name in accounts]
    groups = [m for m in (cgroup_memory(state, name) for name in names) if m is not None]
    if memory:
        results["idle_server_mib"] = {
            "pss_median": round(statistics.median(m[0] for m in memory)),
            "rss_median": round(statistics.median(m[1] for m in memory)),
            "pss_total": round(sum(m[0] for m in memory)),
        }
    if groups:
        results["idle_server_mib"]["cgroup_median"] = round(statistics.median(groups))
    print("memory:", results.get("idle_server_mib"), flush=True)

    began = time.monotonic()
    command = f"nbgrader fetch_assignment {LAB} && nbgrader submit {LAB}; echo SUB''MITTED"
    outputs = await asyncio.gather(*(s.run_in_terminal(command, "SUBMITTED", timeout=900) for s in students),
                                   return_exceptions=True)  # fmt: skip
    failures = [
        f"{s.name}: {out!r}"[:300]
        for s, out in zip(students, outputs, strict=True)
        if not isinstance(out, str)
    ]
    if failures:
        print("terminal failures:", failures[:5], flush=True)
    submitted = [
        s.name
        for s, out in zip(students, outputs, strict=True)
        if isinstance(out, str) and "Submitted as" in out
    ]
    results["submit_all_s"] = round(time.monotonic() - began, 1)
    inbound = course / "exchange" / "wearable-cardiac-dl" / "inbound"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        filed = [p.name.split("+")[0] for p in inbound.glob(f"*+{LAB}+*")]
        if len(filed) >= len(submitted):
            break
        await asyncio.sleep(1)
    ledger = state / "exchange" / "receipts.jsonl"
    receipts = [json.loads(line) for line in ledger.read_text().splitlines()] if ledger.is_file() else []
    results["submissions"] = {
        "submitted": len(submitted), "filed": len(filed), "distinct_students_filed": len(set(filed)),
        "receipts": len(receipts), "lost": sorted(set(submitted) - set(filed)),
        "max_clerk_delay_s": round(max(_delay(r) for r in receipts), 2) if receipts else None,
    }  # fmt: skip
    print("submissions:", results["submissions"], flush=True)

    # idle: no request from now on; the culler must stop every server
    quiet = time.monotonic()
    culled_after: dict[str, float] = {}
    while len(culled_after) < len(students) and time.monotonic() - quiet < idle + 4 * cull_every + 120:
        await asyncio.sleep(5)
        for student in students:
            if student.name not in culled_after and not (await student.model()).get("servers"):
                culled_after[student.name] = time.monotonic() - quiet
    results["culled"] = {
        "servers": len(culled_after), "of": len(students), "idle_limit_s": idle, "cull_every_s": cull_every,
        "last_culled_after_s": round(max(culled_after.values()), 1) if culled_after else None,
    }  # fmt: skip
    print("culling:", results["culled"], flush=True)
    return results


def _delay(receipt: dict) -> float:
    from datetime import datetime

    fmt = "%Y-%m-%d %H:%M:%S.%f %Z"
    try:
        return (
            datetime.strptime(receipt["received"], fmt) - datetime.strptime(receipt["claimed"], fmt)
        ).total_seconds()
    except ValueError:
        return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=30)
    # the idle limit must exceed start + submit (activity reaches the hub every 5 minutes only)
    parser.add_argument("--idle", type=int, default=300, help="idle limit of the culler, seconds")
    parser.add_argument("--cull-every", type=int, default=30)
    parser.add_argument("--out", type=Path, default=REPO / "test-artifacts" / "hub_load.json")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="hub-load-"))
    course = make_course(root)
    state, port = root / "hub", free_port()
    names = [f"s{i:02d}" for i in range(1, args.students + 1)]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "LABKIT_"))}
    env.update(PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}", COURSE_HUB_COURSE=str(course),
               COURSE_HUB_DIR=str(state), COURSE_HUB_STUDENTS=",".join(names), COURSE_HUB_PORT=str(port),
               COURSE_HUB_IDLE_TIMEOUT=str(args.idle), COURSE_HUB_CULL_EVERY=str(args.cull_every),
               LABKIT_DATA_DIR=str(REPO / "data"))  # fmt: skip
    log = (root / "hub.log").open("wb")
    command = [str(BIN / "jupyterhub"), "-f", str(REPO / "hub" / "jupyterhub_config.py")]
    hub = subprocess.Popen(
        command, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(240):
            try:
                urllib.request.urlopen(f"{url}/hub/login", timeout=2).close()
                break
            except OSError:
                time.sleep(0.5)
        results = asyncio.run(run_class(url, names, course, state, args.idle, args.cull_every))
        results["machine"] = {"cpus": os.cpu_count(), "load_1min_at_end": round(os.getloadavg()[0], 1)}
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=1))
        print(json.dumps(results, indent=1))
    finally:
        hub.terminate()
        try:
            hub.wait(timeout=120)
        except subprocess.TimeoutExpired:
            os.killpg(hub.pid, 9)
        print(f"hub log: {root / 'hub.log'}")


if __name__ == "__main__":
    main()
