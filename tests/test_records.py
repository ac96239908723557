"""autograder/records.py: the records passed between the grading stages."""

from __future__ import annotations

import pickle

from autograder.records import Grade, Result


def test_result_grades_are_named_and_pickle():
    result = Result("s1", "mini", "k", None, {"t": Grade(1.0, False, 2.0, "code")}, {}, [], None, 0.5)
    again = pickle.loads(pickle.dumps(result))
    grade = again.grades["t"]
    assert again == result and grade.is_test and (grade.auto_score, grade.max_score) == (1.0, 2.0)
    assert not Grade(None, True, 3.0, "markdown").is_test


def test_an_infrastructure_failure_names_its_worker_and_keeps_it_through_pickling():
    from autograder.execute.blobs import MissingBlobsError
    from autograder.records import InfrastructureError

    error = pickle.loads(pickle.dumps(InfrastructureError("disk full", "tcp://w9")))
    assert (str(error), error.worker) == ("disk full (worker tcp://w9)", "tcp://w9")
    missing = pickle.loads(pickle.dumps(MissingBlobsError("2 files missing", ["b", "a"], "tcp://w1")))
    assert (missing.worker, missing.digests, type(missing)) == ("tcp://w1", ["a", "b"], MissingBlobsError)
    assert (
        InfrastructureError("no kernel").worker == "" and str(InfrastructureError("no kernel")) == "no kernel"
    )
