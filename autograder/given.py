"""What the instructor gave a notebook, kept as given: the globals locked cells bound and the libraries.

Runs inside the grading kernel (:mod:`autograder.guard_kernel`). A submitted cell can rebind a name a test
calls (``def check_accuracy(*a, **k): return None``), replace a library function a test or given code
relies on (``numpy.isclose = lambda *a, **k: True``), swap a module in ``sys.modules`` or change a module's
class. `Given` snapshots, before the first submitted cell, every function, class, module and descriptor
attribute of every loaded module (and the callables of the classes those modules define), and records the
globals every instructor cell binds. Before each instructor cell, `Given.restore` puts all of it back and
returns what it had to restore (reported as a note, not scored: the cell then runs on what the instructor
wrote, so the change gains nothing).

The comparison is by identity, in C (``map`` over ``operator.is_``): an object whose ``__eq__`` says yes is
still a different object. Restoring the about 100 000 library attributes of a lab costs a few
milliseconds per cell.
"""

from __future__ import annotations

import ast
import operator
import re
import sys
import types
from typing import Any

#: Environment variable naming the modules to import before the snapshot (those the given cells import).
PRELOAD_ENV = "COURSE_GUARD_PRELOAD"
#: Names IPython binds by itself on every cell (history, outputs): never "given".
_IPYTHON_NAMES = re.compile(r"^(_+|_i+|_i?\d+|_ih|_oh|_dh|In|Out|exit|quit|get_ipython)$")
_HEAPTYPE = 1 << 9
_HOOKS = (types.FunctionType, types.BuiltinFunctionType, types.ModuleType, type, staticmethod, classmethod, property)
_is, _map, _all, _zip, _type, _setattr = operator.is_, map, all, zip, type, type.__setattr__


def _hook(value: Any) -> bool:
    return isinstance(value, _HOOKS) or callable(value)


def imported_modules(sources: list[str]) -> list[str]:
    """Return the modules that ``import`` statements in ``sources`` load (top-level names first)."""
    found: list[str] = []
    for source in sources:
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found += [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                found.append(node.module)
    return list(dict.fromkeys(found))


class _Snapshot:
    """The hook attributes of one module or class: keys and values in two tuples."""

    __slots__ = ("owner", "keys", "values", "kind", "label")

    def __init__(self, owner: Any, label: str) -> None:
        items = [(k, v) for k, v in list(vars(owner).items()) if k != "__dict__" and _hook(v)]
        self.owner, self.label, self.kind = owner, label, _type(owner)
        self.keys = tuple(k for k, _ in items)
        self.values = tuple(v for _, v in items)

    def restore(self) -> list[str]:
        """Put back what changed; return the changed attributes."""
        changed = []
        owner = self.owner
        if _type(owner) is not self.kind and isinstance(owner, types.ModuleType):
            owner.__class__ = self.kind
            changed.append(f"{self.label}.__class__")
        current = vars(owner)
        if _all(_map(_is, _map(current.get, self.keys), self.values)):
            return changed
        for key, value in _zip(self.keys, self.values):
            if current.get(key) is not value:
                if isinstance(owner, type):
                    _setattr(owner, key, value)
                else:
                    current[key] = value
                changed.append(f"{self.label}.{key}")
        return changed


class Given:
    """The instructor's names and libraries, snapshotted before the first submitted cell."""

    def __init__(self) -> None:
        self.modules: dict[str, Any] = {}
        self.snapshots: list[_Snapshot] = []
        self.names: dict[str, Any] = {}
        self.add_new_modules()

    def add_new_modules(self, names: set[str] | None = None) -> None:
        """Snapshot the loaded modules not yet known (only ``names`` when given) and the classes they define.

        After an instructor cell, ``names`` are the modules it loaded: a module a submitted cell imported
        (and may have changed) is never taken for the instructor's.
        """
        for name, module in list(sys.modules.items()):
            if name in self.modules or not isinstance(module, types.ModuleType):
                continue
            if names is not None and name not in names:
                continue
            self.modules[name] = module
            try:
                self.snapshots.append(_Snapshot(module, name))
            except TypeError:
                continue
            for value in self.snapshots[-1].values:
                if (
                    isinstance(value, type)
                    and getattr(value, "__module__", None) == name
                    and value.__flags__ & _HEAPTYPE
                ):
                    self.snapshots.append(_Snapshot(value, f"{name}.{value.__qualname__}"))

    def record(self, user_ns: dict, before: dict) -> None:
        """Keep the globals an instructor cell bound (compared with ``before``, the namespace it started with)."""
        for key, value in user_ns.items():
            if _IPYTHON_NAMES.match(key):
                continue
            if key not in before or before[key] is not value:
                self.names[key] = value
        for key in [k for k in self.names if k not in user_ns and k in before]:
            del self.names[key]

    def restore(self, user_ns: dict) -> list[str]:
        """Put back the given modules, their attributes and the recorded globals; return what changed."""
        changed = []
        for name, module in self.modules.items():
            if sys.modules.get(name, module) is not module:
                sys.modules[name] = module
                changed.append(f"sys.modules[{name!r}]")
        for snapshot in self.snapshots:
            changed += snapshot.restore()
        for key, value in self.names.items():
            if user_ns.get(key, _MISSING) is not value:
                user_ns[key] = value
                changed.append(key)
        return changed


_MISSING = object()


def preload(names: str) -> None:
    """Import the comma-separated modules ``names`` (those the given cells import); skip what fails."""
    import importlib

    for name in filter(None, (n.strip() for n in names.split(","))):
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001,S112 (the given cell will report its own import error)
            continue
