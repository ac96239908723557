"""ECG lab: labkit helpers, figures and checks (quick). The lab through nbgrader: tests/test_labs_e2e.py."""

from __future__ import annotations

import e2e_support as e2e
import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from labkit.labs.ecg import (
    accuracy_table,
    architecture_signature,
    build_summary,
    count_parameters,
    count_table,
    encoded_preview,
    stratification_errors,
)
from labkit.plots.ecg import pick_examples, plot_confusion_matrices, plot_examples, pretty

LAB = "ecg_rhythm_classification"
LABELS = np.array(["atrial_fibrillation", "atrial_flutter", "normal_sinus_rhythm"])


@pytest.fixture
def rhythms() -> np.ndarray:
    return np.array(["atrial_flutter", "normal_sinus_rhythm", "atrial_fibrillation"] * 4 + ["atrial_flutter"])


def test_count_table_sorted_counts(rhythms):
    table = count_table(rhythms)
    assert table["rhythm"].tolist() == LABELS.tolist()
    assert table["count"].tolist() == [4, 5, 4]


def test_build_summary_counts_each_subset(rhythms):
    splits = {"train": np.arange(0, 9), "test": np.array([9, 12])}
    table = build_summary(rhythms, splits)
    assert table["subset"].tolist() == ["train", "test"]
    assert table["total_count"].tolist() == [9, 2]
    assert table.loc[1, "atrial_flutter_count"] == 2
    assert table.loc[0, "atrial_fibrillation_count"] == 3
    assert list(table.columns)[2:] == [f"{label}_count" for label in LABELS]


def test_encoded_preview_columns_and_bad_shape(rhythms):
    encoded = (rhythms[:, None] == LABELS).astype(float)
    preview = encoded_preview(rhythms, encoded, n=3)
    assert list(preview.columns) == ["rhythm", *LABELS]
    assert preview.shape == (3, 4)
    with pytest.raises(ValueError, match=r"expected \(13, 3\)"):
        encoded_preview(rhythms, encoded[:, :2])


def test_accuracy_table_rows_per_model():
    good, bad = np.diag([5, 5]), np.array([[1, 4], [4, 1]])
    table = accuracy_table({"a": {"train": good, "test": bad}, "b": {"train": bad, "test": good}})
    assert table.loc["a", "train"] == 1.0 and table.loc["a", "test"] == 0.2
    assert table.loc["b"].tolist() == [0.2, 1.0]


def test_architecture_signature_tells_layers_and_shapes_apart():
    def net(width: int, kernel: int = 5) -> torch.nn.Module:
        return torch.nn.Sequential(
            torch.nn.Conv1d(1, width, kernel), torch.nn.ReLU(), torch.nn.Linear(width, 5)
        )

    assert architecture_signature(net(8)) == architecture_signature(net(8))
    assert architecture_signature(net(8)) != architecture_signature(net(16))
    assert architecture_signature(net(8)) != architecture_signature(net(8, kernel=7))
    gru = torch.nn.Sequential(torch.nn.GRU(8, 8), torch.nn.Linear(8, 5))
    assert architecture_signature(gru)[0][0] == "GRU"
    assert count_parameters(net(8)) == 8 * 5 + 8 + 8 * 5 + 5


def test_pick_examples_one_per_rhythm_and_seeded(rhythms):
    chosen = pick_examples(rhythms, seed=3)
    assert list(chosen) == LABELS.tolist()
    assert all(rhythms[index] == label for label, index in chosen.items())
    assert chosen == pick_examples(rhythms, seed=3)


def test_plot_examples_one_panel_per_rhythm(rhythms):
    signals = np.random.default_rng(0).normal(size=(rhythms.size, 1, 256)).astype(np.float32)
    fig = plot_examples(signals, rhythms, fs=128, seed=0)
    axes = fig.axes
    assert len(axes) == 3
    assert axes[0].get_title(loc="left").startswith("Atrial fibrillation")
    assert axes[-1].get_xlabel() == "Time [s]"
    assert axes[0].get_xlim()[1] == pytest.approx(255 / 128)
    plt.close(fig)


def test_plot_confusion_matrices_titles_carry_accuracy():
    matrices = {"train": np.array([[3, 1], [0, 4]]), "test": np.array([[1, 1], [1, 1]])}
    fig = plot_confusion_matrices(matrices, ["atrial_flutter", "sinus_bradycardia"], model="Given CNN")
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["Train (accuracy = 0.875)", "Test (accuracy = 0.500)"]
    assert fig.get_suptitle() == "Given CNN"
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["Atrial flutter", "Sinus bradycardia"]
    assert sorted(t.get_text() for t in fig.axes[0].texts) == ["0", "1", "3", "4"]
    plt.close(fig)


def _reference_split_data():
    """Return the instructors' ``split_data`` (the solution cell of the source notebook)."""
    import nbformat
    import sklearn.model_selection

    cell = e2e.cell_by_grade_id(nbformat.read(e2e.source_notebook(LAB), as_version=4), "split")
    namespace = {"np": np, "sklearn": sklearn, "rhythms": np.repeat(["a", "b"], 5)}
    exec(compile(cell.source, "<split>", "exec"), namespace)  # noqa: S102 - our own notebook
    return namespace["split_data"]


def _old_rule_fails(labels, subsets) -> bool:
    """The tolerance the split test used before: every class count within 1 of its exact share."""
    shares = {"train": 0.6, "val": 0.2, "test": 0.2}
    return any(
        abs(np.sum(labels[index] == label) - shares[name] * np.sum(labels == label)) > 1
        for label in np.unique(labels)
        for name, (index, _) in subsets.items()
    )


@pytest.mark.filterwarnings("ignore:The least populated class")
def test_the_reference_split_passes_the_stratification_rule_for_any_class_sizes():
    """Every split StratifiedKFold makes passes: 300 random class-size draws (1-400 per class) and 40
    files as `labkit data prepare ecg` writes them from real records (1500 per rhythm, one rhythm short of
    records: the shortfall case). The old rule (each count within 1 of its exact share) failed on many."""
    split_data = _reference_split_data()
    rng = np.random.default_rng(0)
    draws = [np.repeat(LABELS[:k], rng.integers(1, 400, size=k)) for k in rng.integers(2, 4, size=300)]
    rhythms = np.array(["af", "afl", "nsr", "sb", "st"])
    draws += [np.repeat(rhythms, [1500, short, 1500, 1500, 1500]) for short in rng.integers(5, 1500, size=40)]
    old_failures = 0
    for labels in draws:
        labels = rng.permutation(labels)
        i_train, i_val, i_test = split_data(labels)
        subsets = {"train": (i_train, 3), "val": (i_val, 1), "test": (i_test, 1)}
        assert stratification_errors(labels, subsets) == [], np.unique(labels, return_counts=True)
        old_failures += _old_rule_fails(labels, subsets)
    print(f"the old rule fails {old_failures} of {len(draws)} correct splits")
    assert old_failures > 30, f"the old rule failed only {old_failures} of {len(draws)} draws"


def test_stratification_errors_name_the_subset_the_class_and_the_bounds():
    labels = np.repeat(LABELS, [7, 12, 26])
    contiguous = np.arange(labels.size)
    subsets = {"train": (contiguous[:27], 3), "val": (contiguous[27:36], 1), "test": (contiguous[36:], 1)}
    errors = stratification_errors(labels, subsets)
    assert "the train set holds 7 of the 7 atrial_fibrillation examples, expected 3 to 6" in errors[0]
    assert len(errors) == 9


def test_pretty_label():
    assert pretty("normal_sinus_rhythm") == "Normal sinus rhythm"
