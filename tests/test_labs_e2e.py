"""Both labs end to end: plain nbgrader on a temporary copy of the course (slow).

The cases both labs share are parametrised over them; each lab's own cases follow. The capped batches
(``LABKIT_MAX_EPOCHS=1``, the smaller capped-run data) judge which tests pass, not how good the models are;
the uncapped reference runs at the real settings on the default data.
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

import e2e_support as e2e
import joblib
import nbformat
import pytest
from labs_support import ECG, HR, LABS, case_problems, lab_structure

from autograder.checks.steps import decide, take_checks
from autograder.config import load_config

pytestmark = [pytest.mark.slow, pytest.mark.e2e]
CAP = 1  # epoch


def _needs_data() -> None:
    missing = [n for n in ("ecg_rhythms.npz", "ppg_dalia.pkl") if not (e2e.DATA_DIR / n).is_file()]
    if missing:
        pytest.skip(f"no data/{', data/'.join(missing)}: run `labkit data synth` first")


def _results(notebook, lab: str) -> str:
    """Return the outputs of the lab's result cells, training times removed."""
    text = "\n".join(e2e.text_output(e2e.cell_by_grade_id(notebook, gid)) for gid in LABS[lab].results)
    return re.sub(r"epochs in \d+ s", "epochs in - s", text)


def _error_message(cell) -> str:
    return " ".join(f"{o.ename}: {o.evalue}" for o in cell.get("outputs", []) if o.output_type == "error")


def _in_parallel(function, labs) -> dict:
    """Return ``{lab: function(lab)}``, the labs run at once: the HR lab trains on one thread (its setup
    cell pins it), so the other core would idle while it runs alone."""
    with ThreadPoolExecutor(len(labs)) as pool:
        return dict(zip(labs, pool.map(function, labs), strict=True))


@pytest.fixture(scope="module")
def batches(tmp_path_factory) -> dict:
    """One capped autograde batch per lab (both at once): reference, wrong split, release, an edited
    locked cell."""
    _needs_data()

    def batch(lab: str):
        assert case_problems(lab) == [], "\n".join(case_problems(lab))
        case = LABS[lab]
        edits = {"edited_training": dict([case.edited])}
        root = tmp_path_factory.mktemp(f"{lab}_capped")
        return e2e.capped_course(root, lab, case.split_id, case.wrong_split, CAP, edits=edits)

    return _in_parallel(batch, list(LABS))


@pytest.fixture(params=list(LABS))
def capped(request, batches) -> tuple:
    """(lab, course folder of its capped batch)."""
    return request.param, batches[request.param]


# --- both labs -------------------------------------------------------------------------------------------


def test_untouched_release_scores_zero_and_runs_every_cell(capped):
    lab, course = capped
    scores = e2e.read_scores(course, lab, "blank")
    assert scores, "no autograded cells recorded"
    tests = lab_structure(lab).tests  # every graded code cell of the source, with its points
    assert {name: top for name, (_, top) in scores.items()} == tests, f"graded cells: {sorted(scores)}"
    earned = {name: score for name, (score, _) in scores.items() if score > 0}
    assert earned == {}, f"the untouched release earned points on {earned}"
    notebook = e2e.autograded_notebook(course, lab, "blank")
    assert e2e.unexecuted_cells(notebook) == [], "some code cells were never executed"
    found = e2e.errors(notebook)
    assert not any("DeadKernel" in error for error in found), found
    assert any(error.endswith("NotImplementedError") for error in found), "no exercise stub ran and raised"


def test_wrong_split_loses_exactly_the_split_points(capped):
    lab, course = capped
    reference = e2e.read_scores(course, lab, "ref_a")
    wrong = e2e.read_scores(course, lab, "wrong_split")
    split_tests = LABS[lab].split_tests
    assert all(reference[name][0] == reference[name][1] for name in split_tests), reference
    differing = {name for name in reference if reference[name] != wrong[name]}
    assert differing == split_tests, f"scores differ on {sorted(differing)}; expected {sorted(split_tests)}"
    assert all(wrong[name][0] == 0 for name in split_tests)
    # Under the cap the models are untrained: only the tests of model quality may lose points.
    lost = {name for name, (score, top) in reference.items() if score < top}
    assert lost <= LABS[lab].capped_losses, f"the capped reference lost points on {sorted(lost)}"


def test_an_edited_locked_cell_is_undone_and_grading_is_reproducible(capped):
    """Given code is locked: nbgrader restores the instructor's training cell, so a submission that edits
    it to train on the test set gets the reference's scores and, bit for bit, its results (which also
    shows that grading the same notebook twice gives the same numbers)."""
    lab, course = capped
    locked, _ = LABS[lab].edited
    graded = e2e.autograded_notebook(course, lab, "edited_training")
    source = nbformat.read(e2e.source_notebook(lab), as_version=4)
    cell = e2e.cell_by_grade_id(graded, locked)
    assert cell.source == e2e.cell_by_grade_id(source, locked).source and cell.execution_count
    assert e2e.read_scores(course, lab, "edited_training") == e2e.read_scores(course, lab, "ref_a")
    results = [_results(e2e.autograded_notebook(course, lab, s), lab) for s in ("ref_a", "edited_training")]
    assert results[0].strip(), f"no output in the result cells {LABS[lab].results}"
    assert results[0] == results[1]


@pytest.mark.parametrize("lab", list(LABS))
def test_a_scaling_cell_run_twice_changes_nothing(lab, tmp_path, monkeypatch):
    """A student who runs the scaling cell again (no restart) still passes the scaling test: the cell
    scales a copy and keeps the raw values apart, instead of scaling its own output a second time."""
    _needs_data()
    from nbclient import NotebookClient

    scaling, test = LABS[lab].scaling
    notebook = nbformat.read(e2e.source_notebook(lab), as_version=4)
    ids = [c.metadata.get("nbgrader", {}).get("grade_id") for c in notebook.cells]
    cells = notebook.cells[: ids.index(test) + 1]
    cells.insert(ids.index(scaling) + 1, nbformat.v4.new_code_cell(notebook.cells[ids.index(scaling)].source))
    notebook.cells = [c for c in cells if c.cell_type == "code"]
    env = {"LABKIT_DATA_DIR": e2e.capped_data_dir(), "LABKIT_LOG_DIR": tmp_path, "LABKIT_HEADLESS": 1}
    for key, value in {**env, "MPLBACKEND": "Agg"}.items():
        monkeypatch.setenv(key, str(value))  # the kernel inherits this environment
    checks = take_checks(notebook)  # the hidden checks are decided here, outside the kernel
    NotebookClient(notebook, timeout=600, kernel_name="python3", allow_errors=True).execute(cwd=str(tmp_path))
    decide(notebook, checks, lab, None)
    assert e2e.errors(notebook) == [], e2e.errors(notebook)


def test_reference_solutions_get_every_point_uncapped(tmp_path):
    """The real settings (no cap, the default data), both labs at once: the reference earns every point.

    Each kernel trains on one thread, as ``course-grade grade --jobs 2`` runs them on two cores (the HR lab
    pins one thread itself); two threads each would oversubscribe the cores while both labs run.
    """
    _needs_data()

    def grade_reference(lab: str):
        course = e2e.make_course(tmp_path / lab, lab)
        e2e.submit(course, lab, "reference", e2e.source_notebook(lab))
        e2e.autograde(course, lab, max_epochs=None, threads=1)
        return course

    for lab, course in _in_parallel(grade_reference, list(LABS)).items():
        scores = e2e.read_scores(course, lab, "reference")
        lost = {name: score for name, score in scores.items() if score[0] < score[1]}
        assert scores and lost == {}, f"{lab}: the reference lost points: {lost}"
        assert set(scores) == set(lab_structure(lab).tests)
        notebook = e2e.autograded_notebook(course, lab, "reference")
        assert e2e.errors(notebook) == [], f"{lab}: the reference raised: {e2e.errors(notebook)}"
        # Validate (students' copies carry the course's Execute limits) lets the longest cell finish
        longest, seconds = e2e.longest_cell(notebook)
        limit = load_config(e2e.REPO).timeouts.cell
        print(
            f"{lab}: longest cell at the real settings {longest} {seconds:.0f} s (Execute.timeout {limit} s)"
        )
        assert seconds < limit, f"{lab}: cell {longest} ran {seconds:.0f} s, Execute.timeout is {limit} s"


# --- each lab's own cases, on the same batch ----------------------------------------------------------


def _ecg_accuracy_checks(course) -> None:
    """The visible line prints the accuracies on the student's own split and fails the cell below the bar
    it prints; the grader then decides the same bar on held-out strips, and a miss says so with both
    held-out accuracies. The test of an untouched release fails on its own missing variables first."""
    for model in (1, 2):
        gid = f"test_custom{model}_accuracy"
        cell = e2e.cell_by_grade_id(e2e.autograded_notebook(course, ECG, "ref_a"), gid)
        text = e2e.text_output(cell)
        bar_line = rf"custom model {model}: test accuracy ([\d.]+) \(given CNN [\d.]+; graded bar ([\d.]+)"
        shown = re.search(bar_line, text)
        assert shown, text
        score, points = e2e.read_scores(course, ECG, "ref_a")[gid]
        message = _error_message(cell)
        below = float(shown[1]) < float(shown[2])
        visible = re.search(rf"custom model {model}: test accuracy [\d.]+ is below", message)
        assert below == (visible is not None), (shown[0], message)  # the visible line fails below its bar
        missed = re.search(rf"custom model {model}: held-out accuracy ([\d.]+) is below .*given CNN", message)
        assert (score == points) == (message == "") == (visible is None and missed is None), (score, message)
        blank = _error_message(e2e.cell_by_grade_id(e2e.autograded_notebook(course, ECG, "blank"), gid))
        # the first line (the own-model check) already needs the trained model the training cell never made
        assert f"NameError: name 'custom{model}' is not defined" in blank, f"not failed on a helper: {blank}"


def _hr_performance_check_is_ungraded(course) -> None:
    """Under the cap the models are untrained: the performance check says so, and costs no point."""
    notebook = e2e.autograded_notebook(course, HR, "ref_a")
    assert "NOT as expected" in e2e.text_output(e2e.cell_by_grade_id(notebook, "performance_check"))
    assert "performance_check" not in e2e.read_scores(course, HR, "ref_a")


def test_the_labs_own_cases(capped):
    """ECG: the graded accuracy bar agrees with the printed accuracies. HR: the performance check is
    not graded."""
    lab, course = capped
    {ECG: _ecg_accuracy_checks, HR: _hr_performance_check_is_ungraded}[lab](course)


def test_hr_lab_runs_on_a_records_file_in_the_original_layout(tmp_path, monkeypatch):
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
    notebook = nbformat.read(e2e.source_notebook(HR), as_version=4)
    client = NotebookClient(notebook, timeout=900, kernel_name="python3", allow_errors=True)
    client.execute(cwd=str(tmp_path))
    found = e2e.errors(notebook)
    assert found == [], f"the lab failed on the original layout: {found}"
    constants = e2e.text_output(e2e.cell_by_grade_id(notebook, "constants"))
    assert "Data source: unknown" in constants
    assert constants.count("provenance unknown") == 1, constants
