"""Find and kill every process one grading job started, by the environment token it inherited."""

from __future__ import annotations

import os

import psutil

from autograder.records import Job

#: Environment variable whose value marks the processes of one job (``<lab>/<student>/<key>/<run id>``).
JOB_ENV = "COURSE_GRADE_JOB"


def job_token(job: Job) -> str:
    """Return the prefix of the environment token that marks this job's processes."""
    return f"{job.lab}/{job.student}/{job.key[:12]}/"


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
