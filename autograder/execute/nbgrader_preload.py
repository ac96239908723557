"""Imported once by a grading worker's fork server: nbgrader (the slow optional import skipped), the checks.

See :mod:`autograder.execute.nbgrader_cli`; each submission's nbgrader is a fork of the process that imported
this.
"""

from autograder.execute.nbgrader_cli import skip_slow_imports

skip_slow_imports()

import nbgrader.apps.nbgraderapp  # noqa: E402, F401

import autograder.checks.steps  # noqa: E402, F401 (the grader-side hidden checks and what they read)
import labkit.datasets.ecg  # noqa: E402, F401
import labkit.datasets.ppg  # noqa: E402, F401
import labkit.labs.splits  # noqa: E402, F401
