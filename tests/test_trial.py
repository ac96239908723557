"""autograder/trial.py: `course-grade try` decides hidden checks by their grader checks, writes nothing."""

from __future__ import annotations

import nbformat
import pytest
from autograder_support import mini_course, tree_hash

from autograder import CourseError
from autograder.build.release import kit_digest
from autograder.cells import grade_id
from autograder.cli import main
from autograder.config import load_config
from autograder.reuse.store import STORE_DIR, write_manifest
from autograder.trial import (
    cells_to_run,
    kernel_env,
    needed_cells,
    reference_store,
    try_lab,
    with_source_cells,
)
from labkit.training.reuse import MANIFEST_ENV, STORE_ENV

pytestmark = pytest.mark.e2e

WRONG_ON_NEGATIVES = "def square(x):\n    return abs(x) * x\n"


def _submission(root, tmp_path, replace: dict[str, str], drop: set[str] = frozenset()):
    """Write the mini lab's source with exercises replaced and cells dropped (hidden tests stripped too)."""
    nb = nbformat.read(root / "source" / "mini" / "mini.ipynb", as_version=4)
    nb.cells = [c for c in nb.cells if grade_id(c) not in drop]
    for cell in nb.cells:
        if grade_id(cell) in replace:
            cell.source = replace[grade_id(cell)]
        elif "BEGIN HIDDEN TESTS" in cell.source:
            cell.source = cell.source.split("### BEGIN HIDDEN TESTS")[0]
    path = tmp_path / "alice.ipynb"
    nbformat.write(nb, path)
    return path


def test_try_decides_hidden_checks_and_writes_nothing(tmp_path, capsys):
    root = mini_course(tmp_path)
    before = tree_hash(root, skip=set())
    wrong = _submission(root, tmp_path, {"square": WRONG_ON_NEGATIVES}, drop={"test_mean"})
    code = main(["--course", str(root), "try", "mini", str(wrong)])
    out = capsys.readouterr().out
    assert code == 1
    assert (
        "FAIL test_square (2 pt): AssertionError: square(-4) should be 16 (hidden check on negatives)" in out
    )
    assert "PASS test_mean (3 pt)" in out  # deleted by the student, put back and run, as grading does
    assert main(["--course", str(root), "try", "mini"]) == 0  # the source notebook: the reference passes
    assert "2 of 2 test(s) passed" in capsys.readouterr().out
    assert tree_hash(root, skip=set()) == before


def test_only_runs_the_cells_the_named_tests_need():
    nb = nbformat.v4.new_notebook()
    sources = {
        "setup": "import math",
        "slow": "model = train()",
        "square": "def square(x):\n    return x * x",
        "test_square": "assert square(3) == 9\nvalue = 2",
        "uses_model": "score = model.score(value)",
        "test_model": "assert score > math.pi",
    }
    for gid, source in sources.items():
        graded = gid.startswith("test_")
        meta = {"grade": graded, "grade_id": gid, "locked": True, "solution": False, "points": 1}
        nb.cells.append(nbformat.v4.new_code_cell(source, metadata={"nbgrader": meta}))
    names = [grade_id(nb.cells[i]) for i in needed_cells(nb, ["test_square"])]
    assert names == ["setup", "square", "test_square"]  # the training cell is skipped
    names = [grade_id(nb.cells[i]) for i in needed_cells(nb, ["test_model"])]
    assert names == ["setup", "slow", "square", "test_square", "uses_model", "test_model"]
    # a shared-input block's imports are the grading process's: they make no cell a binder of ``math``
    nb.cells[
        3
    ].source = "### BEGIN SHARED INPUT\nimport math\n_X = 3\n### END SHARED INPUT\nassert square(_X) == 9"
    nb.cells[4].source = "score = model.score(2)"
    assert [grade_id(nb.cells[i]) for i in needed_cells(nb, ["test_model"])] == [
        "setup",
        "slow",
        "uses_model",
        "test_model",
    ]
    nb.cells[3].source = "import math\nassert square(3) == 9"  # an import outside the block still binds
    names = [grade_id(nb.cells[i]) for i in needed_cells(nb, ["test_model"])]
    assert names == ["setup", "slow", "square", "test_square", "uses_model", "test_model"]


def test_try_only_runs_the_cells_up_to_the_named_test(tmp_path):
    root = mini_course(tmp_path)
    wrong = _submission(root, tmp_path, {"mean_value": "def mean_value(values):\n    return 0\n"})
    trial = try_lab(load_config(root), "mini", wrong, only=["test_square"])
    assert [(v.test, v.passed) for v in trial.verdicts] == [("test_square", True)]
    assert trial.cells_run < trial.cells_total
    with pytest.raises(CourseError, match=r"no test cell 'test_nope'.*test_square, test_mean"):
        try_lab(load_config(root), "mini", only=["test_nope"])


def test_with_source_cells_restores_tests_after_their_predecessor(tmp_path):
    root = mini_course(tmp_path)
    source = nbformat.read(root / "source" / "mini" / "mini.ipynb", as_version=4)
    sub = nbformat.read(_submission(root, tmp_path, {}, drop={"test_square"}), as_version=4)
    merged = with_source_cells(source, sub)
    ids = [grade_id(c) for c in merged.cells]
    assert ids.index("test_square") == ids.index("square") + 1
    assert all(
        "GRADER CHECK" in c.source for c in merged.cells if grade_id(c) in {"test_square", "test_mean"}
    )
    assert cells_to_run(merged, ["test_square"], root) == ids.index("test_square") + 1


def test_reference_store_of_the_current_kit_is_offered_to_the_kernel(tmp_path):
    root = mini_course(tmp_path)
    cfg = load_config(root)
    assert reference_store(cfg, "mini", tmp_path / "none") == {}  # nothing recorded yet: train as usual
    recorded = cfg.state_dir / "kits" / f"mini-{kit_digest(cfg, 'mini')}" / STORE_DIR / "setting"
    recorded.mkdir(parents=True)
    (recorded / ("0" * 64 + ".pt")).write_bytes(b"state")
    manifest = write_manifest(recorded)
    env = reference_store(cfg, "mini", tmp_path / "store")
    assert env == {STORE_ENV: str(tmp_path / "store"), MANIFEST_ENV: manifest}
    assert (tmp_path / "store" / ("0" * 64 + ".pt")).read_bytes() == b"state"


def test_the_kernel_gets_the_epoch_cap_of_the_flag_else_of_the_environment(tmp_path, monkeypatch):
    cfg = load_config(mini_course(tmp_path))
    monkeypatch.setenv("LABKIT_MAX_EPOCHS", "5")
    assert kernel_env(cfg, None, tmp_path, 2)["LABKIT_MAX_EPOCHS"] == "2"
    assert kernel_env(cfg, None, tmp_path, None)["LABKIT_MAX_EPOCHS"] == "5"
    monkeypatch.delenv("LABKIT_MAX_EPOCHS")
    assert "LABKIT_MAX_EPOCHS" not in kernel_env(cfg, tmp_path / "inputs", tmp_path, None)
