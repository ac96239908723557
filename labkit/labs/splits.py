"""The rule every stratified k-fold split obeys, for any class sizes (numpy only: no torch to import).

Used by the ECG lab's visible split test and by its hidden check in the grading process.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np


def stratification_errors(
    labels: np.ndarray, subsets: Mapping[str, tuple[np.ndarray, int]], n_folds: int = 5
) -> list[str]:
    """Return what breaks the rule of a stratified split made of ``n_folds`` folds (empty when nothing).

    ``StratifiedKFold(n_folds)`` gives each fold ``floor(n / n_folds)`` or ``ceil(n / n_folds)`` of the
    ``n`` examples of every class, whatever the class sizes. A subset made of ``k`` folds therefore holds
    between ``k * floor(n / n_folds)`` and ``k * ceil(n / n_folds)`` examples of that class; these are the
    bounds checked, so every split ``StratifiedKFold`` makes passes, for any class sizes.

    Parameters
    ----------
    labels
        (N,) class label of every example.
    subsets
        Subset name -> (indices into ``labels``, number of folds it is made of), e.g.
        ``{'train': (i_train, 3), 'val': (i_val, 1), 'test': (i_test, 1)}``.
    n_folds
        Number of folds the data was cut into.

    Returns
    -------
    list of str
        One message per (subset, class) outside its bounds.
    """
    labels = np.asarray(labels)
    errors = []
    for label in np.unique(labels):
        n = int(np.sum(labels == label))
        low, high = n // n_folds, -(-n // n_folds)
        for name, (indices, k) in subsets.items():
            count = int(np.sum(labels[np.asarray(indices, dtype=int)] == label))
            if not k * low <= count <= k * high:
                expected = f"{k * low}" if low == high else f"{k * low} to {k * high}"
                errors.append(
                    f"the {name} set holds {count} of the {n} {label} examples, expected {expected} "
                    f"({k} of {n_folds} folds, each with {n} / {n_folds} of them rounded down or up)"
                )
    return errors
