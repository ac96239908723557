"""``GuardedExecute``: nbgrader's Execute with time limits, graded kernel deaths and tamper evidence.

Configured into ``Autograde.autograde_preprocessors`` by the grading worker (see
:mod:`autograder.execute.isolation`). When the kernel dies (out of memory, ``os._exit``, killed by the
notebook time limit), the cells it could not run get an error output, so nbgrader's own ``SaveAutoGrades``
scores their tests zero, and a note is written to ``notes_file`` for the grader's report. A kernel that never
starts (twice) ran no submitted code: that cause goes to ``failure_file`` and the grader treats the run as the
machine's failure, never as a grade.

With ``guard`` on (the kernel is :mod:`autograder.kernel.guard`), every locked or test cell is sent with a
one-time nonce: the kernel restores IPython's pristine execution path before running it and signs the
outcome with a key written for this kernel only. A missing or wrong proof, or a restored hook, is kernel
tampering: that cell and every later test cell get a ``KernelTampering`` error (scored zero) and the note
"kernel tampering detected: ..." once.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import tempfile
import threading
import time

from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat import NotebookNode
from nbgrader.preprocessors import Execute
from traitlets import Bool, Integer, Unicode

from autograder.cells import grade_id, nbgrader_meta
from autograder.checks.probe import MIME
from autograder.execute.processes import JOB_ENV, kill_job_processes
from autograder.kernel.given import PRELOAD_ENV, imported_modules

TIMEOUT_NAMES = {"CellTimeoutError", "KeyboardInterrupt"}


class GuardedExecute(Execute):
    """Execute every cell; survive a dead or runaway kernel and record why."""

    notebook_timeout = Integer(0, help="Wall-clock limit for the whole notebook in seconds (0 = none).").tag(
        config=True
    )
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
        self._tampered: str | None = None
        self._given_restored: dict[str, int] = {}
        if self.guard:  # the guarded kernel imports what the given cells import before its snapshot
            sources = [
                cell.source for cell in nb.cells if cell.cell_type == "code" and _instructor_cell(cell)
            ]
            os.environ[PRELOAD_ENV] = ",".join(["autograder.checks.probe", *imported_modules(sources)])
        self._deadline = time.monotonic() + self.notebook_timeout if self.notebook_timeout else None
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
            self._note_given_restored()
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
            self._new_guard_key()
            return super().preprocess(nb, resources, km)
        except (DeadKernelError, RuntimeError):
            if self._started_cells:
                raise
            self.log.warning("kernel died while starting; starting a fresh one")
            self._new_guard_key()
            return super().preprocess(nb, resources, km)
        finally:
            self._drop_key_file()

    def _new_guard_key(self) -> None:
        """Write a fresh key for the next kernel to read at start-up (the file is gone before cell 1)."""
        from autograder.kernel.guard import KEY_ENV

        self._guard_key = b""
        if not self.guard:
            return
        self._guard_key = secrets.token_bytes(32)
        fd, path = tempfile.mkstemp(prefix="guard-", suffix=".key")
        with os.fdopen(fd, "wb") as handle:
            handle.write(self._guard_key)
        if self.kernel_uid >= 0:
            os.chown(path, self.kernel_uid, self.kernel_uid)
        self._key_file = path
        os.environ[KEY_ENV] = path

    def _drop_key_file(self) -> None:
        path = getattr(self, "_key_file", "")
        if path:
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
            self._key_file = ""

    def preprocess_cell(self, cell: NotebookNode, resources, index: int):
        """Execute one cell, or mark it as not run when the kernel is gone."""
        if not self._started_cells:
            self._started_cells = True
            self._drop_key_file()  # the kernel has read it; no submitted code has run yet
        if cell.cell_type != "code":
            return cell, resources
        if self._stopped is None and self._deadline is not None and time.monotonic() >= self._deadline:
            self._stop(f"notebook time limit of {self.notebook_timeout} s reached before cell {index}")
        if self._stopped is not None:
            cell.outputs = [_not_run(self._stopped)]
            return cell, resources
        watchdog = self._start_watchdog(index)
        guarded = self.guard and _instructor_cell(cell)
        nonce, source = secrets.token_hex(16), cell.source
        self._reply = None
        try:
            if guarded:
                from autograder.kernel.guard import GRADED_FLAG, MARKER

                flag = f" {GRADED_FLAG}" if nbgrader_meta(cell).get("grade") else ""
                cell.source = f"{MARKER}{nonce}{flag}\n{source}"
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
            self._check_proof(cell, index, nonce)
        self._note_timeouts(cell, index)
        self.truncate_outputs(cell)
        return cell, resources

    async def _check_raise_for_error(self, cell, cell_index, exec_reply):
        """Keep the execute reply: it carries the guarded kernel's proof."""
        self._reply = exec_reply
        return await super()._check_raise_for_error(cell, cell_index, exec_reply)

    def _check_proof(self, cell: NotebookNode, index: int, nonce: str) -> None:
        """Score the cell zero when the kernel cannot prove it ran the cell untampered (see module doc)."""
        from autograder.kernel.guard import verify

        content = (self._reply or {}).get("content", {})
        valid, restored = verify(self._guard_key, nonce, content)
        if valid:
            guard = content.get("course_guard", {})
            for name in guard.get("given_restored", []):
                self._given_restored.setdefault(str(name), index)
            self._given_seconds = guard.get("given_seconds", 0.0)
            self._given_error = str(guard.get("given_error", ""))
        where = f"cell {index} ({grade_id(cell) or 'given code'})"
        if self._tampered is None and not valid:
            self._tamper(f"{where} did not prove that it ran: the kernel's execution path was replaced")
        elif self._tampered is None and restored:
            self._tamper(f"{', '.join(restored[:6])} changed by the submission (found before {where})")
        elif valid and content.get("status") == "error" and not _has_error(cell):
            self._tamper(f"the error output of {where} was removed")
        if self._tampered is not None and nbgrader_meta(cell).get("grade"):
            cell.outputs = [*cell.get("outputs", []), _tampering(self._tampered)]

    def _tamper(self, why: str) -> None:
        if self._tampered is None:
            self._tampered = why
            self._notes.append(f"kernel tampering detected: {why}; this and every later test scored 0")

    def _note_given_restored(self) -> None:
        """One note naming what the submission changed of the given names and libraries (restored)."""
        self.log.info("given names and libraries: %.2f s in the kernel", getattr(self, "_given_seconds", 0.0))
        if getattr(self, "_given_error", ""):
            self._notes.append(f"given names and libraries could not be kept as given: {self._given_error}")
        if self._given_restored:
            names = sorted(self._given_restored, key=self._given_restored.get)
            first = min(self._given_restored.values())
            shown = ", ".join(names[:8]) + (f" and {len(names) - 8} more" if len(names) > 8 else "")
            self._notes.append(
                f"given names or library functions changed by the submission were restored before the "
                f"instructor's cells (first before cell {first}): {shown}"
            )

    def truncate_outputs(self, cell: NotebookNode) -> None:
        """Cut megabyte text outputs (nbgrader's LimitOutput counts lines, not characters).

        Text is cut at ``max_output_chars``; image data is never cut (a cut image is a broken image): an
        image over ``max_image_chars`` is replaced by one line saying so. Probe results (``MIME``) are
        left whole for the grader, which removes them once it has decided.
        """
        limit = self.max_output_chars
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream" and len(out.get("text", "")) > limit:
                out["text"] = out["text"][:limit] + f"\n... output cut at {limit} characters\n"
            data = out.get("data", {})
            for key, value in list(data.items()):
                if key == MIME or not isinstance(value, str):
                    continue
                if key.startswith("image/"):
                    if len(value) > self.max_image_chars:
                        del data[key]
                        data["text/plain"] = (
                            f"[{key} figure of {len(value)} characters withheld: over the limit]"
                        )
                elif len(value) > limit:
                    data[key] = value[:limit] + "\n... cut"

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


def _instructor_cell(cell: NotebookNode) -> bool:
    """Return True for the cells nbgrader restores from the source: locked given code and tests."""
    meta = nbgrader_meta(cell)
    return bool(meta.get("locked") or meta.get("grade")) and not meta.get("solution")


def _has_error(cell: NotebookNode) -> bool:
    return any(out.get("output_type") == "error" for out in cell.get("outputs", []))


def _tampering(why: str) -> NotebookNode:
    message = f"kernel tampering detected: {why}"
    return NotebookNode(
        output_type="error",
        ename="KernelTampering",
        evalue=message,
        traceback=[f"KernelTampering: {message}"],
    )


def _not_run(why: str | None) -> NotebookNode:
    message = f"not executed: {why}"
    return NotebookNode(
        output_type="error", ename="NotExecuted", evalue=message, traceback=[f"NotExecuted: {message}"]
    )
