"""Per-subset evaluation of trained models."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd
import sklearn.metrics
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
    labels = np.arange(scores.shape[1])
    return {
        subset: sklearn.metrics.confusion_matrix(references[i], predictions[i], labels=labels)
        for subset, i in splits.items()
    }


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
