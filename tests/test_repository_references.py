"""The repository's own files name only documents that exist (.gitignore, Makefile, README.md)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MENTION = re.compile(r"(?<![\w/.-])((?:[\w.-]+/)*[\w.-]+\.md)\b")


@pytest.mark.parametrize("name", [".gitignore", "Makefile", "README.md"])
def test_named_markdown_files_exist(name):
    text = (ROOT / name).read_text()
    missing = sorted({m for m in MENTION.findall(text) if not (ROOT / m).is_file()})
    assert not missing, f"{ROOT / name}: names {missing}, which do not exist; fix the reference"
