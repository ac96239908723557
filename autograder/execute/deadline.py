"""The whole notebook's wall-clock limit: checked before each cell, enforced by a watchdog during it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class Deadline:
    """A limit of ``seconds`` from now (0: none)."""

    def __init__(self, seconds: int) -> None:
        self.seconds = seconds
        self._at = time.monotonic() + seconds if seconds else None

    def passed(self) -> bool:
        """Return whether the limit is reached."""
        return self._at is not None and time.monotonic() >= self._at

    def watch(self, on_expiry: Callable[[], None]) -> threading.Timer | None:
        """Call ``on_expiry`` when the limit is reached, unless the returned timer is cancelled first."""
        if self._at is None:
            return None
        timer = threading.Timer(max(0.0, self._at - time.monotonic()), on_expiry)
        timer.daemon = True
        timer.start()
        return timer
