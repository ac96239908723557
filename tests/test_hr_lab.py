"""Heart-rate lab: labkit helpers (figures, tables, config diff). The lab through nbgrader: test_labs_e2e."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import torch

from labkit.datasets.ppg import FS, SHIFT_SIZE, WINDOW_SIZE, n_windows, window_centres
from labkit.labs.hr import (
    activity_table,
    config_changes,
    evaluate_by_activity,
    evaluate_models,
    find_record,
    metrics_table,
)
from labkit.plots.hr import plot_activity_errors, plot_predictions, plot_record


def make_record(
    subject: str = "S1", activity: str = "sitting", n_samples: int = 600, hr: float = 72.0
) -> dict:
    """Return a small contract-shaped record: a pure pulse at ``hr`` bpm and sinusoidal acceleration."""
    time = np.arange(n_samples) / FS
    signals = pd.DataFrame(
        {
            "time": time,
            "ppg": np.sin(2 * np.pi * hr / 60.0 * time),
            "acc_x": 0.1 * np.sin(2 * np.pi * 1.0 * time),
            "acc_y": 0.2 * np.cos(2 * np.pi * 1.0 * time),
            "acc_z": 0.05 * np.sin(2 * np.pi * 2.0 * time),
        }
    )
    frame = pd.DataFrame({"time": window_centres(n_samples), "hr": np.full(n_windows(n_samples), hr)})
    return {"subject": subject, "activity": activity, "signals": signals, "hr": frame}


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


class ConstantShift(torch.nn.Module):
    """Predicts ``mean of the window + offset`` (a module with parameters, like a trained network)."""

    def __init__(self, offset: float) -> None:
        super().__init__()
        self.offset = torch.nn.Parameter(torch.tensor(float(offset)))
        self.input_shape = (1, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=(1, 2))[:, None] + self.offset


# --- figures ---------------------------------------------------------------------------------------------


def test_plot_record_draws_acc_ppg_and_spectrogram_with_reference_in_hz():
    record = make_record(n_samples=800, hr=90.0)
    fig = plot_record(record)
    acc, ppg, spec = fig.axes[:3]
    assert len(acc.lines) == 3
    assert np.allclose(ppg.lines[0].get_ydata(), record["signals"]["ppg"])
    assert spec.get_ylim() == (0.0, 4.0)
    reference = spec.lines[0]
    assert np.allclose(reference.get_ydata(), 1.5)  # 90 bpm = 1.5 Hz
    assert np.allclose(reference.get_xdata(), record["hr"]["time"])
    assert fig.get_suptitle() == "S1 (sitting)"


def test_plot_record_spectrogram_bins_are_the_reference_windows():
    record = make_record(n_samples=1000)
    fig = plot_record(record)
    image = fig.axes[2].images[0]
    left, right, _, _ = image.get_extent()
    n = n_windows(1000)
    # specgram columns are centred on the window centres: the first at 4 s, then one every 2 s.
    assert image.get_array().shape[1] == n
    step = SHIFT_SIZE / FS
    assert left == pytest.approx(WINDOW_SIZE / FS / 2 - step / 2)
    assert right == pytest.approx(left + n * step)


def test_plot_predictions_one_column_per_record_with_every_model():
    records = [make_record("S11", "sitting", 600), make_record("S11", "walking", 700, hr=120.0)]
    predictions = [
        {"A": np.full(len(r["hr"]), 100.0), "B": np.full((len(r["hr"]), 1), 80.0)} for r in records
    ]
    fig = plot_predictions(records, predictions)
    assert len(fig.axes) == 4
    top_right, bottom_right = fig.axes[1], fig.axes[3]
    labels = [line.get_label() for line in bottom_right.lines]
    assert labels == ["Reference", "A", "B"]
    assert np.allclose(bottom_right.lines[0].get_ydata(), 120.0)
    assert np.allclose(top_right.lines[2].get_ydata(), 80.0 / 60.0)
    assert top_right.get_title() == "S11 (walking)"


def test_plot_predictions_rejects_a_prediction_of_the_wrong_length():
    record = make_record(n_samples=600)
    with pytest.raises(ValueError, match=r"prediction 'A' has 3 values but S1 \(sitting\) has 9 windows"):
        plot_predictions([record], [{"A": np.zeros(3)}])
    with pytest.raises(ValueError, match="1 records and 2 prediction sets"):
        plot_predictions([record], [{}, {}])


# --- records and tables ----------------------------------------------------------------------------------


def test_find_record_and_its_error_message():
    records = [make_record("S1", "sitting"), make_record("S6", "sitting"), make_record("S1", "walking")]
    assert find_record(records, "S1", "walking") is records[2]
    with pytest.raises(
        KeyError, match=r"no 'walking' record for subject 'S6' \(its records: \['sitting'\]\)"
    ):
        find_record(records, "S6", "walking")


def test_evaluate_models_and_metrics_table_pivot():
    x = np.arange(24, dtype=np.float32).reshape(6, 1, 4)
    y = x.mean(axis=(1, 2))[:, None]
    splits = {"train": np.array([0, 1, 2]), "val": np.array([3, 4]), "test": np.array([5])}

    def metrics(targets, predictions):
        errors = np.ravel(predictions) - np.ravel(targets)
        return {"count": errors.size, "mae": float(np.mean(np.abs(errors)))}

    models = {"exact": (ConstantShift(0.0), x), "off by 2": (ConstantShift(2.0), x)}
    rows = evaluate_models(models, y, splits, metrics)
    assert list(rows.columns) == ["model", "subset", "count", "mae"]
    assert len(rows) == 6
    table = metrics_table(rows)
    assert list(table.index) == ["exact", "off by 2"]
    assert list(table.columns) == [(m, s) for m in ("count", "mae") for s in ("train", "val", "test")]
    assert table.loc["off by 2", ("mae", "val")] == pytest.approx(2.0)
    assert table.loc["exact", ("mae", "test")] == pytest.approx(0.0, abs=1e-6)
    assert table.loc["exact", ("count", "train")] == 3


def test_metrics_table_keeps_first_seen_order_and_rejects_other_frames():
    rows = pd.DataFrame(
        {
            "model": ["b", "b", "a", "a"],
            "subset": ["val", "train", "val", "train"],
            "mae": [1.0, 2.0, 3.0, 4.0],
        }
    )
    table = metrics_table(rows)
    assert list(table.index) == ["b", "a"]
    assert list(table.columns) == [("mae", "val"), ("mae", "train")]
    assert table.loc["a", ("mae", "train")] == 4.0
    with pytest.raises(ValueError, match="lack columns"):
        metrics_table(rows.drop(columns="subset"))


def _activity_metrics(targets, predictions, activities):
    errors = np.ravel(predictions) - np.ravel(targets)
    return {a: {"count": int(np.sum(activities == a)), "mae": float(np.mean(np.abs(errors[activities == a])))}
            for a in pd.unique(activities)}  # fmt: skip


def test_evaluate_by_activity_and_activity_table():
    x = np.arange(24, dtype=np.float32).reshape(6, 1, 4)
    y = x.mean(axis=(1, 2))[:, None]
    activities = np.array(["sitting", "walking"] * 3)
    splits = {"val": np.array([0, 1, 2, 3]), "test": np.array([4, 5])}
    models = {"exact": (ConstantShift(0.0), x), "off by 2": (ConstantShift(2.0), x)}
    rows = evaluate_by_activity(models, y, splits, activities, _activity_metrics)
    assert list(rows.columns) == ["model", "subset", "activity", "count", "mae"] and len(rows) == 8
    assert rows.loc[(rows.subset == "val") & (rows.activity == "walking"), "count"].tolist() == [2.0, 2.0]
    table = activity_table(rows)
    assert list(table.index) == ["exact", "off by 2"]
    assert list(table.columns) == [(s, a) for s in ("val", "test") for a in ("sitting", "walking")]
    assert table.loc["off by 2", ("test", "walking")] == pytest.approx(2.0)
    assert table.loc["exact", ("val", "sitting")] == pytest.approx(0.0, abs=1e-6)
    with pytest.raises(ValueError, match="lack columns"):
        activity_table(rows.drop(columns="activity"))


def test_plot_activity_errors_one_panel_per_subset_one_bar_per_model_and_activity():
    columns = pd.MultiIndex.from_product([("val", "test"), ("sitting", "walking")])
    values = [[3.0, 20.0, 4.0, 25.0], [3.5, 9.0, 4.5, 10.0]]
    table = pd.DataFrame(values, index=["PPG", "PPG ACC"], columns=columns)
    fig = plot_activity_errors(table)
    assert [ax.get_title() for ax in fig.axes] == ["val", "test"]
    heights = sorted(round(p.get_height(), 1) for p in fig.axes[1].patches)
    assert heights == [4.0, 4.5, 10.0, 25.0]
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["sitting", "walking"]
    with pytest.raises(ValueError, match="subset, activity"):
        plot_activity_errors(table.droplevel(0, axis=1))


# --- configuration differences ---------------------------------------------------------------------------

BASE = {
    "model": {"input_shape": (4, 200), "use_normalization": False, "dropout": 0.0, "n_units": 128},
    "optimizer": {"lr": 1e-4},
}


def test_config_changes_finds_exactly_the_changed_leaves():
    variant = {"model": {**BASE["model"], "use_normalization": True}, "optimizer": {"lr": 1e-4}}
    assert config_changes(BASE, variant) == {("model", "use_normalization"): (False, True)}
    assert config_changes(BASE, BASE) == {}
    two = {"model": {**BASE["model"], "dropout": 0.5}, "optimizer": {"lr": 1e-3}}
    assert config_changes(BASE, two) == {("model", "dropout"): (0.0, 0.5), ("optimizer", "lr"): (1e-4, 1e-3)}


def test_config_changes_missing_keys_types_and_shapes():
    missing = {"model": {k: v for k, v in BASE["model"].items() if k != "dropout"}, "extra": 1}
    changes = config_changes(BASE, missing)
    assert changes[("model", "dropout")] == (0.0, "<missing>")
    assert changes[("optimizer",)] == ({"lr": 1e-4}, "<missing>")
    assert changes[("extra",)] == ("<missing>", 1)
    as_list = {"model": {**BASE["model"], "input_shape": [4, 200]}, "optimizer": {"lr": 1e-4}}
    assert config_changes(BASE, as_list) == {}  # a shape as list or tuple is the same shape
    as_int = {"model": {**BASE["model"], "use_normalization": 1}, "optimizer": {"lr": 1e-4}}
    assert config_changes(BASE, as_int) == {("model", "use_normalization"): (False, 1)}
    with_int_units = {"model": {**BASE["model"], "n_units": 128.0}, "optimizer": {"lr": 1e-4}}
    assert config_changes(BASE, with_int_units) == {}
