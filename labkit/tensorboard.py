"""Show TensorBoard inside a notebook on a free port; never start it when nothing can look at it."""

from __future__ import annotations

import os
import socket
import sys
from datetime import timedelta
from pathlib import Path

from labkit import runtime


def free_port(start: int = 6006, attempts: int = 100) -> int:
    """Return the first port from ``start`` on which nothing listens on loopback.

    Raises
    ------
    OSError
        When no port in ``start .. start + attempts - 1`` is free.
    """
    for port in range(start, start + attempts):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise OSError(f"no free port in {start}..{start + attempts - 1}; close other TensorBoard/Jupyter servers")


def show(log_dir: str | os.PathLike[str], port: int | None = None) -> int | None:
    """Display TensorBoard for ``log_dir`` in the notebook (like ``%tensorboard``) on a free port.

    When the notebook is executed headless (nbgrader, a script, CI) it only prints the command a person
    would run, so grading never waits for a server.

    Returns
    -------
    int or None
        The port TensorBoard serves on, or None when it was not started.
    """
    log_dir = Path(log_dir)
    log_dir.mkdir(parents=True, exist_ok=True)
    if not runtime.is_interactive():
        print(f"TensorBoard not started (headless run). To view the logs: tensorboard --logdir {log_dir}")
        return None
    from tensorboard import manager, notebook

    # The kernel may run without the environment activated: point TensorBoard at this environment's binary.
    os.environ.setdefault("TENSORBOARD_BINARY", str(Path(sys.executable).with_name("tensorboard")))
    port = port or free_port()
    started = manager.start(["--logdir", str(log_dir), "--port", str(port)], timeout=timedelta(seconds=60))
    if not isinstance(started, manager.StartLaunched | manager.StartReused):
        print(f"TensorBoard did not start ({type(started).__name__}); run: tensorboard --logdir {log_dir}")
        return None
    notebook.display(port=started.info.port, height=600)
    return started.info.port
