"""The hidden checks' two halves, without a kernel: plain data (autograder.checks.probe), check regions and
the decision on an executed notebook (autograder.checks.steps), and the evaluation inputs
(autograder.checks.evaluation)."""

from __future__ import annotations

import json
import os
import stat

import nbformat
import numpy as np
import pytest

from autograder.checks import evaluation
from autograder.checks.probe import ARRAY, MIME, NOT_PLAIN, plain
from autograder.checks.steps import decide, split_checks, take_checks


class Anything(float):
    def __eq__(self, other):
        return True

    __hash__ = float.__hash__


def test_plain_data_passes_by_exact_type_and_anything_else_is_marked():
    assert plain({"a": [1, 2.5, "x", None, True], "b": (3, 4)}) == {
        "a": [1, 2.5, "x", None, True],
        "b": [3, 4],
    }
    assert plain(np.float32(2.5)) == 2.5 and type(plain(np.int64(3))) is int
    assert plain(np.arange(3))[ARRAY] == {"dtype": "<i8", "shape": [3], "data": [0, 1, 2]}
    assert (
        "Anything" in plain(Anything(1.0), "score")[NOT_PLAIN]
        and "score" in plain(Anything(1.0), "score")[NOT_PLAIN]
    )
    assert NOT_PLAIN in plain(np.array([object()], dtype=object))
    assert NOT_PLAIN in plain({1: "a"})
    assert NOT_PLAIN in plain([1, [2, Anything(0.0)]])[1][1]
    json.dumps(plain({"x": np.ones((2, 2)), "y": [np.float64(1.0)]}))  # JSON-ready


def test_check_regions_leave_the_cell_and_an_unclosed_one_is_refused():
    source = "probe()\n### BEGIN GRADER CHECK\nassert results['x'] == 1\n### END GRADER CHECK\nafter()"
    kept, check = split_checks(source)
    assert kept == "probe()\nafter()" and check == "assert results['x'] == 1"
    with pytest.raises(ValueError, match="END GRADER CHECK"):
        split_checks("### BEGIN GRADER CHECK\nx = 1")


def _notebook(check: str, outputs: list) -> nbformat.NotebookNode:
    check = "def check_x(results):\n    " + check
    cell = nbformat.v4.new_code_cell(f"emit()\n### BEGIN GRADER CHECK\n{check}\n### END GRADER CHECK")
    cell.metadata["nbgrader"] = {"grade": True, "grade_id": "test_x", "points": 1}
    nb = nbformat.v4.new_notebook(cells=[cell])
    checks = take_checks(nb)
    assert cell.source == "emit()" and set(checks) == {"test_x"}
    cell.outputs = [nbformat.v4.new_output("display_data", data={MIME: payload}) for payload in outputs]
    cell.outputs.append(nbformat.v4.new_output("stream", text="printed by the cell\n"))
    decide(nb, checks, "lab", None)
    return nb


def _errors(nb) -> list[str]:
    return [out.evalue for cell in nb.cells for out in cell.outputs if out.output_type == "error"]


def test_a_passing_check_leaves_only_the_cells_own_outputs():
    nb = _notebook("assert results['x'] == 1", [{"name": "x", "value": 1}])
    assert _errors(nb) == [] and [out.output_type for out in nb.cells[0].outputs] == ["stream"]


@pytest.mark.parametrize(
    ("outputs", "message"),
    [
        ([{"name": "x", "value": 2}], "x is 2"),
        ([], "got no result 'x'"),
        ([{"name": "x", "value": 1}, {"name": "x", "value": 1}], "more than once"),
        ([{"name": "x", "value": {NOT_PLAIN: "x is a m.Anything object, not plain data"}}], "not plain data"),
    ],
)
def test_a_failing_check_becomes_the_cells_error_with_the_students_message(outputs, message):
    nb = _notebook("assert results['x'] == 1, f\"x is {results['x']}\"", outputs)
    assert len(_errors(nb)) == 1 and message in _errors(nb)[0], _errors(nb)


def test_a_cell_that_already_failed_keeps_its_error_and_arrays_come_back_as_arrays():
    nb = _notebook("assert results['x'].shape == (2, 3)", [{"name": "x", "value": plain(np.zeros((2, 3)))}])
    assert _errors(nb) == []
    cell = nbformat.v4.new_code_cell(
        "### BEGIN GRADER CHECK\nraise AssertionError('never run')\n### END GRADER CHECK"
    )
    cell.metadata["nbgrader"] = {"grade": True, "grade_id": "t", "points": 1}
    nb = nbformat.v4.new_notebook(cells=[cell])
    checks = take_checks(nb)
    cell.outputs = [
        nbformat.v4.new_output("error", ename="NameError", evalue="visible test failed", traceback=[])
    ]
    assert decide(nb, checks, "lab", None) == []
    assert _errors(nb) == ["visible test failed"]


def _ecg_course(tmp_path, source: str, n: int = 8):
    from labkit.datasets.ecg import save_ecg
    from labkit.synthetic.ecg import generate_ecg_dataset

    course = tmp_path / "course"
    (course / "source" / "lab").mkdir(parents=True)
    (course / "source" / "lab" / "lab.ipynb").write_text("{}")
    signals, rhythms, ids = generate_ecg_dataset(n, seed=3, label_noise=0.0)
    prov = {"source": source, "generator": "test", "seed": 3, "record_ids": ids}
    save_ecg(course / "data" / "ecg_rhythms.npz", signals, rhythms, prov)
    return course


def test_evaluation_strips_are_drawn_once_reproducibly_and_their_labels_stay_private(tmp_path, monkeypatch):
    monkeypatch.delenv("LABKIT_DATA_DIR", raising=False)
    monkeypatch.setattr(evaluation, "N_PER_RHYTHM", 4)
    course = _ecg_course(tmp_path, "synthetic")
    folder = evaluation.ensure_inputs(course, "lab", "")
    signals, labels = np.load(folder / "lab.npy"), np.load(folder / "lab.labels.npy")
    assert (
        signals.shape == (20, 1, 1280)
        and signals.dtype == np.float32
        and sorted(set(labels)) == [0, 1, 2, 3, 4]
    )
    assert stat.S_IMODE(os.stat(folder / "lab.labels.npy").st_mode) == 0o400
    again = evaluation.build(course, "lab", "", tmp_path / "again")
    assert np.array_equal(np.load(again / "lab.npy"), signals)  # same source and data: same strips
    (course / "source" / "lab" / "lab.ipynb").write_text('{"changed": 1}')
    other = evaluation.build(course, "lab", "", tmp_path / "other")
    assert not np.array_equal(np.load(other / "lab.npy"), signals)  # the seed is the source's secret


def test_a_real_data_course_must_name_a_held_out_file(tmp_path, monkeypatch):
    monkeypatch.delenv("LABKIT_DATA_DIR", raising=False)
    course = _ecg_course(tmp_path, "physionet-ecg-arrhythmia")
    with pytest.raises(ValueError, match="evaluation_files"):
        evaluation.ensure_inputs(course, "lab", "")
    held_out = _ecg_course(tmp_path / "held", "physionet-ecg-arrhythmia", n=3) / "data" / "ecg_rhythms.npz"
    folder = evaluation.ensure_inputs(course, "lab", str(held_out))
    assert np.load(folder / "lab.npy").shape == (15, 1, 1280)
    assert json.loads((folder / "lab.json").read_text())["source"] == str(held_out)


def _shared_cell(gid: str, value: str, emitted: int) -> nbformat.NotebookNode:
    """A test cell whose shared input binds INPUT = ``value``; its probe reported ``emitted``."""
    source = (
        f"### BEGIN SHARED INPUT\nINPUT = {value}\n### END SHARED INPUT\nemit(sum(INPUT))\n"
        "### BEGIN GRADER CHECK\ndef check_sum(results):\n"
        "    assert results['sum'] == sum(INPUT), f\"sum is {results['sum']}, expected {sum(INPUT)}\"\n"
        "### END GRADER CHECK"
    )
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["nbgrader"] = {"grade": True, "grade_id": gid, "points": 1}
    cell.outputs = [nbformat.v4.new_output("display_data", data={MIME: {"name": "sum", "value": emitted}})]
    return cell


def test_a_shared_input_is_run_by_the_probe_and_copied_before_the_check():
    kept, check = split_checks(_shared_cell("t", "[1, 2, 3]", 6).source)
    assert "INPUT = [1, 2, 3]" in kept and "emit(sum(INPUT))" in kept and "check_sum" not in kept
    assert check.startswith("INPUT = [1, 2, 3]\ndef check_sum(results):")
    with pytest.raises(ValueError, match="END SHARED INPUT"):
        split_checks("### BEGIN SHARED INPUT\nx = 1\n### BEGIN GRADER CHECK\n### END GRADER CHECK")
    with pytest.raises(ValueError, match="inside the grader check"):
        inside = "### BEGIN SHARED INPUT\n### END SHARED INPUT"
        split_checks(f"### BEGIN GRADER CHECK\n{inside}\n### END GRADER CHECK")


def test_each_check_decides_on_its_own_copy_of_its_shared_input():
    # two cells bind the same name to different inputs: each check reads its own cell's, not the later one
    nb = nbformat.v4.new_notebook(cells=[_shared_cell("a", "[1, 2, 3]", 6), _shared_cell("b", "[10]", 10)])
    checks = take_checks(nb)
    assert decide(nb, checks, "lab", None) == [] and _errors(nb) == []
    # what the kernel reports about an input it changed is compared with the grader's own copy
    nb = nbformat.v4.new_notebook(cells=[_shared_cell("a", "[1, 2, 3]", 7)])
    decide(nb, take_checks(nb), "lab", None)
    assert _errors(nb) == ["sum is 7, expected 6"]
