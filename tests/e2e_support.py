"""End-to-end grading of lab notebooks through plain nbgrader, in a temporary copy of the course.

Shared by the lab test files: build a course in ``tmp_path``, place submissions, run
``nbgrader autograde`` in a subprocess and read back per-cell scores and executed notebooks.

Typical use::

    course = make_course(tmp_path, LAB)
    submit(course, LAB, "ref", source_notebook(LAB))
    result = autograde(course, LAB, max_epochs=1)
    scores = read_scores(course, LAB, "ref")          # {grade_id: (score, max_score)}
    nb = autograded_notebook(course, LAB, "ref")
"""

from __future__ import annotations

import atexit
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[1]
DATA_DIR = REPO / "data"
#: ECG strips per rhythm in the data of capped runs (the default data has 1500). Capped runs judge which
#: tests pass, isolation and bookkeeping, not metrics; on 1000 strips they train and evaluate ~7x faster.
CAPPED_ECG_PER_RHYTHM = 200
_capped_data: list[Path] = []


def capped_data_dir() -> Path:
    """Return the data folder of capped runs, made once per test session in a temporary folder.

    It holds a synthetic ECG file from the same generator and seed as the default data, with
    :data:`CAPPED_ECG_PER_RHYTHM` strips per rhythm, and a copy of the default PPG records (a copy, not a
    link: the grading sandbox mounts the folder itself).
    """
    if not _capped_data:
        folder = Path(tempfile.mkdtemp(prefix="course-capped-data-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        labkit = Path(sys.executable).parent / "labkit"
        command = [labkit, "data", "synth", "--out", folder, "--only", "ecg", "--no-progress"]
        subprocess.run(
            [*command, "--n-per-rhythm", str(CAPPED_ECG_PER_RHYTHM)], check=True, capture_output=True
        )
        shutil.copy2(DATA_DIR / "ppg_dalia.pkl", folder / "ppg_dalia.pkl")
        _capped_data.append(folder)
    return _capped_data[0]


def source_notebook(lab: str) -> Path:
    """Return the instructor notebook (reference solution) of ``lab``."""
    return REPO / "source" / lab / f"{lab}.ipynb"


def release_notebook(lab: str) -> Path:
    """Return the committed student notebook of ``lab``."""
    return REPO / "release" / lab / f"{lab}.ipynb"


def make_course(root: Path, lab: str) -> Path:
    """Copy what nbgrader needs to grade ``lab`` (config, source, release) into ``root/course``."""
    course = root / "course"
    course.mkdir(parents=True)
    shutil.copy2(REPO / "nbgrader_config.py", course / "nbgrader_config.py")
    for folder in ("source", "release"):
        if (REPO / folder / lab).is_dir():
            shutil.copytree(REPO / folder / lab, course / folder / lab, ignore=shutil.ignore_patterns("*.py"))
    return course


def submit(course: Path, lab: str, student: str, notebook: Path | nbformat.NotebookNode) -> Path:
    """Place ``notebook`` (a path or an in-memory notebook) as ``student``'s submission of ``lab``."""
    target = course / "submitted" / student / lab / f"{lab}.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(notebook, Path):
        shutil.copy2(notebook, target)
    else:
        nbformat.write(notebook, target)
    return target


def grading_env(course: Path, max_epochs: int | None = None) -> dict[str, str]:
    """Return the environment of a grading run: logs in the course, optional epoch cap, and the data: the
    default data at the real settings, the smaller capped-run data (:func:`capped_data_dir`) under a cap."""
    env = dict(os.environ)
    env.pop("LABKIT_MAX_EPOCHS", None)
    env["LABKIT_DATA_DIR"] = str(DATA_DIR if max_epochs is None else capped_data_dir())
    env["LABKIT_LOG_DIR"] = str(course / "logs")
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    if max_epochs is not None:
        env["LABKIT_MAX_EPOCHS"] = str(max_epochs)
    return env


def _nbgrader(course: Path, env: dict[str, str], *args: str, timeout: float) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "nbgrader", *args]
    result = subprocess.run(command, cwd=course, env=env, capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        raise AssertionError(
            f"{' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
        )
    return result


def autograde(
    course: Path,
    lab: str,
    max_epochs: int | None = None,
    timeout: float = 1800,
    threads: int | None = None,
) -> subprocess.CompletedProcess:
    """Record ``lab`` in the course gradebook and autograde every submission with plain nbgrader.

    ``generate_assignment`` stores the grade cells (hidden tests included) in the temporary gradebook;
    ``autograde`` then restores them into each submission and executes it. ``threads`` sets the kernels'
    ``OMP_NUM_THREADS`` / ``MKL_NUM_THREADS``, as ``course-grade grade`` does for its workers.
    """
    env = grading_env(course, max_epochs)
    if threads is not None:
        env.update(OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    _nbgrader(course, env, "generate_assignment", lab, "--force", timeout=300)
    return _nbgrader(course, env, "autograde", lab, "--force", timeout=timeout)


def read_scores(course: Path, lab: str, student: str) -> dict[str, tuple[float, float]]:
    """Return ``{grade_id: (score, max_score)}`` of every autograded (code) test cell of one submission."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        submission = gradebook.find_submission_notebook(lab, lab, student)
        return {
            grade.name: (float(grade.score), float(grade.max_score))
            for grade in submission.grades
            if grade.cell_type == "code"
        }


def autograded_notebook(course: Path, lab: str, student: str) -> nbformat.NotebookNode:
    """Return the executed notebook nbgrader wrote for ``student``."""
    return nbformat.read(course / "autograded" / student / lab / f"{lab}.ipynb", as_version=4)


def unexecuted_cells(notebook: nbformat.NotebookNode) -> list[int]:
    """Return the positions of code cells without an execution count (never run)."""
    return [
        i for i, cell in enumerate(notebook.cells) if cell.cell_type == "code" and not cell.execution_count
    ]


def cell_by_grade_id(notebook: nbformat.NotebookNode, grade_id: str) -> nbformat.NotebookNode:
    """Return the cell whose nbgrader ``grade_id`` is ``grade_id``."""
    for cell in notebook.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
            return cell
    raise KeyError(f"no cell with grade_id {grade_id!r}")


def text_output(cell: nbformat.NotebookNode) -> str:
    """Return the plain-text outputs of a cell (streams and text/plain results), joined."""
    parts = []
    for output in cell.get("outputs", []):
        if output.output_type == "stream":
            parts.append(output.text)
        elif "text/plain" in output.get("data", {}):
            parts.append(output["data"]["text/plain"])
    return "\n".join(parts)


def longest_cell(notebook: nbformat.NotebookNode) -> tuple[str, float]:
    """Return the grade id (or position) of an executed notebook's longest cell and its seconds.

    From the timing nbclient records in each cell's metadata (``execution``: ``iopub.execute_input`` to
    ``shell.execute_reply``).
    """
    from datetime import datetime

    spans = {}
    for i, cell in enumerate(notebook.cells):
        timing = cell.get("metadata", {}).get("execution", {})
        if "iopub.execute_input" in timing and "shell.execute_reply" in timing:
            start, end = (
                datetime.fromisoformat(timing[k]) for k in ("iopub.execute_input", "shell.execute_reply")
            )
            spans[cell.metadata.get("nbgrader", {}).get("grade_id", str(i))] = (end - start).total_seconds()
    assert spans, "the notebook records no cell timing (nbclient's record_timing)"
    return max(spans.items(), key=lambda item: item[1])


def errors(notebook: nbformat.NotebookNode) -> list[str]:
    """Return ``'<grade_id or position>: <ename>'`` for every error output of the notebook."""
    found = []
    for i, cell in enumerate(notebook.cells):
        for output in cell.get("outputs", []):
            if output.output_type == "error":
                found.append(f"{cell.metadata.get('nbgrader', {}).get('grade_id', i)}: {output.ename}")
    return found


def replace_solution(notebook: nbformat.NotebookNode, grade_id: str, source: str) -> nbformat.NotebookNode:
    """Return a copy of ``notebook`` whose cell ``grade_id`` holds ``source`` (a targeted wrong answer)."""
    changed = nbformat.from_dict(notebook)
    cell_by_grade_id(changed, grade_id).source = source
    return changed


def capped_course(
    root: Path,
    lab: str,
    split_id: str,
    wrong_split: str,
    max_epochs: int,
    edits: dict[str, dict[str, str]] | None = None,
) -> Path:
    """Grade one capped batch of ``lab`` and return its course folder.

    Submissions: the reference (``ref_a``), the reference with cell ``split_id`` replaced by
    ``wrong_split`` (``wrong_split``), the untouched release (``blank``), and one reference per entry of
    ``edits`` (student name -> {grade id: new cell source}). An edit of a locked cell is undone by nbgrader,
    so such a submission is also the reference's twin for reproducibility.
    """
    course = make_course(root, lab)
    reference = nbformat.read(source_notebook(lab), as_version=4)
    submit(course, lab, "ref_a", source_notebook(lab))
    submit(course, lab, "wrong_split", replace_solution(reference, split_id, wrong_split))
    submit(course, lab, "blank", release_notebook(lab))
    for student, cells in (edits or {}).items():
        edited = reference
        for cell_id, cell_source in cells.items():
            edited = replace_solution(edited, cell_id, cell_source)
        submit(course, lab, student, edited)
    autograde(course, lab, max_epochs=max_epochs)
    return course


def fill_answers(lab: str, notebook: Path) -> None:
    """Write the instructors' answer into every exercise of the student ``notebook`` of ``lab`` (in place)."""
    answers = {
        c.metadata["nbgrader"]["grade_id"]: c.source
        for c in nbformat.read(source_notebook(lab), as_version=4).cells
        if c.metadata.get("nbgrader", {}).get("solution")
    }
    nb = nbformat.read(notebook, as_version=4)
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if cell.metadata.get("nbgrader", {}).get("solution") and gid in answers:
            cell.source = answers[gid]
    nbformat.write(nb, str(notebook))


def hidden_only_lines(notebook: nbformat.NotebookNode, min_length: int = 12) -> list[str]:
    """Return the hidden-test lines of a source ``notebook`` that a student cannot read anywhere else.

    A hidden line that also occurs in a line a student reads (given code and visible tests of the release)
    or in the instructors' answers (a student who solved the exercise wrote much the same) does not reveal
    a hidden test when it shows up in feedback.
    """
    from autograder.cells import hidden_test_cells, outside_regions, region_lines
    from autograder.config import default_markers

    m = default_markers()
    readable = [
        line
        for cell in notebook.cells
        for line in [
            *outside_regions(cell.source),
            *region_lines(cell.source, m.begin_solution, m.end_solution),
        ]
    ]
    hidden = {line.strip() for lines in hidden_test_cells(notebook).values() for line in lines}
    return sorted(
        line for line in hidden if len(line) >= min_length and not any(line in seen for seen in readable)
    )


#: What ``labkit.training.train_model`` prints when it loads a state recorded by the reference run.
REUSED = "its state is reused"


def reused_models(course: Path, lab: str, student: str) -> int:
    """Return how many models of an autograded submission were loaded from the training store."""
    return nbformat.writes(autograded_notebook(course, lab, student)).count(REUSED)


def graded_outputs(course: Path, lab: str, student: str, results: Sequence[str]) -> dict[str, str]:
    """Return the printed output of every test cell and of the ``results`` cells, training times removed."""
    notebook = autograded_notebook(course, lab, student)
    cells = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in notebook.cells}
    wanted = [
        g for g, c in cells.items() if g and c.cell_type == "code" and c.metadata["nbgrader"].get("grade")
    ]
    return {
        g: re.sub(r"epochs in \d+ s", "epochs in - s", text_output(cells[g])) for g in [*wanted, *results]
    }


def assert_same_grading(
    course_a: Path, entries_a: dict, course_b: Path, entries_b: dict, lab: str, results: Sequence[str]
) -> None:
    """Assert two gradings of the same submissions agree: scores, notes, and every graded cell's output."""
    for student, entry in entries_b.items():
        for field in ("score", "tests", "notes", "executed"):
            assert entries_a[student][field] == entry[field], (student, field)
        if entry["executed"]:
            outputs = [graded_outputs(c, lab, student, results) for c in (course_a, course_b)]
            assert outputs[0] == outputs[1], student
