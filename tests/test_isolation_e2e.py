"""Grading kernels without a network, and one nbgrader configuration for plain nbgrader and course-grade."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading

import pytest
from autograder_support import SOLVED, mini_course, with_cells

from autograder.cells import read_notebook
from autograder.cli import main
from autograder.config import load_config
from autograder.grade import grade
from autograder.kernel.confine import bwrap_available
from autograder.options import GradeOptions

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

NETWORK = """
import socket
for what, attempt in (
    ("LOOPBACK", lambda: socket.create_connection(("127.0.0.1", {port}), timeout=3).sendall(b"LEAK")),
    ("RESOLVE", lambda: socket.getaddrinfo("pypi.org", 443)),
):
    try:
        attempt()
        print(what, "reached")
    except OSError as exc:
        print(what, "blocked", type(exc).__name__)
"""


def _options() -> GradeOptions:
    return GradeOptions(jobs=2, cell_timeout=20, notebook_timeout=90, memory_mb=1024, quiet=True)


def _submit(root, student, nb) -> None:
    import nbformat

    target = root / "submitted" / student / "mini" / "mini.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(target))


class _Listener:
    """A TCP server on the host's loopback that records every byte it receives."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.received = b""
        self.server.settimeout(0.5)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.server.accept()
            except OSError:
                continue
            with conn:
                self.received += conn.recv(100)

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.server.close()


@pytest.mark.skipif(not bwrap_available(), reason="bubblewrap is not installed (apt-get install bubblewrap)")
def test_confined_kernels_reach_no_host_service_and_resolve_no_name(tmp_path):
    try:
        socket.getaddrinfo("pypi.org", 443)
        host_resolves = True
    except OSError:
        host_resolves = False
    listener = _Listener()
    try:
        probe = socket.create_connection(("127.0.0.1", listener.port), timeout=3)
        probe.sendall(b"HOST")
        probe.close()
        root = mini_course(tmp_path)
        assert main(["--course", str(root), "build"]) == 0
        release = read_notebook(root / "release" / "mini" / "mini.ipynb")
        solved = with_cells(release, SOLVED, after_setup=NETWORK.replace("{port}", str(listener.port)))
        _submit(root, "network", solved)
        (entry,) = grade(load_config(root), ["mini"], _options())
    finally:
        listener.close()
    assert listener.received == b"HOST", "the host loopback server was reached from a graded kernel"
    assert entry.score == 5.0, entry  # graded normally: every test passes
    text = "".join(
        out.get("text", "")
        for cell in read_notebook(root / "autograded" / "network" / "mini" / "mini.ipynb").cells
        for out in cell.get("outputs", [])
    )
    assert "LOOPBACK blocked" in text and "RESOLVE blocked" in text, text
    assert host_resolves or "RESOLVE blocked" in text


LATE = """
c.LateSubmissionPlugin.penalty_method = "zero"
"""


def _built_course(folder, settings: str):
    """Return a built copy of the mini course whose nbgrader_config.py ends with ``settings``."""
    root = mini_course(folder)
    with (root / "nbgrader_config.py").open("a") as handle:
        handle.write(settings)
    assert main(["--course", str(root), "build"]) == 0
    return root


def _nbgrader(root, *args: str) -> None:
    subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=root, check=True, capture_output=True)


def _late_penalties(root) -> dict[str, tuple[float, float]]:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        return {
            sub.student.id: (sub.score, sub.late_submission_penalty or 0.0)
            for sub in gb.find_assignment("mini").submissions
        }


def test_course_config_late_penalty_and_output_limit_apply_to_plain_nbgrader_and_course_grade(tmp_path):
    """Settings of the course's nbgrader_config.py (late penalty "zero", LimitOutput) give the same grades
    and the same cut outputs under both commands."""
    settings = LATE + "c.LimitOutput.max_lines = 2\n"
    graded, outputs = {}, {}
    for runner in ("nbgrader", "course-grade"):
        root = _built_course(tmp_path / runner, settings)
        _nbgrader(root, "db", "assignment", "add", "mini", "--duedate=2026-01-10 12:00:00 UTC")
        release = read_notebook(root / "release" / "mini" / "mini.ipynb")
        for student, stamp in (("on_time", "2026-01-09 12:00:00 UTC"), ("late", "2026-01-11 12:00:00 UTC")):
            _submit(root, student, with_cells(release, SOLVED))
            (root / "submitted" / student / "mini" / "timestamp.txt").write_text(stamp)
        _submit(
            root,
            "verbose",
            with_cells(release, SOLVED, after_setup="for i in range(50):\n    print('LINE', i)"),
        )
        (root / "submitted" / "verbose" / "mini" / "timestamp.txt").write_text("2026-01-09 12:00:00 UTC")
        if runner == "nbgrader":
            _nbgrader(root, "autograde", "mini", "--force")
        else:
            assert len(grade(load_config(root), ["mini"], _options())) == 3
        graded[runner] = _late_penalties(root)
        notebook = read_notebook(root / "autograded" / "verbose" / "mini" / "mini.ipynb")
        outputs[runner] = [(c.source, c.get("outputs", [{}])[:1]) for c in notebook.cells]
    expected = {"on_time": (5.0, 0.0), "late": (5.0, 5.0), "verbose": (5.0, 0.0)}
    assert graded["nbgrader"] == expected, graded
    assert graded["course-grade"] == graded["nbgrader"]
    printed = next(out for source, out in outputs["nbgrader"] if "'LINE'" in source)
    assert printed[0]["text"].count("LINE") < 5, printed  # cut by the course's LimitOutput.max_lines
    assert outputs["course-grade"] == outputs["nbgrader"]
