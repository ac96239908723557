"""The layer-sequence question both own-model checks ask (labkit.labs.signatures), in both signature forms."""

from __future__ import annotations

from labkit.labs.signatures import contains_sequence

CONV = ("Conv1d", ((8, 1, 5), (8,)))
NORM = ("BatchNorm1d", ((8,), (8,)))
LINEAR = ("Linear", ((5, 8), (5,)))


def test_a_whole_sequence_in_one_piece_is_found_in_tuples_and_in_lists() -> None:
    assert contains_sequence((NORM, CONV, NORM, LINEAR), (CONV, NORM))
    as_lists = [[name, [list(shape) for shape in shapes]] for name, shapes in (NORM, CONV, NORM, LINEAR)]
    assert contains_sequence(as_lists, (CONV, NORM, LINEAR))


def test_a_broken_reordered_or_empty_sequence_is_not_found() -> None:
    assert not contains_sequence((CONV, NORM, LINEAR), (CONV, LINEAR))  # not in one piece
    assert not contains_sequence((LINEAR, CONV), (CONV, LINEAR))  # not in order
    assert not contains_sequence((CONV,), ())  # an empty model is nobody's copy
    assert not contains_sequence((("Conv1d", ((8, 1, 7), (8,))),), (CONV,))  # another kernel size
