"""What a worker's Python environment must match before it grades: checked first, never discovered as a zero.

The grading host lists the Python version, the version of every distribution the lab's notebook imports
plus nbgrader's execution stack, and a digest of the course's own code (``labkit`` and ``autograder``).
A worker whose environment differs in any of them refuses the job with an `InfrastructureError` naming the
difference: a missing package would otherwise fail a cell and score as the student's error.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import importlib.util
import platform
from collections.abc import Mapping
from pathlib import Path

from autograder.kernel.given import imported_modules
from autograder.records import InfrastructureError

#: Distributions every graded run uses, whatever the notebook imports (nbgrader and the kernel it starts).
GRADING_STACK = (
    "ipykernel",
    "ipython",
    "jupyter_client",
    "nbclient",
    "nbconvert",
    "nbformat",
    "nbgrader",
    "traitlets",
)
#: The course's own packages, compared by a digest of their source (an editable install keeps one version).
CODE_PACKAGES = ("autograder", "labkit")
FIX = "start the worker in the course environment (`make install` in this checkout, or the course image)"


@functools.cache
def _distributions_of_modules() -> Mapping[str, list[str]]:
    return importlib.metadata.packages_distributions()


@functools.cache
def code_digest(package: str) -> str:
    """Return the sha256 over the names and contents of a package's ``.py`` files ("missing" if absent)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return "missing"
    root = Path(next(iter(spec.submodule_search_locations)))
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        if "__pycache__" not in path.parts:
            digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def _version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "missing"


def requirements(sources: list[str]) -> dict[str, str]:
    """Return what a worker must match to grade notebooks whose code cells are ``sources``.

    Returns
    -------
    dict of str to str
        ``python`` to the interpreter version, each distribution to its version (those the host has) and
        ``code:<package>`` to `code_digest` of the course's packages.
    """
    mapping = _distributions_of_modules()
    names = set(GRADING_STACK)
    for module in imported_modules(sources):
        top = module.split(".")[0]
        if top not in CODE_PACKAGES:
            names.update(mapping.get(top, []))
    wanted = {"python": platform.python_version()}
    for name in sorted(names, key=str.lower):
        if (version := _version(name)) != "missing":
            wanted[name] = version
    wanted.update({f"code:{package}": code_digest(package) for package in CODE_PACKAGES})
    return wanted


def current(name: str) -> str:
    """Return this environment's value for one requirement name (see `requirements`)."""
    if name == "python":
        return platform.python_version()
    if name.startswith("code:"):
        return code_digest(name.removeprefix("code:"))
    return _version(name)


def check(wanted: Mapping[str, str]) -> None:
    """Raise `InfrastructureError` naming every requirement this environment does not match.

    Raises
    ------
    InfrastructureError
        ``"this worker's environment differs from the grading host's: torch missing (host: 2.13.0); ..."``.
    """
    problems = [
        f"{name} {have} (host: {want})" for name, want in wanted.items() if (have := current(name)) != want
    ]
    if problems:
        raise InfrastructureError(
            f"this worker's environment differs from the grading host's: {'; '.join(problems)}; fix: {FIX}"
        )


__all__ = ["CODE_PACKAGES", "GRADING_STACK", "check", "code_digest", "current", "requirements"]
