"""Grade ONE submission in its own directory: runs where the work runs (a local process or a Dask worker).

A `Job` carries everything by value (submission, the lab's grading-kit gradebook, settings), so a remote
worker needs no access to the course. `run_job` builds the worker directory (:mod:`autograder.workdir`),
runs ``nbgrader autograde`` in a fresh process (a fork of a warm nbgrader, a new interpreter in a Dask worker;
:mod:`autograder.nbgrader_cli`) with a minimal environment and the sandboxed kernel, and returns
a `Result` with the autograded notebook and the scores nbgrader saved in the private gradebook.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from autograder.cells import grade_id
from autograder.jobs import Grade, Job, Result
from autograder.nbgrader_cli import forked_context, run_forked
from autograder.processes import JOB_ENV, kill_job_processes
from autograder.sandbox import kernel_uid
from autograder.workdir import environment, make_dirs, write_config


def _run_forked(argv: list[str], work: Path, env: dict[str, str], log: Path, limit: float) -> int | None:
    """Run nbgrader in a fork of the warm fork server; return its exit status (None: killed at ``limit``)."""
    proc = forked_context().Process(target=run_forked, args=(argv, str(work), env, str(log)))
    proc.start()
    proc.join(timeout=limit)
    code = proc.exitcode
    if code is None:  # still running at the limit: kill its session (nbgrader, kernel, what they started)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.kill()
        proc.join()
    return code


def _run_cold(argv: list[str], work: Path, env: dict[str, str], log: Path, limit: float) -> int | None:
    """Run nbgrader in a new interpreter (where a worker may not fork: a daemonic Dask worker)."""
    cmd = [sys.executable, "-m", "autograder.nbgrader_cli", *argv]
    with open(log, "w") as out:
        proc = subprocess.Popen(
            cmd, cwd=work, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            return proc.wait(timeout=limit)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            return None


def _run_autograde(job: Job, work: Path, env: dict[str, str]) -> tuple[int | None, str]:
    """Run ``nbgrader autograde`` for the job in a process of its own, in its own session.

    Returns its exit status (None: killed at the time limit) and its last error line.
    """
    argv = ["autograde", job.lab, "--student", job.student, "--force"]
    limit = job.settings.notebook_timeout + job.settings.startup_timeout + 120
    log = work / "autograde.log"
    daemonic = multiprocessing.current_process().daemon  # Dask's worker processes may have no children
    code = (_run_cold if daemonic else _run_forked)(argv, work, env, log, limit)
    kill_job_processes(env[JOB_ENV])
    text = log.read_text(errors="replace") if log.is_file() else ""
    tail = [ln for ln in text.splitlines() if "ERROR" in ln]
    return code, (tail[-1] if tail else "")


def _read_grades(job: Job, work: Path) -> tuple[dict[str, Grade], dict, float | None]:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{work / 'gradebook.db'}") as gb:
        sub = gb.find_submission_notebook(job.lab, job.lab, job.student)
        grades = {
            g.name: Grade(g.auto_score, bool(g.needs_manual_grade), g.max_score, g.cell_type)
            for g in sub.grades
        }
        comments = {c.name: c.auto_comment for c in sub.comments}
        penalty = sub.late_submission_penalty
    return grades, comments, penalty


def _kit_cells(job: Job) -> tuple[dict, set[str]]:
    """Return the lab's grade cells ``{name: (cell_type, max_score)}`` and all its nbgrader cell names."""
    from nbgrader.api import Gradebook

    with tempfile.TemporaryDirectory(prefix="course-grade-kit-") as tmp:
        (Path(tmp) / "kit.db").write_bytes(job.kit_gradebook)
        with Gradebook(f"sqlite:///{Path(tmp) / 'kit.db'}") as gb:
            notebook = gb.find_notebook(job.lab, job.lab)
            cells = {c.name: (c.cell_type, c.max_score) for c in notebook.grade_cells}
            return cells, {c.name for c in notebook.source_cells}


def _failed_grades(cells: dict) -> dict[str, Grade]:
    """Zero for every autograded test, manual answers left to the grader."""
    return {
        name: Grade(0.0, False, points, "code") if kind == "code" else Grade(None, True, points, kind)
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
        dirs = make_dirs(job, work, uid, sockets)
        write_config(job, work, uid, sockets)
        code, error = _run_autograde(job, work, environment(job, dirs, run_id))
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
            {p.name: p.read_bytes() for p in sorted(dirs["recorded"].glob("*.pt"))}
            if job.train_record
            else {},
        )
    finally:
        shutil.rmtree(sockets, ignore_errors=True)
        if not job.settings.keep:
            shutil.rmtree(work, ignore_errors=True)
