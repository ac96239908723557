"""autograder/execute/cluster.py: connecting to a Dask cluster (in-process clusters; the real
cluster: test_cluster_e2e.py)."""

from __future__ import annotations

import pytest

from autograder.execute.blobs import BlobCache


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
