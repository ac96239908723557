"""The content-addressed file cache of grading jobs, the worker environment check and the retry rule."""

from __future__ import annotations

import os
import pickle

import pytest

from autograder.config import Folders, Timeouts
from autograder.execute.blobs import BlobCache, MissingBlobsError, sha256_bytes
from autograder.execute.dispatch import MAX_ATTEMPTS, Attempt, Retries
from autograder.execute.requirements import check, requirements
from autograder.kernel.sandbox import Limits
from autograder.records import InfrastructureError, Job, Settings


def test_a_blob_is_verified_before_use_and_a_corrupt_one_is_fetched_again(tmp_path):
    cache = BlobCache(tmp_path / "cache")
    digest = cache.add_bytes(b"signals")
    assert cache.path(digest).read_bytes() == b"signals" and cache.listing() == {digest}
    path = cache.path(digest)
    os.chmod(path, 0o644)
    path.write_bytes(b"tampered")  # changes its change time: verified again, deleted
    assert cache.path(digest) is None and cache.listing() == set()
    fetched = []

    def fetch(digests):
        fetched.append(list(digests))
        return {digest: b"signals"}

    assert cache.ensure([digest], fetch)[digest].read_bytes() == b"signals"
    assert cache.ensure([digest], fetch) and fetched == [[digest]]  # fetched once, then reused


def test_bytes_with_another_digest_or_a_failed_fetch_are_refused(tmp_path):
    cache = BlobCache(tmp_path / "cache")
    wanted = sha256_bytes(b"right")
    with pytest.raises(MissingBlobsError, match="another sha256"):
        cache.put(wanted, b"wrong")
    with pytest.raises(MissingBlobsError) as missing:
        cache.ensure([wanted], lambda digests: 1 / 0)
    assert missing.value.digests == [wanted] and isinstance(missing.value, InfrastructureError)
    again = pickle.loads(pickle.dumps(missing.value))  # travels back from a Dask worker
    assert again.digests == [wanted] and str(again) == str(missing.value)
    with pytest.raises(MissingBlobsError, match="missing from the cache"):
        cache.ensure([wanted])


def test_a_data_folder_is_built_once_from_verified_blobs(tmp_path):
    cache = BlobCache(tmp_path / "cache")
    files = {"ecg.npz": cache.add_bytes(b"ecg"), "ppg.pkl": cache.add_bytes(b"ppg")}
    folder = cache.folder(files)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == {"ecg.npz": b"ecg", "ppg.pkl": b"ppg"}
    assert not os.access(folder / "ecg.npz", os.W_OK) or os.geteuid() == 0
    assert oct(folder.stat().st_mode & 0o777) == "0o555"
    assert cache.folder(dict(reversed(files.items()))) == folder  # the same set: the same folder
    assert cache.folder({"ecg.npz": files["ecg.npz"]}) != folder


def test_the_environment_check_names_every_difference():
    wanted = requirements(["import numpy as np\nfrom nbformat import v4"])
    assert {"python", "numpy", "nbformat", "nbgrader", "ipykernel", "code:labkit", "code:autograder"} <= set(
        wanted
    )
    check(wanted)  # this environment matches itself
    wrong = {**wanted, "numpy": "0.0.1", "no-such-distribution": "1.0", "code:labkit": "0" * 16}
    with pytest.raises(InfrastructureError) as exc:
        check(wrong)
    text = str(exc.value)
    assert "numpy " in text and "(host: 0.0.1)" in text and "no-such-distribution missing" in text
    assert "code:labkit" in text and "fix: start the worker in the course environment" in text


def _job(student: str, key: str = "same key") -> Job:
    settings = Settings(Timeouts(1, 1, 1), Limits(), 1, "")
    folders = Folders("source", "release", "submitted", "autograded", "feedback")
    return Job(student, "lab", key, "c", b"{}", None, "0" * 64, {}, "/w", settings, folders)


def test_a_failed_attempt_is_retried_elsewhere_then_left_ungraded_with_every_cause():
    retries, job = Retries(), _job("s")
    for n in range(1, MAX_ATTEMPTS):
        assert retries.failed(Attempt(job, None, f"cause {n}", worker=f"tcp://w{n}")) is None
    assert retries.avoid(job) == {f"tcp://w{n}" for n in range(1, MAX_ATTEMPTS)}
    assert retries.avoid(_job("other")) == frozenset()  # identical notebooks (one key), counted apart
    assert retries.failed(Attempt(_job("other"), None, "once")) is None
    ungraded = retries.failed(Attempt(job, None, "disk full (worker tcp://w9)", worker="tcp://w9"))
    assert ungraded is not None and len(ungraded.causes) == MAX_ATTEMPTS
    assert ungraded.causes[-1] == "disk full (worker tcp://w9)"  # the worker named once
    assert ungraded.line().startswith(f"lab/s: NOT GRADED after {MAX_ATTEMPTS} infrastructure failure(s)")


def test_a_full_disk_is_the_machines_failure(tmp_path):
    from autograder.execute.worker import check_disk

    check_disk(tmp_path, min_free_mb=1)
    with pytest.raises(InfrastructureError, match="MB free on the disk of"):
        check_disk(tmp_path, min_free_mb=10**12)


def test_an_unreachable_scheduler_or_a_cluster_without_workers_is_one_clear_error(tmp_path, monkeypatch):
    pytest.importorskip("distributed")
    from distributed import LocalCluster

    from autograder import CourseError
    from autograder.execute import cluster

    monkeypatch.setattr(cluster, "CONNECT_TIMEOUT", 2)
    cache = BlobCache(tmp_path / "cache")
    with pytest.raises(CourseError, match=r"no Dask scheduler answered .* fix: start one"):
        cluster.DaskRunner("tcp://127.0.0.1:1", cache)
    with LocalCluster(n_workers=0, processes=False, dashboard_address=None) as empty:
        with pytest.raises(CourseError, match="no Dask worker connected"):
            cluster.DaskRunner(empty.scheduler_address, cache)
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as cpu_only:
        with pytest.raises(CourseError, match="--gpu, but no worker has a GPU resource"):
            cluster.DaskRunner(cpu_only.scheduler_address, cache, gpu=True)
