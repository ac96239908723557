"""The grading view inside the instructor's JupyterLab: a Jupyter server extension at ``/manual-grading/``.

Enabled by the course's ``jupyter_server_config.py`` (``make lab``), which only instructors use: students'
hub servers and hand-out installs never load it. The server's own login protects it.
"""

from __future__ import annotations

from pathlib import Path

from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.utils import url_path_join
from tornado import web

from autograder import CourseError
from autograder.config import load_config
from autograder.manual.app import ViewHandler, handlers
from autograder.manual.service import Grading

PATH = "manual-grading"


class JupyterViewHandler(ViewHandler, JupyterHandler):
    """The view's handler under the Jupyter server's authentication and XSRF checks."""

    def initialize(self, route: str) -> None:
        """Take the route name this handler serves."""
        self.route = route

    @web.authenticated
    def get(self, *args: str) -> None:
        """Serve a read."""
        self.view_get(*args)

    @web.authenticated
    def post(self, *args: str) -> None:
        """Apply a change."""
        self.view_post(*args)


class LazyGrading:
    """The course's `Grading`, made at the first request (starting the server leaves the gradebook alone)."""

    def __init__(self, root: Path) -> None:
        self.root, self._grading = root, None

    def __call__(self) -> Grading:
        """Return the course's grading service, making it on first use."""
        if self._grading is None:
            try:
                self._grading = Grading(load_config(self.root))
            except CourseError as exc:
                raise web.HTTPError(500, str(exc)) from None
        return self._grading


def _jupyter_server_extension_points() -> list[dict]:
    return [{"module": "autograder.manual.extension"}]


def _load_jupyter_server_extension(serverapp) -> None:
    base = url_path_join(serverapp.web_app.settings["base_url"], PATH)
    serverapp.web_app.settings["manual_grading"] = LazyGrading(Path(serverapp.root_dir))
    serverapp.web_app.add_handlers(".*$", handlers(base.rstrip("/"), JupyterViewHandler))
    serverapp.log.info(f"grading by question at {base}/ (course-grade manual)")
