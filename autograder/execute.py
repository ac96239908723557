"""``GuardedExecute``: nbgrader's Execute with a per-notebook wall clock and graded kernel deaths.

Configured into ``Autograde.autograde_preprocessors`` (a configuration, not a fork). When the kernel dies
(out of memory, ``os._exit``, killed by the notebook time limit), the cells it could not run get an error
output, so nbgrader's own ``SaveAutoGrades`` scores their tests zero, and a note is written to
``notes_file`` for the grader's report.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time

from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat import NotebookNode
from nbgrader.preprocessors import Execute
from traitlets import Integer, Unicode

TIMEOUT_NAMES = {"CellTimeoutError", "KeyboardInterrupt"}


class GuardedExecute(Execute):
    """Execute every cell; survive a dead or runaway kernel and record why."""

    notebook_timeout = Integer(0, help="Wall-clock limit for the whole notebook in seconds (0 = none).").tag(
        config=True
    )
    notes_file = Unicode("", help="JSON file receiving the notes about this execution.").tag(config=True)
    max_output_chars = Integer(100_000, help="Characters kept per text output (the rest is cut).").tag(
        config=True
    )
    kernel_uid = Integer(
        -1, help="Unprivileged uid the sandboxed kernel runs as (owns its cwd); -1: same."
    ).tag(config=True)

    def preprocess(self, nb: NotebookNode, resources=None, km=None):
        """Execute ``nb`` and write the notes file."""
        self._notes: list[str] = []
        self._stopped: str | None = None
        self._deadline = time.monotonic() + self.notebook_timeout if self.notebook_timeout else None
        cwd = (resources or {}).get("metadata", {}).get("path")
        if self.kernel_uid >= 0 and cwd:
            os.chown(cwd, self.kernel_uid, self.kernel_uid)
        try:
            return self._start_and_run(nb, resources, km)
        except (DeadKernelError, RuntimeError) as exc:
            self._stop(f"kernel failed: {type(exc).__name__}: {str(exc)[:200]}")
            for cell in nb.cells:
                if cell.cell_type == "code" and not cell.get("outputs"):
                    cell.outputs = [_not_run(self._stopped)]
            return nb, resources
        finally:
            self._kill_leftovers()
            self._write_notes()

    def _kill_leftovers(self) -> None:
        """Kill what the kernel left running (daemons, fork bombs) before any grade is saved."""
        from autograder.worker import JOB_ENV, kill_job_processes

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
            return super().preprocess(nb, resources, km)
        except (DeadKernelError, RuntimeError):
            if self._started_cells:
                raise
            self.log.warning("kernel died while starting; starting a fresh one")
            return super().preprocess(nb, resources, km)

    def preprocess_cell(self, cell: NotebookNode, resources, index: int):
        """Execute one cell, or mark it as not run when the kernel is gone."""
        self._started_cells = True
        if cell.cell_type != "code":
            return cell, resources
        if self._stopped is None and self._deadline is not None and time.monotonic() >= self._deadline:
            self._stop(f"notebook time limit of {self.notebook_timeout} s reached before cell {index}")
        if self._stopped is not None:
            cell.outputs = [_not_run(self._stopped)]
            return cell, resources
        watchdog = self._start_watchdog(index)
        try:
            cell, resources = super().preprocess_cell(cell, resources, index)
        except (DeadKernelError, CellTimeoutError) as exc:
            if self._stopped is None:
                self._stop(f"kernel died in cell {index} ({type(exc).__name__}: {str(exc)[:120]})")
            cell.outputs = [*cell.get("outputs", []), _not_run(self._stopped)]
        finally:
            if watchdog is not None:
                watchdog.cancel()
        self._note_timeouts(cell, index)
        self._truncate(cell)
        return cell, resources

    def _truncate(self, cell: NotebookNode) -> None:
        """Cut megabyte outputs (nbgrader's LimitOutput counts lines, not characters)."""
        limit = self.max_output_chars
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream" and len(out.get("text", "")) > limit:
                out["text"] = out["text"][:limit] + f"\n... output cut at {limit} characters\n"
            for key, value in out.get("data", {}).items():
                if isinstance(value, str) and len(value) > limit:
                    out["data"][key] = value[:limit] + "\n... cut"

    def _start_watchdog(self, index: int) -> threading.Timer | None:
        if self._deadline is None:
            return None
        timer = threading.Timer(max(0.0, self._deadline - time.monotonic()), self._kill_kernel, args=(index,))
        timer.daemon = True
        timer.start()
        return timer

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
