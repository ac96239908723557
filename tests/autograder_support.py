"""Helpers shared by the autograder tests: a scratch copy of the mini course and notebook edits."""

from __future__ import annotations

import copy
import hashlib
import shutil
from pathlib import Path

import nbformat

FIXTURE = Path(__file__).parent / "fixtures" / "course_mini"
RUNTIME = {"autograded", "feedback", "gradebook.db", ".grading", "exports", "submitted"}


def mini_course(tmp_path: Path) -> Path:
    """Copy the mini course into ``tmp_path/course`` and return it."""
    root = tmp_path / "course"
    shutil.copytree(FIXTURE, root)
    return root


def tree_hash(root: Path, skip: set[str] = RUNTIME) -> dict[str, str]:
    """Return sha256 of every file under ``root`` except runtime outputs."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.relative_to(root).parts[0] not in skip
    }


def with_cells(nb, replace: dict[str, str] | None = None, after_setup: str | None = None):
    """Return a copy of ``nb`` with cell sources replaced by grade id and an optional extra cell."""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if gid in (replace or {}):
            cell.source = replace[gid]
    if after_setup is not None:
        index = next(i for i, c in enumerate(nb.cells) if "import math" in c.source)
        nb.cells.insert(index + 1, nbformat.v4.new_code_cell(after_setup))
    return nb


SOLVED = {
    "square": "def square(x):\n    return x * x\n",
    "mean_value": "def mean_value(values):\n    return sum(values) / len(values)\n",
    "q1": "Because a product of equal signs is positive.",
}


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


def mini_kit(folder: Path) -> Path:
    """Build the mini course's grading kit in ``folder`` (nbgrader generate_assignment, no kernel); return it.

    The kit holds ``gradebook.db`` (the lab's notebooks and cells as nbgrader records them),
    ``source/mini`` and ``release/mini``, as every grading worker copies it.
    """
    from autograder.build.release import kit_dir
    from autograder.config import load_config

    return kit_dir(load_config(mini_course(folder)), "mini")
