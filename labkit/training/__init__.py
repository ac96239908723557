"""Training plumbing shared by both labs: Lightning modules, tensor batches, training and evaluation.

The names below load on first use (PEP 562), so a process that only needs the names of training reuse
(:mod:`labkit.training.reuse`: the grader's parent and workers) does not import torch and Lightning.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "accuracy": "evaluation",
    "evaluate_classifier": "evaluation",
    "evaluate_regressor": "evaluation",
    "TensorBatches": "loaders",
    "as_tensor": "loaders",
    "effective_epochs": "loop",
    "predict": "loop",
    "train_model": "loop",
    "training_device": "loop",
    "Classifier": "modules",
    "Regressor": "modules",
    "SupervisedModule": "modules",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
