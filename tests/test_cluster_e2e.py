"""Grading on a real Dask cluster whose workers share no files with the grading host (`e2e`, `slow`).

A ``dask scheduler`` and ``dask worker`` processes (tests/cluster_support.py): each worker in its own mount
namespace where the course folder and the host's temporary folder are empty, with its own file cache. The
grades must equal local grading; a worker killed mid-batch loses and duplicates nothing; a worker whose
environment lacks a package records no grade and the command exits non-zero.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import nbformat
import pytest
from autograder_support import SOLVED, mini_course, with_cells
from cluster_support import environment_without, scheduler, start_worker, wait_for_workers

from autograder.cells import read_notebook
from autograder.cli import EXIT_UNGRADED, main
from autograder.kernel.confine import bwrap_available

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.slow,
    pytest.mark.skipif(
        not bwrap_available(), reason="needs bubblewrap for the workers' own file-system view"
    ),
]

HALF = {"square": SOLVED["square"]}  # 2 of 5 points


def _course(tmp_path: Path, students: dict[str, dict], extra: dict[str, str] | None = None) -> Path:
    """The mini course, built, with one submission per student (cells replaced as given, and an ``extra``
    cell after the setup cell for the students it names)."""
    root = mini_course(tmp_path)
    assert main(["--course", str(root), "--quiet", "build"]) == 0
    release = read_notebook(root / "release" / "mini" / "mini.ipynb")
    for student, cells in students.items():
        folder = root / "submitted" / student / "mini"
        folder.mkdir(parents=True)
        nbformat.write(with_cells(release, cells, (extra or {}).get(student)), str(folder / "mini.ipynb"))
    return root


def _grade(root: Path, host_tmp: Path, *extra: str) -> subprocess.CompletedProcess:
    """Run `course-grade grade` as the instructor would, with the host's own temporary folder."""
    host_tmp.mkdir(exist_ok=True)
    env = {**os.environ, "TMPDIR": str(host_tmp)}
    cmd = [sys.executable, "-m", "autograder.cli", "--course", str(root), "grade", *extra]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)


def _ledger(root: Path) -> dict[str, dict]:
    path = root / ".grading" / "ledger.json"
    return json.loads(path.read_text())["entries"] if path.is_file() else {}


def _tests(root: Path) -> dict[str, dict]:
    return {name: entry["tests"] for name, entry in _ledger(root).items()}


STUDENTS = {"solved": SOLVED, "blank": {}, "half": HALF, "solved2": SOLVED, "spy": SOLVED}
#: A student who knows where a worker keeps its file cache (data, kits with hidden tests, held-out labels).
SPY = """import glob
readable = []
for root in {roots!r}:
    for path in glob.glob(root + "/**/*", recursive=True):
        try:
            with open(path, "rb") as handle:
                handle.read(1)
            readable.append(path)
        except OSError:
            pass
print("CACHE_FILES", len(readable))
"""


def test_workers_that_share_nothing_grade_like_local_grading(tmp_path, tmp_path_factory):
    # the workers' caches where the default puts them, in the home folder (outside /tmp, which kernels
    # never see): the spy's kernel must not read them either
    caches = {
        name: Path.home() / ".cache" / f"course-grade-test-{uuid.uuid4().hex[:8]}" for name in ("w1", "w2")
    }
    extra = {"spy": SPY.format(roots=[str(c) for c in caches.values()])}
    local = _course(tmp_path / "local", STUDENTS, extra)
    assert _grade(local, tmp_path / "local-tmp", "--jobs", "2").returncode == 0
    root, host_tmp = _course(tmp_path / "cluster", STUDENTS, extra), tmp_path / "host-tmp"
    hidden = [tmp_path]  # the course, the host's temporary folder and the local run
    try:
        _share_nothing(root, local, host_tmp, hidden, caches, tmp_path_factory)
    finally:
        for cache in caches.values():
            shutil.rmtree(cache, ignore_errors=True)


def _share_nothing(root, local, host_tmp, hidden, caches, tmp_path_factory) -> None:
    with scheduler(tmp_path_factory.mktemp("scheduler")) as cluster:
        for name in ("w1", "w2"):
            env = {"COURSE_GRADE_CACHE": str(caches[name])}
            start_worker(cluster, name, tmp_path_factory.mktemp(name), hidden, env=env)
        wait_for_workers(cluster, 2)
        from distributed import Client

        with Client(cluster.address) as client:  # the workers see neither the course nor the host's tmp
            assert set(client.run(os.path.exists, str(root)).values()) == {False}
            assert set(client.run(os.path.exists, str(host_tmp)).values()) == {False}
        first = _grade(root, host_tmp, "--scheduler", cluster.address)
        assert first.returncode == 0, first.stderr[-3000:]
        assert _tests(root) == _tests(local)
        assert {k: e["score"] for k, e in _ledger(root).items()} == {
            "mini/solved": 5, "mini/blank": 0, "mini/half": 2, "mini/solved2": 5, "mini/spy": 5,
        }  # fmt: skip
        spied = json.dumps(read_notebook(root / "autograded" / "spy" / "mini" / "mini.ipynb"))
        assert "CACHE_FILES 0" in spied, "a kernel read a worker's file cache"
        assert "file(s) sent" in first.stderr and " 0 file(s) sent" not in first.stderr
        workers = {entry["worker"] for entry in _ledger(root).values()}
        assert len(workers) == 2, "both workers graded"
        for name, cache in caches.items():  # each fetched the files once into its own cache
            blobs = list((cache / "blobs").iterdir())
            assert blobs and all(len(p.name) == 64 for p in blobs), name
        again = _grade(root, host_tmp, "--scheduler", cluster.address, "--force")
        assert again.returncode == 0, again.stderr[-3000:]
        assert _tests(root) == _tests(local)
        assert "0 file(s) sent" in again.stderr  # every worker had every file cached: nothing resent


def test_a_worker_killed_mid_batch_loses_and_duplicates_no_grade(tmp_path, tmp_path_factory):
    students = {f"s{i}": (SOLVED if i % 2 else HALF) for i in range(6)}
    root, host_tmp = _course(tmp_path, students), tmp_path / "host-tmp"
    with scheduler(tmp_path_factory.mktemp("scheduler")) as cluster:
        for name in ("w1", "w2"):
            start_worker(cluster, name, tmp_path_factory.mktemp(name), [tmp_path])
        wait_for_workers(cluster, 2)
        host_tmp.mkdir()
        env = {**os.environ, "TMPDIR": str(host_tmp)}
        cmd = [sys.executable, "-m", "autograder.cli", "--course", str(root), "grade"]
        proc = subprocess.Popen(
            [*cmd, "--scheduler", cluster.address],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        work = cluster.roots["w1"] / "tmp" / "course-grade-worker" / "work" / "mini"
        deadline = time.monotonic() + 300
        while not (work.is_dir() and any(work.iterdir())) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert work.is_dir() and any(work.iterdir()), "w1 never started a job"
        cluster.kill("w1")  # in the middle of grading a submission
        stdout, stderr = proc.communicate(timeout=900)
    assert proc.returncode == 0, stderr[-3000:]
    ledger = _ledger(root)
    assert sorted(ledger) == [f"mini/s{i}" for i in range(6)]
    assert {k: e["score"] for k, e in ledger.items()} == {f"mini/s{i}": (5 if i % 2 else 2) for i in range(6)}
    assert "graded 6 submission(s)" in stdout  # each merged once, none twice


def test_a_worker_lacking_a_package_records_no_grade_and_fails_the_command(tmp_path, tmp_path_factory):
    root, host_tmp = _course(tmp_path, {"solved": SOLVED}), tmp_path / "host-tmp"
    python = environment_without(tmp_path_factory.mktemp("env") / "venv", "ipykernel")
    with scheduler(tmp_path_factory.mktemp("scheduler")) as cluster:
        start_worker(cluster, "w1", tmp_path_factory.mktemp("w1"), [tmp_path], python=python)
        wait_for_workers(cluster, 1)
        run = _grade(root, host_tmp, "--scheduler", cluster.address)
    assert run.returncode == EXIT_UNGRADED, run.stderr[-3000:]
    assert _ledger(root) == {}
    assert not (root / "autograded").exists() or not any((root / "autograded").rglob("*.ipynb"))
    assert "NOT graded" in run.stderr and "ipykernel missing" in run.stderr


def test_gpu_jobs_go_only_to_workers_with_a_gpu_resource(tmp_path, tmp_path_factory):
    """A CPU machine: the "GPU" worker is told its device (CUDA_VISIBLE_DEVICES=0); the kernel finds none
    and the mini lab needs none. Only the routing and the one-job-per-GPU slot are checked here."""
    root, host_tmp = _course(tmp_path, {"a": SOLVED, "b": HALF, "c": {}}), tmp_path / "host-tmp"
    with scheduler(tmp_path_factory.mktemp("scheduler")) as cluster:
        start_worker(cluster, "cpu", tmp_path_factory.mktemp("cpu"), [tmp_path])
        start_worker(
            cluster, "gpu", tmp_path_factory.mktemp("gpu"), [tmp_path], resources="GPU=1",
            env={"CUDA_VISIBLE_DEVICES": "0"},
        )  # fmt: skip
        wait_for_workers(cluster, 2)
        run = _grade(root, host_tmp, "--scheduler", cluster.address, "--gpu")
        from distributed import Client

        with Client(cluster.address) as client:
            gpu_address = next(a for a, w in client.scheduler_info()["workers"].items() if w["name"] == "gpu")
    assert run.returncode == 0, run.stderr[-3000:]
    ledger = _ledger(root)
    assert {e["worker"] for e in ledger.values()} == {gpu_address}
    assert {k: e["score"] for k, e in ledger.items()} == {"mini/a": 5, "mini/b": 2, "mini/c": 0}


def test_a_lab_graded_on_the_cluster_keeps_the_local_grades(tmp_path, tmp_path_factory):
    """The ECG lab, capped at one epoch: graded locally first (which records the reference's training
    store), then again on the cluster, whose workers get the data and that store through Dask only."""
    from e2e_support import capped_data_dir, make_course, release_notebook, source_notebook, submit

    lab = "ecg_rhythm_classification"
    course, host_tmp = make_course(tmp_path, lab), tmp_path / "host-tmp"
    (course / "data").symlink_to(capped_data_dir(), target_is_directory=True)
    submit(course, lab, "ref", source_notebook(lab))
    submit(course, lab, "blank", release_notebook(lab))
    assert main(["--course", str(course), "--quiet", "build"]) == 0
    capped = {**os.environ, "TMPDIR": str(host_tmp), "LABKIT_MAX_EPOCHS": "1"}
    host_tmp.mkdir()
    cmd = [sys.executable, "-m", "autograder.cli", "--course", str(course), "grade", "--timeout-cell", "300"]
    local = subprocess.run([*cmd, "--jobs", "2"], env=capped, capture_output=True, text=True, timeout=1200)
    assert local.returncode == 0, local.stderr[-3000:]
    local_tests = _tests(course)
    assert local_tests["ecg_rhythm_classification/ref"]["test_split_partition"][0] > 0
    hidden = [tmp_path, capped_data_dir()]
    with scheduler(tmp_path_factory.mktemp("scheduler")) as cluster:
        for name in ("w1", "w2"):
            start_worker(cluster, name, tmp_path_factory.mktemp(name), hidden)
        wait_for_workers(cluster, 2)
        remote = subprocess.run(
            [*cmd, "--scheduler", cluster.address, "--force"], env=capped, capture_output=True, text=True,
            timeout=1200,
        )  # fmt: skip
    assert remote.returncode == 0, remote.stderr[-3000:]
    assert "recorded earlier" in remote.stderr  # the reference's store, sent to the workers as files
    assert _tests(course) == local_tests
    assert {e["worker"] for e in _ledger(course).values()} - {""}, "graded on the cluster"
