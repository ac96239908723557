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
