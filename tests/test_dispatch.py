"""autograder/execute/dispatch.py: the retry rule of jobs whose machine failed."""

from __future__ import annotations

from autograder.config import Folders, Timeouts
from autograder.execute.dispatch import MAX_ATTEMPTS, Attempt, Retries
from autograder.records import Job, Limits, Settings


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
