"""The labs' structure as the tests derive it from the source notebooks (tests/labs_support.py).

Adding an exercise to a lab needs no test edit: the last test adds one to a copy of the HR lab and runs the
same structure checks, and `course-grade try` on its hidden check.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import nbformat
import pytest
from labs_support import HR, case_problems, course, lab_structure

from autograder.build.release import malformed_checks, undecided_hidden_tests, unlocked_cells
from autograder.build.sync import sync
from autograder.cells import grade_id, nbgrader_meta, split_regions
from autograder.checks.steps import BEGIN_CHECK, BEGIN_SHARED, END_CHECK, END_SHARED
from autograder.config import default_markers
from autograder.trial import try_lab
from labkit.paths import DATA_ENV

ROOT = Path(__file__).resolve().parents[1]
RMSE = (Path(__file__).parent / "fixtures" / "rmse_exercise.py.txt").read_text()  # cells of a percent script


def structure_problems(root: Path, lab: str) -> list[str]:
    """Return what is wrong with ``lab``'s structure in the course at ``root`` (one line each)."""
    cfg, found = course(root), lab_structure(lab, root)
    problems = unlocked_cells(cfg, lab) + undecided_hidden_tests(cfg, lab) + malformed_checks(cfg, lab)
    problems += case_problems(lab, root)
    problems += [f"{lab}: test {t} is worth no points" for t, p in found.tests.items() if p <= 0]
    if not found.exercises or not found.tests:
        problems.append(f"{cfg.source_script(lab)}: no exercise or no graded test found")
    return problems


@pytest.mark.parametrize("lab", course().labs_with_source)
def test_each_lab_is_well_formed_and_its_told_cases_still_name_its_cells(lab):
    assert structure_problems(ROOT, lab) == []


def test_a_told_id_that_is_gone_names_the_line_to_change(tmp_path):
    root = _copy_lab(tmp_path, HR)
    script = root / "source" / HR / f"{HR}.py"
    script.write_text(script.read_text().replace('"grade_id": "do_scaling"', '"grade_id": "apply_scaling"'))
    sync(course(root))
    [problem] = case_problems(HR, root)
    assert "labs_support.py:" in problem and "'do_scaling'" in problem and "apply_scaling" in problem


SEEDED = re.compile(r"default_rng\(|RandomState\(|\.seed\(")
LOOP_OVER_A_NAME = re.compile(r"^for .+ in [A-Za-z_]\w*(\(\))?(\.\w+\(\))?:$")


def inputs_written_twice(notebook: nbformat.NotebookNode) -> list[str]:
    """Return one line per crafted input a hidden test writes both in its probe and in its grader check.

    Such an input belongs in the cell's ``### BEGIN SHARED INPUT`` block (docs/authoring.md): a grader check
    that seeds a generator, or a line (12 characters or more; not a loop over a name) written in both the
    probe and the check, is reported.
    """
    hidden = default_markers()
    found = []
    for cell in notebook.cells:
        if cell.cell_type != "code" or not nbgrader_meta(cell).get("grade"):
            continue
        region = "\n".join(split_regions(cell.source, hidden.begin_hidden, hidden.end_hidden)[1])
        outside, check, _ = split_regions(region, BEGIN_CHECK, END_CHECK)
        probe = split_regions("\n".join(outside), BEGIN_SHARED, END_SHARED)[0]
        parts = (probe, check)
        code = [{line.strip() for line in part if not line.strip().startswith("#")} for part in parts]
        twice = {line for line in code[0] & code[1] if len(line) >= 12 and not LOOP_OVER_A_NAME.match(line)}
        seeded = {line for line in code[1] if SEEDED.search(line)}
        found += [f"{grade_id(cell)}: {line}" for line in sorted(twice | seeded)]
    return found


@pytest.mark.parametrize("lab", course().labs_with_source)
def test_a_crafted_input_is_written_once_in_the_shared_input_block(lab):
    notebook = nbformat.read(course().source_notebook(lab), as_version=4)
    assert inputs_written_twice(notebook) == [], (
        f"{course().source_script(lab)}: move these lines into the cell's '### BEGIN SHARED INPUT' block "
        "(docs/authoring.md)"
    )


def test_an_input_written_twice_is_found():
    seeded = "x = np.random.default_rng(3).normal(size=5)"
    shared_begin = "### BEGIN SHARED INPUT\n"
    source = (
        "assert True\n### BEGIN HIDDEN TESTS\n{shared}probe.emit('s', f({x}))\n### BEGIN GRADER CHECK\n"
        "def check_s(results):\n    {check}\n    assert results['s'] == g(x)\n### END GRADER CHECK\n"
        "### END HIDDEN TESTS"
    )
    cases = {
        "twice": source.format(shared="", x=seeded.split(" = ")[1], check=seeded),
        "shared": source.format(shared=f"{shared_begin}{seeded}\n### END SHARED INPUT\n", x="x", check=""),
    }
    found = {}
    for name, text in cases.items():
        cell = nbformat.v4.new_code_cell(text)
        cell.metadata["nbgrader"] = {"grade": True, "grade_id": "test_s", "points": 1}
        found[name] = inputs_written_twice(nbformat.v4.new_notebook(cells=[cell]))
    assert found == {"twice": [f"test_s: {seeded}"], "shared": []}


def _copy_lab(tmp_path: Path, lab: str) -> Path:
    root = tmp_path / "course"
    (root / "source" / lab).mkdir(parents=True)
    shutil.copy2(ROOT / "nbgrader_config.py", root / "nbgrader_config.py")
    for suffix in (".ipynb", ".py"):  # the script last: the newer file of a pair wins its sync
        shutil.copy2(ROOT / "source" / lab / f"{lab}{suffix}", root / "source" / lab / f"{lab}{suffix}")
    return root


def _add_after(script: Path, after_id: str, cells: str) -> None:
    """Insert ``cells`` (percent-format) before the first cell that follows the cell ``after_id``."""
    lines = script.read_text().splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if f'"grade_id": "{after_id}"' in line)
    end = next(i for i in range(start + 1, len(lines)) if lines[i].startswith("# %%"))
    script.write_text("".join([*lines[:end], cells, "\n\n", *lines[end:]]))


def _fresh_ids(lab) -> tuple[str, str]:
    """Return the ids of the docs' rmse exercise and its test, suffixed when ``lab`` has them already."""
    for suffix in ("", *(f"_{n}" for n in range(2, 10))):
        exercise, test = f"rmse{suffix}", f"test_rmse{suffix}"
        if exercise not in lab.exercises and test not in lab.tests:
            return exercise, test
    raise AssertionError("the lab has rmse ... rmse_9 already")


@pytest.mark.e2e
def test_an_added_exercise_needs_no_test_edit(tmp_path, monkeypatch):
    monkeypatch.setenv(DATA_ENV, str(ROOT / "data"))
    root = _copy_lab(tmp_path, HR)
    before = lab_structure(HR, root)
    exercise, test = _fresh_ids(before)  # a course that already added the docs' exercise gets a second one
    cells = RMSE.replace('"grade_id": "rmse"', f'"grade_id": "{exercise}"')
    cells = cells.replace('"grade_id": "test_rmse"', f'"grade_id": "{test}"')
    _add_after(root / "source" / HR / f"{HR}.py", "constants", cells)  # early: a short prefix to try
    assert f"{HR}: rewrote {HR}.ipynb (now in sync)" in sync(course(root))
    after = lab_structure(HR, root)
    assert after.exercises == (exercise, *before.exercises)
    assert after.tests == {**before.tests, test: 1.0} and after.points == before.points + 1
    assert structure_problems(root, HR) == []
    trial = try_lab(course(root), HR, only=[test])
    assert [(v.test, v.passed) for v in trial.verdicts] == [(test, True)]
    notebook = nbformat.read(course(root).source_notebook(HR), as_version=4)
    for cell in notebook.cells:  # a submission that does not flatten its arguments
        if grade_id(cell) == exercise:
            cell.source = "def rmse(t, p):\n    return float(np.sqrt(np.mean((p - t) ** 2)))\n"
    nbformat.write(notebook, tmp_path / "wrong.ipynb")
    [verdict] = try_lab(course(root), HR, tmp_path / "wrong.ipynb", only=[test]).verdicts
    assert not verdict.passed
    assert (
        "rmse of (n, 1) targets and (n,) predictions is" in verdict.message
        and "expected 1.29099" in verdict.message
    )
