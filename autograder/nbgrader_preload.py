"""Imported once by a grading worker's fork server: nbgrader, with the slow optional import skipped.

See :mod:`autograder.nbgrader_cli`; each submission's nbgrader is a fork of the process that imported this.
"""

from autograder.nbgrader_cli import skip_slow_imports

skip_slow_imports()

import nbgrader.apps.nbgraderapp  # noqa: E402, F401
