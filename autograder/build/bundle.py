"""``course-grade bundle``: the student hand-out, checked for leaks file by file (wheel contents included).

The hand-out holds the release notebooks (``<lab>/<lab>.ipynb``), ``labkit`` as a wheel built from this
course (generators included, so ``labkit data synth`` makes the default data offline), the course lock
(``constraints.txt``), a student ``environment.yml``, a student ``nbgrader_config.py`` (marks the course
folder for labkit's ``data/`` and ``logs/`` and carries the course's ``Execute`` limits, so Validate runs a
notebook as grading does), a ``jupyter_server_config.py`` and a README. The wheel installs the same limits
as the environment's own nbgrader configuration (``<env>/etc/jupyter/nbgrader_config.py``), so Validate in a
JupyterLab started anywhere from that environment (a lab's folder, say) uses them too. Nothing of
``source/``, ``bench/``, ``tests/``, ``autograder/`` or the gradebook is copied; the leak check of
`autograder.build.release.leaks` then runs over every file, each text file read as a one-cell notebook.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from pathlib import Path
from typing import NamedTuple

import nbformat

from autograder import CourseError
from autograder.build.release import kit_dir, leaks
from autograder.config import GRADEBOOK, CourseConfig
from labkit.datasets.ecg import RHYTHMS
from labkit.doctor import GPU_HEADING
from labkit.exits import RefusedOverwriteError
from labkit.paths import COURSE_MARKER

#: Distribution name of the student wheel (the import name stays ``labkit``).
WHEEL_NAME = "wearable-cardiac-labkit"
#: Instructor-only runtime dependencies of the course package, left out of the student wheel.
INSTRUCTOR_ONLY = {"dask"}
#: conda-forge names that differ from the PyPI names.
PIP_TO_CONDA = {"torch": "pytorch"}
#: Lines public by contract (the ECG rhythm names, ARCHITECTURE.md), so a hidden test may list them too.
PUBLIC_LINES = {f"{q}{name}{q}{comma}" for name in RHYTHMS for q in "\"'" for comma in ("", ",")}
#: Repository folders that are instructor material whatever the course configures.
INSTRUCTOR_PARTS = {"bench", "tests", "autograder", GRADEBOOK}


def forbidden_parts(cfg: CourseConfig) -> set[str]:
    """Return the path parts that must never appear in a hand-out (the course's own folder names included)."""
    folders = cfg.folders
    return INSTRUCTOR_PARTS | {folders.source, folders.submitted, folders.autograded}


class Bundle(NamedTuple):
    """A written hand-out: its folder, the archive (or None) and the files it holds (relative paths)."""

    folder: Path
    archive: Path | None
    files: list[str]


def student_requirements(cfg: CourseConfig) -> list[str]:
    """Return the runtime requirements of ``pyproject.toml`` that students need (no instructor-only ones)."""
    project = tomllib.loads((cfg.root / "pyproject.toml").read_text())["project"]
    return [
        r for r in project["dependencies"] if re.split(r"[\[<>=!~ ]", r, maxsplit=1)[0] not in INSTRUCTOR_ONLY
    ]


def lock_pins(lock: Path) -> dict[str, str]:
    """Return ``{lower-case name: version}`` of every ``name==version`` line of ``lock``."""
    pins = {}
    for line in lock.read_text().splitlines():
        match = re.fullmatch(r"([A-Za-z0-9_.\-]+)==([^\s;]+)", line.strip())
        if match:
            pins[match[1].lower().replace("_", "-")] = match[2]
    return pins


#: Where the wheel installs the environment's nbgrader configuration (relative to the environment's prefix).
ENV_NBGRADER_CONFIG = f"etc/jupyter/{COURSE_MARKER}"

ENV_CONFIG = '''"""nbgrader settings of this environment (labkit's wheel): the course's Validate limits."""

c = get_config()  # noqa: F821
{execution}'''


def build_wheel(cfg: CourseConfig, into: Path) -> Path:
    """Build ``labkit`` alone as the wheel ``wearable-cardiac-labkit`` into ``into``; return the wheel.

    The wheel also installs :data:`ENV_NBGRADER_CONFIG`: the course's ``Execute`` limits as the
    environment's nbgrader configuration.

    Raises
    ------
    CourseError
        With pip's last line when the build fails.
    """
    project = tomllib.loads((cfg.root / "pyproject.toml").read_text())["project"]
    with tempfile.TemporaryDirectory(prefix="course-grade-wheel-") as tmp:
        src = Path(tmp)
        shutil.copytree(
            cfg.root / "labkit", src / "labkit", ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
        )
        requirements = ",\n".join(f"    {r!r}" for r in student_requirements(cfg))
        (src / "jupyter-config").mkdir()
        (src / "jupyter-config" / COURSE_MARKER).write_text(
            ENV_CONFIG.format(execution=cfg.validate_settings)
        )
        data_dir = str(Path(ENV_NBGRADER_CONFIG).parent)
        (src / "pyproject.toml").write_text(
            '[build-system]\nrequires = ["setuptools>=77"]\nbuild-backend = "setuptools.build_meta"\n\n'
            f'[project]\nname = "{WHEEL_NAME}"\nversion = "{project["version"]}"\n'
            f'description = "labkit: the helper library of the course {cfg.course_id}"\n'
            f'requires-python = "{project["requires-python"]}"\ndependencies = [\n{requirements}\n]\n\n'
            '[project.scripts]\nlabkit = "labkit.cli:main"\n\n'
            '[tool.setuptools.packages.find]\ninclude = ["labkit*"]\n\n'
            '[tool.setuptools.package-data]\nlabkit = ["data/*.npz"]\n'
            f'[tool.setuptools.data-files]\n"{data_dir}" = ["jupyter-config/{COURSE_MARKER}"]\n'
        )
        proc = subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(into)]
            + [str(src)],
            capture_output=True,
            text=True,
        )
        if proc.returncode:
            last = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
            raise CourseError(f"{cfg.root / 'labkit'}: building the student wheel failed: {last[0]}")
    return next(into.glob("*.whl"))


def environment_yml(cfg: CourseConfig, wheel: str) -> str:
    """Return the students' conda environment: the student requirements at the lock's versions + the wheel."""
    pins = lock_pins(cfg.root / "constraints.txt")
    lines = [
        "# Conda environment of the course's labs (the same versions as constraints.txt).",
        "#   conda env create -f environment.yml && conda activate wearable-cardiac-dl",
        "name: wearable-cardiac-dl",
        "channels:",
        "  - conda-forge",
        "dependencies:",
        "  - python=3.11",
        "  - pip",
    ]
    for requirement in student_requirements(cfg):
        name = re.split(r"[\[<>=!~ ]", requirement, maxsplit=1)[0].lower()
        lines.append(f"  - {PIP_TO_CONDA.get(name, name)}=={pins[name]}")
    lines += ["  - pip:", "      - --no-deps", f"      - ./wheels/{wheel}", ""]
    return "\n".join(lines)


NBGRADER_CONFIG = '''"""nbgrader settings of the students' copy of the course (this folder is its root)."""

c = get_config()  # noqa: F821
c.CourseDirectory.course_id = "{course_id}"
# Validate runs the notebook as grading does: the course's time limits (training cells run for minutes).
{execution}'''

SERVER_CONFIG = '''"""JupyterLab settings for the labs: loopback only, this folder, the course's kernel."""

import os
import sys

c = get_config()  # noqa: F821
c.ServerApp.ip = "127.0.0.1"
c.ServerApp.root_dir = os.path.dirname(os.path.abspath(__file__))
c.MappingKernelManager.default_kernel_name = "python3"
_bin = os.path.dirname(sys.executable)  # kernels and nbgrader's Validate find this environment first
os.environ["PATH"] = os.pathsep.join([_bin, os.environ.get("PATH", "")])
'''

#: The students' setup command (one line to copy; ``{wheel}`` is the wheel's file name, ``{kernel}`` the
#: command that installs the kernel the notebooks name, :func:`kernel_command`).
SETUP_COMMAND = (
    "python3.11 -m venv .venv && .venv/bin/pip install -c constraints.txt torch ./wheels/{wheel}"
    " && .venv/bin/{kernel} && .venv/bin/labkit data synth --if-missing"
)
#: Installs the notebooks' kernel into the environment (``{name}``, ``{display_name}``: their kernelspec).
KERNEL_COMMAND = 'python -m ipykernel install --sys-prefix --name {name} --display-name "{display_name}"'
#: The command that opens JupyterLab on the labs.
START_COMMAND = ".venv/bin/jupyter lab"

README = """# {course_id}: the labs

{lab_list}

## Set up and start (two commands, from this folder)

```bash
{setup}
{start}
```

The first command makes a virtual environment in `.venv`, installs the course's pinned packages
(`constraints.txt`; PyPI access needed once) with the course library `labkit`, and creates the offline
default data in `data/` (synthetic, made on your machine in seconds). The second opens JupyterLab on this
folder: open `<lab>/<lab>.ipynb`; the notebooks run on the kernel *{display_name}* the first command
installs. With conda instead: `conda env create -f environment.yml && conda activate wearable-cardiac-dl`,
then `{conda_kernel} && labkit data synth --if-missing` and `jupyter lab`.

`.venv/bin/labkit doctor` checks the installation (versions, CPU/GPU, data, kernel, JupyterLab extensions)
and prints the command that fixes each problem.

## {gpu_heading}

On Linux with an NVIDIA driver, PyPI's torch wheel includes CUDA: the first command above installs it, and
the labs train on the GPU as they are (`labkit doctor` then shows the GPU). Without a GPU they train on
the CPU, in a few minutes per lab. For a smaller CPU-only install, install the pinned torch
(`constraints.txt`) from PyTorch's CPU wheel index first (see PyTorch's "Get started" page), then run the
first command. With conda, conda-forge's `pytorch` picks a CUDA build when the machine has a driver.

## Working on a lab

1. Work top to bottom. Cells that raise `NotImplementedError` are yours to fill in; answer the questions
   in the cells that say *YOUR ANSWER HERE*. Visible test cells check the basics as you go.
2. Figures are interactive (ipympl); training logs go to `logs/` (the notebook shows TensorBoard).
3. Before you hand in: *Kernel > Restart Kernel and Run All Cells*, then press **Validate** in the
   notebook toolbar: it runs every test you can see. Hidden tests check more when the notebook is graded.
4. Hand in `<lab>/<lab>.ipynb` the way your course says (LMS upload, or the Assignments tab on the
   course's JupyterHub).
"""


def kernel_spec(notebooks: list[Path]) -> dict[str, str]:
    """Return the ``{name, display_name}`` of the kernel every notebook names (its kernelspec metadata).

    Raises
    ------
    CourseError
        When a notebook names no kernel or the notebooks name different ones.
    """
    specs = {}
    for path in notebooks:
        spec = nbformat.read(str(path), as_version=4).metadata.get("kernelspec", {})
        specs[path] = (spec.get("name", ""), spec.get("display_name", ""))
    if len(set(specs.values())) != 1 or not all(next(iter(specs.values()))):
        shown = ", ".join(f"{path}: {spec}" for path, spec in specs.items())
        raise CourseError(
            f"the notebooks must name one kernel (metadata.kernelspec name and display_name): {shown}; "
            "fix the kernelspec of the source notebooks and run `course-grade build`"
        )
    name, display_name = next(iter(specs.values()))
    return {"name": name, "display_name": display_name}


def setup_command(wheel: str, kernel: dict[str, str]) -> str:
    """Return the students' setup command for ``wheel`` that installs the notebooks' ``kernel``."""
    return SETUP_COMMAND.format(wheel=wheel, kernel=KERNEL_COMMAND.format(**kernel))


def lab_title(nb_path: Path) -> str:
    """Return the first markdown heading of a notebook (its title), or its file name."""
    for cell in nbformat.read(str(nb_path), as_version=4).cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("#"):
                    return line.lstrip("# ").strip()
    return nb_path.stem


def assemble(cfg: CourseConfig, labs: list[str], folder: Path) -> list[str]:
    """Write the hand-out of ``labs`` into the empty ``folder``; return its files (relative, sorted)."""
    (folder / "wheels").mkdir(parents=True)
    wheel = build_wheel(cfg, folder / "wheels").name
    releases = {lab: cfg.folders.notebook(kit_dir(cfg, lab), "release", lab) for lab in labs}
    for lab, release in releases.items():
        (folder / lab).mkdir()
        shutil.copy2(release, folder / lab / f"{lab}.ipynb")
    shutil.copy2(cfg.root / "constraints.txt", folder / "constraints.txt")
    (folder / "environment.yml").write_text(environment_yml(cfg, wheel))
    (folder / COURSE_MARKER).write_text(
        NBGRADER_CONFIG.format(course_id=cfg.course_id, execution=cfg.validate_settings)
    )
    (folder / "jupyter_server_config.py").write_text(SERVER_CONFIG)
    lab_list = "\n".join(f"- `{lab}/{lab}.ipynb`: {lab_title(nb)}" for lab, nb in releases.items())
    kernel = kernel_spec(list(releases.values()))
    (folder / "README.md").write_text(
        README.format(
            course_id=cfg.course_id,
            lab_list=lab_list,
            setup=setup_command(wheel, kernel),
            start=START_COMMAND,
            display_name=kernel["display_name"],
            conda_kernel=KERNEL_COMMAND.format(**kernel),
            gpu_heading=GPU_HEADING,
        )
    )
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def _members(path: Path, shown: str):
    """Yield ``(shown name, bytes)`` for ``path``, or for every member when it is a wheel or zip.

    A ``.npz`` member (labkit's shipped data) is yielded as the text of its arrays (:func:`_npz_text`).
    """
    if path.suffix in {".whl", ".zip"}:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                if not info.is_dir():
                    data = archive.read(info)
                    yield (
                        f"{shown}!{info.filename}",
                        _npz_text(data) if info.filename.endswith(".npz") else data,
                    )
    else:
        yield shown, _npz_text(path.read_bytes()) if path.suffix == ".npz" else path.read_bytes()


def _npz_text(data: bytes) -> bytes:
    """Return an ``.npz`` file as text a leak check can read.

    Every string array is written in full, every floating-point or 32/64-bit integer array as one line
    (dtype and shape: numbers carry no source text). Any other array (bytes, small integers) or an
    unreadable file leaves the bytes as they are, reported as binary.
    """
    import io

    import numpy as np

    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
            lines = []
            for key in arrays.files:
                array = arrays[key]
                if array.dtype.kind == "U":
                    lines += [f"{key}:", *map(str, np.atleast_1d(array).tolist())]
                elif array.dtype.kind == "f" or array.dtype in (np.int64, np.int32):
                    lines.append(f"{key}: {array.dtype} {array.shape}")
                else:
                    return data
    except (ValueError, OSError, zipfile.BadZipFile):
        return data
    return "\n".join(lines).encode()


def bundle_leaks(cfg: CourseConfig, folder: Path) -> list[str]:
    """Return one line per leak in the hand-out ``folder``: every file, wheel and zip members included.

    Notebooks are checked as they are and every other text file as a one-cell notebook, with
    `autograder.build.release.leaks` against every lab's source. Binary files (other than wheels) and
    instructor paths (``source/``, ``autograder/``, ...) are reported too.
    """
    labs, forbidden = list(cfg.labs_with_source), forbidden_parts(cfg)
    found: list[str] = []
    with tempfile.TemporaryDirectory(prefix="course-grade-bundle-check-") as tmp:
        mirror, shown_as = Path(tmp), {}
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            for shown, data in _members(path, str(path)):
                parts = set(re.split(r"[/!]", shown[len(str(folder)) :]))
                if parts & forbidden:
                    found.append(f"{shown}: instructor material ({', '.join(sorted(parts & forbidden))})")
                copy = mirror / f"{len(shown_as)}.ipynb"
                if shown.endswith(".ipynb"):
                    copy.write_bytes(data)
                    shown_as[f"{copy} "] = f"{shown} "
                    continue
                try:
                    text = data.decode("utf-8")
                except UnicodeDecodeError:
                    found.append(
                        f"{shown}: binary file, cannot be checked for leaks; remove it from the bundle"
                    )
                    continue
                text = "\n".join(ln for ln in text.splitlines() if ln.strip() not in PUBLIC_LINES)
                nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(text)]), str(copy))
                shown_as[f"{copy} cell 0 (code)"] = shown
        for lab in labs:
            for line in leaks(cfg, lab, mirror):
                copy = next(k for k in shown_as if line.startswith(k))
                found.append(shown_as[copy] + line[len(copy) :])
    return list(dict.fromkeys(found))  # a marker is found once per lab checked


def write_bundle(cfg: CourseConfig, out: Path, archive: bool = False, force: bool = False) -> Bundle:
    """Write the student hand-out to ``out`` (and ``out.zip``), atomically, after a clean leak check.

    The notebooks are the release regenerated from the current sources (the grading kit's release, the
    one submissions are graded against), so a hand-out never lags behind ``source/``.

    Raises
    ------
    FileExistsError
        When ``out`` (or the archive) exists and ``force`` is not set.
    CourseError
        When the wheel does not build or the hand-out leaks (listing every leak); nothing is written.
    """
    out = out.resolve()
    zip_path = out.with_name(out.name + ".zip") if archive else None
    for target in (out, zip_path):
        if target is not None and target.exists() and not force:
            raise RefusedOverwriteError(f"{target}: already exists; nothing was written. Fix: add --force")
    labs = list(cfg.labs_with_source)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        files = assemble(cfg, labs, tmp / out.name)
        found = bundle_leaks(cfg, tmp / out.name)
        if found:
            shown = [line.replace(str(tmp / out.name), str(out)) for line in found]
            raise CourseError(f"the hand-out leaks ({len(found)}), nothing was written: " + " | ".join(shown))
        if zip_path is not None:
            made = shutil.make_archive(str(tmp / out.name), "zip", tmp, out.name)
            Path(made).replace(zip_path)
        if out.exists():
            shutil.rmtree(out)
        (tmp / out.name).replace(out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return Bundle(out, zip_path, files)
