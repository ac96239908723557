"""autograder/execute/workdir.py: one job's worker folder, its configuration and its environment.

A fabricated `Job` whose files sit in a `BlobCache` in ``tmp_path``; no nbgrader run, no kernel.
"""

from __future__ import annotations

import json
import stat

import pytest
from traitlets.config.loader import PyFileConfigLoader

from autograder.config import Folders, Timeouts
from autograder.execute.blobs import BlobCache
from autograder.execute.isolation import socket_prefix
from autograder.execute.processes import JOB_ENV
from autograder.execute.workdir import environment, gather_inputs, make_dirs, write_config
from autograder.kernel.sandbox import KERNEL_NAME
from autograder.records import Job, Limits, Settings, Training
from labkit.training.reuse import MANIFEST_ENV, RECORD_ENV, STORE_ENV

NO_PART = Training()  # a job with no part in training reuse
#: Every variable the environment sets itself (besides the settings' documented pass-through ones).
OWN = {
    "PATH", "HOME", "LANG", "JUPYTER_PATH", "JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR",
    "TMPDIR", "JUPYTER_PLATFORM_DIRS", "IPYTHONDIR", "MPLCONFIGDIR", "MPLBACKEND", "LABKIT_DATA_DIR",
    "LABKIT_LOG_DIR", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "CUDA_VISIBLE_DEVICES", "PYTHONDONTWRITEBYTECODE",
    "TRAITLETS_APPLICATION_RAISE_CONFIG_FILE_ERROR", JOB_ENV,
}  # fmt: skip


def _job(tmp_path, cache: BlobCache, training: Training = NO_PART, probe: bool = True) -> Job:
    settings = Settings(
        Timeouts(11, 12, 13), Limits(2048, 32, 64, -1), 3, "", extra_env={"LABKIT_MAX_EPOCHS": "1"}
    )
    probe_files = {"strips.npy": cache.add_bytes(b"strips"), "strips.labels.npy": cache.add_bytes(b"labels")}
    return Job(
        student="s1",
        lab="mini",
        key="k" * 64,
        course_id="course-mini",
        notebook=b'{"cells": []}',
        timestamp="2030-01-02 10:00:00",
        kit_gradebook=cache.add_bytes(b"kit gradebook"),
        kit_files={"mini.ipynb": cache.add_bytes(b"source"), "data/helper.csv": cache.add_bytes(b"a,b\n")},
        work_root=str(tmp_path / "workers"),
        settings=settings,
        folders=Folders("source", "release", "submitted", "autograded", "feedback"),
        course_config=b"c = get_config()  # noqa: F821\nc.Execute.timeout = 5\n",
        data_files={"signals.npz": cache.add_bytes(b"signals")},
        training=training,
        probe_files=probe_files if probe else {},
    )


def _work(tmp_path, training: Training = NO_PART, probe: bool = True):
    cache = BlobCache(tmp_path / "cache")
    job = _job(tmp_path, cache, training, probe)
    inputs = gather_inputs(job, cache)
    work, sockets = tmp_path / "workers" / "run" / "job", tmp_path / "sockets"
    work.mkdir(parents=True)
    sockets.mkdir()
    return job, inputs, work, sockets, make_dirs(job, inputs, work, None, sockets)


def _mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_gather_inputs_finds_every_file_of_the_job_by_digest(tmp_path):
    cache = BlobCache(tmp_path / "cache")
    job = _job(tmp_path, cache, Training(store={"a.pt": cache.add_bytes(b"state")}, manifest="m"))
    inputs = gather_inputs(job, cache)
    assert inputs.cache == cache.root and inputs.gradebook.read_bytes() == b"kit gradebook"
    assert {rel: p.read_bytes() for rel, p in inputs.kit.items()} == {
        "mini.ipynb": b"source",
        "data/helper.csv": b"a,b\n",
    }
    assert inputs.store["a.pt"].read_bytes() == b"state"
    assert inputs.probe["strips.labels.npy"].read_bytes() == b"labels"
    assert (inputs.data_dir / "signals.npz").read_bytes() == b"signals" and _mode(inputs.data_dir) == 0o555


def test_make_dirs_lays_out_the_job_with_the_documented_modes(tmp_path):
    job, inputs, work, sockets, dirs = _work(tmp_path, Training(store={}, manifest=""))
    assert (dirs["submitted"] / "mini.ipynb").read_bytes() == job.notebook
    assert (dirs["submitted"] / "timestamp.txt").read_text() == job.timestamp
    assert (
        dirs["submitted"] == work / "submitted" / "s1" / "mini" and dirs["source"] == work / "source" / "mini"
    )
    assert (dirs["source"] / "data" / "helper.csv").read_bytes() == b"a,b\n"
    assert _mode(dirs["source"] / "mini.ipynb") == 0o644
    assert (work / "gradebook.db").read_bytes() == b"kit gradebook" and _mode(work / "gradebook.db") == 0o600
    assert _mode(dirs["store"]) == 0o555 and _mode(dirs["probe"]) == 0o555
    assert _mode(dirs["probe"] / "strips.npy") == 0o444
    assert _mode(dirs["probe"] / "strips.labels.npy") == 0o400  # held-out labels: the grader's only
    for folder in (work, dirs["runtime"], work.parent, work.parent.parent):
        assert _mode(folder) == 0o711, folder
    assert (dirs["home"] / "logs").is_dir() and dirs["recorded"] == dirs["home"] / "train_store"
    spec = json.loads((dirs["jupyter"] / "kernels" / KERNEL_NAME / "kernel.json").read_text())
    argv = spec["argv"]
    assert argv[argv.index("--memory-mb") + 1] == "2048" and argv[argv.index("--nproc") + 1] == "64"
    confinement = json.loads(argv[argv.index("--confine") + 1])
    assert confinement["work"] == str(work) and str(inputs.cache) in confinement["hide"]
    assert str(work / "gradebook.db") in confinement["masked"]
    assert str(dirs["probe"] / "strips.labels.npy") in confinement["masked"]
    assert str(inputs.data_dir) in confinement["read_only"]


def test_a_store_file_is_read_only_in_the_kernels_store(tmp_path):
    cache = BlobCache(tmp_path / "cache")
    job = _job(tmp_path, cache, Training(store={"a.pt": cache.add_bytes(b"state")}, manifest="m"))
    work, sockets = tmp_path / "workers" / "run" / "job", tmp_path / "sockets"
    work.mkdir(parents=True)
    sockets.mkdir()
    dirs = make_dirs(job, gather_inputs(job, cache), work, None, sockets)
    assert (dirs["store"] / "a.pt").read_bytes() == b"state" and _mode(dirs["store"] / "a.pt") == 0o444


def test_write_config_loads_the_courses_config_with_the_jobs_overrides(tmp_path):
    job, inputs, work, sockets, dirs = _work(tmp_path)
    write_config(job, work, None, sockets)
    assert (work / "course_config.py").read_bytes() == job.course_config
    c = PyFileConfigLoader("nbgrader_config.py", path=str(work)).load_config()
    assert c.CourseDirectory.root == str(work) and c.CourseDirectory.course_id == "course-mini"
    assert (c.Execute.timeout, c.Execute.startup_timeout, c.Execute.kernel_name) == (11, 12, KERNEL_NAME)
    assert c.KernelManager.ip == socket_prefix(sockets) and c.PrepareHiddenChecks.evaluation_dir == str(
        dirs["probe"]
    )
    guard = c.GuardedExecute
    assert (guard.notebook_timeout, guard.kernel_uid) == (13, -1)
    assert guard.notes_file == str(work / "notes.json") and guard.failure_file == str(
        work / "infrastructure.json"
    )


def test_without_probe_files_the_config_names_no_probe_folder(tmp_path):
    job, inputs, work, sockets, dirs = _work(tmp_path, probe=False)
    write_config(job, work, None, sockets)
    c = PyFileConfigLoader("nbgrader_config.py", path=str(work)).load_config()
    assert "evaluation_dir" not in c.PrepareHiddenChecks


def test_the_environment_holds_nothing_of_the_graders_own_but_the_pass_through_variables(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("GRADER_SECRET", "hunter2")
    monkeypatch.setenv("PYTHONPATH", "/grader/code")
    monkeypatch.setenv(STORE_ENV, "/grader/store")
    job, inputs, work, sockets, dirs = _work(tmp_path)
    env = environment(job, inputs, dirs, "run-1")
    assert set(env) == OWN | {"LABKIT_MAX_EPOCHS"}  # the settings' documented pass-through
    assert "hunter2" not in env.values() and "/grader/code" not in env.values()
    assert (
        env["LABKIT_MAX_EPOCHS"] == "1"
        and env["HOME"] == str(dirs["home"])
        and env["TMPDIR"] == str(dirs["tmp"])
    )
    assert env["LABKIT_DATA_DIR"] == str(inputs.data_dir) and env["LABKIT_LOG_DIR"] == str(
        dirs["home"] / "logs"
    )
    assert env["OMP_NUM_THREADS"] == env["MKL_NUM_THREADS"] == "3" and env["CUDA_VISIBLE_DEVICES"] == ""
    assert env[JOB_ENV] == f"mini/s1/{'k' * 12}/run-1"


@pytest.mark.parametrize(
    ("training", "expected"),
    [
        (Training(store={"a.pt": "x"}, manifest="m"), {STORE_ENV: "store", MANIFEST_ENV: "m"}),
        (Training(record="GivenCnn"), {STORE_ENV: "recorded", RECORD_ENV: "GivenCnn"}),
    ],
    ids=["reads-a-store", "records-the-reference"],
)
def test_training_reuse_variables_only_for_a_job_with_a_part(tmp_path, training, expected):
    job, inputs, work, sockets, dirs = _work(tmp_path)
    without = environment(job, inputs, dirs, "run-1")
    assert not {STORE_ENV, MANIFEST_ENV, RECORD_ENV} & set(without)
    with_part = environment(_job(tmp_path, BlobCache(tmp_path / "cache"), training), inputs, dirs, "run-1")
    reuse = {k: v for k, v in with_part.items() if k not in without}
    assert reuse == {k: str(dirs[v]) if k == STORE_ENV else v for k, v in expected.items()}
