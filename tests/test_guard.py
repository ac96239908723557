"""autograder/kernel/guard.py: the guarded kernel's proof that a cell ran untampered."""

from __future__ import annotations


def test_guard_proof_binds_nonce_status_and_restored_hooks():
    from autograder.kernel.guard import proof, verify

    key = b"k" * 32
    good = {"status": "error", "course_guard": {"restored": [], "proof": proof(key, "n1", "error", [])}}
    assert verify(key, "n1", good) == (True, [])
    assert verify(key, "n2", good)[0] is False  # a replayed proof of another cell
    assert verify(key, "n1", {**good, "status": "ok"})[0] is False  # an error rewritten as ok
    hidden = {**good, "course_guard": {"restored": ["x"], "proof": good["course_guard"]["proof"]}}
    assert verify(key, "n1", hidden)[0] is False
    assert verify(b"", "n1", good)[0] is False and verify(key, "n1", {"status": "ok"})[0] is False
