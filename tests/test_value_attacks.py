"""Value attacks on the mini course: cells that raise a grade without solving anything, beside controls.

Each attack is a submission that differs from its control only by the attack lines: it returns objects
that compare equal to anything, patches a library or a given name the tests use, reads the test's frame or
the notebook's globals, or writes to the grader's channel. Hidden checks are decided in the grading
process on plain data (autograder.checks), so every attack scores exactly its control's score. The labs'
attacks are in tests/test_lab_value_attacks.py.
"""

from __future__ import annotations

import nbformat
import pytest
from autograder_support import SOLVED, mini_course, with_cells

from autograder.cells import read_notebook
from autograder.cli import main
from autograder.config import load_config
from autograder.grade import grade
from autograder.options import GradeOptions

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ALWAYS_EQUAL = """
class Anything(float):
    def __eq__(self, other): return True
    def __ne__(self, other): return False
    def __lt__(self, other): return True
    def __le__(self, other): return True
    def __gt__(self, other): return True
    def __ge__(self, other): return True
    def __sub__(self, other): return Anything(0.0)
    def __rsub__(self, other): return Anything(0.0)
    def __abs__(self): return Anything(0.0)
    def __float__(self): return 0.0
    def __hash__(self): return 0
"""
#: control source of both exercises: wrong answers that pass the visible tests (square(3) == 9, mean 2)
CONTROL = {
    "square": "def square(x):\n    return 3 * x\n",
    "mean_value": "def mean_value(values):\n    return sum(values) // len(values)\n",
}
#: name -> (exercise sources of the attack, cell inserted after the setup cell or None); control: CONTROL
ATTACKS: dict[str, tuple[dict[str, str], str | None]] = {
    "always_equal_float": (
        {
            "square": ALWAYS_EQUAL + "def square(x):\n    return Anything(0.0)\n",
            "mean_value": ALWAYS_EQUAL + "def mean_value(values):\n    return Anything(0.0)\n",
        },
        None,
    ),
    "always_equal_in_containers": (
        {
            "square": ALWAYS_EQUAL + "def square(x):\n    return [Anything(0.0)][0] if x == 3 else Anything(x)\n",
            "mean_value": ALWAYS_EQUAL + "class L(list):\n    def __eq__(s, o): return True\n"
            "def mean_value(values):\n    return Anything(2.0)\n",
        },
        None,
    ),
    "patch_math_and_builtins": (
        CONTROL,
        "import math, builtins\nmath.isclose = lambda *a, **k: True\nbuiltins.abs = lambda x: 0\n"
        "builtins.AssertionError = type('Quiet', (Exception,), {})\n",
    ),
    "frame_peeking": (
        {
            "square": "import sys\ndef square(x):\n    if x == 3:\n        return 9\n"
            "    frame, seen = sys._getframe(1), {}\n"
            "    while frame is not None:\n        seen.update(frame.f_locals)\n        frame = frame.f_back\n"
            "    return next((v for k, v in seen.items() if k in ('expected', 'results', 'value')), 3 * x)\n",
            "mean_value": CONTROL["mean_value"],
        },
        None,
    ),
    "patch_the_probe": (
        CONTROL,
        "import autograder.probe as p\n_emit = p.emit\n"
        "p.emit = lambda name, value: _emit(name, {'square(-4)': 16, 'square(0.5)': 0.25, "
        "'mean_value([10.0])': 10.0, 'mean_value([1, 2])': 1.5}.get(name, value))\n",
    ),
    "patch_the_probe_module_in_sys_modules": (
        CONTROL,
        "import sys, types\nfake = types.ModuleType('autograder.probe')\n"
        "def emit(name, value):\n    pass\nfake.emit = emit\nsys.modules['autograder.probe'] = fake\n",
    ),
}


def _submit(root, student: str, nb) -> None:
    target = root / "submitted" / student / "mini" / "mini.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(target))


def test_every_value_attack_scores_its_controls_score(tmp_path):
    root = mini_course(tmp_path)
    assert main(["--course", str(root), "build"]) == 0
    release = read_notebook(root / "release" / "mini" / "mini.ipynb")
    _submit(root, "reference", with_cells(release, SOLVED))
    _submit(root, "control", with_cells(release, CONTROL))
    for name, (cells, extra) in ATTACKS.items():
        _submit(root, name, with_cells(release, cells, after_setup=extra))
    opts = GradeOptions(jobs=2, cell_timeout=20, notebook_timeout=90, memory_mb=1024, quiet=True)
    entries = {e["student"]: e for e in grade(load_config(root), ["mini"], opts)}
    assert entries["reference"]["score"] == 5, entries["reference"]
    assert entries["control"]["score"] == 0, entries["control"]
    scores = {name: entries[name]["score"] for name in ATTACKS}
    print({name: entries[name]["notes"] for name in ATTACKS})
    assert scores == dict.fromkeys(ATTACKS, 0.0), scores
