"""The grader half of a hidden check: decide a test cell from its probe's plain data, outside the kernel.

A hidden-test region holds two parts (docs/authoring.md, "Writing a hidden check"):

- the probe, run in the student's kernel, which calls the submission's code and passes the raw results
  to :func:`autograder.checks.probe.emit`;
- a ``### BEGIN GRADER CHECK`` / ``### END GRADER CHECK`` region, which never reaches the kernel: it
  defines a ``check_<name>(results)`` function that runs in the grading process on ``results`` (name ->
  what the probe emitted) and raises ``AssertionError`` with the message the student sees when the
  submission is wrong;
- optionally, a ``### BEGIN SHARED INPUT`` / ``### END SHARED INPUT`` block (outside the check region): a
  crafted input written once. It stays in the cell, so the probe builds the input in the kernel, and its
  code is put before the check region's, so the check builds its own copy in the grading process from the
  instructor's source: the input is never taken back from the kernel, which a submission could alter.

Two nbgrader preprocessors, configured around ``Execute`` in ``Autograde.autograde_preprocessors`` (the
course's ``nbgrader_config.py``, so plain ``nbgrader autograde`` and ``course-grade grade`` decide alike):

- `PrepareHiddenChecks` takes the check regions out of the test cells before execution and makes the
  probe inputs (a lab's evaluation signals, :mod:`autograder.checks.evaluation`) readable by the kernel;
- `DecideHiddenChecks` reads each test cell's probe outputs, removes them, runs its check and, when the
  check fails, adds the error output that makes nbgrader's ``SaveAutoGrades`` score the cell zero.
"""

from __future__ import annotations

import inspect
import os
import re
import traceback
from pathlib import Path
from typing import Any, NamedTuple

from nbformat import NotebookNode
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Dict, Unicode

from autograder.cells import nbgrader_meta, split_regions
from autograder.checks.evaluation import labels_reader
from autograder.checks.probe import ARRAY, INPUTS_ENV, MIME, NOT_PLAIN

BEGIN_CHECK = re.compile(r"^\s*#+\s*BEGIN GRADER CHECK")
END_CHECK = re.compile(r"^\s*#+\s*END GRADER CHECK")
BEGIN_SHARED = re.compile(r"^\s*#+\s*BEGIN SHARED INPUT")
END_SHARED = re.compile(r"^\s*#+\s*END SHARED INPUT")
#: ``resources`` key of the check code taken out of the cells, by grade id.
RESOURCE = "course_hidden_checks"
#: ``resources`` key of the probe inputs folder (None when the lab has none).
INPUTS_RESOURCE = "course_probe_inputs"


class CheckFailedError(AssertionError):
    """A probe result that cannot be checked (missing, emitted twice, or not plain data)."""


class FindingError(AssertionError):
    """A failed check the instructor should see too: its message also becomes a note of the submission."""


#: Exceptions a lab's visible checks raise for a finding (labkit.labs.ecg.NotOwnModelError): a graded cell
#: that ends with one is noted like a grader-side `FindingError`.
VISIBLE_FINDINGS = ("NotOwnModelError",)


class Failure(NamedTuple):
    """Why a cell's hidden check failed: the message the student reads, and whether it is a `FindingError`."""

    message: str
    finding: bool = False


def has_check(source: str) -> bool:
    """Return True when ``source`` holds a grader-check region."""
    return any(BEGIN_CHECK.match(line) for line in source.splitlines())


def split_checks(source: str) -> tuple[str, str]:
    """Return ``source`` without its grader-check regions, and the code the grading process runs.

    That code is the cell's shared-input blocks followed by its grader-check regions: the probe (left in
    ``source``) and the check each build the shared input from their own copy of the same lines.

    Raises
    ------
    ValueError
        When a region is not closed, or a shared-input block lies inside a grader-check region.
    """
    kept, check, closed = split_regions(source, BEGIN_CHECK, END_CHECK)
    if not closed:
        raise ValueError("a '### BEGIN GRADER CHECK' region has no '### END GRADER CHECK'")
    if any(BEGIN_SHARED.match(line) for line in check):
        raise ValueError(
            "a '### BEGIN SHARED INPUT' block is inside the grader check; put it before "
            "'### BEGIN GRADER CHECK', where the probe runs it too"
        )
    shared = shared_input(source)
    return "\n".join(kept), "\n".join([*shared, *check])


def shared_input(source: str) -> list[str]:
    """Return the lines of ``source``'s shared-input blocks (markers dropped).

    Raises
    ------
    ValueError
        When a block is not closed.
    """
    _, shared, closed = split_regions(source, BEGIN_SHARED, END_SHARED)
    if not closed:
        raise ValueError("a '### BEGIN SHARED INPUT' block has no '### END SHARED INPUT'")
    return shared


def decode(value: Any) -> Any:
    """Return emitted plain data with numpy arrays rebuilt (markers of non-plain values kept)."""
    if isinstance(value, list):
        return [decode(item) for item in value]
    if isinstance(value, dict):
        if set(value) == {ARRAY}:
            import numpy as np

            spec = value[ARRAY]
            return np.array(spec["data"], dtype=np.dtype(spec["dtype"])).reshape(spec["shape"])
        return {key: decode(item) for key, item in value.items()}
    return value


def _not_plain(value: Any) -> str | None:
    """Return the first "not plain data" message inside ``value`` (None when it is all plain)."""
    if isinstance(value, dict):
        if NOT_PLAIN in value:
            return str(value[NOT_PLAIN])
        value = list(value.values())
    if isinstance(value, list):
        for item in value:
            found = _not_plain(item)
            if found:
                return found
    return None


class Results(dict):
    """What a cell's probe emitted, by name; a missing or non-plain result fails the check clearly."""

    def __init__(self, emitted: dict[str, Any], duplicated: set[str]) -> None:
        super().__init__(emitted)
        self.duplicated = duplicated

    def __missing__(self, name: str) -> Any:
        raise CheckFailedError(f"the hidden test got no result {name!r}: the cell stopped before it")

    def __getitem__(self, name: str) -> Any:
        if name in self.duplicated:
            raise CheckFailedError(
                f"{name!r} was reported more than once: code of the submission wrote to the grader"
            )
        value = super().__getitem__(name)
        problem = _not_plain(value)
        if problem:
            raise CheckFailedError(f"{problem} (return numbers, strings, lists, dicts or numpy arrays)")
        return decode(value)


def _probe_outputs(cell: NotebookNode) -> tuple[dict[str, Any], set[str]]:
    """Remove the probe outputs of ``cell`` and return them by name, with the names seen twice."""
    emitted: dict[str, Any] = {}
    duplicated: set[str] = set()
    kept = []
    for out in cell.get("outputs", []):
        data = out.get("data", {}) if out.get("output_type") == "display_data" else {}
        if MIME not in data:
            kept.append(out)
            continue
        payload = data[MIME] if isinstance(data[MIME], dict) else {}
        name = str(payload.get("name", ""))
        if name in emitted:
            duplicated.add(name)
        emitted[name] = payload.get("value")
    cell.outputs = kept
    return emitted, duplicated


def _error(message: str) -> NotebookNode:
    return NotebookNode(
        output_type="error",
        ename="AssertionError",
        evalue=message,
        traceback=[f"AssertionError: {message}"],
    )


def _visible_findings(cell: NotebookNode) -> list[NotebookNode]:
    return [
        out
        for out in cell.get("outputs", [])
        if out.get("output_type") == "error" and out.get("ename") in VISIBLE_FINDINGS
    ]


def _has_error(cell: NotebookNode) -> bool:
    return any(out.get("output_type") == "error" for out in cell.get("outputs", []))


class PrepareHiddenChecks(NbGraderPreprocessor):
    """Take the grader-check regions out of the test cells and give the kernel its probe inputs."""

    evaluation_dir = Unicode(
        "",
        help="Folder of the probe inputs: '<lab>.npy' the kernel may read, '<lab>.labels.npy' it must "
        "not (default: .grading/evaluation/<lab>-<digest> under the course root, built when missing).",
    ).tag(config=True)
    evaluation_files = Dict(
        {},
        help="Lab -> an instructor's held-out file (same format as the lab's data file) whose signals the "
        "probes classify; a lab of a synthetic course that names none draws them from the generator.",
    ).tag(config=True)

    def preprocess(self, nb: NotebookNode, resources: dict[str, Any]) -> tuple[NotebookNode, dict[str, Any]]:
        """Move the check code into ``resources`` and export the inputs folder to the kernel."""
        resources[RESOURCE] = take_checks(nb)
        folder = self._inputs(resources)
        resources[INPUTS_RESOURCE] = folder
        if folder is not None:
            os.environ[INPUTS_ENV] = str(folder)
        return nb, resources

    def _inputs(self, resources: dict[str, Any]) -> Path | None:
        """Return the folder of this lab's probe inputs (built when missing), or None when it has none."""
        from autograder.checks.evaluation import ensure_inputs

        lab = resources.get("nbgrader", {}).get("assignment")
        if lab not in self.evaluation_files:
            return None
        held_out = str(self.evaluation_files[lab] or "")
        folder = Path(self.evaluation_dir) if self.evaluation_dir else None
        return ensure_inputs(_course_root(self), lab, held_out, folder)


def _course_root(step: NbGraderPreprocessor) -> Path:
    from nbgrader.coursedir import CourseDirectory

    return Path(CourseDirectory(parent=step.parent, config=step.config).root)


class DecideHiddenChecks(NbGraderPreprocessor):
    """Decide every hidden check from its probe's results, in the grading process."""

    notes_file = Unicode(
        "",
        help="JSON list of the run's notes (GuardedExecute's notes file) that findings are appended to; "
        "'' keeps them in the notebook's error outputs only.",
    ).tag(config=True)

    def preprocess(self, nb: NotebookNode, resources: dict[str, Any]) -> tuple[NotebookNode, dict[str, Any]]:
        """Run the check of every test cell that has one; a failure becomes the cell's error output."""
        lab = resources.get("nbgrader", {}).get("assignment")
        findings = decide(nb, resources.get(RESOURCE, {}), lab, resources.get(INPUTS_RESOURCE))
        if findings and self.notes_file:
            append_notes(Path(self.notes_file), findings)
        return nb, resources


def append_notes(path: Path, notes: list[str]) -> None:
    """Append ``notes`` to the JSON list in ``path`` (created when missing), atomically."""
    import json

    from labkit.files import atomic_write

    existing = json.loads(path.read_text()) if path.is_file() else []
    text = json.dumps([*existing, *notes])
    atomic_write(path, lambda tmp: tmp.write_text(text))


def take_checks(nb: NotebookNode) -> dict[str, str]:
    """Take the grader-check regions out of ``nb``'s test cells (in place); return their code by grade id."""
    checks = {}
    for cell in nb.cells:
        meta = nbgrader_meta(cell)
        if cell.cell_type == "code" and meta.get("grade") and has_check(cell.source or ""):
            cell.source, checks[meta["grade_id"]] = split_checks(cell.source)
    return checks


def decide(nb: NotebookNode, checks: dict[str, str], lab: str | None, folder: Path | None) -> list[str]:
    """Decide the checks of an executed ``nb`` (in place): probe outputs removed, failures as error outputs.

    Every check region is defined first, in notebook order, each in a copy of what the earlier regions
    defined, so a region may use a helper an earlier region defined and no later region changes the names
    its checks read; each cell then runs the ``check_*`` functions its own region defines. A cell that
    already failed (its visible test, its probe, or it was not executed) keeps its error and its checks
    are not run.

    Returns
    -------
    list of str
        The findings (failures raised as `FindingError`) as notes: "<test id>: <message>".
    """
    namespace: dict[str, Any] = {"__name__": "grader_checks"}
    defined = {gid: _define(code, namespace, lab) for gid, code in checks.items()}
    arguments = {"evaluation_labels": labels_reader(folder, lab)}
    findings = []
    for cell in nb.cells:
        emitted, duplicated = _probe_outputs(cell) if cell.cell_type == "code" else ({}, set())
        gid = nbgrader_meta(cell).get("grade_id")
        if gid not in defined or _has_error(cell):
            findings += [f"{gid}: {out.get('evalue', '')}" for out in _visible_findings(cell)]
            continue
        failure = run_checks(defined[gid], {**arguments, "results": Results(emitted, duplicated)})
        if failure is not None:
            cell.outputs = [*cell.get("outputs", []), _error(failure.message)]
            if failure.finding:
                findings.append(f"{gid}: {failure.message}")
    return findings


def _define(code: str, namespace: dict[str, Any], lab: str | None) -> list[Any] | str:
    """Run one check region's definitions; return its check functions (or the error).

    The region runs in its own copy of ``namespace`` (what earlier regions defined), so a later region that
    binds the same name (another cell's shared input, say) does not change what this region's checks read;
    its new names are then added to ``namespace`` for the regions after it.
    """
    own = dict(namespace)
    try:
        exec(compile(code, f"<grader check of {lab}>", "exec"), own)  # noqa: S102 (instructor code)
    except Exception as exc:  # noqa: BLE001 (the course's own bug, reported on the cell)
        return f"hidden check could not be defined: {_last_line(exc)}"
    new = {name: value for name, value in own.items() if namespace.get(name) is not value}
    namespace.update(new)
    checks = [value for name, value in new.items() if name.startswith("check") and inspect.isfunction(value)]
    return checks or "hidden check could not decide: the grader-check region defines no check_* function"


def run_checks(checks: list[Any] | str, arguments: dict[str, Any]) -> Failure | None:
    """Call each check with the arguments it names; return why it failed (None: passed).

    The arguments are ``results`` (what the cell's probe emitted) and ``evaluation_labels`` (a function
    returning the labels of the lab's evaluation signals, `autograder.checks.evaluation`).
    """
    if isinstance(checks, str):
        return Failure(checks)
    try:
        for check in checks:
            check(**{name: arguments[name] for name in inspect.signature(check).parameters})
    except AssertionError as exc:
        return Failure(str(exc) or "hidden check failed", isinstance(exc, FindingError))
    except Exception as exc:  # noqa: BLE001 (a check's own bug is reported on the cell, never hidden)
        return Failure(f"hidden check could not decide: {_last_line(exc)}")
    return None


def _last_line(exc: BaseException) -> str:
    return traceback.format_exception_only(type(exc), exc)[-1].strip()
