"""The conda environment, pyproject and the constraints lock describe one and the same environment."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
# conda-forge names that differ from the PyPI names
CONDA_TO_PIP = {"pytorch": "torch", "pyyaml": "pyyaml"}
# pip extras that conda-forge ships as separate packages
EXTRA_PACKAGES = {"dask[distributed]": ["dask", "distributed"]}


def pyproject_packages() -> set[str]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    names: set[str] = set()
    for spec in data["project"]["dependencies"] + data["project"]["optional-dependencies"]["dev"]:
        req = Requirement(spec)
        key = f"{req.name}[{','.join(sorted(req.extras))}]" if req.extras else req.name
        names.update(canonicalize_name(n) for n in EXTRA_PACKAGES.get(key, [req.name]))
    return names


def constraint_pins() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        match = re.fullmatch(r"([A-Za-z0-9_.\-]+)==([^\s;]+)", line.strip())
        if match:
            pins[canonicalize_name(match[1])] = match[2]
    return pins


def conda_packages() -> dict[str, str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    packages = {}
    for item in env["dependencies"]:
        if not isinstance(item, str) or item.startswith(("python", "pip")):
            continue
        name, _, version = item.partition("==")
        packages[canonicalize_name(CONDA_TO_PIP.get(name, name))] = version
    return packages


def test_conda_environment_has_the_same_package_set_as_pyproject():
    assert set(conda_packages()) == pyproject_packages()


def test_conda_versions_equal_the_lock():
    pins = constraint_pins()
    conda = conda_packages()
    wrong = {name: (version, pins.get(name)) for name, version in conda.items() if pins.get(name) != version}
    assert not wrong, f"environment.yml version != constraints.txt pin (conda, lock): {wrong}"


def test_lock_pins_every_direct_dependency_and_the_local_torch_build():
    pins = constraint_pins()
    missing = pyproject_packages() - set(pins)
    assert not missing, f"constraints.txt does not pin {sorted(missing)}"
    assert pins["torch"] == "2.13.0"


def test_conda_installs_the_course_packages_through_pip():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(item["pip"] for item in env["dependencies"] if isinstance(item, dict))
    assert "-e ." in pip_section
    assert env["name"] and "conda-forge" in env["channels"]
