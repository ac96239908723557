"""``labkit doctor`` reports a healthy install and names each problem with its fix."""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
import sys
from pathlib import Path

import pytest

from labkit import doctor, paths

ROOT = Path(__file__).resolve().parents[1]
LABKIT = [sys.executable, "-m", "labkit.cli"]


def failing(checks):
    return {check.name: check for check in checks if not check.ok}


def test_installed_packages_are_reported_with_versions():
    checks = {check.name: check for check in doctor.version_checks()}
    assert checks["torch"].ok and checks["torch"].detail.startswith("2.13.0")
    assert checks["nbgrader"].ok


def test_a_missing_package_is_named_with_the_reinstall_fix(monkeypatch):
    real = importlib.metadata.version

    def version(name):
        if name == "nbgrader":
            raise importlib.metadata.PackageNotFoundError(name)
        return real(name)

    monkeypatch.setattr(importlib.metadata, "version", version)
    problems = failing(doctor.version_checks())
    assert set(problems) == {"nbgrader"}
    assert "make install" in problems["nbgrader"].fix


def test_missing_data_files_are_named_with_the_command_that_creates_them(tmp_path, monkeypatch):
    monkeypatch.setenv(paths.DATA_ENV, str(tmp_path))
    problems = failing(doctor.data_checks())
    assert set(problems) == {paths.ECG_FILE, paths.PPG_FILE}
    assert all("labkit data synth" in check.fix for check in problems.values())


def test_a_corrupt_data_file_is_reported(tmp_path, monkeypatch):
    monkeypatch.setenv(paths.DATA_ENV, str(tmp_path))
    (tmp_path / paths.ECG_FILE).write_bytes(b"PK\x03\x04 truncated")
    problems = failing(doctor.data_checks())
    assert paths.ECG_FILE in problems and "--force" in problems[paths.ECG_FILE].fix


@pytest.mark.slow
def test_jupyter_kernel_and_extensions_are_enabled_by_setup():
    assert failing(doctor.jupyter_checks()) == {}


@pytest.mark.slow
def test_a_disabled_lab_extension_is_named(tmp_path):
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(tmp_path)}
    subprocess.run(
        [sys.executable, "-m", "jupyter", "labextension", "disable", "--level=user", "jupyter-matplotlib"],
        env=env,
        check=True,
        capture_output=True,
    )
    result = subprocess.run([*LABKIT, "doctor"], env=env, capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 1
    assert "[FAIL] lab extension ipympl" in result.stdout
    assert "jupyter labextension enable jupyter-matplotlib" in result.stdout


@pytest.mark.slow
def test_doctor_passes_on_the_course_install():
    data = ROOT / "data"
    if not ((data / paths.ECG_FILE).is_file() and (data / paths.PPG_FILE).is_file()):
        pytest.skip("default data not created yet: run `make data` (make test does it first)")
    env = {k: v for k, v in os.environ.items() if k != paths.DATA_ENV}
    result = subprocess.run([*LABKIT, "doctor"], env=env, capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "all checks passed" in result.stdout


def test_the_gpu_advice_names_a_readme_section_that_exists(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a GPU, doctor points to a README section: the course README and the hand-out's have it."""
    import torch

    from autograder.build import bundle

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    gpu = next(check for check in doctor.device_checks() if check.name == "gpu")
    assert f'"{doctor.GPU_HEADING}"' in gpu.detail
    course = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    assert f"### {doctor.GPU_HEADING}\n" in course
    assert (
        "## {gpu_heading}\n" in bundle.README
    )  # the hand-out's README, filled with GPU_HEADING (test_bundle)
