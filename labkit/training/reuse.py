"""Training reuse inside a graded kernel: the training key, and the grader's store of trained states.

While ``course-grade grade`` runs, most correct submissions train the lab's given models on inputs
identical to the instructor's reference solution. The grader first runs the reference, which *records* the
trained state of every given model (``$LABKIT_TRAIN_STORE_RECORD`` names their classes) under a key of
everything that determines the result; every submission then gets the store read-only, and
``train_model`` loads the state whose key matches instead of training. A key that misses anything (another
hyper-parameter, one input value, other code, another thread count) simply finds nothing, and the model
trains as usual.

The store a kernel reads is checked against ``$LABKIT_TRAIN_STORE_MANIFEST``, the sha256 of its
``manifest.json``, which lists the sha256 of every entry: the grader sets it in each kernel's environment,
so an entry changed on disk is ignored, never loaded. Outside grading none of these variables is set and
nothing here runs.

This module is all a kernel runs of training reuse; the grader's side (recording the reference, writing
the manifest, handing the store to each job) is :mod:`autograder.reuse`. It imports torch only when a
function needs it, so the grader can read the names and the digest format without loading torch.

Fingerprints (`Fingerprinter`) reduce code and values to stable bytes: the same in every process that
holds the same code and values (no ``id()``, no address), different when anything that can change a result
differs. What cannot be reduced to stable bytes (an arbitrary object) gets a per-process token, so a key
that contains it never matches another process: the safe failure is to train, never to reuse a state that
belongs to different code.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import platform
import random
import sys
import types
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch

STORE_ENV = "LABKIT_TRAIN_STORE"
MANIFEST_ENV = "LABKIT_TRAIN_STORE_MANIFEST"
RECORD_ENV = "LABKIT_TRAIN_STORE_RECORD"
MANIFEST = "manifest.json"
SUFFIX = ".pt"
REUSE_NOTE = "epochs not run: the grader's reference solution trained this model"  # printed on reuse


def digest(parts: Iterable[bytes]) -> str:
    """Return the sha256 (hex) of a sequence of byte strings, each length-prefixed."""
    h = hashlib.sha256()
    for part in parts:
        h.update(len(part).to_bytes(8, "little"))
        h.update(part)
    return h.hexdigest()


def recorded_classes() -> set[str]:
    """Return the model class names the reference run records (``$LABKIT_TRAIN_STORE_RECORD``)."""
    return {n.strip() for n in os.environ.get(RECORD_ENV, "").split(",") if n.strip()}


def store_folder() -> Path | None:
    """Return the store folder the grader set (``$LABKIT_TRAIN_STORE``), or None outside grading."""
    folder = os.environ.get(STORE_ENV, "").strip()
    return Path(folder) if folder else None


def active() -> bool:
    """Return True when the grader set up a training store for this kernel (recording or reading)."""
    return store_folder() is not None and bool(recorded_classes() or os.environ.get(MANIFEST_ENV, "").strip())


#: Packages whose code is pinned by their version (part of the training key): classes from them are named,
#: not hashed.
VERSIONED_PACKAGES = (
    "torch", "pytorch_lightning", "lightning", "lightning_fabric", "torchmetrics", "builtins",
)  # fmt: skip

_PRIMITIVES = (type(None), bool, int, float, complex, str, bytes)


def tensor_bytes(tensor: torch.Tensor | np.ndarray) -> bytes:
    """Return dtype, shape and a hash of the contents of a tensor or array."""
    import torch

    if isinstance(tensor, torch.Tensor):
        tensor = tensor.detach().cpu().numpy()
    array = np.ascontiguousarray(tensor)
    return f"{array.dtype}{array.shape}".encode() + hashlib.sha256(array.view(np.uint8).data).digest()


class Fingerprinter:
    """Reduce values, functions and classes to stable bytes, following the globals code refers to."""

    def __init__(self) -> None:
        self._seen: dict[int, bytes] = {}

    def value(self, obj: object) -> bytes:
        """Return the fingerprint of any value (see the module docstring)."""
        import torch

        if isinstance(obj, _PRIMITIVES):
            return repr(obj).encode()
        if isinstance(obj, (torch.Tensor, np.ndarray)):
            return tensor_bytes(obj)
        if isinstance(obj, (np.generic, torch.dtype, torch.device, torch.Size)):
            return repr(obj).encode()
        if isinstance(obj, (tuple, list, set, frozenset)):
            items = sorted(obj, key=repr) if isinstance(obj, (set, frozenset)) else obj
            return type(obj).__name__.encode() + b"(" + b",".join(self.value(x) for x in items) + b")"
        if isinstance(obj, dict):
            pairs = sorted(obj.items(), key=lambda kv: repr(kv[0]))
            return b"{" + b",".join(self.value(k) + b":" + self.value(v) for k, v in pairs) + b"}"
        if isinstance(obj, types.ModuleType):
            return b"module:" + obj.__name__.encode()
        if isinstance(obj, (types.FunctionType, types.MethodType, type, property, staticmethod, classmethod)):
            return self._guarded(obj)
        if isinstance(obj, types.BuiltinFunctionType):
            return f"builtin:{getattr(obj, '__module__', '')}.{obj.__qualname__}".encode()
        return f"opaque:{type(obj).__qualname__}:{id(obj)}".encode()  # never matches another process

    def _guarded(self, obj: object) -> bytes:
        key = id(obj)
        if key in self._seen:  # recursion (a method naming its own class): name it
            return self._seen[key] or f"recursive:{getattr(obj, '__qualname__', '?')}".encode()
        self._seen[key] = b""
        if isinstance(obj, type):
            result = self.cls(obj)
        elif isinstance(obj, types.MethodType):
            result = b"method:" + self._guarded(obj.__func__)
        elif isinstance(obj, property):
            result = b"property:" + b",".join(self.value(f) for f in (obj.fget, obj.fset, obj.fdel))
        elif isinstance(obj, (staticmethod, classmethod)):
            result = type(obj).__name__.encode() + b":" + self.value(obj.__func__)
        else:
            result = self.function(obj)  # type: ignore[arg-type]
        self._seen[key] = result
        return result

    def cls(self, cls: type) -> bytes:
        """Name a versioned package's class; reduce any other class to its bases and whole namespace."""
        name = f"{cls.__module__}.{cls.__qualname__}".encode()
        if cls.__module__.split(".")[0] in VERSIONED_PACKAGES:
            return b"class:" + name
        bases = b",".join(self.value(base) for base in cls.__bases__)
        members = [
            k.encode() + b"=" + self.value(v)
            for k, v in sorted(cls.__dict__.items())
            if k not in ("__dict__", "__weakref__", "__module__", "__doc__")
        ]
        return b"class:" + name + b"(" + bases + b"){" + b";".join(members) + b"}"

    def function(self, func: types.FunctionType) -> bytes:
        """Reduce a function to its code, defaults, closure and the globals its code names."""
        module = getattr(func, "__module__", "") or ""
        if module.split(".")[0] in VERSIONED_PACKAGES:
            return f"function:{module}.{func.__qualname__}".encode()
        parts = [self.code(func.__code__), self.value(func.__defaults__), self.value(func.__kwdefaults__)]
        for cell in func.__closure__ or ():
            try:
                parts.append(self.value(cell.cell_contents))
            except ValueError:  # an empty cell
                parts.append(b"<empty>")
        namespace = func.__globals__
        for name in sorted(_global_names(func.__code__)):
            if name in namespace:
                parts.append(name.encode() + b"=" + self.value(namespace[name]))
        return b"function:" + func.__qualname__.encode() + b"(" + b"|".join(parts) + b")"

    def code(self, code: types.CodeType) -> bytes:
        """Reduce a code object to its byte code, constants (nested code included) and names."""
        consts = [self.code(c) if isinstance(c, types.CodeType) else self.value(c) for c in code.co_consts]
        names = (code.co_names, code.co_varnames, code.co_freevars, code.co_cellvars)
        return code.co_code + b"|" + b",".join(consts) + b"|" + repr(names).encode()


def _global_names(code: types.CodeType) -> set[str]:
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _global_names(const)
    return names


def _versions() -> str:
    import pytorch_lightning
    import torch

    import labkit

    return f"python {platform.python_version()} labkit {labkit.__version__} torch {torch.__version__} " \
        f"lightning {pytorch_lightning.__version__} numpy {np.__version__}"  # fmt: skip


def _device_text(device: torch.device) -> str:
    import torch

    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
        return f"cuda:{name}:{torch.version.cuda}:{torch.backends.cudnn.version()}"
    return f"{device.type}:{platform.machine()}"


def _numerics() -> str:
    import torch

    return (
        f"threads={torch.get_num_threads()} dtype={torch.get_default_dtype()} "
        f"deterministic={torch.are_deterministic_algorithms_enabled()} "
        f"cudnn={torch.backends.cudnn.enabled},{torch.backends.cudnn.deterministic},"
        f"{torch.backends.cudnn.benchmark} mkldnn={torch.backends.mkldnn.enabled} "
        f"matmul={torch.get_float32_matmul_precision()}"
    )


def _random_states() -> dict:
    import torch

    states = {"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate()}
    if torch.cuda.is_available():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def _set_random_states(states: dict) -> None:
    import torch

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
        import torch

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
        import torch

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
