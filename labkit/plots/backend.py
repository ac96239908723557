"""Choose the matplotlib backend: interactive ipympl widgets for students, static images otherwise."""

from __future__ import annotations

import matplotlib

from labkit import runtime


def use_backend() -> str:
    """Select the backend for this kernel and return its name.

    - A student's live JupyterLab kernel: ``widget`` (ipympl: zoom, pan, live figures).
    - A notebook executed by nbgrader or a script: ``inline`` (figures saved as PNG in the notebook, so the
      feedback file shows them and nothing waits for a browser).
    - Plain Python (no kernel): ``Agg``.
    """
    if runtime.in_notebook():
        from IPython import get_ipython

        name = "widget" if runtime.is_interactive() else "inline"
        get_ipython().run_line_magic("matplotlib", name)
        return name
    matplotlib.use("Agg")
    return "Agg"
