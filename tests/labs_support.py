"""The labs as the course's tests know them: derived from the source notebooks, plus the cases told here.

Everything a lab's structure says (its exercises, its graded tests and their points) is read from its
source notebook (`structure`), so adding, removing or renaming an exercise needs no test edit. What a test
cannot derive is told in `LABS` below, per lab: the split exercise and a wrong answer for it, the tests that
grade it, the scaling cell, the cells whose output must be reproducible, and a locked cell with an edit that
trains on the test set. `case_problems` checks each grade id told here against the source notebook and
names the line of this file to change when one is gone.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from autograder.cells import grade_id, nbgrader_meta, read_notebook
from autograder.config import CourseConfig, load_config

ECG, HR = "ecg_rhythm_classification", "hr_estimation"
COURSE_ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class LabStructure:
    """What a source notebook says about its lab."""

    exercises: tuple[str, ...]  # grade ids of the code exercises (solution cells), in order
    tests: dict[str, float]  # grade id -> points of every autograded test (graded code cell)
    questions: dict[str, float]  # grade id -> points of every written answer (graded markdown cell)
    given: tuple[str, ...]  # grade ids of the locked, ungraded code cells (given code)

    @property
    def points(self) -> float:
        """The lab's total points."""
        return sum(self.tests.values()) + sum(self.questions.values())


def structure(notebook: Path) -> LabStructure:
    """Return the structure of a source notebook (``source/<lab>/<lab>.ipynb``)."""
    exercises, given, tests, questions = [], [], {}, {}
    for cell in read_notebook(notebook).cells:
        meta, gid = nbgrader_meta(cell), grade_id(cell)
        if meta.get("grade"):
            (tests if cell.cell_type == "code" else questions)[gid] = float(meta.get("points", 0))
        elif cell.cell_type == "code" and meta.get("solution"):
            exercises.append(gid)
        elif cell.cell_type == "code" and meta.get("locked") and gid:
            given.append(gid)
    return LabStructure(tuple(exercises), tests, questions, tuple(given))


def course(root: Path = COURSE_ROOT) -> CourseConfig:
    """Return the course the tests follow (the repository's own by default)."""
    return load_config(root)


def lab_structure(lab: str, root: Path = COURSE_ROOT) -> LabStructure:
    """Return the structure of ``lab``'s source notebook in the course at ``root``."""
    return structure(course(root).source_notebook(lab))


@dataclass(frozen=True)
class LabCase:
    """What the shared cases need to know of one lab."""

    split_id: str  # the exercise cell of the split
    wrong_split: str  # a wrong answer for it
    split_tests: frozenset[str]  # the tests that grade the split
    scaling: tuple[str, str]  # (the cell that scales, its test)
    results: tuple[str, ...]  # grade ids of the cells whose output must be reproducible
    edited: tuple[str, str]  # (a locked cell, an edit of it): nbgrader restores it, so it grades as ref_a
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
    ),
}


def told_ids(case: LabCase) -> dict[str, str]:
    """Return every grade id ``case`` names, with the field that names it."""
    return {
        case.split_id: "split_id",
        **dict.fromkeys(case.split_tests, "split_tests"),
        **dict.fromkeys(case.scaling, "scaling"),
        **dict.fromkeys(case.results, "results"),
        case.edited[0]: "edited",
        **dict.fromkeys(case.capped_losses, "capped_losses"),
    }


def _told_line(lab: str, name: str) -> str:
    """Return ``tests/labs_support.py:<line>``, the line of `LABS` that names ``name`` for ``lab``."""
    path = Path(__file__)
    opening = f"{'ECG' if lab == ECG else 'HR'}: LabCase("
    in_lab = False
    for number, line in enumerate(path.read_text().splitlines(), 1):
        in_lab = in_lab or line.strip() == opening
        if in_lab and f'"{name}"' in line:
            return f"{path}:{number}"
    return f"{path} (LABS[{lab!r}])"


def case_problems(lab: str, root: Path = COURSE_ROOT) -> list[str]:
    """Return one line per grade id `LABS` names for ``lab`` that its source notebook does not have.

    Each line names the line of this file to change, the id and the lab's source.
    """
    if lab not in LABS:
        return []
    found = lab_structure(lab, root)
    cells = {*found.exercises, *found.tests, *found.given}
    source = course(root).source_script(lab)
    return [
        f"{_told_line(lab, name)}: LABS[{lab!r}].{what} names grade id {name!r}, which {source} does not "
        f"have (its code cells: {', '.join(sorted(cells))}); change that line to the lab's current id"
        for name, what in told_ids(LABS[lab]).items()
        if name not in cells
    ]
