"""The GPUs a grading process may hand to kernels: ``$CUDA_VISIBLE_DEVICES``, else ``nvidia-smi -L``."""

from __future__ import annotations

import os
import shutil
import subprocess


def gpu_list() -> list[str]:
    """Return the GPU ids workers may use: ``$CUDA_VISIBLE_DEVICES``, else ``nvidia-smi -L``, else none."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        return [g for g in visible.split(",") if g.strip()]
    if shutil.which("nvidia-smi") is None:
        return []
    proc = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, check=False)
    return [str(i) for i, line in enumerate(proc.stdout.splitlines()) if line.startswith("GPU ")]


__all__ = ["gpu_list"]
