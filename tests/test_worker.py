"""autograder/execute/worker.py: a full disk is the machine's failure, never a grade."""

from __future__ import annotations

import pytest

from autograder.records import InfrastructureError


def test_a_full_disk_is_the_machines_failure(tmp_path):
    from autograder.execute.worker import check_disk

    check_disk(tmp_path, min_free_mb=1)
    with pytest.raises(InfrastructureError, match="MB free on the disk of"):
        check_disk(tmp_path, min_free_mb=10**12)
