"""The grading view over HTTP (tornado): one page and a small JSON API, standalone or inside Jupyter.

Routes, below the view's base URL (``/`` standalone, ``/manual-grading/`` in JupyterLab)::

    GET  ./                                   the page (static/manual.html)
    GET  api/overview                         labs, questions, progress
    GET  api/q/LAB/QUESTION                   one question, its rubric and every answer
    POST api/q/LAB/QUESTION/items             {points, text}: new rubric item
    POST api/q/LAB/QUESTION/items/ID          {points, text}: edit; {delete: true}: delete
    POST api/q/LAB/QUESTION/answers/GRADE     {item, applied} or {comment}

The standalone server listens on loopback and asks for a token (printed with its URL); in JupyterLab the
server's own login applies. POSTs carry tornado's XSRF token.
"""

from __future__ import annotations

import hmac
import json
import secrets
import socket
from collections.abc import Callable
from pathlib import Path

from tornado import httpserver, ioloop, netutil, web

from autograder import CourseError
from autograder.manual.service import Grading

PAGE = Path(__file__).with_name("static") / "manual.html"
TOKEN_COOKIE = "manual_grading_token"
#: The page runs its own inline script only; student outputs are text and PNG data URLs.
PAGE_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
    "frame-ancestors 'self'"
)
ROUTES = (
    (r"/?", "page"),
    (r"/api/overview", "overview"),
    (r"/api/q/([^/]+)/([^/]+)", "question"),
    (r"/api/q/([^/]+)/([^/]+)/items", "items"),
    (r"/api/q/([^/]+)/([^/]+)/items/(\d+)", "item"),
    (r"/api/q/([^/]+)/([^/]+)/answers/([0-9a-f]+)", "answer"),
)


class ViewHandler:
    """The view's request handling, mixed into a tornado handler that provides authentication."""

    route = "page"

    @property
    def grading(self) -> Grading:
        """Return the service this application serves (made on first use when given as a factory)."""
        value = self.settings["manual_grading"]
        return value() if callable(value) else value

    def _require_user(self) -> None:
        if not self.current_user:
            raise web.HTTPError(403, "log in first (open the URL with ?token=... printed at start)")

    def _json(self, value) -> None:
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        self.finish(json.dumps(value))

    def _body(self) -> dict:
        try:
            body = json.loads(self.request.body or b"{}")
        except ValueError:
            raise web.HTTPError(400, "the request body is not JSON") from None
        if not isinstance(body, dict):
            raise web.HTTPError(400, "the request body is not a JSON object")
        return body

    def _run(self, action, *args) -> None:
        try:
            self._json(action(*args))
        except CourseError as exc:
            self.set_status(400)
            self._json({"error": str(exc)})

    def view_get(self, *args: str) -> None:
        """Serve the page or a read of the API."""
        self._require_user()
        if self.route == "page":
            self.xsrf_token  # noqa: B018 (sets the _xsrf cookie the page's POSTs echo)
            self.set_header("Cache-Control", "no-store")
            self.set_header("Content-Security-Policy", PAGE_POLICY)
            self.finish(PAGE.read_text())
        elif self.route == "overview":
            self._run(self.grading.overview)
        elif self.route == "question":
            self._run(self.grading.question, *args)
        else:
            raise web.HTTPError(405)

    def view_post(self, *args: str) -> None:
        """Apply one change sent by the page."""
        self._require_user()
        body = self._body()
        g = self.grading
        try:
            if self.route == "items":
                self._run(g.add_item, *args, float(body["points"]), str(body["text"]))
            elif self.route == "item" and body.get("delete"):
                self._run(g.delete_item, args[0], args[1], int(args[2]))
            elif self.route == "item":
                self._run(
                    g.edit_item, args[0], args[1], int(args[2]), float(body["points"]), str(body["text"])
                )
            elif self.route == "answer" and "item" in body:
                self._run(g.mark, *args, int(body["item"]), bool(body["applied"]))
            elif self.route == "answer" and "comment" in body:
                self._run(g.comment, *args, str(body["comment"]))
            else:
                raise web.HTTPError(405)
        except (KeyError, TypeError, ValueError) as exc:
            raise web.HTTPError(400, f"bad request body: {exc!r}") from None


class TokenHandler(ViewHandler, web.RequestHandler):
    """Standalone handler: the token from ``?token=`` (then a cookie) or ``Authorization: token ...``."""

    def initialize(self, route: str) -> None:
        """Take the route name this handler serves."""
        self.route = route

    def get_current_user(self) -> str | None:
        """Return ``grader`` when the request carries the token, else None."""
        token = self.settings["manual_token"]
        given = self.get_argument("token", "") or self.get_cookie(TOKEN_COOKIE, "")
        header = self.request.headers.get("Authorization", "")
        given = given or (header[6:] if header.startswith("token ") else "")
        if given and hmac.compare_digest(given, token):
            if self.get_argument("token", ""):
                self.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="Strict")
            return "grader"
        return None

    def check_xsrf_cookie(self) -> None:
        """Check tornado's XSRF token, except for token-authenticated scripts."""
        if not self.request.headers.get("Authorization"):  # scripts with the token need no browser cookie
            super().check_xsrf_cookie()

    def get(self, *args: str) -> None:
        """Serve a read."""
        self.view_get(*args)

    def post(self, *args: str) -> None:
        """Apply a change."""
        self.view_post(*args)


def handlers(base: str, handler: type) -> list[tuple]:
    """Return the view's tornado routes below ``base`` (no trailing slash) for ``handler``."""
    return [(base + pattern, handler, {"route": route}) for pattern, route in ROUTES]


def standalone_app(grading: Grading, token: str | None = None) -> web.Application:
    """Return the standalone tornado application serving ``grading`` (token: random when None)."""
    return web.Application(
        handlers("", TokenHandler),
        manual_grading=grading,
        manual_token=token or secrets.token_hex(16),
        xsrf_cookies=True,
    )


def serve(grading: Grading, port: int, announce: Callable[[str], None] = print) -> None:
    """Serve ``grading`` on loopback ``port`` (0: any free port) until interrupted; announce the URL."""
    token = secrets.token_hex(16)
    server = httpserver.HTTPServer(standalone_app(grading, token))
    try:
        sockets = [s for s in netutil.bind_sockets(port, "127.0.0.1") if s.family == socket.AF_INET]
    except OSError as exc:
        raise CourseError(
            f"port {port} on 127.0.0.1: {exc.strerror}; Fix: choose another with --port"
        ) from None
    server.add_sockets(sockets)
    bound = sockets[0].getsockname()[1]
    announce(f"grading view: http://127.0.0.1:{bound}/?token={token}")
    try:
        ioloop.IOLoop.current().start()
    finally:
        server.stop()
        grading.close()
