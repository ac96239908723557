"""``course-grade try``: run a lab's hidden checks on its source notebook or one submission, in seconds.

The path is the one grading takes for a hidden check (:mod:`autograder.checks.steps`): the grader-check
regions are taken out of the test cells (`take_checks`), the notebook runs in a kernel where each probe
emits its raw results, and `decide` runs every check in this process on what was emitted. What differs
from ``course-grade grade``, on purpose:

- nothing is written to the course: no gradebook, no ledger, no autograded notebook;
- ``only`` runs only the cells the named test cells need: the cells that bind a name they read, and so
  on back, and the setup cell (a function check needs no training cell), and reports those tests only;
  ``prefix`` runs every cell up to the last of them instead;
- the kernel reads the trained states the lab's last reference run recorded (`autograder.reuse`), when
  the grading kit of this source holds some, and runs with one thread as a default grading run's does, so
  a training cell whose inputs match the reference loads its state instead of training;
- the kernel is an ordinary kernel of this environment in a temporary folder, not the confined, guarded
  kernel of a grading worker: try submissions you trust (``course-grade grade`` confines the rest).

A submission gets the source's given code and test cells back (hidden tests and their checks included),
and a deleted test cell is put back after its nearest surviving predecessor, as grading does
(`autograder.execute.restore.RestoreCells`).
"""

from __future__ import annotations

import copy
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from nbformat import NotebookNode

from autograder import CourseError
from autograder.cells import grade_id, nbgrader_meta, read_notebook
from autograder.checks.probe import INPUTS_ENV
from autograder.checks.steps import BEGIN_SHARED, END_SHARED, decide, take_checks
from autograder.config import CourseConfig
from labkit.paths import DATA_ENV, LOG_ENV
from labkit.runtime import MAX_EPOCHS_ENV


@dataclass(frozen=True)
class Verdict:
    """One graded test cell's outcome under ``course-grade try``.

    Attributes
    ----------
    test
        The cell's grade id.
    points
        Its points.
    passed
        Whether it ends without an error (its visible test, probe and hidden check all passed).
    message
        What the student would read when it failed ("" when it passed).
    """

    test: str
    points: float
    passed: bool
    message: str = ""

    def line(self) -> str:
        """Return the verdict as one printed line."""
        status = "PASS" if self.passed else "FAIL"
        return f"{status} {self.test} ({self.points:g} pt)" + (f": {self.message}" if self.message else "")


@dataclass(frozen=True)
class Trial:
    """What ``course-grade try`` ran and found."""

    lab: str
    notebook: Path
    cells_run: int
    cells_total: int
    seconds: float
    verdicts: list[Verdict]


def is_test(cell: NotebookNode) -> bool:
    """Return True for an autograded test cell (graded code, not an exercise)."""
    meta = nbgrader_meta(cell)
    return cell.cell_type == "code" and bool(meta.get("grade")) and not meta.get("solution")


def _from_source(cell: NotebookNode) -> bool:
    """Return True for a cell grading takes from the source (given code, test cells)."""
    meta = nbgrader_meta(cell)
    return bool(grade_id(cell)) and (bool(meta.get("locked")) or is_test(cell))


def with_source_cells(source: NotebookNode, submission: NotebookNode) -> NotebookNode:
    """Return ``submission`` with the source's given and test cells, deleted test cells put back.

    The student's exercises and extra cells are kept; every locked or test cell is the source's (its
    hidden tests and grader checks included), as nbgrader's ``OverwriteCells`` and `RestoreCells` make it.
    """
    cells = {grade_id(c): c for c in source.cells if _from_source(c)}
    merged = copy.deepcopy(submission)
    merged.cells = [copy.deepcopy(cells.get(grade_id(c), c)) for c in merged.cells]
    order = [grade_id(c) for c in source.cells if grade_id(c)]
    for name in [grade_id(c) for c in source.cells if is_test(c)]:
        present = [grade_id(c) for c in merged.cells]
        if name in present:
            continue
        before = [n for n in order[: order.index(name)] if n in present]
        at = present.index(before[-1]) + 1 if before else 0
        merged.cells.insert(at, copy.deepcopy(cells[name]))
    return merged


def cells_to_run(nb: NotebookNode, only: list[str], where: Path) -> int:
    """Return how many cells from the top run: all, or up to the last test cell named in ``only``.

    Raises
    ------
    CourseError
        When a name in ``only`` is not a test cell of ``nb`` (the message lists the test ids).
    """
    tests = [grade_id(c) for c in nb.cells if is_test(c)]
    unknown = [name for name in only if name not in tests]
    if unknown:
        raise CourseError(
            f"{where}: no test cell {', '.join(map(repr, unknown))}; its test cells are: {', '.join(tests)}"
        )
    if not only:
        return len(nb.cells)
    return max(i for i, c in enumerate(nb.cells) if grade_id(c) in only) + 1


def _names(source: str) -> tuple[set[str], set[str]]:
    """Return the names a cell binds and the names it reads without binding (none when it does not parse).

    The imports of a shared-input block are not counted as bindings: they are there for the grading
    process, which runs the block on its own (the kernel has those modules from the setup cell), and
    counting them would make every such test cell a binder of ``np``.
    """
    import ast

    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set(), set()
    shared = _shared_lines(source)
    bound, read = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (read if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            bound.add(node.name)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.alias) and node.lineno not in shared:
            bound.add((node.asname or node.name).split(".")[0])
    return bound, read - bound  # a name the cell binds itself is taken as its own (bound before read)


def _shared_lines(source: str) -> set[int]:
    """Return the line numbers (from 1) inside the shared-input blocks of ``source``."""
    inside, lines = False, set()
    for number, line in enumerate(source.splitlines(), 1):
        if BEGIN_SHARED.match(line) or END_SHARED.match(line):
            inside = bool(BEGIN_SHARED.match(line))
        elif inside:
            lines.add(number)
    return lines


def needed_cells(nb: NotebookNode, only: list[str]) -> list[int]:
    """Return the indices of the code cells the test cells named in ``only`` need, in order.

    For each named test cell: the cell, then, walking back from it, every cell that binds a name a kept
    cell reads (whose own reads are added in turn), and the first code cell (the setup: seeds, imports).
    A cell that only changes an object in place through a method call is not seen: ``prefix`` runs every
    cell before the last named test instead.
    """
    keep: set[int] = set()
    for target, cell in enumerate(nb.cells):
        if is_test(cell) and grade_id(cell) in only:
            keep |= _slice(nb, target)
    return sorted(keep)


def _slice(nb: NotebookNode, target: int) -> set[int]:
    """Return the code cells up to ``target`` that it needs (see `needed_cells`)."""
    code = [i for i in range(target) if nb.cells[i].cell_type == "code"]
    keep, needed = {target}, _names(nb.cells[target].source)[1]
    for i in reversed(code):
        bound, read = _names(nb.cells[i].source)
        if bound & needed or i == code[0]:
            keep.add(i)
            needed |= read
    return keep


def kernel_env(cfg: CourseConfig, inputs: Path | None, home: Path, max_epochs: int | None) -> dict[str, str]:
    """Return the kernel's environment: this one, the course's data, its probe inputs, the epoch cap."""
    from labkit.paths import data_dir

    env = {**os.environ, DATA_ENV: str(data_dir(cfg.root)), LOG_ENV: str(home / "logs"), "MPLBACKEND": "Agg"}
    env.update({"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"})
    if max_epochs is not None:  # else $LABKIT_MAX_EPOCHS passes through, as `course-grade grade` passes it
        env[MAX_EPOCHS_ENV] = str(max_epochs)
    if inputs is not None:
        env[INPUTS_ENV] = str(inputs)
    return env


def reference_store(cfg: CourseConfig, lab: str, into: Path) -> dict[str, str]:
    """Copy the newest training store of ``lab``'s current grading kit into ``into``; return its variables.

    A store is only read when its entry's training key matches what the kernel trains, so any store of the
    kit is safe to offer (a mismatch trains as usual). None recorded yet (``course-grade grade`` records
    one): no variables.
    """
    import shutil

    from autograder.build.release import kit_digest
    from autograder.reuse.store import STORE_DIR
    from labkit.training.reuse import MANIFEST, MANIFEST_ENV, STORE_ENV, digest

    stores = cfg.state_dir / "kits" / f"{lab}-{kit_digest(cfg, lab)}" / STORE_DIR
    found = sorted(stores.glob(f"*/{MANIFEST}"), key=lambda p: p.stat().st_mtime)
    if not found:
        return {}
    shutil.copytree(found[-1].parent, into)
    return {STORE_ENV: str(into), MANIFEST_ENV: digest([(into / MANIFEST).read_bytes()])}


def _probe_inputs(cfg: CourseConfig, lab: str) -> Path | None:
    """Return the folder of ``lab``'s probe inputs (built when missing), None when the lab has none."""
    from autograder.checks.evaluation import ensure_inputs

    held_out = dict(cfg.evaluation_files)
    return ensure_inputs(cfg.root, lab, held_out[lab]) if lab in held_out else None


def _execute(nb: NotebookNode, cfg: CourseConfig, env: dict[str, str], cwd: Path) -> None:
    """Run every cell of ``nb`` in a fresh kernel (errors kept as outputs, as grading keeps them)."""
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient

    from autograder.execute.isolation import socket_prefix

    km = KernelManager(kernel_name="python3", transport="ipc", ip=socket_prefix(cwd))
    client = NotebookClient(
        nb,
        km=km,
        timeout=cfg.timeouts.cell,
        startup_timeout=cfg.timeouts.startup,
        allow_errors=True,
        resources={"metadata": {"path": str(cwd)}},
    )
    client.execute(env=env, cleanup_kc=True)  # our kernel manager: shut its kernel down too


def _message(cell: NotebookNode) -> str:
    errors = [out for out in cell.get("outputs", []) if out.get("output_type") == "error"]
    if not errors:
        return ""
    last = errors[-1]
    return f"{last.get('ename', 'Error')}: {last.get('evalue', '')}".strip()


def verdicts(nb: NotebookNode, only: list[str]) -> list[Verdict]:
    """Return the verdict of every test cell of an executed, decided ``nb`` (those in ``only`` if given)."""
    found = []
    for cell in nb.cells:
        if is_test(cell) and (not only or grade_id(cell) in only):
            message = _message(cell)
            points = float(nbgrader_meta(cell).get("points", 0) or 0)
            found.append(Verdict(grade_id(cell), points, not message, message))
    return found


def try_lab(
    cfg: CourseConfig,
    lab: str,
    notebook: Path | None = None,
    only: list[str] | None = None,
    max_epochs: int | None = None,
    prefix: bool = False,
) -> Trial:
    """Run ``lab``'s hidden checks on its source notebook (or the submission ``notebook``); write nothing.

    Parameters
    ----------
    cfg
        The course.
    lab
        The lab (its source notebook holds the checks).
    notebook
        A submission of ``lab`` (default: the source notebook itself, i.e. the reference solution).
    only
        Test ids to try, running only the cells they need (`needed_cells`); default: every test, the
        whole notebook.
    prefix
        With ``only``: run every cell up to the last named test instead (a test whose needs are not seen
        by their names: a cell that changes an object in place).
    max_epochs
        Training cap for the kernel (``$LABKIT_MAX_EPOCHS``; None: the lab's own settings).
    """
    only = list(only or [])
    source_path = cfg.source_notebook(cfg.check_lab(lab))
    if not source_path.is_file():
        raise CourseError(f"{source_path}: missing; run `course-grade sync` (or check the lab's name)")
    source = read_notebook(source_path)
    if notebook is None:
        path, nb = source_path, copy.deepcopy(source)
    elif not notebook.is_file():
        raise CourseError(f"{notebook}: no such notebook; give the path of a submission of {lab}")
    else:
        path, nb = notebook, with_source_cells(source, read_notebook(notebook))
    total = len(nb.cells)
    checks = take_checks(nb)
    nb.cells = nb.cells[: cells_to_run(nb, only, path)]
    if only and not prefix:
        nb.cells = [nb.cells[i] for i in needed_cells(nb, only)]
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    inputs = _probe_inputs(cfg, lab)
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix=f"course-try-{lab}-") as tmp:
        env = kernel_env(cfg, inputs, Path(tmp), max_epochs)
        env.update(reference_store(cfg, lab, Path(tmp) / "train_store"))
        _execute(nb, cfg, env, Path(tmp))
    decide(nb, checks, lab, inputs)
    return Trial(lab, path, len(nb.cells), total, time.monotonic() - start, verdicts(nb, only))


__all__ = ["Trial", "Verdict", "try_lab", "with_source_cells"]
