"""What is compared: code as tokens with the student's own names replaced, answers as words with numbers.

Code keeps what a copier does not change (keywords, operators, the library's functions and classes) and
drops what a copier changes first: the names the student binds (variables, parameters, attributes of
``self``) become ``V``, every number ``0`` (layer widths, kernel sizes, rates), every string ``S``,
comments and spaces go. copydetect's own filter renames *every* name, ``np.zeros`` and
``np.hstack`` alike, which makes different short solutions identical. Answers are their words in lower
case, every number one placeholder. Both keep a map back to the student's own text, so matching passages
are shown as the student wrote them.
"""

from __future__ import annotations

import ast
import re
import zlib
from dataclasses import dataclass

import numpy as np
from pygments.lexers import PythonLexer
from pygments.token import Comment, Name, Number, String, Text

#: What every number of a written answer becomes (the student's own results differ from anyone else's).
NUMBER = "#"
_WORD = re.compile(r"\d+(?:[.,]\d+)*|[^\W\d_]+")


@dataclass(frozen=True)
class Normalised:
    """A text prepared for matching.

    Attributes
    ----------
    text
        What the matcher reads.
    starts, ends
        For each character of ``text``, where the student's text it came from starts and ends.
    """

    text: str
    starts: np.ndarray
    ends: np.ndarray

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        """Return the span of the student's text that ``text[start:end]`` came from."""
        start, end = max(0, start), min(end, len(self.text))
        if end <= start:
            return 0, 0
        return int(self.starts[start]), int(self.ends[end - 1])


def bound_names(source: str) -> frozenset[str]:
    """Return the names ``source`` binds, which a copier renames.

    Assigned, loop and comprehension variables, parameters, defined functions and classes, import aliases
    and attributes assigned on ``self``.

    ``source`` is a whole cell as the student handed it in; one that does not parse falls back to the names
    on the left of a plain ``=``.
    """
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return frozenset(re.findall(r"^\s*([A-Za-z_]\w*)\s*=[^=]", source, re.MULTILINE))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            found.add(node.id)
        elif isinstance(node, ast.arg):
            found.add(node.arg)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            found.add(node.name)
        elif isinstance(node, ast.alias):
            found.add(node.asname or node.name.split(".")[0])
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            found.add(node.attr)
    return frozenset(found - {"self"})


def code(text: str, bound: frozenset[str] = frozenset()) -> Normalised:
    """Return the tokens of ``text`` run together, the student's own names (``bound``) as ``V``.

    Comments and white space are dropped; strings become ``S`` and numbers ``0``; keywords, operators and
    every name not in ``bound`` stay as written.
    """
    out = _Builder()
    for index, kind, value in PythonLexer().get_tokens_unprocessed(text):
        if kind in Comment or kind in Text or not value.strip():
            continue
        if kind in String:
            if out.last != "S":
                out.add("S", index, index + len(value))
        elif kind in Number:
            out.add("0", index, index + len(value))
        elif kind in Name and value in bound:
            out.add("V", index, index + len(value))
        else:
            out.add_each(value, index)
    return out.done()


class _Builder:
    """A normalised text built piece by piece, with where each character came from."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.starts: list[int] = []
        self.ends: list[int] = []

    @property
    def last(self) -> str:
        return self.parts[-1] if self.parts else ""

    def add(self, piece: str, start: int, end: int) -> None:
        """Add ``piece`` (one character) standing for ``text[start:end]``."""
        self.parts.append(piece)
        self.starts.append(start)
        self.ends.append(end)

    def add_each(self, piece: str, start: int) -> None:
        """Add ``piece`` standing for the same number of characters of the text from ``start``."""
        for offset, char in enumerate(piece):
            self.add(char, start + offset, start + offset + 1)

    def done(self) -> Normalised:
        return Normalised(
            "".join(self.parts), np.asarray(self.starts, np.int64), np.asarray(self.ends, np.int64)
        )


def answer(text: str) -> Normalised:
    """Return the words of ``text`` in lower case, one space apart, each number replaced by `NUMBER`.

    Markdown markup and punctuation are dropped; a number (``0.85``, ``1,500``, ``92``) becomes `NUMBER`,
    so two answers that differ only in the students' own results read the same.
    """
    out = _Builder()
    for match in _WORD.finditer(text):
        word = _word(match[0])
        if out.parts:
            out.add(" ", match.start(), match.start())
        if word == NUMBER:
            out.add(NUMBER, match.start(), match.end())
        else:
            out.add_each(word, match.start())
    return out.done()


def _word(token: str) -> str:
    """Return `NUMBER` for a number, else the word in lower case (as is where that changes its length)."""
    if token[0].isdigit():
        return NUMBER
    lower = token.lower()
    return lower if len(lower) == len(token) else token


#: Words become characters from this block of code points (CJK ideographs: 20,992 of them, so two
#: different words of an exercise rarely share one).
_SYMBOLS = (0x4E00, 20992)


def as_words(normalised: Normalised) -> Normalised:
    """Return ``normalised`` (an `answer`) with each word as one character, so k-grams are word n-grams.

    The character is fixed by the word (a CRC-32 of it, the same in every process), and keeps the span
    of the student's text the word came from.
    """
    out = _Builder()
    for match in re.finditer(r"[^ ]+", normalised.text):
        start, end = match.span()
        first, size = _SYMBOLS
        symbol = chr(first + zlib.crc32(match[0].encode()) % size)
        out.add(symbol, int(normalised.starts[start]), int(normalised.ends[end - 1]))
    return out.done()
