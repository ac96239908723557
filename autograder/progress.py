"""Progress display for long runs: tqdm on stderr, off when stderr is not a terminal or when asked."""

from __future__ import annotations

import sys

from tqdm import tqdm


def progress(total: int, desc: str, quiet: bool = False, unit: str = "nb") -> tqdm:
    """Return a tqdm bar (with ETA) on stderr; disabled when ``quiet`` or stderr is not a TTY."""
    return tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, disable=quiet or not sys.stderr.isatty())
