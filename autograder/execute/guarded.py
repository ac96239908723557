"""``GuardedExecute``: nbgrader's Execute with time limits, graded kernel deaths and tamper evidence.

Configured into ``Autograde.autograde_preprocessors`` by the grading worker (see
:mod:`autograder.execute.isolation`). When the kernel dies (out of memory, ``os._exit``, killed by the
notebook time limit), the cells it could not run get an error output, so nbgrader's own ``SaveAutoGrades``
scores their tests zero, and a note is written to ``notes_file`` for the grader's report. A kernel that
never starts (twice) ran no submitted code: that cause goes to ``failure_file`` and the grader treats the run
as the machine's failure, never as a grade.

The step runs the notebook; each other concern has its own module: the notebook time limit
(:mod:`.deadline`), tamper evidence with the guarded kernel (:mod:`.evidence`), the outputs kept
(:mod:`.outputs`) and the processes a submission left running (:mod:`.processes`).
"""

from __future__ import annotations

import json
import os
import secrets
import signal

from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat import NotebookNode
from nbgrader.preprocessors import Execute
from traitlets import Bool, Integer, Unicode

from autograder.execute.deadline import Deadline
from autograder.execute.evidence import TamperEvidence, instructor_cell
from autograder.execute.outputs import cap_outputs
from autograder.execute.processes import JOB_ENV, kill_job_processes
from autograder.kernel.given import PRELOAD_ENV, imported_modules

TIMEOUT_NAMES = {"CellTimeoutError", "KeyboardInterrupt"}


class GuardedExecute(Execute):
    """Execute every cell; survive a dead or runaway kernel and record why."""

    notebook_timeout = Integer(
        3600,
        help="Wall-clock limit for the whole notebook in seconds (0 = none); set it in nbgrader_config.py.",
    ).tag(config=True)
    notes_file = Unicode("", help="JSON file receiving the notes about this execution.").tag(config=True)
    failure_file = Unicode(
        "",
        help="JSON file receiving the cause when no kernel ever started (the machine's failure, not the "
        "submission's: the grader retries it and never records a grade from it).",
    ).tag(config=True)
    max_output_chars = Integer(100_000, help="Characters kept per text output (the rest is cut).").tag(
        config=True
    )
    max_image_chars = Integer(
        5_000_000,
        help="Characters of base64 image data kept per figure (a larger one is replaced by a note).",
    ).tag(config=True)
    kernel_uid = Integer(
        -1, help="Unprivileged uid the sandboxed kernel runs as (owns its cwd); -1: same."
    ).tag(config=True)
    guard = Bool(
        False, help="The kernel is autograder.kernel.guard: prove every instructor cell ran untampered."
    ).tag(config=True)

    def preprocess(self, nb: NotebookNode, resources=None, km=None):
        """Execute ``nb`` and write the notes file."""
        self._notes: list[str] = []
        self._stopped: str | None = None
        self._evidence = TamperEvidence(self.guard, self.kernel_uid, self._notes)
        if self.guard:  # the guarded kernel imports what the given cells import before its snapshot
            sources = [cell.source for cell in nb.cells if cell.cell_type == "code" and instructor_cell(cell)]
            os.environ[PRELOAD_ENV] = ",".join(["autograder.checks.probe", *imported_modules(sources)])
        self._deadline = Deadline(self.notebook_timeout)
        cwd = (resources or {}).get("metadata", {}).get("path")
        if self.kernel_uid >= 0 and cwd:
            os.chown(cwd, self.kernel_uid, self.kernel_uid)
        try:
            return self._start_and_run(nb, resources, km)
        except (DeadKernelError, RuntimeError) as exc:
            self._stop(f"kernel failed: {type(exc).__name__}: {str(exc)[:200]}")
            if not self._started_cells and self.failure_file:
                with open(self.failure_file, "w") as handle:
                    json.dump({"cause": self._stopped}, handle)
            for cell in nb.cells:
                if cell.cell_type == "code" and not cell.get("outputs"):
                    cell.outputs = [_not_run(self._stopped)]
            return nb, resources
        finally:
            self._kill_leftovers()
            self._evidence.note_given_restored(self.log)
            self._write_notes()

    def _kill_leftovers(self) -> None:
        """Kill what the kernel left running (daemons, fork bombs) before any grade is saved."""
        token = os.environ.get(JOB_ENV)
        if token and kill_job_processes(token):
            self._notes.append("processes left running by the submission were killed")

    def _start_and_run(self, nb: NotebookNode, resources, km):
        """Run the notebook; start a fresh kernel once more when one dies before running any cell.

        Such a death is the machine's, not the submission's (no student code has run): two kernels that
        start at the same moment can pick the same free port, for example.
        """
        self._started_cells = False
        try:
            self._evidence.new_key()
            return super().preprocess(nb, resources, km)
        except (DeadKernelError, RuntimeError):
            if self._started_cells:
                raise
            self.log.warning("kernel died while starting; starting a fresh one")
            self._evidence.new_key()
            return super().preprocess(nb, resources, km)
        finally:
            self._evidence.drop_key_file()

    def preprocess_cell(self, cell: NotebookNode, resources, index: int):
        """Execute one cell, or mark it as not run when the kernel is gone."""
        if not self._started_cells:
            self._started_cells = True
            self._evidence.drop_key_file()  # the kernel has read it; no submitted code has run yet
        if cell.cell_type != "code":
            return cell, resources
        if self._stopped is None and self._deadline.passed():
            self._stop(f"notebook time limit of {self.notebook_timeout} s reached before cell {index}")
        if self._stopped is not None:
            cell.outputs = [_not_run(self._stopped)]
            return cell, resources
        watchdog = self._deadline.watch(lambda: self._kill_kernel(index))
        guarded = self._evidence.guards(cell)
        nonce, source = secrets.token_hex(16), cell.source
        self._reply = None
        try:
            if guarded:
                cell.source = self._evidence.marked(cell, nonce)
            cell, resources = super().preprocess_cell(cell, resources, index)
        except (DeadKernelError, CellTimeoutError) as exc:
            guarded = False  # the kernel is gone: graded as a dead kernel, not as tampering
            if self._stopped is None:
                self._stop(f"kernel died in cell {index} ({type(exc).__name__}: {str(exc)[:120]})")
            cell.outputs = [*cell.get("outputs", []), _not_run(self._stopped)]
        finally:
            cell.source = source
            if watchdog is not None:
                watchdog.cancel()
        if guarded:
            self._evidence.check(cell, index, nonce, self._reply)
        self._note_timeouts(cell, index)
        cap_outputs(cell, self.max_output_chars, self.max_image_chars)
        return cell, resources

    async def _check_raise_for_error(self, cell, cell_index, exec_reply):
        """Keep the execute reply: it carries the guarded kernel's proof."""
        self._reply = exec_reply
        return await super()._check_raise_for_error(cell, cell_index, exec_reply)

    def _kill_kernel(self, index: int) -> None:
        self._stop(f"notebook time limit of {self.notebook_timeout} s reached in cell {index}; kernel killed")
        pid = getattr(getattr(self.km, "provisioner", None), "pid", None)
        if pid:
            for kill in (lambda: os.killpg(pid, signal.SIGKILL), lambda: os.kill(pid, signal.SIGKILL)):
                try:
                    kill()
                except OSError:
                    continue

    def _stop(self, why: str) -> None:
        if self._stopped is None:
            self._stopped = why
            self._notes.append(why)

    def _note_timeouts(self, cell: NotebookNode, index: int) -> None:
        names = {out.get("ename") for out in cell.get("outputs", []) if out.get("output_type") == "error"}
        if names & TIMEOUT_NAMES and self._stopped is None:
            self._notes.append(f"cell {index} interrupted after the per-cell limit of {self.timeout} s")

    def _write_notes(self) -> None:
        if self.notes_file:
            with open(self.notes_file, "w") as handle:
                json.dump(self._notes, handle)


def _not_run(why: str | None) -> NotebookNode:
    message = f"not executed: {why}"
    return NotebookNode(
        output_type="error", ename="NotExecuted", evalue=message, traceback=[f"NotExecuted: {message}"]
    )
