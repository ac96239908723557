"""Architecture signatures compared without torch: whether a model holds another's layers.

A signature lists a model's parameter-owning modules in order, each as ``(type name, parameter shapes)``
(``labkit.labs.ecg.architecture_signature`` in the notebook, ``autograder.checks.provenance.signature`` in
a probe, as lists once it has crossed to the grader). Both the visible own-model check and the grader's
decision ask the same question of two signatures; this module answers it for either form.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def _rows(signature: Sequence[Any]) -> list[tuple[str, tuple[tuple[int, ...], ...]]]:
    """Return ``signature`` as hashable rows, whether it came as tuples or as plain lists."""
    return [(str(name), tuple(tuple(int(n) for n in s) for s in shapes)) for name, shapes in signature]


def contains_sequence(whole: Sequence[Any], part: Sequence[Any]) -> bool:
    """Return True when the signature ``part`` appears in ``whole`` in one piece, in order.

    Examples
    --------
    >>> conv, linear = ("Conv1d", ((8, 1, 5), (8,))), ("Linear", ((5, 8), (5,)))
    >>> contains_sequence([("BatchNorm1d", ((1,), (1,))), conv, linear], [conv, linear])
    True
    >>> contains_sequence([conv], [conv, linear])
    False
    """
    rows, target = _rows(whole), _rows(part)
    n = len(target)
    return n > 0 and any(rows[i : i + n] == target for i in range(len(rows) - n + 1))
