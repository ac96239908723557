"""Test-session guards shared by every test module."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

if os.environ.get("PYTEST_XDIST_WORKER"):
    # `make test` runs test files on several processes (pytest-xdist): each gets its share of the cores for
    # the torch it runs and the notebooks it executes (they inherit this), so that two processes' OpenMP
    # thread teams do not oversubscribe the machine. Grading sets its kernels' threads itself (per job).
    _share = (os.cpu_count() or 1) // max(1, int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")))
    os.environ["OMP_NUM_THREADS"] = os.environ["MKL_NUM_THREADS"] = str(max(1, _share))


@pytest.fixture(autouse=True)
def _restore_environment() -> Iterator[None]:
    """Give every test the environment it started with.

    Some libraries write to ``os.environ`` as a side effect (dask's ``LocalCluster`` with process workers
    sets ``OMP_NUM_THREADS=1`` and friends for its nannies); without this, every notebook executed by a
    later test would train single-threaded.
    """
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)
