"""``course-grade bundle``: what the student hand-out holds, its leak check, and a fresh install from it."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import tomllib
import urllib.request
import zipfile
from pathlib import Path

import nbformat
import pytest
import yaml
from browser_support import free_port
from e2e_support import REPO, fill_answers, source_notebook

import autograder.bundle as bundle
from autograder import CourseError
from autograder.cells import read_notebook, secret_lines
from autograder.config import load_config

LABS = ("ecg_rhythm_classification", "hr_estimation")
#: Opt-in for the fresh-venv install test (PyPI install of the whole pinned environment: minutes).
FULL_INSTALL_ENV = "COURSE_TEST_HANDOUT_INSTALL"
EXPECTED = {
    "README.md",
    "constraints.txt",
    "environment.yml",
    "nbgrader_config.py",
    "jupyter_server_config.py",
    *(f"{lab}/{lab}.ipynb" for lab in LABS),
}


@pytest.fixture(scope="module")
def handout(tmp_path_factory: pytest.TempPathFactory) -> bundle.Bundle:
    return bundle.write_bundle(load_config(REPO), tmp_path_factory.mktemp("out") / "handout", archive=True)


def wheel_of(folder: Path) -> Path:
    (wheel,) = (folder / "wheels").glob("*.whl")
    return wheel


@pytest.mark.slow
def test_bundle_holds_the_release_a_labkit_only_wheel_and_the_pinned_environment(handout) -> None:
    wheel = wheel_of(handout.folder)
    assert set(handout.files) == EXPECTED | {f"wheels/{wheel.name}"}
    with zipfile.ZipFile(wheel) as archive:
        tops = {name.split("/")[0] for name in archive.namelist()}
        assert {t for t in tops if not t.endswith(".dist-info")} == {"labkit"}
        assert "labkit/synthetic/ecg.py" in archive.namelist()  # `labkit data synth` works offline
        metadata = archive.read(next(n for n in archive.namelist() if n.endswith("METADATA"))).decode()
    assert "Requires-Dist: nbgrader" in metadata  # Validate needs nbgrader in the student environment
    assert "dask" not in metadata
    assert (handout.folder / "constraints.txt").read_text() == (REPO / "constraints.txt").read_text()
    pins = bundle.lock_pins(REPO / "constraints.txt")
    env = yaml.safe_load((handout.folder / "environment.yml").read_text())
    conda = dict(d.split("==") for d in env["dependencies"] if isinstance(d, str) and "==" in d)
    assert conda["pytorch"] == pins["torch"] and conda["nbgrader"] == pins["nbgrader"]
    assert env["dependencies"][-1]["pip"][-1] == f"./wheels/{wheel.name}"
    with zipfile.ZipFile(handout.archive) as archive:
        assert {n.split("/", 1)[1] for n in archive.namelist() if not n.endswith("/")} == set(handout.files)


@pytest.mark.slow
def test_leak_check_reads_every_file_and_finds_nothing(handout) -> None:
    assert bundle.bundle_leaks(load_config(REPO), handout.folder) == []


@pytest.mark.slow
def test_a_planted_solution_line_in_the_wheel_fails_the_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = next(
        line for lines in secret_lines(read_notebook(source_notebook(LABS[0]))).values() for line in lines
    )
    real_build = bundle.build_wheel

    def planted(cfg, into: Path) -> Path:
        wheel = real_build(cfg, into)
        with zipfile.ZipFile(wheel, "a") as archive:
            archive.writestr("labkit/answers.py", f"def answer():\n    {secret}\n")
        return wheel

    monkeypatch.setattr(bundle, "build_wheel", planted)
    out = tmp_path / "handout"
    with pytest.raises(CourseError, match=r"leaks .*labkit/answers\.py: text of source cell"):
        bundle.write_bundle(load_config(REPO), out)
    assert not out.exists() and list(tmp_path.iterdir()) == [], "a leaking hand-out was (partly) written"


@pytest.mark.slow
def test_a_planted_marker_in_a_notebook_is_found(handout, tmp_path: Path) -> None:
    copy = Path(shutil.copytree(handout.folder, tmp_path / "copy"))
    path = copy / LABS[1] / f"{LABS[1]}.ipynb"
    nb = read_notebook(path)
    nb.cells[-1].source += "\n### BEGIN HIDDEN TESTS"
    nbformat.write(nb, str(path))
    found = bundle.bundle_leaks(load_config(REPO), copy)
    assert len(found) == 1, found
    assert found[0].startswith(f"{path} cell {len(nb.cells) - 1}") and "marker" in found[0]


@pytest.mark.slow
def test_existing_output_is_kept_without_force(handout) -> None:
    before = (handout.folder / "README.md").stat().st_mtime_ns
    with pytest.raises(FileExistsError, match="--force"):
        bundle.write_bundle(load_config(REPO), handout.folder)
    assert (handout.folder / "README.md").stat().st_mtime_ns == before


def readme_commands(readme: Path) -> list[str]:
    """Return the lines of the README's first bash block (the students' two commands)."""
    block = re.search(r"```bash\n(.*?)```", readme.read_text(), re.S)
    assert block, f"{readme}: no bash block"
    return [line for line in block[1].splitlines() if line.strip()]


def solved(lab: str, notebook: Path) -> None:
    """Fill the exercises of the hand-out's ``notebook`` with the instructors' answers (the test's side)."""
    fill_answers(lab, notebook)


@pytest.mark.e2e
@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_fresh_folder_installs_from_the_handout_and_runs_both_labs(handout, tmp_path: Path) -> None:
    if os.environ.get(FULL_INSTALL_ENV) != "1":
        pytest.skip(
            "fresh install of the hand-out skipped: it takes ~8 min on 2 cores, over the CI budget; "
            f"run it with {FULL_INSTALL_ENV}=1"
        )
    if shutil.which("python3.11") is None:
        pytest.skip("python3.11 not on PATH (the hand-out's README uses it)")
    fresh = tmp_path / "student"
    with zipfile.ZipFile(handout.archive) as archive:
        archive.extractall(tmp_path)
    (tmp_path / handout.folder.name).rename(fresh)
    setup, start = readme_commands(fresh / "README.md")
    path = os.pathsep.join(
        p for p in os.environ["PATH"].split(os.pathsep) if Path(p) != Path(sys.executable).parent
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LABKIT_", "JUPYTER", "VIRTUAL_ENV"))}
    env.update(PATH=path, HOME=str(tmp_path / "home"), PIP_NO_COMPILE="1")  # no .pyc: the test's own speed-up
    clock = time.monotonic()
    proc = subprocess.run(
        ["bash", "-c", setup], cwd=fresh, env=env, capture_output=True, text=True, timeout=900
    )
    assert proc.returncode == 0, f"{setup}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    install_s = time.monotonic() - clock
    py = fresh / ".venv" / "bin" / "python"
    probe = (
        "import importlib.util as u; print([m for m in ('labkit', 'autograder', 'bench') if u.find_spec(m)])"
    )
    found = subprocess.run([py, "-c", probe], cwd=fresh, capture_output=True, text=True).stdout.strip()
    assert found == "['labkit']", f"the hand-out's environment imports {found}"
    assert sorted(p.name for p in (fresh / "data").iterdir()) == ["ecg_rhythms.npz", "ppg_dalia.pkl"]

    run_env = {**env, "LABKIT_MAX_EPOCHS": "1"}
    for lab in LABS:
        notebook = fresh / lab / f"{lab}.ipynb"
        solved(lab, notebook)
        proc = subprocess.run(
            [fresh / ".venv/bin/jupyter", "nbconvert", "--to", "notebook", "--execute", "--inplace",
             notebook.name],
            cwd=notebook.parent, env=run_env, capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        assert proc.returncode == 0, f"{lab} failed in the fresh install:\n{proc.stderr[-3000:]}"
        assert any((fresh / "logs").rglob("events.out.tfevents*")), f"{lab}: nothing trained"

    port, token = free_port(), "bundletest"
    extra = [f"--port={port}", "--no-browser", f"--IdentityProvider.token={token}"]
    extra += ["--allow-root"] if os.getuid() == 0 else []
    lab_proc = subprocess.Popen(
        ["bash", "-c", " ".join([start, *extra])], cwd=fresh, env=env, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        page = ""
        for _ in range(120):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/lab?token={token}", timeout=2) as r:
                    page = r.read().decode()
                break
            except OSError:
                time.sleep(0.5)
        assert "@jupyter/nbgrader" in page and "jupyter-matplotlib" in page, (
            "JupyterLab lacks nbgrader/ipympl"
        )
        extensions = subprocess.run(
            [fresh / ".venv/bin/jupyter", "server", "extension", "list"],
            env=env,
            capture_output=True,
            text=True,
        )
        assert re.search(
            r"nbgrader.server_extensions.validate_assignment\s+enabled", extensions.stdout + extensions.stderr
        )
    finally:
        os.killpg(lab_proc.pid, 15)
        lab_proc.wait(timeout=30)
    print(f"fresh install {install_s:.0f} s, total {time.monotonic() - clock:.0f} s")


def test_the_course_readme_shows_the_handouts_own_setup_command() -> None:
    version = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    wheel = f"{bundle.WHEEL_NAME.replace('-', '_')}-{version}-py3-none-any.whl"
    readme = (REPO / "README.md").read_text()
    assert bundle.SETUP_COMMAND.format(wheel=wheel) in readme and bundle.START_COMMAND in readme
    student = readme[readme.index("## Student workflow") : readme.index("## Instructor workflow")]
    assert "release/" not in student and "make " not in student.replace("make hub", ""), "into the repo"
