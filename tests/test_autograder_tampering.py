"""Kernel tampering: cells that change how IPython runs or reports the tests after them.

Every case leaves the exercises unsolved (honest grade 0). Plain ``nbgrader autograde`` gives each of them
marks (asserted below, recorded in docs/grading.md); ``course-grade grade`` scores them 0 and says
"kernel tampering detected" once.
"""

from __future__ import annotations

import subprocess
import sys

import nbformat
import pytest
from autograder_support import mini_course, with_cells

from autograder.cells import read_notebook
from autograder.cli import main
from autograder.config import load_config
from autograder.grade import GradeOptions, grade

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

#: name -> a cell placed right after the setup cell of the untouched release.
TAMPERING = {
    "cleanup_transformer": 'get_ipython().input_transformers_cleanup.append(lambda lines: ["pass\\n"])',
    "line_transformer": (
        'get_ipython().input_transformer_manager.line_transforms.append(lambda lines: ["pass\\n"])'
    ),
    "post_transformer": 'get_ipython().input_transformers_post.append(lambda lines: ["pass\\n"])',
    "ast_transformer": """import ast
class Blank(ast.NodeTransformer):
    def visit_Module(self, node):
        node.body = [ast.Pass()]
        return node
get_ipython().ast_transformers.append(Blank())""",
    "custom_exc": """shell = get_ipython()
shell.set_custom_exc((BaseException,), lambda *args, **kwargs: None)
shell.events.register("post_run_cell", lambda result: setattr(result, "error_in_exec", None))""",
    "instance_traceback": """shell = get_ipython()
shell.showtraceback = lambda *args, **kwargs: None
_run = shell.run_cell_async
async def run_cell_async(*args, **kwargs):
    result = await _run(*args, **kwargs)
    result.error_in_exec = None
    return result
shell.run_cell_async = run_cell_async""",
    "class_traceback": """cls = type(get_ipython())
cls.showtraceback = lambda *args, **kwargs: None
_run = cls.run_cell_async
async def run_cell_async(self, *args, **kwargs):
    result = await _run(self, *args, **kwargs)
    result.error_in_exec = None
    return result
cls.run_cell_async = run_cell_async""",
    "session_send": """import jupyter_client.session as session
_send = session.Session.send
def send(self, stream, msg_or_type, content=None, *args, **kwargs):
    if msg_or_type == "error":
        return None
    if msg_or_type == "execute_reply" and content and content.get("status") == "error":
        content = {"status": "ok", "execution_count": content.get("execution_count"), "user_expressions": {},
                   "payload": []}
    return _send(self, stream, msg_or_type, content, *args, **kwargs)
session.Session.send = send""",
    "clear_errors": """from IPython.display import clear_output
def hide(result):
    clear_output()
    result.error_in_exec = None
get_ipython().events.register("post_run_cell", hide)""",
    "kernel_execute": """kernel = get_ipython().kernel
async def do_execute(self, code, *args, **kwargs):
    return {"status": "ok", "execution_count": 1, "user_expressions": {}, "payload": []}
type(kernel).do_execute = do_execute""",
}


def _submit(root, student: str, nb) -> None:
    target = root / "submitted" / student / "mini" / "mini.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(target))


def _course(tmp_path, name: str):
    root = mini_course(tmp_path / name)
    assert main(["--course", str(root), "build"]) == 0
    release = read_notebook(root / "release" / "mini" / "mini.ipynb")
    for student, cell in TAMPERING.items():
        _submit(root, student, with_cells(release, after_setup=cell))
    _submit(root, "untouched", release)
    return root


def test_tampering_scores_zero_and_says_so_plain_nbgrader_does_not(tmp_path):
    root = _course(tmp_path, "guarded")
    opts = GradeOptions(jobs=2, cell_timeout=20, notebook_timeout=90, memory_mb=1024, quiet=True)
    entries = {e["student"]: e for e in grade(load_config(root), ["mini"], opts)}
    assert entries["untouched"]["score"] == 0 and entries["untouched"]["notes"] == []
    for student in TAMPERING:
        entry = entries[student]
        assert entry["score"] == 0, (student, entry)
        tampering = [note for note in entry["notes"] if note.startswith("kernel tampering detected")]
        assert len(tampering) == 1, (student, entry["notes"])

    plain = _course(tmp_path, "plain")
    subprocess.run(
        [sys.executable, "-m", "nbgrader", "autograde", "mini", "--force"],
        cwd=plain,
        check=True,
        capture_output=True,
    )
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{plain / 'gradebook.db'}") as gb:
        scores = {sub.student.id: sub.score for sub in gb.find_assignment("mini").submissions}
    print("plain nbgrader:", scores)
    assert scores["untouched"] == 0
    assert {student for student in TAMPERING if scores[student] > 0} == set(TAMPERING), scores
