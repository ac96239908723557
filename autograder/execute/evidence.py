"""Tamper evidence of one notebook run: the guard key each kernel gets, and what each proof says.

With the guarded kernel (:mod:`autograder.kernel.guard`), every instructor cell (locked given code or a
test) is sent with a one-time nonce; the kernel restores IPython's pristine execution path before running
it and signs the outcome with a key written for this kernel only (a file it reads at start-up and that is
deleted before the first cell runs). A missing or wrong proof, a restored hook, or a removed error output
is kernel tampering: that cell and every later test cell get a ``KernelTampering`` error (scored zero) and
the note "kernel tampering detected: ..." once.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from logging import Logger

from nbformat import NotebookNode

from autograder.cells import grade_id, nbgrader_meta


def instructor_cell(cell: NotebookNode) -> bool:
    """Return True for the cells nbgrader restores from the source: locked given code and tests."""
    meta = nbgrader_meta(cell)
    return bool(meta.get("locked") or meta.get("grade")) and not meta.get("solution")


class TamperEvidence:
    """What the guarded kernel proves about one notebook run; notes go to the shared ``notes`` list.

    Parameters
    ----------
    enabled
        The kernel is the guarded kernel (otherwise nothing here does anything).
    kernel_uid
        The uid the kernel runs as (it must read its key file); -1: the grader's.
    notes
        The run's notes, appended to.
    """

    def __init__(self, enabled: bool, kernel_uid: int, notes: list[str]) -> None:
        self.enabled, self.kernel_uid, self.notes = enabled, kernel_uid, notes
        self.tampered: str | None = None
        self._key, self._key_file = b"", ""
        self._given_restored: dict[str, int] = {}
        self._given_seconds, self._given_error = 0.0, ""

    def new_key(self) -> None:
        """Write a fresh key for the next kernel to read at start-up (the file is gone before cell 1)."""
        from autograder.kernel.guard import KEY_ENV

        self._key = b""
        if not self.enabled:
            return
        self._key = secrets.token_bytes(32)
        fd, path = tempfile.mkstemp(prefix="guard-", suffix=".key")
        with os.fdopen(fd, "wb") as handle:
            handle.write(self._key)
        if self.kernel_uid >= 0:
            os.chown(path, self.kernel_uid, self.kernel_uid)
        self._key_file = path
        os.environ[KEY_ENV] = path

    def drop_key_file(self) -> None:
        """Delete the key file (the kernel has read it, or will never start)."""
        if self._key_file:
            try:
                os.unlink(self._key_file)
            except FileNotFoundError:
                pass
            self._key_file = ""

    def guards(self, cell: NotebookNode) -> bool:
        """Return whether ``cell`` must prove that it ran untampered."""
        return self.enabled and instructor_cell(cell)

    @staticmethod
    def marked(cell: NotebookNode, nonce: str) -> str:
        """Return the source the kernel receives for a guarded cell (marker, nonce, graded flag)."""
        from autograder.kernel.guard import GRADED_FLAG, MARKER

        flag = f" {GRADED_FLAG}" if nbgrader_meta(cell).get("grade") else ""
        return f"{MARKER}{nonce}{flag}\n{cell.source}"

    def check(self, cell: NotebookNode, index: int, nonce: str, reply: dict | None) -> None:
        """Score the cell zero when the kernel cannot prove it ran the cell untampered."""
        from autograder.kernel.guard import verify

        content = (reply or {}).get("content", {})
        valid, restored = verify(self._key, nonce, content)
        if valid:
            guard = content.get("course_guard", {})
            for name in guard.get("given_restored", []):
                self._given_restored.setdefault(str(name), index)
            self._given_seconds = guard.get("given_seconds", 0.0)
            self._given_error = str(guard.get("given_error", ""))
        where = f"cell {index} ({grade_id(cell) or 'given code'})"
        if self.tampered is None and not valid:
            self._tamper(f"{where} did not prove that it ran: the kernel's execution path was replaced")
        elif self.tampered is None and restored:
            self._tamper(f"{', '.join(restored[:6])} changed by the submission (found before {where})")
        elif valid and content.get("status") == "error" and not _has_error(cell):
            self._tamper(f"the error output of {where} was removed")
        if self.tampered is not None and nbgrader_meta(cell).get("grade"):
            cell.outputs = [*cell.get("outputs", []), _tampering(self.tampered)]

    def _tamper(self, why: str) -> None:
        if self.tampered is None:
            self.tampered = why
            self.notes.append(f"kernel tampering detected: {why}; this and every later test scored 0")

    def note_given_restored(self, log: Logger) -> None:
        """Add one note naming what the submission changed of the given names and libraries (restored)."""
        log.info("given names and libraries: %.2f s in the kernel", self._given_seconds)
        if self._given_error:
            self.notes.append(f"given names and libraries could not be kept as given: {self._given_error}")
        if self._given_restored:
            names = sorted(self._given_restored, key=self._given_restored.get)
            first = min(self._given_restored.values())
            shown = ", ".join(names[:8]) + (f" and {len(names) - 8} more" if len(names) > 8 else "")
            self.notes.append(
                f"given names or library functions changed by the submission were restored before the "
                f"instructor's cells (first before cell {first}): {shown}"
            )


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
