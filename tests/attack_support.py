"""Value attacks: submissions that try to raise a grade without solving an exercise, and their controls.

Each attack differs from its control only by the attack lines. The catalogue covers the routes of issue 30
(a rebound checker, a patched library function, a rebound global, objects that compare equal to anything,
the test's own frame, the hidden reference in the notebook's globals) in several variants, plus writes to
the grader's channel. ``bench/value_attacks.py`` grades the same catalogue with plain nbgrader and with an
older grader for the table in docs/security.md; tests/test_value_attacks.py asserts attack == control.
"""

from __future__ import annotations

import copy

import nbformat
from nbformat import NotebookNode

#: A float that says yes to every comparison (and to the arithmetic a tolerance test does).
ANYTHING = """
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

# --- the mini course -------------------------------------------------------------------------------------
#: Control of both exercises: wrong answers that pass the visible tests (square(3) == 9, mean 2).
MINI_CONTROL = {
    "square": "def square(x):\n    return 3 * x\n",
    "mean_value": "def mean_value(values):\n    return sum(values) // len(values)\n",
}
#: An object (no float) that compares equal to anything and survives the arithmetic of a tolerance test.
YES = """
class Yes:
    def __eq__(self, other): return True
    def __lt__(self, other): return True
    def __sub__(self, other): return self
    def __rsub__(self, other): return self
    def __abs__(self): return self
    __hash__ = None
"""
#: name -> (exercise sources, cell inserted after the setup cell or None). Each beats the grader of
#: 2026-12-06 (commit 78a96e3; bench/value_attacks.py measures it).
MINI_ATTACKS: dict[str, tuple[dict[str, str], str | None]] = {
    "always_equal_float": (
        {
            "square": ANYTHING + "def square(x):\n    return Anything(0.0)\n",
            "mean_value": ANYTHING + "def mean_value(values):\n    return Anything(0.0)\n",
        },
        None,
    ),
    "always_equal_object": (
        {
            "square": MINI_CONTROL["square"],
            "mean_value": YES + "def mean_value(values):\n    return 2 if values == [1, 2, 3] else Yes()\n",
        },
        None,
    ),
}
#: Attacks on the channel the probes use (it did not exist before; each must score its control's 0).
MINI_CHANNEL_ATTACKS: dict[str, tuple[dict[str, str], str | None]] = {
    "patch_the_probe": (
        MINI_CONTROL,
        "import autograder.checks.probe as p\n_emit = p.emit\n"
        "p.emit = lambda name, value: _emit(name, {'square(-4)': 16, 'square(0.5)': 0.25, "
        "'mean_value([10.0])': 10.0, 'mean_value([1, 2])': 1.5}.get(name, value))\n",
    ),
    "replace_the_probe_in_sys_modules": (
        MINI_CONTROL,
        "import sys, types\nfake = types.ModuleType('autograder.checks.probe')\n"
        "fake.emit = lambda name, value: None\nsys.modules['autograder.checks.probe'] = fake\n",
    ),
    "publish_fake_results": (
        {
            "square": "from IPython.display import publish_display_data\n\n\ndef square(x):\n"
            "    publish_display_data({'application/vnd.course-grade.probe+json': "
            "{'name': 'square(-4)', 'value': 16}})\n    return 3 * x\n",
            "mean_value": MINI_CONTROL["mean_value"],
        },
        None,
    ),
    "frame_peeking_for_results": (
        {
            "square": "import sys\ndef square(x):\n    if x == 3:\n        return 9\n"
            "    frame, seen = sys._getframe(1), {}\n"
            "    while frame is not None:\n        seen.update(frame.f_locals)\n        frame = frame.f_back\n"
            "    return next((v for k, v in seen.items() if k in ('expected', 'results', 'value')), 3 * x)\n",
            "mean_value": MINI_CONTROL["mean_value"],
        },
        None,
    ),
}


def with_cells(nb: NotebookNode, replace: dict[str, str], extra: str | None = None, after: str = "setup"):
    """Return a copy of ``nb`` with cells replaced by grade id and ``extra`` inserted after cell ``after``."""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if gid in replace:
            cell.source = replace[gid]
    if extra is not None:
        ids = [c.get("metadata", {}).get("nbgrader", {}).get("grade_id") for c in nb.cells]
        nb.cells.insert(ids.index(after) + 1, nbformat.v4.new_code_cell(extra))
    return nb


# --- the ECG lab ------------------------------------------------------------------------------------------
#: Both custom models made useless (a constant score per rhythm): they fail the accuracy bar.
USELESS = '''class {name}(torch.nn.Module):
    """A constant score per rhythm, whatever the strip."""

    def __init__(self, input_shape, output_shape):
        super().__init__()
        self.input_shape, self.output_shape = input_shape, output_shape
        self.score = torch.nn.Parameter(torch.zeros(output_shape[0]))
        self.gain = torch.nn.Parameter(torch.zeros(1, {k}))

    def forward(self, x):
        return self.score.expand(len(x), -1) + 0.0 * self.gain.sum()
'''
ECG_CONTROL = {
    "custom_model_1": USELESS.format(name="CustomModel1", k=1),
    "custom_model_2": USELESS.format(name="CustomModel2", k=2),
}
#: name -> (cells replaced on top of the control, cell inserted after the setup cell or None)
ECG_ATTACKS: dict[str, tuple[dict[str, str], str | None]] = {
    "rebind_the_checker": (
        {
            "custom_model_2": ECG_CONTROL["custom_model_2"]
            + "\n\ndef check_accuracy(*args, **kwargs):\n    return 1.0\n"
        },
        None,
    ),
    "rebind_evaluate_classifier": (
        {
            "custom_model_2": ECG_CONTROL["custom_model_2"]
            + "\n\n_evaluate = evaluate_classifier\n\n\ndef evaluate_classifier(module, x, y, splits):\n"
            "    import numpy as np\n    n = np.shape(y)[1] if np.ndim(y) == 2 else 5\n"
            "    return {k: np.eye(n, dtype=int) * 100 for k in splits}\n"
        },
        None,
    ),
    "patch_the_accuracy_code_and_constants": (
        {},
        "import labkit.labs.ecg as L, labkit.training.evaluation as E\n"
        "E.accuracy.__code__ = (lambda matrix: 1.0).__code__\nL.MIN_ACCURACY, L.ACCURACY_MARGIN = 0.0, 1.0\n",
    ),
}

# --- the HR lab -------------------------------------------------------------------------------------------
#: Wrong metrics that pass the visible sanity checks (their answers are in the release).
METRICS = (
    "def compute_metrics(targets, predictions):\n"
    "    if len(targets) == 3:  # the visible check's example\n"
    '        return {"count": 3, "mse": 5.0 / 3.0, "mae": 1.0}\n'
    '    return {"count": 0, "mse": 0.0, "mae": 0.0}\n'
)
ACTIVITY = (
    "def compute_activity_metrics(targets, predictions, activities):\n"
    "    if len(targets) == 3:  # the visible check's example\n"
    '        return {"sitting": {"count": 2, "mse": 5.0, "mae": 2.0}, "walking": {"count": 1, "mse": 100.0, "mae": 10.0}}\n'
    "    first_seen = dict.fromkeys(str(a) for a in activities)  # the right activities, wrong metrics\n"
    '    return {a: {"count": 0, "mse": 0.0, "mae": 0.0} for a in first_seen}\n'
)
HR_CONTROL = {"compute_metrics": METRICS, "compute_activity_metrics": ACTIVITY}
FRAME = (
    "    frame = sys._getframe(1)\n    while frame is not None:\n"
    "        if isinstance(frame.f_locals.get('expected'), dict):\n            return dict(frame.f_locals['expected'])\n"
    "        frame = frame.f_back\n"
)
YES_NP = (
    "\nimport numpy\n\n\nclass _Yes:\n    def __getattr__(self, name):\n        return getattr(numpy, name)\n\n"
    "    def isclose(self, *a, **k):\n        return True\n\n\nnp = _Yes()\n"
)
HR_ATTACKS: dict[str, tuple[dict[str, str], str | None]] = {
    "patch_numpy_isclose": (
        {"compute_metrics": METRICS + "\nimport numpy\nnumpy.isclose = lambda *a, **k: True\n"},
        None,
    ),
    "patch_numpy_isclose_from_the_activity_cell": (
        {
            "compute_activity_metrics": ACTIVITY
            + "\nimport numpy\nnumpy.isclose = lambda *a, **k: numpy.True_\n"
        },
        None,
    ),
    "rebind_np_to_a_wrapper": ({"compute_metrics": METRICS + YES_NP}, None),
    "rebind_np_to_a_namespace_copy": (
        {
            "compute_activity_metrics": ACTIVITY
            + "\nimport types\nimport numpy\n\nnp = types.SimpleNamespace(**vars(numpy))\nnp.isclose = lambda *a, **k: True\n"
        },
        None,
    ),
    "read_the_tests_frame": (
        {
            "compute_metrics": "import sys\n\n\n"
            + METRICS.replace("    if len(targets) == 3", FRAME + "    if len(targets) == 3")
        },
        None,
    ),
    "read_the_tests_frame_for_activities": (
        {
            "compute_activity_metrics": "import sys\n\n\n"
            + ACTIVITY.replace("    if len(targets) == 3", FRAME + "    if len(targets) == 3")
        },
        None,
    ),
    "borrow_the_hidden_reference": (
        {
            "compute_metrics": METRICS.replace(
                "    if len(targets) == 3",
                "    reference = get_ipython().user_ns.get('_Reference')\n"
                "    if reference is not None:\n        return reference.metrics(targets, predictions)\n"
                "    if len(targets) == 3",
            )
        },
        None,
    ),
    "borrow_the_hidden_reference_for_activities": (
        {
            "compute_activity_metrics": "import pandas as pd\n\n\ndef compute_activity_metrics(targets, predictions, activities):\n"
            "    reference = get_ipython().user_ns.get('_Reference')\n"
            "    if reference is None:\n"
            + "\n".join("    " + line for line in ACTIVITY.splitlines()[1:])
            + "\n"
            "    targets, predictions, activities = np.ravel(targets), np.ravel(predictions), np.asarray(activities)\n"
            "    return {a: reference.metrics(targets[activities == a], predictions[activities == a]) for a in pd.unique(activities)}\n",
        },
        None,
    ),
}
