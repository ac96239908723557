"""Grade ONE submission in its own directory: runs where the work runs (a local process or a Dask worker).

A `Job` carries the submission by value and every other file by digest (:mod:`autograder.execute.blobs`), so a
remote worker needs no access to the course. `run_job` checks the worker's environment
(:mod:`autograder.execute.requirements`), gathers the job's verified files, builds the worker directory
(:mod:`autograder.execute.workdir`), runs ``nbgrader autograde`` in a fresh process (a fork of a warm
nbgrader, a new interpreter in a Dask worker; :mod:`autograder.execute.nbgrader_cli`) with a minimal
environment and the sandboxed kernel, and returns a `Result` with the autograded notebook and the scores
nbgrader saved in the private gradebook.

What the submission causes is graded (a syntax error, a kernel its code kills, the time limit). What the
machine causes raises `InfrastructureError` instead, so it never becomes a grade: an environment that differs
from the host's, a file that cannot be fetched or written, a kernel that never starts, nbgrader failing on a
valid notebook.
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

import nbformat

from autograder.cells import grade_id
from autograder.execute import requirements
from autograder.execute.blobs import BlobCache, Fetch
from autograder.execute.nbgrader_cli import forked_context, run_forked
from autograder.execute.processes import JOB_ENV, kill_job_processes
from autograder.execute.workdir import (
    FAILURE_FILE,
    JobInputs,
    environment,
    gather_inputs,
    make_dirs,
    write_config,
)
from autograder.kernel.sandbox import kernel_uid
from autograder.records import Grade, InfrastructureError, Job, Result
from autograder.reuse.kernel import recorded_states


def _run_forked(
    argv: list[str], work: Path, env: dict[str, str], log: Path, limit: float | None
) -> int | None:
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


def _run_cold(argv: list[str], work: Path, env: dict[str, str], log: Path, limit: float | None) -> int | None:
    """Run nbgrader in a new interpreter (where a worker may not fork: a daemonic Dask worker)."""
    cmd = [sys.executable, "-m", "autograder.execute.nbgrader_cli", *argv]
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
    timeouts = job.settings.timeouts
    limit = timeouts.notebook + timeouts.startup + 120 if timeouts.notebook else None  # 0: no limit
    log = work / "autograde.log"
    daemonic = multiprocessing.current_process().daemon  # Dask's worker processes may have no children
    code = (_run_cold if daemonic else _run_forked)(argv, work, env, log, limit)
    kill_job_processes(env[JOB_ENV])
    text = log.read_text(errors="replace") if log.is_file() else ""
    lines = [ln for ln in text.splitlines() if ln.strip()]
    errors = [ln for ln in lines if "ERROR" in ln] or lines[-1:]
    return code, (errors[-1] if errors else "no output (it failed before starting; see the worker's log)")


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


def _kit_cells(job: Job, gradebook: Path) -> tuple[dict, set[str]]:
    """Return the lab's grade cells ``{name: (cell_type, max_score)}`` and all its nbgrader cell names."""
    from nbgrader.api import Gradebook

    with tempfile.TemporaryDirectory(prefix="course-grade-kit-") as tmp:
        shutil.copyfile(gradebook, Path(tmp) / "kit.db")
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


#: Free disk space (MB) a worker needs in its work root before it starts a job.
MIN_FREE_MB = 512


def check_disk(folder: Path, min_free_mb: int = MIN_FREE_MB) -> None:
    """Raise `InfrastructureError` when ``folder``'s file system has less than ``min_free_mb`` free.

    A full disk would otherwise fail the submission's own cells (a log or figure it cannot write).
    """
    free_mb = shutil.disk_usage(folder).free / 2**20
    if free_mb < min_free_mb:
        raise InfrastructureError(
            f"only {free_mb:.0f} MB free on the disk of {folder} (a job needs {min_free_mb} MB); free space"
        )


def _invalid_notebook(notebook: bytes) -> str | None:
    """Return why the submission is not a valid notebook (the student's file), or None."""
    try:
        nbformat.validate(nbformat.reads(notebook.decode("utf-8"), as_version=4))
    except Exception as exc:  # noqa: BLE001 (any reason the file cannot be read as a notebook)
        return f"{type(exc).__name__}: {str(exc).splitlines()[0][:160] if str(exc) else ''}"
    return None


def _raise_if_no_kernel(work: Path) -> None:
    """Raise `InfrastructureError` when GuardedExecute found that no kernel ever started."""
    failure = work / FAILURE_FILE
    if failure.is_file():
        cause = json.loads(failure.read_text())["cause"]
        raise InfrastructureError(
            f"{cause}; no submitted code ran (check the kernel's memory limit, --memory-mb, and this "
            "machine's Python environment)"
        )


def _no_notebook(job: Job, code: int | None, error: str) -> str:
    """Return the note of an autograde that wrote no notebook, or raise when the machine is to blame.

    Called after `_raise_if_no_kernel` (a kernel did start).

    Raises
    ------
    InfrastructureError
        When nbgrader failed on a valid notebook within the time limit.
    """
    if code is None:
        return "autograde failed (killed at the notebook time limit); every autograded test scored 0"
    invalid = _invalid_notebook(job.notebook)
    if invalid is not None:
        return f"not a valid notebook ({invalid}); every autograded test scored 0"
    raise InfrastructureError(f"nbgrader exited {code} on a valid notebook: {error[:200]}")


def _grade_in(job: Job, inputs: JobInputs, work: Path, run_id: str, cells: dict) -> Result:
    """Run nbgrader in the prepared ``work`` folder and read back what it graded."""
    uid = kernel_uid(job.settings.limits)
    # IPC sockets need a short path (at most 107 bytes): a private folder of its own under /tmp
    sockets = Path(tempfile.mkdtemp(prefix="cg-", dir="/tmp" if os.path.isdir("/tmp") else None))
    started = time.monotonic()
    try:
        try:
            dirs = make_dirs(job, inputs, work, uid, sockets)
            write_config(job, work, uid, sockets)
        except OSError as exc:
            raise InfrastructureError(f"cannot write the worker folder {work}: {exc}") from exc
        code, error = _run_autograde(job, work, environment(job, inputs, dirs, run_id))
        _raise_if_no_kernel(work)  # nbgrader may have written the notebook, but no kernel ever ran it
        notes_path = work / "notes.json"
        notes = json.loads(notes_path.read_text()) if notes_path.is_file() else []
        out = job.folders.notebook(work, "autograded", job.lab, job.student)
        grades, penalty, comments, notebook = None, None, {}, None
        if out.is_file():
            try:
                grades, comments, penalty = _read_grades(job, work)
                notebook = out.read_bytes()
            except Exception as exc:  # noqa: BLE001 (a submission may have corrupted its private gradebook)
                why = f"private gradebook unreadable ({type(exc).__name__})"
                notes.append(f"autograde failed ({why}); every autograded test scored 0")
        else:
            notes.append(_no_notebook(job, code, error))
        if grades is None:
            grades, comments, notebook = _failed_grades(cells), {}, None
        return Result(
            job.student, job.lab, job.key, notebook, grades, comments, notes, job.timestamp,
            time.monotonic() - started, penalty, recorded_states(job.training, dirs["recorded"]),
        )  # fmt: skip
    finally:
        shutil.rmtree(sockets, ignore_errors=True)


def run_job(job: Job, cache: BlobCache, fetch: Fetch | None = None) -> Result:
    """Grade one submission in a fresh worker directory and return the result.

    Parameters
    ----------
    job
        The job.
    cache
        Where the job's files are (or are put once fetched).
    fetch
        Fetches the files ``cache`` lacks (a Dask worker's, :mod:`autograder.execute.cluster`); None: all
        present.

    Raises
    ------
    InfrastructureError
        When the machine, not the submission, failed (never for bad code; see the module's docstring).
    """
    os.environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    requirements.check(job.requirements)
    inputs = gather_inputs(job, cache, fetch)
    run_id = uuid.uuid4().hex[:8]
    cells, names = _kit_cells(job, inputs.gradebook)
    foreign = _foreign_notebook(job, names)
    if foreign is not None:
        grades = _failed_grades(cells)
        return Result(job.student, job.lab, job.key, None, grades, {}, [foreign], job.timestamp, 0.0)
    work = Path(job.work_root) / "work" / job.lab / f"{job.student}-{job.key[:10]}-{run_id}"
    try:
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
    except OSError as exc:
        raise InfrastructureError(f"cannot create the worker folder {work}: {exc}") from exc
    try:
        check_disk(work)
        return _grade_in(job, inputs, work, run_id, cells)
    finally:
        if not job.settings.keep:
            shutil.rmtree(work, ignore_errors=True)
