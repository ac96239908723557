"""Heart-rate lab: labkit helpers (figures, tables, config diff) and the lab through nbgrader (e2e)."""

from __future__ import annotations

import re

import e2e_support as e2e
import joblib
import matplotlib.pyplot as plt
import nbformat
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


# --- end-to-end: plain nbgrader on a temporary copy of the course ----------------------------------------

LAB = "hr_estimation"
WRONG_SPLIT = '''TRAIN_SUBJECTS = tuple(f"S{i}" for i in range(1, 11))
VAL_SUBJECTS = ("S11", "S12")
TEST_SUBJECTS = ("S13", "S14", "S15")


def split_subjects(subjects):
    """A wrong split: S10 trains instead of validating (all subjects used, none in two subsets)."""
    subjects = np.asarray(subjects)
    groups = (TRAIN_SUBJECTS, VAL_SUBJECTS, TEST_SUBJECTS)
    return tuple(np.flatnonzero(np.isin(subjects, group)) for group in groups)
'''
SPLIT_TESTS = {"test_split_subjects"}
EXERCISE_TESTS = {
    "test_extract_windows",
    "test_split_subjects",
    "test_compute_scaling",
    "test_derive_config",
    "test_compute_metrics",
    "test_compute_activity_metrics",
}
# A submission that edits given code (a locked cell) to train on the test subjects.
TRAIN_ON_TEST = """i_train = np.concatenate([i_train, i_test])
N_EPOCHS = 300
ppg_cnn = train_regressor(ppg_cnn_config, ppg_windows, "ppg_cnn")
ppg_acc_cnn = train_regressor(ppg_acc_cnn_config, ppg_acc_windows, "ppg_acc_cnn")
"""
CAP = 1  # epoch: the capped runs judge which tests pass, not how good the models are


def _needs_data() -> None:
    if not (e2e.DATA_DIR / "ppg_dalia.pkl").is_file():
        pytest.skip("no data/ppg_dalia.pkl: run `labkit data synth` first")


def _results(notebook) -> str:
    """Return the metrics table and the hidden performance test's printout, timings removed."""
    table = next(c for c in notebook.cells if c.cell_type == "code" and "metrics_table(" in c.source)
    text = e2e.text_output(table) + e2e.text_output(e2e.cell_by_grade_id(notebook, "performance_check"))
    return re.sub(r"epochs in \d+ s", "epochs in - s", text)


@pytest.fixture(scope="module")
def capped(tmp_path_factory):
    """One capped autograde run: the reference twice, a wrong split, the untouched release."""
    _needs_data()
    edits = {"edited_training": {"ppg_training": TRAIN_ON_TEST}}
    root = tmp_path_factory.mktemp("hr_capped")
    return e2e.capped_course(root, LAB, "split_subjects", WRONG_SPLIT, CAP, edits=edits)


@pytest.mark.slow
@pytest.mark.e2e
def test_untouched_release_scores_zero_and_runs_every_cell(capped):
    scores = e2e.read_scores(capped, LAB, "blank")
    assert set(scores) == EXERCISE_TESTS, f"graded cells: {sorted(scores)}"
    earned = {name: score for name, (score, _) in scores.items() if score > 0}
    assert earned == {}, f"the untouched release earned points on {earned}"
    notebook = e2e.autograded_notebook(capped, LAB, "blank")
    assert e2e.unexecuted_cells(notebook) == [], "some code cells were never executed"
    found = e2e.errors(notebook)
    assert not any("DeadKernel" in error for error in found), found
    assert "test_extract_windows: NotImplementedError" in found  # the stub ran and raised


@pytest.mark.slow
@pytest.mark.e2e
def test_wrong_split_loses_exactly_the_split_points(capped):
    reference = e2e.read_scores(capped, LAB, "ref_a")
    wrong = e2e.read_scores(capped, LAB, "wrong_split")
    assert all(reference[name][0] == reference[name][1] for name in SPLIT_TESTS), reference
    differing = {name for name in reference if reference[name] != wrong[name]}
    assert differing == SPLIT_TESTS, f"scores differ on {sorted(differing)}; expected {sorted(SPLIT_TESTS)}"
    assert all(wrong[name][0] == 0 for name in SPLIT_TESTS)
    # No graded test depends on how well the models train: the capped reference keeps every point.
    lost = {name for name, (score, top) in reference.items() if score < top}
    assert lost == set(), f"the capped reference lost points on {sorted(lost)}"


@pytest.mark.slow
@pytest.mark.e2e
def test_edited_given_training_cell_is_graded_as_the_instructor_wrote_it(capped):
    """Given code is locked: nbgrader restores the instructor's cell, so the edit has no effect."""
    graded = e2e.autograded_notebook(capped, LAB, "edited_training")
    source = nbformat.read(e2e.source_notebook(LAB), as_version=4)
    cell = e2e.cell_by_grade_id(graded, "ppg_training")
    assert cell.source == e2e.cell_by_grade_id(source, "ppg_training").source
    assert "i_test" not in cell.source and cell.execution_count
    assert e2e.read_scores(capped, LAB, "edited_training") == e2e.read_scores(capped, LAB, "ref_a")
    assert _results(graded) == _results(e2e.autograded_notebook(capped, LAB, "ref_a"))


@pytest.mark.slow
@pytest.mark.e2e
def test_reference_is_reproducible(capped):
    assert e2e.read_scores(capped, LAB, "ref_a") == e2e.read_scores(capped, LAB, "ref_b")
    results = [_results(e2e.autograded_notebook(capped, LAB, student)) for student in ("ref_a", "ref_b")]
    assert (
        "PPG ACC norm dropout CNN" in results[0] and "best PPG+ACC model on the test subjects" in results[0]
    )
    assert results[0] == results[1]


@pytest.mark.slow
@pytest.mark.e2e
def test_reference_solution_gets_every_point_uncapped(tmp_path):
    """The real settings (4 models x 30 epochs, no cap): the reference earns every autograded point."""
    _needs_data()
    course = e2e.make_course(tmp_path, LAB)
    e2e.submit(course, LAB, "reference", e2e.source_notebook(LAB))
    e2e.autograde(course, LAB, max_epochs=None)
    scores = e2e.read_scores(course, LAB, "reference")
    lost = {name: score for name, score in scores.items() if score[0] < score[1]}
    assert set(scores) == EXERCISE_TESTS and lost == {}, f"the reference lost points: {lost}"
    notebook = e2e.autograded_notebook(course, LAB, "reference")
    assert e2e.errors(notebook) == [], f"the reference raised: {e2e.errors(notebook)}"


@pytest.mark.slow
@pytest.mark.e2e
def test_lab_runs_on_a_records_file_in_the_original_layout(tmp_path, monkeypatch):
    """Records without source/provenance (the original lab's file): the lab runs and says so once."""
    _needs_data()
    from nbclient import NotebookClient

    records = joblib.load(e2e.DATA_DIR / "ppg_dalia.pkl")
    original = [{key: r[key] for key in ("subject", "activity", "signals", "hr")} for r in records]
    joblib.dump(original, tmp_path / "ppg_dalia.pkl")
    env = {"LABKIT_DATA_DIR": tmp_path, "LABKIT_LOG_DIR": tmp_path / "logs", "LABKIT_MAX_EPOCHS": CAP,
           "LABKIT_HEADLESS": 1, "MPLBACKEND": "Agg"}  # fmt: skip
    for key, value in env.items():
        monkeypatch.setenv(key, str(value))  # the kernel inherits this environment
    notebook = nbformat.read(e2e.source_notebook(LAB), as_version=4)
    client = NotebookClient(notebook, timeout=900, kernel_name="python3", allow_errors=True)
    client.execute(cwd=str(tmp_path))
    found = e2e.errors(notebook)
    assert found == [], f"the lab failed on the original layout: {found}"
    constants = e2e.text_output(e2e.cell_by_grade_id(notebook, "constants"))
    assert "Data source: unknown" in constants
    assert constants.count("provenance unknown") == 1, constants
