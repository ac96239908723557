"""Per-subset evaluation of trained models."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd
import torch

from labkit.training.loop import predict

Splits = Mapping[str, np.ndarray]


def evaluate_classifier(module: torch.nn.Module, x: np.ndarray, y: np.ndarray, splits: Splits) -> dict:
    """Return the confusion matrix of each subset (rows: references, columns: predictions).

    Parameters
    ----------
    module
        A trained classifier; outputs are class scores.
    x
        All inputs.
    y
        One-hot (N, C) or integer (N,) references.
    splits
        Subset name -> indices, e.g. ``{'train': i_train, 'val': i_val, 'test': i_test}``.
    """
    scores = predict(module, x)
    references = np.argmax(y, axis=1) if np.ndim(y) == 2 else np.asarray(y)
    predictions = np.argmax(scores, axis=1)
    n = scores.shape[1]
    return {subset: confusion_matrix(references[i], predictions[i], n) for subset, i in splits.items()}


def confusion_matrix(references: np.ndarray, predictions: np.ndarray, n_classes: int) -> np.ndarray:
    """Return the (n_classes, n_classes) counts of (reference, prediction) pairs, as scikit-learn's.

    Counted with numpy: importing ``sklearn.metrics`` costs every graded kernel about a second.
    """
    pairs = np.asarray(references, dtype=np.int64) * n_classes + np.asarray(predictions, dtype=np.int64)
    return np.bincount(pairs, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def accuracy(matrix: np.ndarray) -> float:
    """Return the accuracy of a confusion matrix."""
    matrix = np.asarray(matrix)
    return float(np.trace(matrix) / matrix.sum())


def evaluate_regressor(
    module: torch.nn.Module,
    x: np.ndarray,
    y: np.ndarray,
    splits: Splits,
    metrics: Callable[[np.ndarray, np.ndarray], Mapping[str, float]],
) -> pd.DataFrame:
    """Return one row of ``metrics(targets, predictions)`` per subset.

    Parameters
    ----------
    module
        A trained regressor.
    x, y
        All inputs and targets.
    splits
        Subset name -> indices.
    metrics
        Computes a mapping of metric name to value from references and predictions.
    """
    predictions = predict(module, x)
    rows = [{"subset": subset, **metrics(y[i], predictions[i])} for subset, i in splits.items()]
    return pd.DataFrame(rows)
