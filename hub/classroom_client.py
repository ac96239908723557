"""A scripted student (or instructor) of the course hub, without a browser: hub REST API and server API.

Used by the hub tests (`tests/test_hub.py`: the confinement probe) and the load benchmark
(`bench/hub_load.py`). Logs in on the hub's login form (the dummy authenticator of the tests), asks the hub
API for a token, starts the user's server, and then runs code in a kernel and commands in a terminal
through the single-user server's API and websockets, as JupyterLab does.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from dataclasses import dataclass

from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest
from tornado.websocket import websocket_connect

# a class logs in at once: tornado's default of 10 connections would queue (and time out) the rest
AsyncHTTPClient.configure(None, max_clients=1000)


@dataclass
class Student:
    """One user of the hub at ``url``: name, API token once logged in."""

    url: str
    name: str
    token: str = ""

    async def _fetch(self, path: str, method: str = "GET", body: object = None, **kw) -> tuple[int, bytes]:
        headers = kw.pop("headers", {})
        if self.token:
            headers["Authorization"] = f"token {self.token}"
        data = body if isinstance(body, (str, bytes)) or body is None else json.dumps(body)
        if method in {"POST", "PUT", "PATCH"} and data is None:
            data = ""
        request = HTTPRequest(f"{self.url}{path}", method=method, body=data, headers=headers,
                              follow_redirects=False, request_timeout=kw.pop("timeout", 120))  # fmt: skip
        try:
            response = await AsyncHTTPClient().fetch(request, raise_error=False)
        except HTTPClientError as error:  # pragma: no cover (raise_error=False)
            return error.code, b""
        return response.code, response.body or b""

    async def log_in(self, password: str = "any") -> None:
        """Log in (name and password, in the token request's body) and get an API token (``self.token``)."""
        body = {"auth": {"username": self.name, "password": password}, "note": "scripted class",
                "expires_in": 7200}  # fmt: skip
        code, answer = await self._fetch(f"/hub/api/users/{self.name}/tokens", "POST", body)
        assert code in (200, 201), f"{self.name}: token request answered {code}: {answer[:300]!r}"
        self.token = json.loads(answer)["token"]

    async def model(self) -> dict:
        """Return the hub's model of this user (servers, pending state, last activity)."""
        code, body = await self._fetch(f"/hub/api/users/{self.name}")
        assert code == 200, f"{self.name}: user model answered {code}"
        return json.loads(body)

    async def start_server(self, timeout: float = 300) -> float:
        """Ask the hub for the user's server and wait until it is ready; return the seconds it took.

        Raises
        ------
        RuntimeError
            With the hub's message when the spawn fails (e.g. no bubblewrap).
        """
        began = time.monotonic()
        code, body = await self._fetch(f"/hub/api/users/{self.name}/server", "POST")
        if code not in (201, 202, 400):  # 400: already running
            raise RuntimeError(f"{self.name}: spawn answered {code}: {body.decode(errors='replace')}")
        while time.monotonic() - began < timeout:
            server = (await self.model()).get("servers", {}).get("")
            if server and server.get("ready"):
                return time.monotonic() - began
            if not server:  # the spawn failed: the hub forgot the server
                code, body = await self._fetch(f"/hub/api/users/{self.name}/server/progress")
                raise RuntimeError(
                    f"{self.name}: server failed to start: {body.decode(errors='replace')[-600:]}"
                )
            await asyncio.sleep(0.5)
        raise TimeoutError(f"{self.name}: server not ready after {timeout} s")

    async def stop_server(self) -> None:
        """Ask the hub to stop the user's server."""
        await self._fetch(f"/hub/api/users/{self.name}/server", "DELETE")

    async def server_api(self, path: str, method: str = "GET", body: object = None) -> tuple[int, object]:
        """Call the user's single-user server API (``/user/<name>/api/...``); return code and JSON."""
        code, data = await self._fetch(f"/user/{self.name}/api/{path}", method, body)
        try:
            return code, json.loads(data) if data else None
        except ValueError:
            return code, data

    def _ws(self, path: str) -> HTTPRequest:
        url = self.url.replace("http", "ws", 1) + f"/user/{self.name}/{path}"
        return HTTPRequest(url, headers={"Authorization": f"token {self.token}"})

    async def run_code(self, code: str, timeout: float = 120) -> str:
        """Start a kernel on the user's server, run ``code`` in it, return its stdout (and error text)."""
        status, kernel = await self.server_api("kernels", "POST", {"name": "python3"})
        assert status in (200, 201), f"{self.name}: kernel start answered {status}: {kernel}"
        socket = await websocket_connect(self._ws(f"api/kernels/{kernel['id']}/channels"))
        msg_id = uuid.uuid4().hex
        socket.write_message(json.dumps({
            "header": {"msg_id": msg_id, "msg_type": "execute_request", "session": uuid.uuid4().hex,
                       "username": self.name, "version": "5.3", "date": ""},
            "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
            "content": {"code": code, "silent": False, "store_history": False, "user_expressions": {},
                        "allow_stdin": False, "stop_on_error": True},
        }))  # fmt: skip
        out, deadline = [], time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                raw = await asyncio.wait_for(socket.read_message(), deadline - time.monotonic())
                if raw is None:
                    break
                msg = json.loads(raw)
                if msg.get("parent_header", {}).get("msg_id") != msg_id:
                    continue
                kind = msg["header"]["msg_type"]
                if kind == "stream":
                    out.append(msg["content"]["text"])
                elif kind == "error":
                    out.append("\n".join(msg["content"]["traceback"]))
                elif kind == "status" and msg["content"]["execution_state"] == "idle":
                    break
        finally:
            socket.close()
            await self.server_api(f"kernels/{kernel['id']}", "DELETE")
        return "".join(out)

    async def run_in_terminal(self, command: str, marker: str, timeout: float = 120) -> str:
        """Open a terminal on the user's server, type ``command``, return its output up to ``marker``."""
        status, terminal = await self.server_api("terminals", "POST")
        assert status in (200, 201), f"{self.name}: terminal answered {status}: {terminal}"
        socket = await websocket_connect(self._ws(f"terminals/websocket/{terminal['name']}"))
        socket.write_message(json.dumps(["stdin", command + "\r"]))
        out, deadline = "", time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                raw = await asyncio.wait_for(socket.read_message(), deadline - time.monotonic())
                if raw is None:
                    break
                kind, *data = json.loads(raw)
                if kind == "stdout":
                    out += data[0]
                    if marker in out:  # type it split (echo DO""NE): the echoed line does not match
                        break
        finally:
            socket.close()
            await self.server_api(f"terminals/{terminal['name']}", "DELETE")
        return out
