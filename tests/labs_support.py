"""The two labs' cases shared by the lab end-to-end tests (test_labs_e2e, test_train_reuse_grading).

Per lab: the split exercise and a wrong answer for it, the tests that grade it, the scaling cell, the cells
whose output must be reproducible, and a locked cell with an edit that trains on the test set.
"""

from __future__ import annotations

from dataclasses import dataclass

ECG, HR = "ecg_rhythm_classification", "hr_estimation"


@dataclass(frozen=True)
class LabCase:
    """What the shared cases need to know of one lab."""

    split_id: str  # the exercise cell of the split
    wrong_split: str  # a wrong answer for it
    split_tests: frozenset[str]  # the tests that grade the split
    scaling: tuple[str, str]  # (the cell that scales, its test)
    results: tuple[str, ...]  # grade ids of the cells whose output must be reproducible
    edited: tuple[str, str]  # (a locked cell, an edit of it): nbgrader restores it, so it grades as ref_a
    exercise_tests: frozenset[str] = frozenset()  # every graded code cell, when the case checks them all
    capped_losses: frozenset[str] = frozenset()  # tests the capped reference may lose (untrained models)


ECG_WRONG_SPLIT = '''def split_data(rhythms):
    """A wrong split: contiguous blocks (not stratified) and overlapping train/val subsets."""
    n = rhythms.size
    return np.arange(0, 3 * n // 5), np.arange(3 * n // 5 - 100, 4 * n // 5), np.arange(4 * n // 5, n)


i_train, i_val, i_test = split_data(rhythms)
'''
HR_WRONG_SPLIT = '''TRAIN_SUBJECTS = tuple(f"S{i}" for i in range(1, 11))
VAL_SUBJECTS = ("S11", "S12")
TEST_SUBJECTS = ("S13", "S14", "S15")


def split_subjects(subjects):
    """A wrong split: S10 trains instead of validating (all subjects used, none in two subsets)."""
    subjects = np.asarray(subjects)
    groups = (TRAIN_SUBJECTS, VAL_SUBJECTS, TEST_SUBJECTS)
    return tuple(np.flatnonzero(np.isin(subjects, group)) for group in groups)
'''
# Submissions that edit given code (a locked cell) to train on the test set, for 300 epochs.
HR_TRAIN_ON_TEST = """i_train = np.concatenate([i_train, i_test])
N_EPOCHS = 300
ppg_cnn = train_network(ppg_cnn_config, ppg_windows, "ppg_cnn")
ppg_acc_cnn = train_network(ppg_acc_cnn_config, ppg_acc_windows, "ppg_acc_cnn")
"""
ECG_TRAIN_ON_TEST = """input_shape, output_shape = signals.shape[1:], encoded_rhythms.shape[1:]
N_EPOCHS, BATCH_SIZE, LEARNING_RATE = 300, 100, 1e-4
i_train = np.concatenate([i_train, i_test])
splits = {"train": i_train, "val": i_val, "test": i_test}
cnn = train_model(Classifier(CnnModel(input_shape, output_shape), 1e-2), signals, encoded_rhythms, i_train,
                  i_val, n_epochs=N_EPOCHS, name="cnn", batch_size=BATCH_SIZE, log_dir=LAB.log_dir)
cnn_matrices = evaluate_classifier(cnn, signals, encoded_rhythms, splits)
"""
LABS = {
    ECG: LabCase(
        split_id="split",
        wrong_split=ECG_WRONG_SPLIT,
        split_tests=frozenset({"test_split_partition", "test_split_stratified"}),
        scaling=("scaling", "test_scaling"),
        results=("comparison",),
        edited=("cnn_training", ECG_TRAIN_ON_TEST),
        capped_losses=frozenset({"test_custom1_accuracy", "test_custom2_accuracy"}),
    ),
    HR: LabCase(
        split_id="split_subjects",
        wrong_split=HR_WRONG_SPLIT,
        split_tests=frozenset({"test_split_subjects"}),
        scaling=("do_scaling", "test_compute_scaling"),
        results=("test_models", "performance_check"),
        edited=("ppg_training", HR_TRAIN_ON_TEST),
        exercise_tests=frozenset(
            {
                "test_extract_windows",
                "test_split_subjects",
                "test_compute_scaling",
                "test_derive_config",
                "test_compute_metrics",
                "test_compute_activity_metrics",
            }
        ),
    ),
}
