"""autograder/execute/blobs.py: the content-addressed file cache of grading jobs."""

from __future__ import annotations

import os
import pickle

import pytest

from autograder.execute.blobs import BlobCache, MissingBlobsError, sha256_bytes
from autograder.records import InfrastructureError


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
