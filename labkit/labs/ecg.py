"""Helpers of the ECG rhythm lab: count tables, the one-hot preview, model comparison and checks.

None of them solves an exercise of the lab: the split, the scaling and the encoding stay with the student.
The checks say what a correct answer satisfies (the same rules the graded tests apply), not how to get it.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import torch

from labkit.labs.signatures import contains_sequence
from labkit.labs.splits import stratification_errors  # noqa: F401 (the notebook imports it from here)
from labkit.training import accuracy


def count_table(rhythms: np.ndarray) -> pd.DataFrame:
    """Return the number of strips per rhythm, one row per rhythm in sorted label order.

    Parameters
    ----------
    rhythms
        (N,) rhythm labels.

    Returns
    -------
    pandas.DataFrame
        Columns ``rhythm`` and ``count``.
    """
    labels, counts = np.unique(np.asarray(rhythms), return_counts=True)
    return pd.DataFrame({"rhythm": labels, "count": counts})


def data_origin(provenance: Mapping[str, object]) -> str:
    """Return where the strips come from and how many of their labels are wrong on purpose.

    Parameters
    ----------
    provenance
        The data file's provenance (``labkit.datasets.ecg.load_ecg_provenance``): ``source`` and
        ``label_noise``, the share of labels deliberately swapped between confusable rhythms.

    Returns
    -------
    str
        E.g. ``"source: synthetic; label noise: 5% of the labels are deliberately wrong ..."``.
    """
    noise = float(provenance.get("label_noise", 0.0))  # type: ignore[arg-type]
    if noise:
        wrong = (
            f"{noise:.0%} of the labels are deliberately wrong (swapped between confusable rhythms), "
            f"so no model can score much above {1 - noise:.2f} accuracy"
        )
    else:
        wrong = "none added (the labels are the source's annotations)"
    return f"source: {provenance['source']}; label noise: {wrong}"


def build_summary(rhythms: np.ndarray, splits: Mapping[str, np.ndarray]) -> pd.DataFrame:
    """Return one row per subset with its total size and its count of every rhythm.

    Parameters
    ----------
    rhythms
        (N,) rhythm labels of the whole data set.
    splits
        Subset name -> indices, e.g. ``{'train': i_train, 'val': i_val, 'test': i_test}``.

    Returns
    -------
    pandas.DataFrame
        Columns ``subset``, ``total_count`` and ``<rhythm>_count`` for every rhythm (sorted).
    """
    rhythms = np.asarray(rhythms)
    labels = np.unique(rhythms)
    rows = []
    for subset, index in splits.items():
        chosen = rhythms[np.asarray(index, dtype=int)]
        row = {"subset": subset, "total_count": chosen.size}
        row.update({f"{label}_count": int(np.sum(chosen == label)) for label in labels})
        rows.append(row)
    return pd.DataFrame(rows)


def encoded_preview(rhythms: np.ndarray, encoded: np.ndarray, n: int = 10) -> pd.DataFrame:
    """Return the first ``n`` labels next to their one-hot rows (columns in sorted label order).

    Raises
    ------
    ValueError
        When ``encoded`` is not (N, number of rhythms) for the N labels given.
    """
    rhythms = np.asarray(rhythms)
    labels = np.unique(rhythms)
    encoded = np.asarray(encoded)
    if encoded.shape != (rhythms.size, labels.size):
        raise ValueError(
            f"the encoding has shape {encoded.shape}, expected {(rhythms.size, labels.size)}; "
            "pass one row per strip and one column per rhythm"
        )
    frame = pd.DataFrame(encoded[:n], columns=labels)
    frame.insert(0, "rhythm", rhythms[:n])
    return frame


def accuracy_table(matrices: Mapping[str, Mapping[str, np.ndarray]]) -> pd.DataFrame:
    """Return the accuracy of every model (rows) on every subset (columns).

    Parameters
    ----------
    matrices
        Model name -> (subset -> confusion matrix), as returned by
        :func:`labkit.training.evaluate_classifier` for each model.
    """
    rows = {
        model: {subset: accuracy(c) for subset, c in per_subset.items()}
        for model, per_subset in matrices.items()
    }
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "model"
    return table.round(3)


def count_parameters(model: torch.nn.Module) -> int:
    """Return the number of trainable parameters of ``model``."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def architecture_signature(model: torch.nn.Module) -> tuple[tuple[str, tuple[tuple[int, ...], ...]], ...]:
    """Return a fingerprint of an architecture: every module that owns parameters, with their shapes.

    Two models with the same layer types and parameter shapes in the same order (e.g. a copy of the given
    CNN under another name) have equal signatures; changing a layer, a width or a kernel size changes it.
    """
    signature = []
    for module in model.modules():
        shapes = tuple(tuple(p.shape) for p in module.parameters(recurse=False))
        if shapes:
            signature.append((type(module).__name__, shapes))
    return tuple(signature)


#: The graded bar of a custom model: at least this test accuracy ...
MIN_ACCURACY = 0.5
#: ... and at least the given CNN's test accuracy minus this margin (the spread between machines).
ACCURACY_MARGIN = 0.10


def check_accuracy(
    matrices: Mapping[str, np.ndarray], given: Mapping[str, np.ndarray], name: str, subset: str = "test"
) -> None:
    """Print a model's accuracy on ``subset`` beside the given CNN's, and fail when it misses the graded bar.

    Returns nothing on purpose: a test cell that ends with this call has no output value, and nbgrader
    would read a number there as partial credit.

    Parameters
    ----------
    matrices, given
        Subset -> confusion matrix of the model and of the given CNN (from ``evaluate_classifier``).
    name
        The model's name in the messages.
    subset
        The subset compared.

    Raises
    ------
    AssertionError
        When the accuracy is below :data:`MIN_ACCURACY` or below the given CNN's minus
        :data:`ACCURACY_MARGIN` (the bar, printed with both accuracies).
    """
    acc, ref = accuracy(matrices[subset]), accuracy(given[subset])
    bar = max(MIN_ACCURACY, ref - ACCURACY_MARGIN)
    verdict = "meets the bar" if acc >= bar else "BELOW the bar"
    print(f"{name}: {subset} accuracy {acc:.3f} (given CNN {ref:.3f}; graded bar {bar:.3f}: {verdict})")
    assert acc >= MIN_ACCURACY, f"{name}: {subset} accuracy {acc:.3f} is below {MIN_ACCURACY}"
    assert acc >= ref - ACCURACY_MARGIN, (
        f"{name}: {subset} accuracy {acc:.3f} is below the given CNN's {ref:.3f} - {ACCURACY_MARGIN}"
    )


class NotOwnModelError(AssertionError):
    """A custom model breaks the lab's own-model rule (the grader notes it for the instructor too)."""


def check_own_model(
    trained: torch.nn.Module,
    built: torch.nn.Module,
    model_class: type,
    given: torch.nn.Module,
    args: tuple,
) -> None:
    """Check the part of the own-model rule a notebook can see (the graded test checks more).

    A custom model is a new instance of the student's class, built by the given training cell and trained
    there from its own initialisation; it may not call, copy or return another model.

    Parameters
    ----------
    trained
        What the training cell returned (its ``model`` is the trained network).
    built
        The network the training cell built (``model``).
    model_class
        The student's class.
    given
        The given CNN (trained), whose layers a new instance must not reuse.
    args
        The constructor's arguments, ``(input_shape, output_shape)``.

    Raises
    ------
    NotOwnModelError
        Naming the part of the rule that failed.
    """
    name = model_class.__name__
    network = getattr(trained, "model", trained)
    if type(network) is not model_class or network is not built:
        raise NotOwnModelError(
            f"{name}: the training cell trained a {type(network).__name__} object; "
            f"{name}(input_shape, output_shape) must build and return a new {name}"
        )
    with torch.random.fork_rng(devices=[]):
        fresh = model_class(*args)
    theirs = {id(m) for m in given.modules()} | {id(p) for p in given.parameters()}
    mine = {id(m) for m in fresh.modules()} | {id(p) for p in fresh.parameters()}
    if type(fresh) is not model_class or theirs & mine:
        raise NotOwnModelError(
            f"{name}: a new {name} reuses layers or parameters of the given CNN; build your own in __init__"
        )
    given_network = getattr(given, "model", given)
    if contains_sequence(architecture_signature(fresh), architecture_signature(given_network)):
        raise NotOwnModelError(
            f"{name}: its layers contain the given CnnModel's whole layer sequence; design your own"
        )
