"""autograder/plan/ledger.py: the ledger of graded jobs and their keys."""

from __future__ import annotations

import pytest

from autograder.plan.ledger import Ledger, LedgerEntry, job_key


def test_ledger_roundtrip_and_key(tmp_path):
    ledger = Ledger(tmp_path / "ledger.json")
    key = job_key(b"nb", b"release", "{}")
    assert key != job_key(b"nb2", b"release", "{}") and key == job_key(b"nb", b"release", "{}")
    ledger.record(
        LedgerEntry("alice", "mini", key, score=1, max_score=1, auto_max_score=1, manual_max_score=0)
    )
    assert Ledger(tmp_path / "ledger.json").is_done("mini", "alice", key)
    (tmp_path / "ledger.json").write_text("{broken")
    with pytest.raises(ValueError, match="not valid JSON"):
        Ledger(tmp_path / "ledger.json")
