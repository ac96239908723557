"""autograder/build/release.py on the mini course: the leak check, unlocked given code, hidden tests without a
grader check."""

from __future__ import annotations

import nbformat
from autograder_support import mini_course

from autograder.build.release import leaks
from autograder.cells import read_notebook, secret_lines
from autograder.cli import main
from autograder.config import load_config


def test_secret_lines_and_leak_check(tmp_path):
    cfg = load_config(mini_course(tmp_path))
    source = read_notebook(cfg.source_notebook("mini"))
    secrets = secret_lines(source)
    assert "squared_value_of_x = x * x" in secrets["square"]
    assert any("hidden check on negatives" in line for line in secrets["test_square"])
    assert secrets["q1"][0].startswith("A square is never negative")
    release = tmp_path / "release"
    release.mkdir()
    leaky = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("### BEGIN SOLUTION\nx = 1")])
    leaky.cells.append(nbformat.v4.new_markdown_cell(secrets["q1"][0]))
    nbformat.write(leaky, str(release / "mini.ipynb"))
    found = leaks(cfg, "mini", release)
    assert any("cell 0" in f and "BEGIN SOLUTION" in f for f in found)
    assert any("cell 1" in f and "'q1'" in f for f in found)
    clean = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell("# YOUR CODE HERE\nraise NotImplementedError()")]
    )
    nbformat.write(clean, str(release / "mini.ipynb"))
    assert leaks(cfg, "mini", release) == []


def test_unlocked_given_code_fails_check_unless_tagged_free(tmp_path, capsys):
    from autograder.build.release import unlocked_cells
    from autograder.cells import FREE_TAG

    root = mini_course(tmp_path)
    cfg = load_config(root)
    assert unlocked_cells(cfg, "mini") == []
    path = cfg.source_notebook("mini")
    nb = read_notebook(path)
    nb.cells.insert(2, nbformat.v4.new_code_cell("N_EPOCHS = 3"))
    nbformat.write(nb, str(path))
    (found,) = unlocked_cells(cfg, "mini")
    assert "cell 2 ('N_EPOCHS = 3'...): given code that is not locked" in found
    assert main(["--course", str(root), "check"]) == 1
    assert "not locked" in capsys.readouterr().out
    nb.cells[2].metadata["tags"] = [FREE_TAG]
    nbformat.write(nb, str(path))
    assert unlocked_cells(cfg, "mini") == []


def _edit_test_mean(cfg, edit) -> None:
    """Rewrite the source of the mini course's ``test_mean`` cell with ``edit(source)``."""
    path = cfg.source_notebook("mini")
    nb = read_notebook(path)
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "test_mean")
    cell.source = edit(cell.source)
    nbformat.write(nb, str(path))


def test_a_hidden_test_without_a_grader_check_fails_check(tmp_path, capsys):
    from autograder.build.release import undecided_hidden_tests

    root = mini_course(tmp_path)
    cfg = load_config(root)
    assert undecided_hidden_tests(cfg, "mini") == []
    hidden = "### BEGIN HIDDEN TESTS\nassert mean_value([1, 2]) == 1.5\n### END HIDDEN TESTS"
    _edit_test_mean(cfg, lambda source: f"assert mean_value([1, 2, 3]) == 2\n{hidden}")
    (found,) = undecided_hidden_tests(cfg, "mini")
    assert "(test_mean): hidden test without a grader check" in found
    assert main(["--course", str(root), "check"]) == 1
    assert "without a grader check" in capsys.readouterr().out


def test_an_unclosed_shared_input_block_fails_check(tmp_path, capsys):
    from autograder.build.release import malformed_checks

    root = mini_course(tmp_path)
    cfg = load_config(root)
    assert malformed_checks(cfg, "mini") == []
    opened = "### BEGIN HIDDEN TESTS\n### BEGIN SHARED INPUT"
    _edit_test_mean(cfg, lambda source: source.replace("### BEGIN HIDDEN TESTS", opened, 1))
    (found,) = malformed_checks(cfg, "mini")
    assert "(test_mean): a '### BEGIN SHARED INPUT' block has no '### END SHARED INPUT'" in found
    assert main(["--course", str(root), "check"]) == 1
    assert "END SHARED INPUT" in capsys.readouterr().out
