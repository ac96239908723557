"""Test-session guards shared by every test module."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest


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
