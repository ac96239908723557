"""Reuse of trained states while grading: the training key, and the store the grader hands to a kernel.

While ``course-grade grade`` runs, most correct submissions train the lab's given models on inputs identical
to the instructor's reference solution. The grader first runs the reference, which *records* the trained
state of every given model (``$LABKIT_TRAIN_STORE_RECORD`` names their classes) under a key of everything
that determines the result; every submission then gets the store read-only, and ``train_model`` loads the
state whose key matches instead of training. A key that misses anything (another hyper-parameter, one input
value, other code, another thread count) simply finds nothing, and the model trains as usual.

The store a kernel reads is checked against ``$LABKIT_TRAIN_STORE_MANIFEST``, the sha256 of its
``manifest.json``, which lists the sha256 of every entry: the grader sets it in each kernel's environment,
so an entry changed on disk is ignored, never loaded. Outside grading none of these variables is set and
nothing here runs.
"""

from __future__ import annotations

import io
import json
import os
import platform
import random
import sys
from dataclasses import dataclass

import numpy as np
import torch

from labkit.training.fingerprint import Fingerprinter, tensor_bytes
from labkit.training.store import (  # noqa: F401 (re-exported: the store's names live in one module)
    MANIFEST,
    MANIFEST_ENV,
    RECORD_ENV,
    STORE_ENV,
    SUFFIX,
    active,
    digest,
    recorded_classes,
    store_folder,
    write_manifest,
)


def _versions() -> str:
    import pytorch_lightning

    import labkit

    return f"python {platform.python_version()} labkit {labkit.__version__} torch {torch.__version__} " \
        f"lightning {pytorch_lightning.__version__} numpy {np.__version__}"  # fmt: skip


def _device_text(device: torch.device) -> str:
    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
        return f"cuda:{name}:{torch.version.cuda}:{torch.backends.cudnn.version()}"
    return f"{device.type}:{platform.machine()}"


def _numerics() -> str:
    return (
        f"threads={torch.get_num_threads()} dtype={torch.get_default_dtype()} "
        f"deterministic={torch.are_deterministic_algorithms_enabled()} "
        f"cudnn={torch.backends.cudnn.enabled},{torch.backends.cudnn.deterministic},"
        f"{torch.backends.cudnn.benchmark} mkldnn={torch.backends.mkldnn.enabled} "
        f"matmul={torch.get_float32_matmul_precision()}"
    )


def _random_states() -> dict:
    states = {"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate()}
    if torch.cuda.is_available():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def _set_random_states(states: dict) -> None:
    torch.set_rng_state(states["torch"])
    np.random.set_state(states["numpy"])
    random.setstate(states["python"])
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])


def training_key(
    module: torch.nn.Module,
    tensors: dict[str, torch.Tensor],
    settings: dict[str, object],
    device: torch.device,
) -> str:
    """Return the sha256 of everything that determines the result of training ``module``.

    Parameters
    ----------
    module
        The Lightning module about to be trained, in its initial state.
    tensors
        The training and validation inputs and targets, exactly as they will be fed.
    settings
        Every other training parameter (epochs after the cap, batch size, shuffle seed, ...).
    device
        The training device.

    Returns
    -------
    str
        The key (64 hex digits).
    """
    fp = Fingerprinter()
    parts = [_versions().encode(), _device_text(device).encode(), _numerics().encode()]
    parts.append(repr(module).encode())
    for sub in module.modules():
        parts.append(fp.value(type(sub)))
        public = {k: v for k, v in vars(sub).items() if not k.startswith("_") and k != "training"}
        parts.append(fp.value(public))
        parts.append(fp.value(dict(getattr(sub, "hparams", {}) or {})))
    for name, tensor in (*module.named_parameters(), *module.named_buffers()):
        flag = str(getattr(tensor, "requires_grad", False))
        parts.append(name.encode() + flag.encode() + tensor_bytes(tensor))
    parts += [name.encode() + tensor_bytes(t) for name, t in sorted(tensors.items())]
    parts.append(fp.value(settings))
    states = _random_states()
    parts += [tensor_bytes(states["torch"]), fp.value(states["numpy"]), fp.value(states["python"])]
    parts += [tensor_bytes(s) for s in states.get("cuda", [])]
    return digest(parts)


@dataclass(frozen=True)
class Entry:
    """What training left behind that the rest of a notebook can observe."""

    state: dict[str, torch.Tensor]
    random_states: dict
    metrics: dict[str, float]

    def to_bytes(self) -> bytes:
        """Serialise (``torch.save``; loaded back with ``weights_only``)."""
        buffer = io.BytesIO()
        numpy_state = self.random_states["numpy"]
        random_states = {
            **self.random_states,
            "numpy": [numpy_state[0], torch.from_numpy(numpy_state[1].astype(np.int64)), *numpy_state[2:]],
            "python": [self.random_states["python"][0], list(self.random_states["python"][1]),
                       self.random_states["python"][2]],
        }  # fmt: skip
        torch.save({"state": self.state, "random_states": random_states, "metrics": self.metrics}, buffer)
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> Entry:
        """Load an entry written by :meth:`to_bytes`."""
        raw = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
        states = raw["random_states"]
        kind, keys, *rest = states["numpy"]
        python = states["python"]
        states = {
            **states,
            "numpy": (kind, keys.numpy().astype(np.uint32), *rest),
            "python": (python[0], tuple(python[1]), python[2]),
        }
        return cls(raw["state"], states, raw["metrics"])


def capture(module: torch.nn.Module, metrics: dict[str, float]) -> Entry:
    """Return the entry of a module that has just been trained (state on the CPU, current random states)."""
    state = {k: v.detach().cpu().clone() for k, v in module.state_dict().items()}
    return Entry(state, _random_states(), metrics)


def restore(module: torch.nn.Module, entry: Entry) -> None:
    """Put ``module`` and the random number generators where training left them."""
    module.load_state_dict(entry.state)
    _set_random_states(entry.random_states)


def record(key: str, module: torch.nn.Module, entry: Entry) -> bool:
    """Write ``entry`` under ``key`` when this is the reference run and the model is a given class."""
    folder, model = store_folder(), getattr(module, "model", module)
    given = type(model).__name__ in recorded_classes() and type(model).__module__ == "__main__"
    if folder is None or not given:
        return False
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / f"{key}.part"
    partial.write_bytes(entry.to_bytes())
    partial.replace(folder / f"{key}{SUFFIX}")
    return True


def lookup(key: str) -> Entry | None:
    """Return the verified entry of ``key`` in the grader's store, or None (none there, or tampered)."""
    folder, expected = store_folder(), os.environ.get(MANIFEST_ENV, "").strip()
    if folder is None or not expected or recorded_classes():
        return None
    try:
        manifest_bytes = (folder / MANIFEST).read_bytes()
        if digest([manifest_bytes]) != expected:
            print(f"training store {folder}: manifest changed since written; unused", file=sys.stderr)
            return None
        entries = json.loads(manifest_bytes)["entries"]
        if key not in entries:
            return None
        data = (folder / f"{key}{SUFFIX}").read_bytes()
    except (OSError, ValueError, KeyError):
        return None
    if digest([data]) != entries[key]:
        print(f"training store {folder}: entry {key[:12]} changed on disk; not used", file=sys.stderr)
        return None
    return Entry.from_bytes(data)
