"""nbgrader's Validate as a student meets it: the command line, and the code behind the toolbar's button.

``nbgrader validate`` and JupyterLab's Validate button run the same `nbgrader.validator.Validator`. The
button's server extension (``ValidateAssignmentHandler.load_config``) reads ``nbgrader_config.py`` from the
server's working folder and Jupyter's config path (the user's and the environment's ``etc/jupyter``); the
command reads the same places. Both run here in the Python of the environment under test, in the folder a
student starts from, so what they load is what a student's copy of the course holds.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

import nbformat

#: What ``nbgrader validate`` prints for a notebook whose every test passes.
PASSED = "Success! Your notebook passes all the tests."
#: nbgrader's reason for a graded cell that ran without error but whose output reads as a score below full.
PARTIAL = "Partial credit"

#: Loads the configuration as the Validate button does, reports the Execute limits a validation runs
#: with, and validates the notebook given (if any). Arguments: the limits' names (comma-separated), the
#: notebook. Prints one JSON line.
BUTTON = """
import json, sys
from nbgrader.preprocessors import Execute
from nbgrader.server_extensions.validate_assignment.handlers import ValidateAssignmentHandler
from nbgrader.validator import Validator

validator = Validator(config=ValidateAssignmentHandler.load_config(None))
limits = {name: getattr(Execute(parent=validator), name) for name in sys.argv[1].split(",")}
result = validator.validate(sys.argv[2]) if len(sys.argv) > 2 else {}
print("VALIDATE-RESULT " + json.dumps({"limits": limits, "result": result}))
"""


@dataclass(frozen=True)
class ButtonResult:
    """What the Validate button's code found: the Execute limits it ran with and the failed cells."""

    limits: dict[str, object]
    failed: dict[str, str]  # grade id (or cell position) -> nbgrader's reason
    changed: list[str]  # sources of locked cells nbgrader found edited


def button(
    python: Path,
    cwd: Path,
    env: dict[str, str],
    names: tuple[str, ...],
    notebook: Path | None = None,
    timeout: float = 900,
) -> ButtonResult:
    """Run the Validate button's code with ``python`` in ``cwd``: its Execute limits and ``notebook``'s."""
    args = [str(python), "-c", BUTTON, ",".join(names), *([str(notebook)] if notebook else [])]
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("VALIDATE-RESULT ")]
    assert proc.returncode == 0 and lines, (
        f"validation did not run:\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
    )
    found = json.loads(lines[-1].split(" ", 1)[1])
    result = found["result"]
    failed = {}
    if notebook is not None:
        cells = cell_ids(notebook)
        for cell in result.get("failed", []):  # in notebook order; written answers may share a source
            at = next(i for i, (source, _) in enumerate(cells) if source == cell["source"])
            failed[cells[at][1]] = cell["raw_error"]
            cells = cells[at + 1 :]
    changed = [cell["source"][:60] for cell in result.get("changed", [])]
    return ButtonResult(found["limits"], failed, changed)


def cell_ids(notebook: Path) -> list[tuple[str, str]]:
    """Return ``(stripped source, grade id or position)`` of every cell of ``notebook``, in order."""
    cells = nbformat.read(notebook, as_version=4).cells
    return [
        (c.source.strip(), c.metadata.get("nbgrader", {}).get("grade_id", str(i)))
        for i, c in enumerate(cells)
    ]


def command(python: Path, notebook: Path, cwd: Path, env: dict[str, str], timeout: float = 900) -> str:
    """Run ``nbgrader validate notebook`` with ``python`` in ``cwd``; return what it printed."""
    proc = subprocess.run(
        [str(python), "-m", "nbgrader", "validate", str(notebook)],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip
    assert proc.returncode == 0, (
        f"nbgrader validate failed to run:\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
    )
    return proc.stdout
