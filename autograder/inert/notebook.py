"""A notebook whose outputs and markdown can be opened by a grader without running anything it carries.

`make_inert` keeps, per output, only MIME types that render as data (``text/plain``, ``image/png``,
``image/jpeg``, ``image/gif``, ``application/json``), cleans those that are markup (``text/html`` through
the allowlist of `autograder.inert.html`, ``text/markdown`` and LaTeX through `autograder.inert.markdown`,
``image/svg+xml`` through `autograder.inert.svg`) and drops the rest (``application/javascript``, widget
views, anything unknown), leaving a short visible note in ``text/plain`` where something was dropped.
Output metadata keeps only what the HTML templates read as data (numeric ``width``/``height``, ``alt``,
``unconfined``, ``needs_background``: nbconvert writes ``width`` into an unquoted attribute). Markdown
cells, their attachments and raw HTML cells are cleaned the same way, and the notebook's saved widget
state (which nbconvert's pages hand to a widget manager loaded from a CDN) is removed.

`MakeInert` is the same as an nbgrader/nbconvert preprocessor, configured in the course's
``nbgrader_config.py`` as the last autograde step (what ``autograded/`` stores), a feedback step and a
step of every ``HTMLExporter`` (formgrader's submission page).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nbformat import NotebookNode
from nbgrader.preprocessors import NbGraderPreprocessor

from autograder.inert.html import clean_html
from autograder.inert.markdown import inert_latex, inert_markdown
from autograder.inert.svg import clean_svg

#: MIME types shown as data: kept as they are.
KEPT = {"text/plain", "image/png", "image/jpeg", "image/gif", "application/json"}
#: MIME types that are markup: kept once cleaned (None: dropped).
CLEANED: dict[str, Callable[[str], str | None]] = {
    "text/html": clean_html,
    "text/markdown": inert_markdown,
    "text/latex": inert_latex,
    "image/svg+xml": clean_svg,
}
#: MIME types a cell attachment keeps (``attachment:`` images).
ATTACHMENT_TYPES = {"image/png", "image/jpeg", "image/gif", "image/svg+xml"}
#: Output types a stored notebook holds (nbformat 4).
OUTPUT_TYPES = {"stream", "error", "display_data", "execute_result"}
#: Notebook metadata removed: saved widget state.
REMOVED_NOTEBOOK_METADATA = ("widgets",)


def note(dropped: list[str]) -> str:
    """Return the visible line that replaces outputs of the ``dropped`` MIME types."""
    return f"[{', '.join(sorted(dropped))} output removed by the grader: it could run in a grader's browser]"


def _text(value: Any) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def inert_bundle(data: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Return a MIME bundle with only inert content, and the MIME types dropped from it."""
    kept, dropped = {}, []
    for mime, value in data.items():
        if mime in KEPT:
            cleaned = value
        else:
            cleaned = CLEANED[mime](_text(value)) if mime in CLEANED else None
        if cleaned is None:
            dropped.append(mime)
        else:
            kept[mime] = cleaned
    return kept, dropped


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def inert_output_metadata(metadata: dict[str, Any]) -> dict[str, Any]:
    """Return the per-MIME output metadata the templates read, each value of the type they expect."""
    checks: dict[str, Callable[[Any], bool]] = {
        "width": _number,
        "height": _number,
        "alt": lambda v: isinstance(v, str),
        "unconfined": lambda v: isinstance(v, bool),
        "needs_background": lambda v: v in ("light", "dark"),
    }
    kept = {}
    for mime, entry in metadata.items():
        if mime in KEPT | set(CLEANED) and isinstance(entry, dict):
            entry = {k: v for k, v in entry.items() if k in checks and checks[k](v)}
            if entry:
                kept[mime] = entry
    return kept


def inert_output(output: NotebookNode) -> NotebookNode | None:
    """Return ``output`` made inert (in place), or None when it is no output a notebook stores."""
    kind = output.get("output_type")
    if kind not in OUTPUT_TYPES:
        return None
    if kind in ("stream", "error"):
        return output  # text, escaped by every renderer
    data, dropped = inert_bundle(dict(output.get("data", {})))
    if dropped:
        plain = _text(data["text/plain"]) if "text/plain" in data else ""
        data["text/plain"] = note(dropped) + (f"\n{plain}" if plain else "")
    output["data"] = data
    output["metadata"] = inert_output_metadata(dict(output.get("metadata", {})))
    return output


def inert_cell(cell: NotebookNode) -> NotebookNode:
    """Return ``cell`` made inert (in place): outputs, markdown, attachments, raw HTML."""
    if "attachments" in cell:
        cell["attachments"] = {
            name: inert_bundle({k: v for k, v in bundle.items() if k in ATTACHMENT_TYPES})[0]
            for name, bundle in cell["attachments"].items()
        }
    if cell.cell_type == "code":
        cell.outputs = [out for out in map(inert_output, cell.get("outputs", [])) if out is not None]
    elif cell.cell_type == "markdown":
        cell.source = inert_markdown(cell.source, cell.get("attachments"))
    elif cell.cell_type == "raw":
        fmt = cell.get("metadata", {}).get("raw_mimetype") or cell.get("metadata", {}).get("format", "")
        if str(fmt).lower() in ("text/html", "html"):
            cell.source = clean_html(cell.source)
    return cell


def make_inert(nb: NotebookNode) -> NotebookNode:
    """Return ``nb`` with nothing in it that could run in a browser that renders it (in place)."""
    for cell in nb.cells:
        inert_cell(cell)
    for key in REMOVED_NOTEBOOK_METADATA:
        nb.metadata.pop(key, None)
    return nb


class MakeInert(NbGraderPreprocessor):
    """nbgrader/nbconvert step: make the notebook inert before it is stored or rendered (module docstring)."""

    def preprocess(self, nb: NotebookNode, resources: dict) -> tuple[NotebookNode, dict]:
        """Make ``nb`` inert in place."""
        return make_inert(nb), resources
