"""Grade ONE submission in its own directory: runs where the work runs (a local process or a Dask worker).

A `Job` carries everything by value (submission, the lab's grading-kit gradebook, settings), so a remote
worker needs no access to the course. `run_job` builds the worker directory, runs ``nbgrader autograde`` in
a subprocess with a minimal environment and the sandboxed kernel, and returns a `Result` with the
autograded notebook and the scores nbgrader saved in the private gradebook.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from autograder.cells import grade_id
from autograder.confine import Confinement, empty_file, python_folders
from autograder.isolation import COURSE_CONFIG, socket_prefix, worker_config_text
from autograder.sandbox import KERNEL_NAME, Limits, kernel_uid, write_kernelspec

JOB_ENV = "COURSE_GRADE_JOB"


@dataclass(frozen=True)
class Settings:
    """How a submission is executed.

    Attributes
    ----------
    cell_timeout, startup_timeout, notebook_timeout
        Seconds per cell, for kernel start-up and for the whole notebook.
    limits
        Kernel resource limits.
    threads
        ``OMP_NUM_THREADS`` / ``MKL_NUM_THREADS`` of the kernel.
    gpu
        Value of ``CUDA_VISIBLE_DEVICES`` ("" = no GPU).
    data_dir
        Read-only data folder the kernel sees as ``LABKIT_DATA_DIR``.
    extra_env
        Documented pass-through variables (e.g. ``LABKIT_MAX_EPOCHS``).
    keep
        Keep the worker directory after grading (debugging).
    course_root
        The course folder, hidden from confined kernels (see :mod:`autograder.confine`).
    """

    cell_timeout: int
    startup_timeout: int
    notebook_timeout: int
    limits: Limits
    threads: int
    gpu: str
    data_dir: str
    extra_env: dict[str, str] = field(default_factory=dict)
    keep: bool = False
    course_root: str = ""


@dataclass(frozen=True)
class Job:
    """One submission to grade, carried by value.

    ``course_config`` is the course's ``nbgrader_config.py`` (the worker loads it unchanged, see
    :mod:`autograder.isolation`); ``duedate`` the lab's due date in the course gradebook (ISO, or None).
    """

    student: str
    lab: str
    key: str
    course_id: str
    notebook: bytes
    timestamp: str | None
    kit_gradebook: bytes
    kit_files: dict[str, bytes]
    work_root: str
    settings: Settings
    course_config: bytes = b""
    duedate: str | None = None


@dataclass
class Result:
    """What grading one submission produced.

    ``grades`` maps grade id to ``(auto_score, needs_manual_grade, max_score, cell_type)`` (cell type
    "code": an autograded test; "markdown": a written answer); ``comments`` maps solution
    cell id to nbgrader's ``auto_comment``; ``notebook`` is the autograded notebook (None when nbgrader could
    not write one; then every autograded test scored zero).
    """

    student: str
    lab: str
    key: str
    notebook: bytes | None
    grades: dict[str, tuple[float | None, bool, float, str]]
    comments: dict[str, str | None]
    notes: list[str]
    timestamp: str | None
    seconds: float
    late_penalty: float | None = None


def _make_dirs(job: Job, work: Path, uid: int | None, sockets: Path) -> dict[str, Path]:
    lab, student = job.lab, job.student
    dirs = {
        "home": work / "home",
        "jupyter": work / "jupyter",
        "runtime": work / "runtime",
        "tmp": work / "tmp",
        "submitted": work / "submitted" / student / lab,
        "source": work / "source" / lab,
    }
    for path in dirs.values():
        path.mkdir(parents=True, exist_ok=True)
    (dirs["home"] / "logs").mkdir()
    (dirs["submitted"] / f"{lab}.ipynb").write_bytes(job.notebook)
    if job.timestamp:
        (dirs["submitted"] / "timestamp.txt").write_text(job.timestamp)
    for rel, data in job.kit_files.items():
        (dirs["source"] / rel).parent.mkdir(parents=True, exist_ok=True)
        (dirs["source"] / rel).write_bytes(data)
    (work / "gradebook.db").write_bytes(job.kit_gradebook)
    os.chmod(work / "gradebook.db", 0o600)
    if job.duedate:
        _set_duedate(work / "gradebook.db", job.lab, job.duedate)
    for path in (work, dirs["runtime"], work.parent, work.parent.parent):
        os.chmod(path, 0o711)
    if uid is not None:
        for root, subdirs, files in os.walk(dirs["home"]):
            for name in [*subdirs, *files]:
                os.chown(os.path.join(root, name), uid, uid)
        os.chown(dirs["home"], uid, uid)
        os.chown(sockets, uid, uid)
    write_kernelspec(dirs["jupyter"], job.settings.limits, _confinement(job, work, sockets))
    return dirs


def _set_duedate(gradebook: Path, lab: str, duedate: str) -> None:
    """Give the private gradebook the course's due date (nbgrader's late penalties read it)."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{gradebook}") as gb:
        gb.update_or_create_assignment(lab, duedate=duedate)


def _confinement(job: Job, work: Path, sockets: Path) -> Confinement:
    s = job.settings
    return Confinement(
        work=str(work),
        sockets=str(sockets),
        hide=tuple(path for path in (s.course_root, job.work_root) if path),
        read_only=(*python_folders(), s.data_dir),
        masked=(str(work / "gradebook.db"),),
        gpu=bool(s.gpu),
        mask_with=empty_file(job.work_root),
    )


def _write_config(job: Job, work: Path, uid: int | None, sockets: Path) -> None:
    """Write the worker's nbgrader_config.py: the course's configuration plus the isolation overrides."""
    s = job.settings
    (work / COURSE_CONFIG).write_bytes(job.course_config)
    overrides = {
        "root": str(work),
        "course_id": job.course_id,
        "kernel_name": KERNEL_NAME,
        "cell_timeout": s.cell_timeout,
        "startup_timeout": s.startup_timeout,
        "sockets": socket_prefix(sockets),
        "guard": {
            "notebook_timeout": s.notebook_timeout,
            "notes_file": str(work / "notes.json"),
            "kernel_uid": -1 if uid is None else uid,
        },
    }
    (work / "nbgrader_config.py").write_text(worker_config_text(overrides))


def job_token(job: Job) -> str:
    """Return the prefix of the environment token that marks this job's processes."""
    return f"{job.lab}/{job.student}/{job.key[:12]}/"


def _environment(job: Job, dirs: dict[str, Path], run_id: str) -> dict[str, str]:
    s = job.settings
    env = {
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), "/usr/local/bin", "/usr/bin", "/bin"]),
        "HOME": str(dirs["home"]),
        "LANG": "C.UTF-8",
        "JUPYTER_PATH": str(dirs["jupyter"]),
        "JUPYTER_CONFIG_DIR": str(dirs["jupyter"] / "config"),
        "JUPYTER_DATA_DIR": str(dirs["jupyter"] / "data"),
        "JUPYTER_RUNTIME_DIR": str(dirs["runtime"]),
        # inside the worker: confined kernels get an empty /tmp, and nbclient puts connection files here
        "TMPDIR": str(dirs["tmp"]),
        "JUPYTER_PLATFORM_DIRS": "1",
        "IPYTHONDIR": str(dirs["home"] / ".ipython"),
        "MPLCONFIGDIR": str(dirs["home"] / ".matplotlib"),
        "MPLBACKEND": "Agg",
        "LABKIT_DATA_DIR": s.data_dir,
        "LABKIT_LOG_DIR": str(dirs["home"] / "logs"),
        "OMP_NUM_THREADS": str(s.threads),
        "MKL_NUM_THREADS": str(s.threads),
        "CUDA_VISIBLE_DEVICES": s.gpu,
        "PYTHONDONTWRITEBYTECODE": "1",
        # a worker configuration that fails to load must fail the run, never grade with nbgrader's defaults
        "TRAITLETS_APPLICATION_RAISE_CONFIG_FILE_ERROR": "1",
        JOB_ENV: job_token(job) + run_id,
    }
    env.update(s.extra_env)
    return env


def kill_job_processes(token: str) -> int:
    """Kill every process whose environment token starts with ``token`` (kernel, children, fork bombs)."""
    killed = 0
    for _ in range(3):
        victims = []
        for proc in psutil.process_iter():
            try:
                if proc.pid != os.getpid() and proc.environ().get(JOB_ENV, "").startswith(token):
                    victims.append(proc)
            except (psutil.Error, OSError):
                continue
        for proc in victims:
            try:
                proc.kill()
                killed += 1
            except psutil.Error:
                continue
        if not victims:
            break
        psutil.wait_procs(victims, timeout=5)
    return killed


def _run_autograde(job: Job, work: Path, env: dict[str, str]) -> tuple[int | None, str]:
    cmd = [sys.executable, "-m", "nbgrader", "autograde", job.lab, "--student", job.student, "--force"]
    limit = job.settings.notebook_timeout + job.settings.startup_timeout + 120
    with open(work / "autograde.log", "w") as log:
        proc = subprocess.Popen(
            cmd, cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            code = proc.wait(timeout=limit)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            code = None
    kill_job_processes(env[JOB_ENV])
    tail = [ln for ln in (work / "autograde.log").read_text(errors="replace").splitlines() if "ERROR" in ln]
    return code, (tail[-1] if tail else "")


def _read_grades(job: Job, work: Path) -> tuple[dict, dict, float | None]:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{work / 'gradebook.db'}") as gb:
        sub = gb.find_submission_notebook(job.lab, job.lab, job.student)
        grades = {
            g.name: (g.auto_score, bool(g.needs_manual_grade), g.max_score, g.cell_type) for g in sub.grades
        }
        comments = {c.name: c.auto_comment for c in sub.comments}
        penalty = sub.late_submission_penalty
    return grades, comments, penalty


def _kit_cells(job: Job) -> tuple[dict, set[str]]:
    """Return the lab's grade cells ``{name: (cell_type, max_score)}`` and all its nbgrader cell names."""
    import tempfile

    from nbgrader.api import Gradebook

    with tempfile.TemporaryDirectory(prefix="course-grade-kit-") as tmp:
        (Path(tmp) / "kit.db").write_bytes(job.kit_gradebook)
        with Gradebook(f"sqlite:///{Path(tmp) / 'kit.db'}") as gb:
            notebook = gb.find_notebook(job.lab, job.lab)
            cells = {c.name: (c.cell_type, c.max_score) for c in notebook.grade_cells}
            return cells, {c.name for c in notebook.source_cells}


def _failed_grades(cells: dict) -> dict:
    """Zero for every autograded test, manual answers left to the grader."""
    return {
        name: (0.0, False, points, "code") if kind == "code" else (None, True, points, kind)
        for name, (kind, points) in cells.items()
    }


def _foreign_notebook(job: Job, names: set[str]) -> str | None:
    """Return a note when the submission is not a notebook of the lab.

    That is: none of the lab's nbgrader cells, or at least as many nbgrader cells of something else
    (another lab's notebook, a new notebook). Such a submission is not run.
    """
    try:
        cells = json.loads(job.notebook).get("cells", [])
        ids = {grade_id(c) for c in cells}
    except (ValueError, AttributeError):
        return None  # nbgrader reports what is wrong with the file
    present, alien = ids & names, ids - names - {None}
    if present and len(alien) < len(present):
        return None
    return (
        f"this notebook is not {job.lab}'s (another lab's notebook, or a new one?): "
        f"not run; the student should submit release/{job.lab}/{job.lab}.ipynb"
    )


def run_job(job: Job) -> Result:
    """Grade one submission in a fresh worker directory and return the result (never raises for bad code)."""
    os.environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    started = time.monotonic()
    run_id = uuid.uuid4().hex[:8]
    cells, names = _kit_cells(job)
    foreign = _foreign_notebook(job, names)
    if foreign is not None:
        grades = _failed_grades(cells)
        return Result(job.student, job.lab, job.key, None, grades, {}, [foreign], job.timestamp, 0.0)
    work = Path(job.work_root) / "work" / job.lab / f"{job.student}-{job.key[:10]}-{run_id}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    uid = kernel_uid(job.settings.limits)
    # IPC sockets need a short path (at most 107 bytes): a private folder of its own under /tmp
    sockets = Path(tempfile.mkdtemp(prefix="cg-", dir="/tmp" if os.path.isdir("/tmp") else None))
    try:
        dirs = _make_dirs(job, work, uid, sockets)
        _write_config(job, work, uid, sockets)
        code, error = _run_autograde(job, work, _environment(job, dirs, run_id))
        notes_path = work / "notes.json"
        notes = json.loads(notes_path.read_text()) if notes_path.is_file() else []
        out = work / "autograded" / job.student / job.lab / f"{job.lab}.ipynb"
        grades, penalty = None, None
        if out.is_file():
            try:
                grades, comments, penalty = _read_grades(job, work)
                notebook = out.read_bytes()
            except Exception as exc:  # noqa: BLE001 (a submission may have corrupted its private gradebook)
                error, code = f"private gradebook unreadable ({type(exc).__name__})", 1
        if grades is None:
            why = (
                "killed at the notebook time limit"
                if code is None
                else f"nbgrader exited {code}: {error[:200]}"
            )
            notes.append(f"autograde failed ({why}); every autograded test scored 0")
            grades, comments, notebook = _failed_grades(cells), {}, None
        return Result(
            job.student,
            job.lab,
            job.key,
            notebook,
            grades,
            comments,
            notes,
            job.timestamp,
            time.monotonic() - started,
            penalty,
        )
    finally:
        shutil.rmtree(sockets, ignore_errors=True)
        if not job.settings.keep:
            shutil.rmtree(work, ignore_errors=True)
