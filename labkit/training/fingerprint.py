"""Stable fingerprints of code and values: what determines a training run, reduced to bytes to hash.

A fingerprint is the same in every process that holds the same code and values (no ``id()``, no address),
and differs when anything that can change a result differs. What cannot be reduced to stable bytes (an
arbitrary object) gets a per-process token, so a key that contains it never matches another process: the
safe failure is to train, never to reuse a state that belongs to different code.
"""

from __future__ import annotations

import hashlib
import types

import numpy as np
import torch

#: Packages whose code is pinned by their version (part of the training key): classes from them are named,
#: not hashed.
VERSIONED_PACKAGES = (
    "torch", "pytorch_lightning", "lightning", "lightning_fabric", "torchmetrics", "builtins",
)  # fmt: skip

_PRIMITIVES = (type(None), bool, int, float, complex, str, bytes)


def tensor_bytes(tensor: torch.Tensor | np.ndarray) -> bytes:
    """Return dtype, shape and a hash of the contents of a tensor or array."""
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
