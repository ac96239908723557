"""autograder/feedback.py: feedback pages withhold the hidden tests."""

from __future__ import annotations

import json

import nbformat
from autograder_support import mini_course

from autograder.cells import MIN_SECRET_LINE, hidden_test_cells, read_notebook
from autograder.config import load_config
from autograder.feedback import redact_notebook


def test_redaction_keeps_name_points_message(tmp_path):
    cfg = load_config(mini_course(tmp_path))
    nb = read_notebook(cfg.source_notebook("mini"))
    hidden = hidden_test_cells(nb)
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "test_square")
    cell.outputs = [
        nbformat.v4.new_output(
            "error",
            ename="AssertionError",
            evalue="square(-4) should be 16",
            traceback=["assert square(-4) == 16, ...", "AssertionError: boom"],
        )
    ]
    redact_notebook(nb, set(hidden))
    text = json.dumps(nb)
    for lines in hidden.values():
        for line in (ln.strip() for ln in lines):  # ("" or ")" reveal nothing: secrets are longer)
            assert len(line) < MIN_SECRET_LINE or line not in text, line
    assert "hidden tests for test_square: source withheld" in cell.source
    assert cell.outputs[0]["traceback"] == ["AssertionError: square(-4) should be 16"]
    assert cell.metadata["nbgrader"]["points"] == 2
