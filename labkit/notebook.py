"""The locked setup cell of every lab: seeds, determinism, plotting backend, folders."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from labkit import paths
from labkit.plots.backend import use_backend
from labkit.reproducibility import seed_everything


@dataclass(frozen=True)
class LabSetup:
    """What the setup cell established."""

    lab: str
    seed: int
    data_dir: Path
    log_dir: Path
    backend: str


def setup_lab(lab: str, seed: int = 42) -> LabSetup:
    """Prepare a lab notebook: seed everything, deterministic kernels, plot backend, log folder.

    Parameters
    ----------
    lab
        The lab's id (its folder under ``source/``), used for the TensorBoard log folder.
    seed
        Seed of every random number generator; the grader re-executes with the same one.
    """
    seed_everything(seed)
    setup = LabSetup(lab, seed, paths.data_dir(), paths.log_dir(lab), use_backend())
    print(f"{lab}: seed {seed}, data {setup.data_dir}, logs {setup.log_dir}, plots {setup.backend}")
    return setup
