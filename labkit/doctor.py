"""``labkit doctor``: is this installation ready for the labs? One line per check, a fix for each problem."""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import platform
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass

from labkit import paths

PACKAGES = ("torch", "pytorch-lightning", "nbgrader", "jupyterlab", "jupytext", "ipympl", "numpy", "pandas")
LAB_EXTENSIONS = {
    "jupyter-matplotlib": "ipympl (interactive figures)",
    "@jupyter-widgets/jupyterlab-manager": "ipywidgets (progress bars, figures)",
    "@jupyter/nbgrader": "nbgrader (assignment list, validate, formgrader)",
    "jupyterlab-jupytext": "jupytext (open .py sources as notebooks)",
}
SERVER_EXTENSIONS = {
    "nbgrader.server_extensions.formgrader": "nbgrader formgrader",
    "nbgrader.server_extensions.validate_assignment": "nbgrader validate",
    "jupyterlab_jupytext": "jupytext contents manager",
}
REINSTALL = (
    "run the set-up command of the README again (in the course repository: `make install`, or "
    "`pip install -c constraints.txt -e .`)"
)
#: The README section (hand-out and course repository alike) that doctor's GPU line points to.
GPU_HEADING = "Training on a GPU"
ANSI = re.compile(r"\x1b\[[0-9;]*m")


@dataclass
class Check:
    """The result of one check: what, whether it passed, what was seen, and how to fix it."""

    name: str
    ok: bool
    detail: str
    fix: str = ""


def version_checks() -> list[Check]:
    """Report Python and package versions (a missing package is a problem)."""
    checks = [Check("python", sys.version_info[:2] == (3, 11), platform.python_version(), "use Python 3.11")]
    for name in PACKAGES:
        try:
            checks.append(Check(name, True, importlib.metadata.version(name)))
        except importlib.metadata.PackageNotFoundError:
            checks.append(Check(name, False, "not installed", REINSTALL))
    return checks


def device_checks() -> list[Check]:
    """Report CPU cores and GPU (no GPU is fine: the labs run on a CPU)."""
    import torch

    cpu = Check("cpu", True, f"{os.cpu_count()} cores, torch threads {torch.get_num_threads()}")
    if torch.cuda.is_available():
        gpu = Check("gpu", True, f"{torch.cuda.get_device_name(0)} (CUDA {torch.version.cuda})")
    else:
        gpu = Check(
            "gpu",
            True,
            f'none (training runs on the CPU; the README\'s section "{GPU_HEADING}" says how to use one)',
        )
    return [cpu, gpu]


def data_checks() -> list[Check]:
    """Check that the two data files exist and pass their contract checks."""
    try:
        folder = paths.data_dir()
    except paths.CourseNotFoundError as error:
        return [Check("data", False, str(error).split(". Fix")[0], "run from inside the course folder")]
    from labkit.datasets.ecg import check_ecg
    from labkit.datasets.ppg import check_ppg

    checks = []
    for name, check in ((paths.ECG_FILE, check_ecg), (paths.PPG_FILE, check_ppg)):
        path = folder / name
        if not path.is_file():
            checks.append(Check(name, False, f"{path} missing", "run `labkit data synth` (or `make data`)"))
            continue
        problems = check(path)
        fix = "run `labkit data synth --force` to recreate it"
        checks.append(Check(name, not problems, "; ".join(problems) or f"{path} passes its checks", fix))
    return checks


def _run(*args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "jupyter", *args], capture_output=True, text=True, timeout=120, check=False
    )
    return ANSI.sub("", result.stdout + result.stderr)


def _enabled(listing: str, name: str) -> bool:
    return any(
        line.split()[0] == name and "enabled" in line and "disabled" not in line
        for line in listing.splitlines()
        if line.strip()
    )


def jupyter_checks() -> list[Check]:
    """Check the kernel and the JupyterLab and server extensions students and instructors use."""
    from jupyter_client.kernelspec import KernelSpecManager

    specs = KernelSpecManager().find_kernel_specs()
    checks = [
        Check(
            "kernel",
            "python3" in specs,
            specs.get("python3", "no python3 kernel"),
            "run `python -m ipykernel install --sys-prefix --name python3`",
        )
    ]
    labs = _run("labextension", "list")
    for name, what in LAB_EXTENSIONS.items():
        fix = f"run `jupyter labextension enable {name}` (or {REINSTALL})"
        checks.append(Check(f"lab extension {what}", _enabled(labs, name), name, fix))
    servers = _run("server", "extension", "list")
    for name, what in SERVER_EXTENSIONS.items():
        fix = f"run `jupyter server extension enable --sys-prefix {name}`"
        checks.append(Check(f"server extension {what}", _enabled(servers, name), name, fix))
    return checks


SECTIONS: dict[str, Callable[[], list[Check]]] = {
    "versions": version_checks,
    "devices": device_checks,
    "data": data_checks,
    "jupyter": jupyter_checks,
}


def report(checks: list[Check]) -> tuple[str, int]:
    """Format checks as lines and count the problems."""
    lines, problems = [], 0
    for check in checks:
        mark = "ok " if check.ok else "FAIL"
        lines.append(f"[{mark}] {check.name}: {check.detail}")
        if not check.ok:
            problems += 1
            lines.append(f"       fix: {check.fix}")
    return "\n".join(lines), problems


def run_doctor(args: argparse.Namespace) -> int:
    """Run every check, print the report, and return 1 when anything needs fixing."""
    checks = [check for section in SECTIONS.values() for check in section()]
    text, problems = report(checks)
    print(text)
    print(f"{problems} problem(s) found" if problems else "all checks passed: ready for the labs")
    return 1 if problems else 0


def add_doctor_parser(commands: argparse._SubParsersAction) -> None:
    """Register ``labkit doctor``."""
    parser = commands.add_parser("doctor", help="check the installation, the data and JupyterLab")
    parser.set_defaults(handler=run_doctor)
