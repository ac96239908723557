r"""Markdown from a submission (answer cells, ``text/markdown`` outputs) that renders to inert HTML.

Markdown lets raw HTML and any link through, and nbconvert renders both as they are (``<img onerror=...>``,
``[x](javascript:...)``). A cell is rendered with nbconvert's own markdown renderer (what formgrader, the
feedback pages and ``jupyter nbconvert`` use) and checked against the allowlist of `autograder.inert.html`:

1. inert already (every honest answer: text, lists, tables, LaTeX, images of the notebook): kept as written;
2. otherwise every ``<`` outside code and maths is written as ``&lt;`` (the student's HTML is shown as
   text, so a grader sees what was tried) and links to other schemes point nowhere (``#``); images from
   outside the notebook become plain links;
3. if the result is still not inert, the whole cell is shown as a code block under a one-line note.

LaTeX ``\href`` links (MathJax renders them as links) keep only ``http``, ``https`` and ``mailto`` targets,
and a ``mermaid`` code block stays a code block (nbconvert's pages would hand it to the Mermaid library).
"""

from __future__ import annotations

import functools
import re

from autograder.inert.html import ATTRIBUTES, IMAGE_SOURCES, is_inert

#: The note above an answer shown as a code block (rule 3).
AS_TEXT_NOTE = "*(Shown as text by the grader: this cell held HTML or links that could act in a browser.)*"
#: Link schemes kept in markdown links and LaTeX ``\href``.
LINK_SCHEMES = ("http", "https", "mailto")
_PROTECTED = re.compile(
    r"^[ \t]{0,3}(?P<fence>`{3,}|~{3,})[^\n]*\n.*?^[ \t]{0,3}(?P=fence)[ \t]*$"  # fenced code block
    r"|(?P<ticks>`+)(?!`).+?(?<!`)(?P=ticks)(?!`)"  # code span
    r"|\$\$.+?\$\$|(?<!\\)\$[^$\n]+?\$",  # display and inline maths
    re.MULTILINE | re.DOTALL,
)
_LINK = re.compile(
    r"(?P<bang>!?)\[(?P<text>[^\]\n]*)\]\(\s*(?P<dest><[^>\n]*>|(?:[^\s()]|\([^\s()]*\))*)(?P<rest>[^)\n]*)\)"
)
_HREF = re.compile(r"\\href\s*\{(?P<url>[^}]*)\}")
_MERMAID = re.compile(r"^(?P<fence>[ \t]{0,3}(`{3,}|~{3,})[ \t]*)mermaid\b", re.MULTILINE | re.IGNORECASE)
_SCHEME = re.compile(r"^\s*([a-zA-Z][a-zA-Z0-9+.\-]*)\s*:")


@functools.cache
def _markdown_attributes() -> dict[str, set[str]]:
    """Return the allowlist plus the heading ids nbconvert's renderer writes itself."""
    attributes = {tag: set(names) for tag, names in ATTRIBUTES.items()}
    for level in range(1, 7):
        attributes.setdefault(f"h{level}", set()).add("id")
    return attributes


def render(source: str, attachments: dict | None = None) -> str:
    """Return the HTML nbconvert renders the markdown ``source`` to (its ``markdown2html`` filter).

    Parameters
    ----------
    source
        Markdown.
    attachments
        The cell's attachments (name -> MIME bundle), which ``attachment:`` images refer to.
    """
    from nbconvert.filters.markdown_mistune import InvalidNotebook, IPythonRenderer, MarkdownWithMath

    renderer = IPythonRenderer(escape=False, attachments=attachments or {})
    try:
        return MarkdownWithMath(renderer=renderer).render(source)
    except InvalidNotebook:  # an image names an attachment the cell lacks: nbconvert refuses the page
        return "<invalid-attachment>"


def renders_inert(source: str, attachments: dict | None = None) -> bool:
    """Return whether the markdown ``source`` renders to HTML the allowlist takes nothing out of."""
    return is_inert(render(source, attachments), _markdown_attributes())


def _link_kept(url: str) -> bool:
    scheme = _SCHEME.match(url)
    return scheme is None or scheme.group(1).lower() in LINK_SCHEMES


def inert_latex(text: str) -> str:
    r"""Return ``text`` with every LaTeX ``\href`` to another scheme than http(s)/mailto pointing to ``#``."""
    return _HREF.sub(lambda m: m.group(0) if _link_kept(m.group("url")) else r"\href{#}", text)


def _escape_outside_code(source: str) -> str:
    """Write every ``<`` outside code blocks, code spans and maths as ``&lt;``."""
    parts, end = [], 0
    for match in _PROTECTED.finditer(source):
        parts += [source[end : match.start()].replace("<", "&lt;"), match.group(0)]
        end = match.end()
    return "".join([*parts, source[end:].replace("<", "&lt;")])


def _neutral_link(match: re.Match[str]) -> str:
    dest = match.group("dest").strip("<>")
    image = bool(match.group("bang"))
    if image and dest.lower().startswith(IMAGE_SOURCES):
        return match.group(0)
    if _link_kept(dest):
        return match.group(0)[1:] if image else match.group(0)  # an outside image becomes a plain link
    return f"[{match.group('text')}](#)"


def as_text(source: str) -> str:
    """Return ``source`` as a fenced code block (longer than any backtick run in it) under `AS_TEXT_NOTE`."""
    longest = max((len(run) for run in re.findall(r"`+", source)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{AS_TEXT_NOTE}\n\n{fence}text\n{source}\n{fence}"


def inert_markdown(source: str, attachments: dict | None = None) -> str:
    """Return markdown that shows ``source``'s words and renders to inert HTML (see the module docstring).

    Parameters
    ----------
    source
        A markdown cell's source or a ``text/markdown`` output.
    attachments
        The cell's attachments, already inert (``attachment:`` images show them).
    """
    source = _MERMAID.sub(r"\g<fence>text", inert_latex(source))
    if renders_inert(source, attachments):
        return source
    escaped = _LINK.sub(_neutral_link, _escape_outside_code(source))
    return escaped if renders_inert(escaped, attachments) else as_text(source)
