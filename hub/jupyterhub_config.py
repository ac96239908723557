"""JupyterHub for the course on one machine (``make hub``; docs/hub.md).

Settings come from ``COURSE_HUB_*`` environment variables (see `course_hub.HubSettings` and
`course_hub.Limits`). Students' servers are confined (`student_sandbox`); the exchange clerk files their
submissions, jupyterhub-idle-culler stops idle servers. Authentication is JupyterHub's dummy authenticator,
for tests and a trusted room only: plug PAM, OAuth or LTI as docs/hub.md shows before students log in over
a network.
"""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import student_sandbox  # noqa: E402
from course_hub import HUB_FOLDER, CourseSpawner, HubSettings  # noqa: E402

c = get_config()  # noqa: F821 (injected by traitlets)
hub = HubSettings.from_environment()
hub.state.mkdir(parents=True, exist_ok=True)
hub.state.chmod(0o711)  # students' accounts pass through to their homes, nobody lists or reads the rest

# --- network: loopback only; proxy: configurable-http-proxy from npm (`make hub-proxy`)
c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = hub.port
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = hub.port + 1  # the hub's own API
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{hub.port + 2}"
proxy = HUB_FOLDER / "node_modules" / ".bin" / "configurable-http-proxy"
if proxy.exists():
    c.ConfigurableHTTPProxy.command = [str(proxy)]
c.ConfigurableHTTPProxy.pid_file = str(hub.state / "proxy.pid")

# --- state: database, cookie secret, logs under the hub folder (git-ignored)
c.JupyterHub.db_url = f"sqlite:///{hub.state / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(hub.state / "jupyterhub_cookie_secret")
c.JupyterHub.pid_file = str(hub.state / "jupyterhub.pid")

# --- users: the roster; instructors are hub admins. Replace the authenticator for a real class.
c.JupyterHub.authenticator_class = "dummy"
c.Authenticator.allowed_users = set(hub.instructors) | set(hub.students)
c.Authenticator.admin_users = set(hub.instructors)

# --- one process per user, own home under the hub folder, the course environment as kernel;
#     students confined (or refused without bubblewrap), within the per-student limits
c.JupyterHub.spawner_class = CourseSpawner
c.CourseSpawner.course = str(hub.course)
c.CourseSpawner.instructors = ",".join(hub.instructors)
c.CourseSpawner.state = str(hub.state)
c.CourseSpawner.trusted_room = hub.trusted_room
c.CourseSpawner.limits = hub.limits
c.CourseSpawner.home_dir_template = str(hub.state / "homes" / "{username}")
c.Spawner.cmd = [str(Path(sys.executable).with_name("jupyterhub-singleuser"))]
c.Spawner.default_url = "/lab"
c.Spawner.http_timeout = 120
c.Spawner.start_timeout = 120
c.Spawner.args = os.environ.get("COURSE_HUB_SERVER_ARGS", "").split()  # e.g. for tests
if hasattr(os, "getuid") and os.getuid() == 0:
    c.Spawner.args.append("--allow-root")  # containers and CI run as root (instructors' servers)
if hub.trusted_room:
    print("course hub: COURSE_HUB_TRUSTED_ROOM is set: students' servers run UNCONFINED", file=sys.stderr)
elif reason := student_sandbox.problem():
    print(f"course hub: {reason}", file=sys.stderr)

# --- services: the exchange clerk (files submissions, stamps their time, hands each student their
#     feedback) and jupyterhub-idle-culler (stops servers idle for Limits.idle_timeout seconds)
python = sys.executable
c.JupyterHub.services = [
    {
        "name": "exchange-clerk",
        "command": [
            python,
            str(HUB_FOLDER / "exchange_clerk.py"),
            "--course",
            str(hub.course),
            "--state",
            str(hub.state),
        ],  # fmt: skip
    },
    {
        "name": "idle-culler",
        "command": [
            python,
            "-m",
            "jupyterhub_idle_culler",
            f"--timeout={hub.limits.idle_timeout}",
            f"--cull-every={hub.limits.cull_every}",
        ],  # fmt: skip
    },
]
c.JupyterHub.load_roles = [
    {
        "name": "idle-culler",
        "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"],
        "services": ["idle-culler"],
    }
]
