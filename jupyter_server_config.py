"""JupyterLab settings for the course (used by ``make lab`` and the browser tests via ``--config``).

- Loopback only, token login: the server is a person's own workspace, not a public service.
- The file browser opens on ``release/``: the student notebooks are one click away.
- The kernel is the environment's ``python3`` (the venv's kernelspec; jupyter_client runs it with the
  server's own Python), so notebooks import the installed ``labkit``.
- TensorBoard (``labkit.tensorboard.show``) serves on its own loopback port and the notebook embeds it in
  an iframe; ipympl figures are widgets. Neither needs server settings beyond the installed extensions
  (ipympl, ipywidgets, nbgrader, jupytext: ``labkit doctor`` lists them).
- Instructors' grading by question (``autograder.manual.extension``) is served at ``/manual-grading/``.
"""

import os
import sys

c = get_config()  # noqa: F821 (injected by traitlets)

c.ServerApp.ip = "127.0.0.1"
c.ServerApp.open_browser = True
c.LabApp.default_url = "/lab/tree/release"
c.MappingKernelManager.default_kernel_name = "python3"

# Kernels, nbgrader (alembic) and TensorBoard find their commands on PATH: put this environment's bin/
# first, as activating it would, so `make lab` works without `source .venv/bin/activate`.
_bin = os.path.dirname(sys.executable)
if _bin not in os.environ.get("PATH", "").split(os.pathsep):
    os.environ["PATH"] = os.pathsep.join([_bin, os.environ.get("PATH", "")])

# Instructors grade written answers by question at /manual-grading/ (docs/manual_grading.md), opened from
# JupyterLab's "Grading" menu (settings defaults in autograder/manual/lab_settings/overrides.json). Only
# this course JupyterLab loads them: students' hub servers and the hand-out never read this file.
c.ServerApp.jpserver_extensions.update({"autograder.manual.extension": True})
c.LabApp.app_settings_dir = os.path.join(os.path.dirname(os.path.abspath(__file__)), "autograder", "manual",
                                         "lab_settings")  # fmt: skip
