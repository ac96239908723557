"""Helpers of the ECG rhythm lab: count tables, the one-hot preview, model comparison and checks.

None of them solves an exercise of the lab: the split, the scaling and the encoding stay with the student.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import torch

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
            f"the encoding has shape {encoded.shape}, expected {(rhythms.size, labels.size)}: "
            "one row per strip and one column per rhythm"
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
