"""Every student's answer to one question, with the outputs of the cells the question is about.

Read from ``autograded/<student>/<lab>/<lab>.ipynb`` (the notebook nbgrader graded, outputs included).
Only ``text/plain`` and ``image/png`` outputs are kept: the view shows them as text and as an image, so no
markup a student's code printed is ever rendered in the grader's browser.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from autograder.cells import grade_id
from autograder.config import CourseConfig
from autograder.manual.questions import is_untouched

#: Lines of a long text output kept (its end: the final numbers of a training log).
MAX_LINES = 40


@dataclass(frozen=True)
class Output:
    """One output of a shown cell: ``kind`` is ``text`` or ``png`` (base64)."""

    kind: str
    data: str


@dataclass(frozen=True)
class Shown:
    """The outputs of one declared cell of a student's notebook."""

    cell: str
    outputs: tuple[Output, ...]


@dataclass(frozen=True)
class Written:
    """What a student's notebook holds for one question: the answer text and the shown outputs."""

    text: str
    shown: tuple[Shown, ...]
    found: bool
    notebook: bool = True

    @property
    def untouched(self) -> bool:
        """Return whether the student wrote nothing: an empty cell, the stub, or no answer cell at all."""
        return self.notebook and (not self.found or is_untouched(self.text))


def _text(value) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def _tail(text: str) -> str:
    lines = text.replace("\r", "\n").splitlines()
    kept = [line for line in lines if line.strip()]
    cut = kept[-MAX_LINES:]
    return ("…\n" if len(kept) > MAX_LINES else "") + "\n".join(cut)


def cell_outputs(cell: dict) -> tuple[Output, ...]:
    """Return the text and PNG outputs of a code cell (streams joined, long texts cut to their end)."""
    found: list[Output] = []
    stream = "".join(
        _text(o.get("text", "")) for o in cell.get("outputs", []) if o["output_type"] == "stream"
    )
    if stream.strip():
        found.append(Output("text", _tail(stream)))
    for output in cell.get("outputs", []):
        data = output.get("data", {})
        if output["output_type"] == "error":
            found.append(Output("text", f"{output.get('ename')}: {output.get('evalue')}"))
        elif "image/png" in data:
            found.append(Output("png", _text(data["image/png"]).replace("\n", "")))
        elif "text/plain" in data:
            found.append(Output("text", _tail(_text(data["text/plain"]))))
    return tuple(found)


def written(path: Path, question: str, show: tuple[str, ...]) -> Written:
    """Return the answer to ``question`` and the outputs of the ``show`` cells in the notebook ``path``."""
    if not path.is_file():
        return Written("", tuple(Shown(s, ()) for s in show), found=False, notebook=False)
    cells = {grade_id(c): c for c in json.loads(path.read_text()).get("cells", []) if grade_id(c)}
    answer = cells.get(question)
    shown = tuple(Shown(s, cell_outputs(cells[s]) if s in cells else ()) for s in show)
    return Written(_text(answer["source"]) if answer else "", shown, answer is not None)


class NotebookCache:
    """Answers read from autograded notebooks, kept until the notebook file changes."""

    def __init__(self) -> None:
        self._entries: dict[tuple[Path, str, tuple[str, ...]], tuple[float, Written]] = {}

    def get(self, cfg: CourseConfig, lab: str, student: str, question: str, show: tuple[str, ...]) -> Written:
        """Return what ``student``'s autograded notebook of ``lab`` holds for ``question``."""
        path = cfg.autograded_notebook(student, lab)
        stamp = path.stat().st_mtime_ns if path.is_file() else -1.0
        key = (path, question, show)
        cached = self._entries.get(key)
        if cached is None or cached[0] != stamp:
            cached = self._entries[key] = (stamp, written(path, question, show))
        return cached[1]
