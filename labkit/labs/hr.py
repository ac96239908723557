"""Helpers of the heart-rate lab: find a record, evaluate several models, tables of metrics."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd
import torch

from labkit.training import evaluate_regressor, predict

MetricsFn = Callable[[np.ndarray, np.ndarray], Mapping[str, float]]
ActivityMetricsFn = Callable[[np.ndarray, np.ndarray, np.ndarray], Mapping[str, Mapping[str, float]]]


def find_record(records: Sequence[Mapping], subject: str, activity: str) -> Mapping:
    """Return the record of ``subject`` doing ``activity``.

    Raises
    ------
    KeyError
        When no record matches (the message lists the records of that subject).
    """
    for record in records:
        if record["subject"] == subject and record["activity"] == activity:
            return record
    have = [r["activity"] for r in records if r["subject"] == subject]
    raise KeyError(f"no {activity!r} record for subject {subject!r} (its records: {have})")


def evaluate_models(
    models: Mapping[str, tuple[torch.nn.Module, np.ndarray]],
    targets: np.ndarray,
    splits: Mapping[str, np.ndarray],
    metrics: MetricsFn,
) -> pd.DataFrame:
    """Evaluate every model on every subset and return one row per (model, subset).

    Parameters
    ----------
    models
        Model name -> (trained regressor, the scaled windows it takes as input).
    targets
        Reference heart rate of every window.
    splits
        Subset name -> window indices, e.g. ``{'train': i_train, 'val': i_val, 'test': i_test}``.
    metrics
        ``metrics(targets, predictions) -> {'count': ..., 'mse': ..., 'mae': ...}``.

    Returns
    -------
    pandas.DataFrame
        Columns ``model``, ``subset`` and one per metric, in the order given.
    """
    frames = []
    for name, (module, windows) in models.items():
        frame = evaluate_regressor(module, windows, targets, splits, metrics)
        frame.insert(0, "model", name)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def metrics_table(rows: pd.DataFrame) -> pd.DataFrame:
    """Pivot per-(model, subset) rows into one row per model and one column per (metric, subset).

    Parameters
    ----------
    rows
        Output of :func:`evaluate_models`: columns ``model``, ``subset`` and the metrics.

    Returns
    -------
    pandas.DataFrame
        Index: models (first-seen order); columns: MultiIndex (metric, subset), metrics and subsets in their
        first-seen order.
    """
    missing = {"model", "subset"} - set(rows.columns)
    if missing:
        raise ValueError(f"rows lack columns {sorted(missing)}; pass the output of evaluate_models")
    models, subsets = pd.unique(rows["model"]), pd.unique(rows["subset"])
    metric_names = [c for c in rows.columns if c not in ("model", "subset")]
    table = rows.set_index(["model", "subset"])[metric_names].unstack("subset")
    columns = pd.MultiIndex.from_product([metric_names, subsets], names=[None, "subset"])
    return table.reindex(index=models, columns=columns)


def evaluate_by_activity(
    models: Mapping[str, tuple[torch.nn.Module, np.ndarray]],
    targets: np.ndarray,
    splits: Mapping[str, np.ndarray],
    activities: np.ndarray,
    activity_metrics: ActivityMetricsFn,
) -> pd.DataFrame:
    """Evaluate every model on every subset, per activity, and return one row per (model, subset, activity).

    Parameters
    ----------
    models
        Model name -> (trained regressor, the scaled windows it takes as input).
    targets
        Reference heart rate of every window, shape (n,) or (n, 1).
    splits
        Subset name -> window indices, e.g. ``{'val': i_val, 'test': i_test}``.
    activities
        Shape (n,): the activity of every window.
    activity_metrics
        ``activity_metrics(targets, predictions, activities) -> {activity: {'count': ..., 'mae': ...}}``.

    Returns
    -------
    pandas.DataFrame
        Columns ``model``, ``subset``, ``activity`` and one per metric.
    """
    targets, activities = np.asarray(targets).reshape(len(activities), -1), np.asarray(activities)
    rows = []
    for name, (module, windows) in models.items():
        predictions = predict(module, windows)
        for subset, index in splits.items():
            index = np.asarray(index)
            per_activity = activity_metrics(targets[index], predictions[index], activities[index])
            for activity, values in per_activity.items():
                row = {"model": name, "subset": subset, "activity": activity}
                rows.append(row | {key: float(value) for key, value in values.items()})
    return pd.DataFrame(rows)


def activity_table(rows: pd.DataFrame, metric: str = "mae") -> pd.DataFrame:
    """Pivot :func:`evaluate_by_activity` rows into one row per model and one column per (subset, activity).

    Parameters
    ----------
    rows
        Columns ``model``, ``subset``, ``activity`` and ``metric``.
    metric
        The metric shown.

    Returns
    -------
    pandas.DataFrame
        Index: models; columns: MultiIndex (subset, activity), all in first-seen order.
    """
    missing = {"model", "subset", "activity", metric} - set(rows.columns)
    if missing:
        raise ValueError(f"rows lack columns {sorted(missing)}; pass the output of evaluate_by_activity")
    table = rows.pivot(index="model", columns=["subset", "activity"], values=metric)
    columns = pd.MultiIndex.from_product([pd.unique(rows["subset"]), pd.unique(rows["activity"])])
    return table.reindex(index=pd.unique(rows["model"]), columns=columns)


_MISSING = "<missing>"


def config_changes(base: Mapping, variant: Mapping, _path: tuple = ()) -> dict[tuple, tuple]:
    """Return every difference between two nested configuration dicts.

    Parameters
    ----------
    base, variant
        The configurations to compare (dicts of dicts and values).

    Returns
    -------
    dict
        Key path (tuple of keys) -> ``(value in base, value in variant)``; a key present in only one of them
        shows ``'<missing>'`` on the other side. Empty when the configurations are equal.
    """
    changes: dict[tuple, tuple] = {}
    for key in list(base) + [k for k in variant if k not in base]:
        old, new = base.get(key, _MISSING), variant.get(key, _MISSING)
        if isinstance(old, Mapping) and isinstance(new, Mapping):
            changes.update(config_changes(old, new, (*_path, key)))
        elif not _same(old, new):
            changes[(*_path, key)] = (old, new)
    return changes


def _same(a: object, b: object) -> bool:
    """Equality where tuples and lists of equal items (shapes) match, but a bool never matches a number."""
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, bool) != isinstance(b, bool):
        return False
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return False
