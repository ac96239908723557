"""The course JupyterHub (hub/): settings, confinement of students, the exchange clerk, a class in Chromium.

One real JupyterHub per module (dummy authenticator, npm's configurable-http-proxy, bubblewrap) on a
temporary copy of the course with the ECG lab released serves two tests:

- the confinement probe: student ben fetches and submits from a terminal (the clerk files it), the
  instructor collects and releases feedback; student ann then tries every private target (the course, the
  hub's secrets, ben's home, submission and feedback, other processes' environments) from a kernel and
  from a terminal of her server, and reads none (the scripted client `hub/classroom_client.py`);
- the classroom cycle in Chromium: two students fetch, probe from a notebook cell, (validate,) submit; the
  instructor collects both in formgrader, grades with course-grade, releases feedback; each student
  fetches only their own. Screenshots go to ``test-artifacts/browser/hub_*.png``.

Skipped, with the reason, without jupyterhub, the proxy, bubblewrap or Chromium.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import shlex
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import browser_support as bs
import pytest
import validate_support as validate
from e2e_support import capped_data_dir

from autograder.config import EXECUTE_LIMITS, load_config

pytest.importorskip("jupyterhub", reason="hub tests skipped: jupyterhub not installed (make install)")
sys.path.insert(0, str(bs.REPO / "hub"))
import classroom_client  # noqa: E402
import course_hub  # noqa: E402
import exchange_clerk  # noqa: E402
import student_sandbox  # noqa: E402

LAB = "ecg_rhythm_classification"
PROXY = bs.REPO / "hub" / "node_modules" / ".bin" / "configurable-http-proxy"
BIN = Path(sys.executable).parent


def test_settings_come_from_the_environment(tmp_path: Path) -> None:
    hub = course_hub.HubSettings.from_environment(
        {"COURSE_HUB_COURSE": str(tmp_path), "COURSE_HUB_STUDENTS": "ann, ben,", "COURSE_HUB_PORT": "8111"}
    )
    assert hub.course == tmp_path.resolve() and hub.state == tmp_path.resolve() / ".hub"
    assert hub.students == ("ann", "ben") and hub.instructors == ("instructor",) and hub.port == 8111
    assert hub.home("ann") == tmp_path.resolve() / ".hub" / "homes" / "ann"
    assert not hub.trusted_room and hub.limits == course_hub.Limits()  # confined by default
    tuned = course_hub.HubSettings.from_environment(
        {"COURSE_HUB_TRUSTED_ROOM": "1", "COURSE_HUB_MEM_LIMIT": "1.5G", "COURSE_HUB_MAX_PROCESSES": "64",
         "COURSE_HUB_CPU_SHARE": "50", "COURSE_HUB_IDLE_TIMEOUT": "600", "COURSE_HUB_CULL_EVERY": "30"}
    )  # fmt: skip
    assert tuned.trusted_room
    assert tuned.limits == course_hub.Limits(memory=3 << 29, processes=64, cpu_share=50, idle_timeout=600,
                                             cull_every=30)  # fmt: skip


def test_students_share_the_exchange_and_lack_the_instructor_tools(tmp_path: Path) -> None:
    course = bs.copy_course([], tmp_path / "course")
    course_hub.write_user_settings(tmp_path / "ann", course, "ann", instructor=False)
    course_hub.write_user_settings(tmp_path / "teach", course, "teach", instructor=True)
    student = (tmp_path / "ann" / ".jupyter" / "nbgrader_config.py").read_text()
    assert f"c.Exchange.root = {str(course / 'exchange')!r}" in student
    assert "c.CourseDirectory.course_id = 'wearable-cardiac-dl'" in student
    assert "c.CourseDirectory.student_id = 'ann'" in student  # not the hub's system user
    disabled = json.loads((tmp_path / "ann" / ".jupyter" / "labconfig" / "page_config.json").read_text())
    assert set(disabled["disabledExtensions"]) == set(course_hub.INSTRUCTOR_PLUGINS)
    server = json.loads((tmp_path / "ann" / ".jupyter" / "jupyter_server_config.json").read_text())
    assert server["ServerApp"]["jpserver_extensions"] == dict.fromkeys(
        course_hub.INSTRUCTOR_SERVER_EXTENSIONS, False
    )
    teacher = (tmp_path / "teach" / ".jupyter" / "nbgrader_config.py").read_text()
    assert f"load_subconfig({str(course / 'nbgrader_config.py')!r})" in teacher
    teacher_lab = json.loads((tmp_path / "teach" / ".jupyter" / "labconfig" / "page_config.json").read_text())
    assert teacher_lab["disabledExtensions"] == {}


def test_a_students_validate_runs_within_the_courses_execute_limits(tmp_path: Path) -> None:
    """The Validate button's code on a student's server (its home, its ``~/.jupyter``) loads the course's
    ``Execute`` limits, not nbgrader's 30 s default that would stop a training cell."""
    course = bs.copy_course([], tmp_path / "course")
    home = tmp_path / "ann"
    course_hub.write_user_settings(home, course, "ann", instructor=False)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "NBGRADER"))} | {
        "HOME": str(home)
    }
    seen = validate.button(Path(sys.executable), home, env, EXECUTE_LIMITS).limits
    assert seen == dict(load_config(course).execution), seen


def test_a_course_without_an_exchange_is_refused_with_the_file_named(tmp_path: Path) -> None:
    (tmp_path / "nbgrader_config.py").write_text("c = get_config()\nLABS = ['x']\n")
    with pytest.raises(RuntimeError, match=r"nbgrader_config.py: sets no c.Exchange.root"):
        course_hub.write_user_settings(tmp_path / "home", tmp_path, "ann", instructor=False)


def test_without_bubblewrap_a_students_server_is_refused_with_why_and_the_fix(tmp_path, monkeypatch) -> None:
    course = bs.copy_course([], tmp_path / "course")
    monkeypatch.setenv("PATH", str(tmp_path / "no-bwrap-here"))
    student_sandbox.problem.cache_clear()
    try:
        student, teacher, room = (spawner(tmp_path, course, name) for name in ("ann", "instructor", "ann"))
        room.trusted_room = True
        assert student.confined() and not teacher.confined() and not room.confined()
        with pytest.raises(RuntimeError) as refused:
            asyncio.run(student.start())
    finally:
        student_sandbox.problem.cache_clear()
    line = str(refused.value)
    assert "\n" not in line and "bwrap" in line and "not installed" in line, line
    assert "apt-get install bubblewrap" in line and "COURSE_HUB_TRUSTED_ROOM=1" in line, line
    assert not (tmp_path / "hub" / "homes" / "ann").exists(), "a refused student got a home all the same"


def spawner(tmp_path: Path, course: Path, name: str) -> course_hub.CourseSpawner:
    """Return the hub's spawner for user ``name`` (not started), on ``course`` with state in tmp_path/hub."""
    user = SimpleNamespace(name=name, url=f"/user/{name}/", escaped_name=name, base_url="/", server=None,
                           orm_user=None, id=1, settings={})  # fmt: skip
    state = tmp_path / "hub"
    return course_hub.CourseSpawner(user=user, course=str(course), state=str(state), instructors="instructor",
                                    home_dir_template=str(state / "homes" / "{username}"))  # fmt: skip


def _submission(folder: Path, secret: str, claimed: str, complete: bool = True) -> None:
    folder.mkdir(parents=True)
    (folder / f"{LAB}.ipynb").write_text("{}")
    (folder / "timestamp.txt").write_text(claimed)
    (folder / "submission_secret.txt").write_text(secret)
    folder.chmod(0o777 if complete else 0o755)


def test_the_clerk_files_submissions_under_the_owner_with_its_own_time_and_hands_back_only_own_feedback(
    tmp_path: Path,
) -> None:
    course = bs.copy_course([], tmp_path / "course")
    state = tmp_path / "hub"
    real = course / "exchange" / "wearable-cardiac-dl"
    # ben's own inbound (what his server sees as the exchange's inbound): a submission that claims to be
    # ann's and to come from 2020, holding a link to the hub's cookie secret; and one still being copied
    forged = state / "exchange" / "ben" / "inbound" / f"ann+{LAB}+2020-01-01 00:00:00.000000 UTC+r4nd"
    _submission(forged, "s3cret", "2020-01-01 00:00:00.000000 UTC")
    (forged / "leak").symlink_to(tmp_path / "cookie_secret")
    (tmp_path / "cookie_secret").write_text("the hub's secret")
    busy = state / "exchange" / "ben" / "inbound" / f"ben+{LAB}+2026-01-01 00:00:00.000000 UTC+busy"
    _submission(busy, "other", "2026-01-01 00:00:00.000000 UTC", complete=False)
    (state / "exchange" / "ann" / "inbound").mkdir(parents=True)
    before = time.time()
    receipts = exchange_clerk.sweep(course, state)
    assert [r["student"] for r in receipts] == ["ben"] and receipts[0]["claimed"].startswith("2020")
    filed = [p.name for p in (real / "inbound").iterdir()]
    assert len(filed) == 1 and filed[0].startswith(f"ben+{LAB}+") and filed[0].endswith("+r4nd"), filed
    stamped = (real / "inbound" / filed[0] / "timestamp.txt").read_text()
    when = datetime.strptime(stamped, "%Y-%m-%d %H:%M:%S.%f %Z").replace(tzinfo=UTC).timestamp()
    assert before - 1 <= when <= time.time() + 1, stamped  # the exchange's clock, not the claimed 2020
    assert stamped in filed[0]
    assert sorted(p.name for p in (real / "inbound" / filed[0]).iterdir()) == [
        f"{LAB}.ipynb",
        "submission_secret.txt",
        "timestamp.txt",
    ]  # fmt: skip  (no link)
    assert not forged.exists() and busy.is_dir(), "the clerk must take complete submissions only"
    # feedback: nbgrader names it md5(secret + notebook); each student gets their own only
    digest = hashlib.md5(b"s3cret" + LAB.encode()).hexdigest()
    (real / "feedback").mkdir(parents=True, exist_ok=True)
    (real / "feedback" / f"{digest}.html").write_text("ben's feedback")
    (real / "feedback" / "0123456789abcdef0123456789abcdef.html").write_text("someone else's")
    exchange_clerk.sweep(course, state)
    assert [p.name for p in (state / "exchange" / "ben" / "feedback").iterdir()] == [f"{digest}.html"]
    assert not any((state / "exchange" / "ann").glob("feedback/*")), "ann got feedback of someone else"


# --- a class on the hub, in Chromium ----------------------------------------------------------------------


@contextmanager
def running_hub(course: Path, state: Path, log: Path, students: str = "student1") -> Iterator[str]:
    """Start the course hub on ``course`` and yield its URL; stop it (and every user server) after."""
    port = bs.free_port()
    data = capped_data_dir()
    data.chmod(0o755)  # a temporary folder is 0700: the students' own accounts must read the data
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "LABKIT_"))}
    env.update(
        PATH=os.pathsep.join([str(BIN), env.get("PATH", "")]),
        COURSE_HUB_COURSE=str(course),
        COURSE_HUB_DIR=str(state),
        COURSE_HUB_STUDENTS=students,
        COURSE_HUB_PORT=str(port),
        COURSE_HUB_SERVER_ARGS="--LabApp.expose_app_in_browser=True",
        LABKIT_DATA_DIR=str(data),
        LABKIT_MAX_EPOCHS="1",
    )
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [str(BIN / "jupyterhub"), "-f", str(bs.REPO / "hub" / "jupyterhub_config.py")],
            cwd=state.parent, env=env, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert process.poll() is None, f"jupyterhub exited:\n{log.read_text()[-3000:]}"
            assert time.monotonic() < deadline, f"jupyterhub did not answer:\n{log.read_text()[-3000:]}"
            try:
                urllib.request.urlopen(f"{url}/hub/login", timeout=2).close()
                break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.5)
        yield url
    finally:
        process.terminate()  # the hub stops the proxy and the user servers it spawned (cleanup_servers)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)
            process.wait(timeout=10)


@dataclass
class Classroom:
    """One running hub for the module's tests: URL, course copy, hub folder, exchange, hub log."""

    url: str
    course: Path
    state: Path
    exchange: Path
    log: Path


@pytest.fixture(scope="module")
def classroom(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Classroom]:
    """Start the course hub once (students ann, ben, student1, student2; the lab released) for the module."""
    if not os.access(PROXY, os.X_OK):
        pytest.skip(f"hub test skipped: no proxy at {PROXY} (make hub-proxy: needs nodejs and npm)")
    if reason := student_sandbox.problem():
        pytest.skip(f"hub test skipped: {reason}")
    began = time.monotonic()
    root = tmp_path_factory.mktemp("classroom")
    course = bs.copy_course([LAB], root / "course")
    exchange = course / "exchange"
    exchange.mkdir()
    env = {**os.environ, "PATH": os.pathsep.join([str(BIN), os.environ.get("PATH", "")])}
    for step in (["generate_assignment", LAB, "--force"], ["release_assignment", LAB, "--force"]):
        subprocess.run([str(BIN / "nbgrader"), *step], cwd=course, env=env, check=True, capture_output=True)
    state, log = root / "hub", root / "hub.log"
    released = time.monotonic()
    with running_hub(course, state, log, students="ann,ben,student1,student2") as url:
        up = time.monotonic() - released
        print(f"classroom: course released in {released - began:.1f} s, hub up {up:.1f} s later")
        yield Classroom(url, course, state, exchange, log)


def wait_for(condition, what: str, timeout: float = 30) -> None:
    """Wait until ``condition()`` is true; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.3)


def private_targets(room: Classroom, victim: str) -> list[str]:
    """Return the paths no student may read: the course, the hub's secrets, ``victim``'s work, processes."""
    course, state, real = room.course, room.state, room.exchange / "wearable-cardiac-dl"
    filed = sorted((real / "inbound").glob(f"{victim}+{LAB}+*"))
    released_feedback = sorted((real / "feedback").glob("*.html"))
    assert filed and released_feedback, "the probe needs the victim's filed submission and released feedback"
    pids = {
        "hub": (state / "jupyterhub.pid").read_text().strip(),
        "proxy": (state / "proxy.pid").read_text().strip(),
    }
    victims = [
        p.name for p in Path("/proc").iterdir() if p.name.isdigit() and _owner(p) == _uid(state, victim)
    ]
    assert victims, f"{victim}'s server is not running"
    # (not the folders that lead to the student's own mounts, e.g. the course folder holding only the
    # exchange view, or the hub account's home holding only the Python installation: those exist in the
    # sandbox, empty but for what is the student's)
    return [
        str(bs.REPO / "source" / LAB / f"{LAB}.py"), str(bs.REPO / "source"),  # the instructors' sources
        str(course / "nbgrader_config.py"), str(course / "source" / LAB / f"{LAB}.ipynb"),
        str(course / "source"), str(course / "gradebook.db"), str(course / "release"),
        str(course / "submitted" / victim / LAB / f"{LAB}.ipynb"), str(course / "submitted"),
        str(filed[0] / f"{LAB}.ipynb"), str(filed[0]), str(released_feedback[0]),  # as filed in the exchange
        str(state / "jupyterhub.sqlite"), str(state / "jupyterhub_cookie_secret"),
        str(state / "accounts.json"), str(state / "homes" / victim),
        str(state / "homes" / victim / "secret.txt"),
        str(state / "exchange" / victim / "feedback"), str(state / "exchange" / victim / "inbound"),
        str(state / "exchange" / "receipts.jsonl"),
        f"/proc/{pids['hub']}/environ", f"/proc/{pids['proxy']}/environ",  # the hub's, proxy's tokens
        *(f"/proc/{pid}/environ" for pid in victims[:3]),  # the victim's API token
        str(bs.REPO / "tests"), str(bs.REPO / "nbgrader_config.py"),  # the rest of the course repository
    ]  # fmt: skip


def _owner(proc: Path) -> int | None:
    try:
        return proc.stat().st_uid
    except OSError:
        return None


def _uid(state: Path, user: str) -> int:
    if not student_sandbox.running_as_root():
        return os.getuid()
    return json.loads((state / "accounts.json").read_text())[user]


PROBE_CODE = """
import json, os, pathlib
read = []
for target in TARGETS:
    path = pathlib.Path(target)
    try:
        os.listdir(path) if path.is_dir() else path.read_bytes()
        read.append(target)
    except OSError:
        pass
print("PROBE" + json.dumps({"tried": len(TARGETS), "read": read}))
"""


def _verdicts(line: str | None, targets: list[str], out: object) -> dict[str, str]:
    assert line, f"the probe printed nothing:\n{out}"
    answer = json.loads(line[len("PROBE") :])
    assert answer["tried"] == len(targets), answer
    return {t: "READ" if t in answer["read"] else "SHUT" for t in targets}


def probe_in_kernel(student: classroom_client.Student, targets: list[str]) -> dict[str, str]:
    """Try to read (or list) every target from a kernel of ``student``'s server; return what happened."""
    out = asyncio.run(student.run_code(f"TARGETS = {targets!r}\n{PROBE_CODE}"))
    line = next((line for line in out.splitlines() if line.startswith("PROBE")), None)
    return _verdicts(line, targets, out)


def probe_in_terminal(student: classroom_client.Student, targets: list[str]) -> dict[str, str]:
    """Try ``cat`` (files) and ``ls`` (folders) on every target from a terminal of ``student``'s server."""
    quoted = " ".join(shlex.quote(t) for t in targets)
    command = (f'for t in {quoted}; do if [ -d "$t" ] && ls "$t" >/dev/null 2>&1 || cat "$t" >/dev/null 2>&1;'
               f' then echo "READ:$t"; else echo "SHUT:$t"; fi; done; echo PROBE""-END')  # fmt: skip
    out = asyncio.run(student.run_in_terminal(command, "PROBE-END"))
    seen = {}
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", out)  # the terminal's control sequences
    for line in re.split(r"[\r\n]+", text):
        verdict, _, target = line.partition(":")
        if verdict in ("READ", "SHUT") and target in targets:
            seen[target] = verdict
    assert set(seen) == set(targets), f"the terminal probe answered for {len(seen)} of {len(targets)}:\n{out}"
    return seen


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_student_reads_nothing_private_from_a_kernel_or_a_terminal(classroom: Classroom) -> None:
    began = time.monotonic()
    ann, ben = (classroom_client.Student(classroom.url, name) for name in ("ann", "ben"))

    async def start_both() -> None:
        for student in (ann, ben):
            await student.log_in()
        await asyncio.gather(ann.start_server(), ben.start_server())

    asyncio.run(start_both())
    steps = f"2 servers up {time.monotonic() - began:.1f} s"
    # ben works as a student does: a file in his home, fetch, submit (nbgrader's commands, in a terminal)
    shell = f"echo ben-only > ~/secret.txt; nbgrader fetch_assignment {LAB} && nbgrader submit {LAB}"
    shell += "; echo SUB''MITTED"  # typed split: the echoed command line does not end the wait
    out = asyncio.run(ben.run_in_terminal(shell, "SUBMITTED"))
    assert "Submitted as" in out, out
    real = classroom.exchange / "wearable-cardiac-dl"
    wait_for(lambda: list((real / "inbound").glob(f"ben+{LAB}+*")), "the clerk to file ben's submission")
    # the instructor collects and releases feedback for it, as nbgrader does (the file name: md5 of the
    # submission's secret and the notebook's name)
    env = {**os.environ, "PATH": os.pathsep.join([str(BIN), os.environ.get("PATH", "")])}
    subprocess.run([str(BIN / "nbgrader"), "collect", LAB], cwd=classroom.course, env=env, check=True,
                   capture_output=True)  # fmt: skip
    secret = next((classroom.course / "submitted" / "ben" / LAB).glob("submission_secret.txt")).read_text()
    digest = hashlib.md5((secret + LAB).encode()).hexdigest()
    (real / "feedback" / f"{digest}.html").write_text("ben's feedback")
    own = classroom.state / "exchange" / "ben" / "feedback" / f"{digest}.html"
    wait_for(own.is_file, "the clerk to hand ben his feedback")

    targets = private_targets(classroom, "ben")
    steps += f", ben submitted and has feedback {time.monotonic() - began:.1f} s"
    for where, probe in (("kernel", probe_in_kernel), ("terminal", probe_in_terminal)):
        seen = probe(ann, targets)
        read = sorted(t for t, verdict in seen.items() if verdict == "READ")
        assert not read, f"ann's {where} read private targets: {read}"
    # the probe can see what is hers: her home, the data, the released lab (it would report a leak)
    mine = [
        str(classroom.state / "homes" / "ann" / ".jupyter" / "nbgrader_config.py"),
        str(capped_data_dir() / "ecg_rhythms.npz"),
        str(real / "outbound" / LAB / f"{LAB}.ipynb"),
    ]
    assert set(probe_in_kernel(ann, mine).values()) == {"READ"}
    assert set(probe_in_terminal(ann, mine).values()) == {"READ"}
    # and ben, confined too, still sees his own feedback where nbgrader's fetch_feedback looks for it
    out = asyncio.run(ben.run_in_terminal(f"nbgrader fetch_feedback {LAB}; echo FETCH''ED", "FETCHED"))
    assert (classroom.state / "homes" / "ben" / LAB / "feedback").is_dir(), out
    print(
        f"probe test: {len(targets)} targets, {time.monotonic() - began:.1f} s after the hub start ({steps})"
    )


@contextmanager
def chromium_pages(profiles: list[Path]) -> Iterator[list[Any]]:
    """Yield one page per profile, each its own Chromium profile (own cookies), from one Playwright.

    (Playwright's sync API cannot nest: `browser_support.chromium_page` opens one Playwright each.)
    """
    from playwright.sync_api import sync_playwright

    executable = bs.require_chromium()
    with sync_playwright() as playwright:
        contexts = [
            playwright.chromium.launch_persistent_context(str(profile), executable_path=str(executable),
                                                          headless=True, args=bs.CHROMIUM_ARGS,
                                                          viewport={"width": 1400, "height": 900})
            for profile in profiles
        ]  # fmt: skip
        pages = []
        for context in contexts:
            page = context.pages[0] if context.pages else context.new_page()
            page.on("dialog", lambda dialog: dialog.accept())  # "leave with unsaved changes?" -> leave
            pages.append(page)
        try:
            yield pages
        finally:
            for context in contexts:
                context.close()


def log_in(page: Any, url: str, user: str) -> None:
    """Log in as ``user`` on the hub's login form (any password: dummy authenticator)."""
    page.goto(f"{url}/hub/login")
    page.fill("#username_input", user)
    page.fill("#password_input", "any")
    page.click("#login_submit")


def wait_for_lab(page: Any, timeout_ms: int = 180_000) -> None:
    """Wait until the user's JupyterLab has started and restored."""
    page.wait_for_function("() => window.jupyterapp?.shell !== undefined", timeout=timeout_ms)
    page.evaluate("async () => { await window.jupyterapp.restored; }")


def others_private(room: Classroom, me: str) -> list[str]:
    """Return what ``me`` must not read: the course, the hub's secrets, whatever is another user's."""
    real = room.exchange / "wearable-cardiac-dl"
    hub_pids = [(room.state / f"{name}.pid").read_text().strip() for name in ("jupyterhub", "proxy")]
    others = [home for home in (room.state / "homes").iterdir() if home.name != me]
    return [
        str(bs.REPO / "source" / LAB / f"{LAB}.py"), str(room.course / "source" / LAB / f"{LAB}.ipynb"),
        str(room.course / "gradebook.db"), str(room.course / "nbgrader_config.py"),
        str(room.state / "jupyterhub.sqlite"), str(room.state / "jupyterhub_cookie_secret"),
        *(f"/proc/{pid}/environ" for pid in hub_pids),
        *(str(home) for home in others), *(str(home / LAB / f"{LAB}.ipynb") for home in others),
        *(str(p) for p in (real / "inbound").glob("*") if not p.name.startswith(f"{me}+")),
        *(str(p) for p in (real / "feedback").glob("*.html")),
        *(str(p) for p in (room.state / "exchange").glob("*/*") if p.parent.name != me),
    ]  # fmt: skip


def probe_in_cell(page: Any, index: int, targets: list[str]) -> dict[str, str]:
    """Type the probe into cell ``index`` of the open notebook (a student's own cell), run it, return it."""
    bs.set_source(page, index, f"TARGETS = {targets!r}\n{PROBE_CODE}")
    result = bs.run_cell(page, index)
    assert not result["errors"], result["errors"]
    line = next((line for line in result["text"].splitlines() if line.startswith("PROBE")), None)
    bs.scroll_to_cell(page, index)
    return _verdicts(line, targets, result)


def student_session(page: Any, room: Classroom, user: str, first_cells: bool) -> tuple[str, int]:
    """Log in, fetch, (run the first cells,) try the private targets in a cell, (validate,) submit.

    Returns the validation report (empty when ``first_cells`` is false: then the student only probes) and
    how many private targets the probe cell tried.
    """
    home = room.state / "homes" / user
    log_in(page, room.url, user)
    wait_for_lab(page)
    page.evaluate("() => window.jupyterapp.commands.execute('nbgrader:open-assignment-list')")
    fetch = page.locator("#released_assignments_list button", has_text="Fetch")
    fetch.wait_for(timeout=60_000)
    bs.screenshot(page, f"hub_{user}_assignments")
    fetch.click()
    page.locator("#fetched_assignments_list .assignment-notebooks-link").first.wait_for(timeout=60_000)
    assert (home / LAB / f"{LAB}.ipynb").is_file(), "Fetch put no notebook in the student's home"
    bs.screenshot(page, f"hub_{user}_fetched")
    path = f"{LAB}/{LAB}.ipynb"
    page.evaluate("(path) => window.jupyterapp.commands.execute('docmanager:open', {path})", path)
    page.wait_for_function("(p) => window.jupyterapp.shell.currentWidget?.context?.path === p", arg=path)
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
    idle = "() => window.jupyterapp.shell.currentWidget.sessionContext.session?.kernel?.status === 'idle'"
    page.wait_for_function(idle, timeout=120_000)
    cells = bs.cell_sources(page)
    first_exercise = next(i for i, c in enumerate(cells) if c["solution"])
    report = ""
    if first_cells:
        results = [bs.run_cell(page, i) for i in range(first_exercise)]
        failed = {i: r["errors"] for i, r in enumerate(results) if r["errors"]}
        assert not failed, f"the lab's first cells failed on the hub: {failed}"
        canvas = ".jupyter-matplotlib canvas"  # the ipympl figure of the examples cell, a live widget
        page.wait_for_selector(f".jp-Notebook {canvas}", state="attached", timeout=60_000)
        bs.scroll_to_cell(page, bs.first_cell_with(page, canvas), canvas)
        bs.screenshot(page, f"hub_{user}_first_cells")
    targets = others_private(room, user)
    own_cell = next(i for i, c in enumerate(cells) if c["solution"] and c["type"] == "code")  # an exercise
    seen = probe_in_cell(page, own_cell, targets)
    bs.screenshot(page, f"hub_{user}_probe")
    assert set(seen) == set(targets) and not [t for t, v in seen.items() if v == "READ"], seen
    if first_cells:
        page.click(".validate-button")
        report = page.wait_for_selector(".jp-Dialog-content", timeout=240_000).inner_text()
        bs.screenshot(page, f"hub_{user}_validate")
        page.click(".jp-Dialog .jp-mod-accept")
    page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
    page.evaluate("() => window.jupyterapp.commands.execute('nbgrader:open-assignment-list')")
    submit = page.locator("#fetched_assignments_list button", has_text="Submit").first
    submit.click()
    page.locator("#submitted_assignments_list .list_item").first.wait_for(timeout=60_000)
    bs.screenshot(page, f"hub_{user}_submitted")
    inbound = room.exchange / "wearable-cardiac-dl" / "inbound"
    wait_for(lambda: list(inbound.glob(f"{user}+{LAB}+*")), f"the clerk to file {user}'s submission")
    return report, len(targets)


def fetch_feedback(page: Any, room: Classroom, user: str) -> Path:
    """Fetch the feedback from the Assignments tab; return the student's feedback page."""
    from playwright.sync_api import TimeoutError as BrowserTimeout

    page.evaluate("() => window.jupyterapp.commands.execute('nbgrader:open-assignment-list')")
    link = page.locator("#submitted_assignments_list a", has_text="view feedback").first
    for attempt in range(3):  # a click on a list still refreshing after the idle minutes can be lost
        page.locator("#submitted_assignments_list button", has_text="Fetch Feedback").first.click()
        try:
            link.wait_for(timeout=30_000)
            break
        except BrowserTimeout:
            if attempt == 2:
                raise
    bs.screenshot(page, f"hub_{user}_feedback")
    pages = sorted((room.state / "homes" / user / LAB / "feedback").glob(f"*/{LAB}.html"))
    assert len(pages) == 1, f"{user}: {pages}"
    return pages[0]


def instructor_session(page: Any, room: Classroom, students: tuple[str, ...]) -> dict[str, str]:
    """Open formgrader in its own tab, collect the submissions, list them; return the frame's CSP header."""
    url = room.url
    log_in(page, url, "instructor")
    wait_for_lab(page)
    response = page.goto(f"{url}/user/instructor/formgrader/manage_assignments")
    csp = response.headers.get("content-security-policy", "")
    row = page.locator("tr", has_text=LAB).first
    row.wait_for(timeout=60_000)
    bs.screenshot(page, "hub_instructor_formgrader_assignments")
    row.locator("a[title='Collect submissions'], button[title='Collect submissions'], .collect").first.click()
    dialog = page.locator(".modal-dialog")
    dialog.wait_for(timeout=60_000)
    page.locator(".modal-footer button", has_text=re.compile("OK|Close")).first.click()
    page.goto(f"{url}/user/instructor/formgrader/manage_submissions/{LAB}")
    for student in students:
        page.locator("td", has_text=student).first.wait_for(timeout=60_000)
        assert (room.course / "submitted" / student / LAB / f"{LAB}.ipynb").is_file()
    bs.screenshot(page, "hub_instructor_formgrader_submissions")
    page.goto(f"{url}/user/instructor/lab")
    wait_for_lab(page)
    page.evaluate("() => window.jupyterapp.commands.execute('nbgrader:open-formgrader')")
    page.wait_for_timeout(3000)
    bs.screenshot(page, "hub_instructor_formgrader_in_lab_tab")
    return {"csp": csp}


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.timeout(900)
def test_two_students_and_the_instructor_go_through_the_classroom_cycle_confined(
    classroom: Classroom,
) -> None:
    bs.require_chromium()
    students = ("student1", "student2")
    began = time.monotonic()
    with chromium_pages([classroom.log.parent / f"profile-{name}" for name in (*students, "instructor")]) as (
        first,
        second,
        teacher,
    ):
        report, probed_first = student_session(first, classroom, "student1", first_cells=True)
        assert re.search(r"fail|NotImplementedError", report, re.IGNORECASE), report
        _, probed_second = student_session(second, classroom, "student2", first_cells=False)
        assert probed_second > probed_first, "student2's probe must include student1's home and submission"
        students_done = time.monotonic()
        seen = instructor_session(teacher, classroom, students)
        # grading in the course's sandboxed grader, feedback with hidden tests withheld, released
        env = {**os.environ, "PATH": os.pathsep.join([str(BIN), os.environ.get("PATH", "")]),
               "LABKIT_DATA_DIR": str(capped_data_dir()), "LABKIT_MAX_EPOCHS": "1"}  # fmt: skip
        course_grade = [str(BIN / "course-grade"), "--course", str(classroom.course), "--quiet"]
        grade = [*course_grade, "grade", LAB, "--jobs", "2", "--no-train-reuse"]
        steps = [grade, [*course_grade, "feedback", LAB], [str(BIN / "nbgrader"), "release_feedback", LAB]]
        for command in steps:
            done = subprocess.run(command, cwd=classroom.course, env=env, capture_output=True, text=True)
            assert done.returncode == 0, f"{command}: {done.stdout[-2000:]}{done.stderr[-2000:]}"
        graded = time.monotonic()
        print(f"browser test: students {students_done - began:.0f} s, instructor and grading "
              f"{graded - students_done:.0f} s", flush=True)  # fmt: skip
        for page, student in ((first, "student1"), (second, "student2")):
            feedback = fetch_feedback(page, classroom, student).read_text()
            other = next(s for s in students if s != student)
            released = {
                s: (classroom.course / "feedback" / s / LAB / f"{LAB}.html").read_text() for s in students
            }
            assert (
                released[student] != released[other]
            )  # (each carries its own notebook: the probe cells differ)
            assert feedback == released[student], f"{student} fetched feedback that is not theirs"
            own = list((classroom.state / "exchange" / student / "feedback").glob("*.html"))
            assert len(own) == 1, f"{student} was handed {len(own)} feedback files: {own}"
            assert own[0].read_text() == feedback, f"{student} fetched feedback the clerk did not hand them"
    print(f"browser test: feedback fetched {time.monotonic() - graded:.0f} s")
    # JupyterHub forbids framing user servers (nbgrader #1870): the Lab formgrader tab stays blank, the
    # formgrader in its own browser tab (above) works. docs/hub.md says so; this fails when that changes.
    assert "frame-ancestors 'none'" in seen["csp"], seen["csp"]
