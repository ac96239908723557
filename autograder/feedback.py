"""Feedback for students: nbgrader ``generate_feedback`` with every hidden test's source withheld.

Each hidden-test cell keeps its visible lines, its test name (grade id), its points and its outputs, but
its hidden region is replaced by a placeholder comment and error tracebacks are cut to their last line
(``AssertionError: <message>``), because a traceback echoes the failing source line.

The redaction is a step of nbgrader's own feedback converter, `RedactHiddenTests`, configured in the
course's ``nbgrader_config.py`` (``GenerateFeedback.preprocessors``): plain ``nbgrader generate_feedback``,
formgrader's *Generate Feedback* button and ``course-grade feedback`` produce the same redacted pages.
Likewise every page is made inert (`autograder.inert`: nothing a submission carries runs in the browser that
opens it), by the course's ``MakeInert`` step and, whatever the configuration, by ``course-grade feedback``.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import nbformat
from nbformat import NotebookNode
from nbgrader.preprocessors import NbGraderPreprocessor

from autograder.cells import grade_id, hidden_test_cells, read_notebook
from autograder.config import (
    GRADEBOOK,
    CourseConfig,
    Markers,
    default_markers,
    ensure_tools_on_path,
    run_nbgrader,
)
from autograder.inert import make_inert
from autograder.merge import SECRET_FILE
from labkit.exits import RefusedOverwriteError
from labkit.paths import COURSE_MARKER


def redact_source(source: str, gid: str, markers: Markers | None = None) -> str:
    """Replace every hidden-test region of ``source`` by one placeholder comment."""
    m = markers or default_markers()
    kept, inside = [], False
    for line in source.splitlines():
        if m.begin_hidden.match(line):
            inside = True
            kept.append(f"# hidden tests for {gid}: source withheld")
        elif m.end_hidden.match(line):
            inside = False
        elif not inside:
            kept.append(line)
    return "\n".join(kept)


def redact_notebook(
    nb: NotebookNode, hidden: set[str] | None = None, markers: Markers | None = None
) -> NotebookNode:
    """Return ``nb`` with its hidden tests withheld (in place).

    Parameters
    ----------
    nb
        An autograded notebook.
    hidden
        Grade ids of the source's hidden-test cells; every cell that holds a hidden region is redacted
        too, so a notebook is redacted whether or not the source is at hand.
    markers
        The course's region markers (nbgrader's defaults when None).
    """
    m = markers or default_markers()
    for cell in nb.cells:
        gid = grade_id(cell)
        if cell.cell_type != "code" or not (gid in (hidden or set()) or m.has_hidden(cell.source or "")):
            continue
        cell.source = redact_source(cell.source, gid or "this cell", m)
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                out["traceback"] = [f"{out.get('ename', 'Error')}: {out.get('evalue', '')}"]
    return nb


class RedactHiddenTests(NbGraderPreprocessor):
    """nbgrader feedback step: withhold the source of every hidden test (see the module docstring)."""

    def preprocess(self, nb: NotebookNode, resources: dict) -> tuple[NotebookNode, dict]:
        """Redact ``nb`` in place."""
        return redact_notebook(nb, markers=Markers.of(self.config)), resources


def generate_feedback(cfg: CourseConfig, lab: str, force: bool = False) -> list[Path]:
    """Write ``feedback/<student>/<lab>/`` for every autograded submission of ``lab``; return the files."""
    ensure_tools_on_path()
    hidden = set(hidden_test_cells(read_notebook(cfg.source_notebook(lab)), cfg.markers))
    written = []
    with tempfile.TemporaryDirectory(prefix="course-grade-feedback-") as tmp:
        scratch = Path(tmp)
        shutil.copy2(cfg.root / COURSE_MARKER, scratch / COURSE_MARKER)
        shutil.copy2(cfg.gradebook, scratch / GRADEBOOK)
        for path in sorted((cfg.root / cfg.folders.autograded).glob(f"*/{lab}/{lab}.ipynb")):
            target = scratch / path.relative_to(cfg.root)
            target.parent.mkdir(parents=True)
            feedback = make_inert(redact_notebook(read_notebook(path), hidden, cfg.markers))
            nbformat.write(feedback, str(target))
            for name in ("timestamp.txt", SECRET_FILE):  # nbgrader's release_feedback needs both
                if (path.parent / name).is_file():
                    shutil.copy2(path.parent / name, target.parent / name)
        run_nbgrader(scratch, "generate_feedback", lab, "--force", where=cfg.root)
        for produced in sorted((scratch / cfg.folders.feedback).glob(f"*/{lab}/*")):
            dest = cfg.root / produced.relative_to(scratch)
            if dest.exists() and not force and dest.read_bytes() != produced.read_bytes():
                raise RefusedOverwriteError(
                    f"{dest}: already exists; nothing was replaced. Fix: `course-grade feedback --force`"
                )
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(produced, dest)
            written.append(dest)
    return written
