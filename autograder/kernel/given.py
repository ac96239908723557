"""What the instructor gave a notebook, kept as given: the globals locked cells bound and the libraries.

Runs inside the grading kernel (:mod:`autograder.kernel.guard`). A submitted cell can rebind a name a test
or given code uses (``def check_accuracy(*a, **k): return None``), replace a library function
(``numpy.isclose = lambda *a, **k: True``, or its ``__code__``), swap a module in ``sys.modules`` or change
a module's class. `Given` snapshots, before the first submitted cell:

- every function, class, module and descriptor attribute of every loaded module (but the packages in
  `UNGRADED_PACKAGES`), the callables of the classes those modules define, and the code of every Python
  function among them;
- the globals each instructor cell binds, as it binds them.

`Given.restore` puts all of it back and returns what it had to restore (a note for the instructor, not a
score: the cells then run on what the instructor wrote, so the change gains nothing). The grader restores
the globals before every instructor cell and the libraries before every graded test cell and before the
first instructor cell after a submitted cell (a library check costs tens of milliseconds: about 150 000
attributes in a lab's kernel). A library's own change is kept: a replacement that wraps the previous value
(``__wrapped__``) with code from outside the notebook, as torch's optimizers do to ``step``.

The comparison is by identity, in C (``map`` over ``operator.is_``): an object whose ``__eq__`` says yes is
still a different object.
"""

from __future__ import annotations

import ast
import operator
import re
import sys
import types
import warnings
from itertools import compress, repeat
from typing import Any

#: Environment variable naming the modules to import before the snapshot (those the given cells import).
PRELOAD_ENV = "COURSE_GUARD_PRELOAD"
#: Packages no graded computation runs, left out of the snapshot: figures (matplotlib rebinds functions
#: when it switches backends) and torch's symbolic-shape solver (sympy, mpmath; unused in eager mode).
UNGRADED_PACKAGES = frozenset({"matplotlib", "mpl_toolkits", "sympy", "mpmath"})
#: Names IPython binds by itself on every cell (history, outputs): never "given".
_IPYTHON_NAMES = re.compile(r"^(_+|_i+|_i?\d+|_ih|_oh|_dh|In|Out|exit|quit|get_ipython)$")
#: The notebook's own namespace (IPython's user module): its names are recorded per instructor cell.
_USER_MODULES = frozenset({"__main__", "__mp_main__"})
_HEAPTYPE = 1 << 9
_HOOKS = (
    types.FunctionType,
    types.BuiltinFunctionType,
    types.ModuleType,
    type,
    staticmethod,
    classmethod,
    property,
)
_is, _map, _all, _zip, _type, _setattr = operator.is_, map, all, zip, type, type.__setattr__
_getitem, _code, _or = operator.getitem, operator.attrgetter("__code__"), operator.or_
_MISSING = object()


_flags, _qualname = type.__dict__["__flags__"].__get__, type.__dict__["__qualname__"].__get__


def _hook(value: Any) -> bool:
    """Return True for what a replacement changes behaviour with (by the value's real type only)."""
    return issubclass(_type(value), _HOOKS) or callable(value)


def _hooks(namespace: Any) -> tuple[list[str], list[Any]]:
    """Return the keys and values of ``namespace`` that are hooks (filtered in C: a lab has ~150 000)."""
    keys, values = list(namespace.keys()), list(namespace.values())
    mask = list(map(_or, map(callable, values), map(issubclass, map(_type, values), repeat(_HOOKS))))
    if "__dict__" in namespace:
        mask = [m and k != "__dict__" for k, m in zip(keys, mask, strict=True)]
    return list(compress(keys, mask)), list(compress(values, mask))


def _own_heap_class(value: Any, module: str) -> bool:
    """Return True for a class defined in ``module`` whose namespace can be changed (read without lookups)."""
    return (
        issubclass(_type(value), type)
        and bool(_flags(value) & _HEAPTYPE)
        and vars(value).get("__module__") == module
    )


def imported_modules(sources: list[str]) -> list[str]:
    """Return the modules that ``import`` statements in ``sources`` load, in order of appearance."""
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


def preload(names: str) -> None:
    """Import the comma-separated modules ``names`` (those the given cells import); skip what fails."""
    import importlib

    for name in filter(None, (n.strip() for n in names.split(","))):
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001,S112 (the given cell reports its own import error)
            continue


def _from_notebook(value: Any) -> bool:
    """Return True when ``value``'s code was written in a notebook cell (or cannot be told apart)."""
    code = getattr(getattr(value, "__func__", value), "__code__", None)
    if code is None:
        return _type(value).__module__ in _USER_MODULES
    name = code.co_filename
    return name.startswith("<") or "ipykernel_" in name


def _library_wrapper(new: Any, old: Any) -> bool:
    """Return True for a library's own wrapper of ``old`` (``functools.wraps``-style, not from a cell)."""
    try:
        return getattr(new, "__wrapped__", None) is old and not _from_notebook(new)
    except Exception:  # noqa: BLE001 (an object whose attribute access fails is no library wrapper)
        return False


class _Namespace:
    """One snapshotted module or class: its place in `Given`'s flat lists of attributes."""

    __slots__ = ("owner", "label", "kind", "start", "stop")

    def __init__(self, owner: Any, label: str, start: int, stop: int) -> None:
        self.owner, self.label, self.kind, self.start, self.stop = owner, label, _type(owner), start, stop


class Given:
    """The instructor's names and libraries, snapshotted before the first submitted cell."""

    def __init__(self) -> None:
        self.modules: dict[str, Any] = {}
        self.namespaces: list[_Namespace] = []
        self.names: dict[str, Any] = {}
        # every snapshotted attribute, flat, so that one identity test runs over all of them in C
        self._dicts: list[Any] = []
        self._keys: list[str] = []
        self._values: list[Any] = []
        self._functions: list[types.FunctionType] = []
        self._codes: list[Any] = []
        self._module_types: list[type] = []
        self.add_new_modules()

    # -- snapshot -------------------------------------------------------------------------------------------
    def add_new_modules(self, names: set[str] | None = None) -> None:
        """Snapshot the loaded modules not yet known (only ``names`` when given) and the classes they define.

        After an instructor cell, ``names`` are the modules it loaded: a module a submitted cell imported
        (and may have changed) is never taken for the instructor's.
        """
        with warnings.catch_warnings():  # deprecated attributes warn when inspected
            warnings.simplefilter("ignore")
            for name, module in list(sys.modules.items()):
                if not self._wanted(name, module, names):
                    continue
                try:
                    values = self._add(module, name)
                except TypeError:
                    continue
                self.modules[name] = module
                self._module_types.append(_type(module))
                for value in values:
                    if _own_heap_class(value, name):
                        self._add(value, f"{name}.{_qualname(value)}")

    def _wanted(self, name: str, module: Any, names: set[str] | None) -> bool:
        return (
            name not in self.modules
            and name not in _USER_MODULES
            and name.partition(".")[0] not in UNGRADED_PACKAGES
            and issubclass(_type(module), types.ModuleType)
            and (names is None or name in names)
        )

    def _add(self, owner: Any, label: str) -> list[Any]:
        namespace = vars(owner)
        keys, values = _hooks(namespace)
        start = len(self._keys)
        self._dicts += [namespace] * len(keys)
        self._keys += keys
        self._values += values
        self.namespaces.append(_Namespace(owner, label, start, len(self._keys)))
        functions = list(compress(values, map(_is, map(_type, values), repeat(types.FunctionType))))
        self._functions += functions
        self._codes += map(_code, functions)
        return values

    def record(self, user_ns: dict, before: dict) -> None:
        """Keep the globals an instructor cell bound (``before``: the namespace it started with)."""
        for key, value in user_ns.items():
            if not _IPYTHON_NAMES.match(key) and (key not in before or before[key] is not value):
                self.names[key] = value
        for key in [k for k in self.names if k not in user_ns and k in before]:
            del self.names[key]

    # -- restore --------------------------------------------------------------------------------------------
    def restore(self, user_ns: dict, libraries: bool = True) -> list[str]:
        """Put back the recorded globals and, with ``libraries``, the modules; return what changed."""
        changed = self._restore_libraries() if libraries and not self.unchanged() else []
        for key, value in self.names.items():
            if user_ns.get(key, _MISSING) is not value:
                user_ns[key] = value
                changed.append(key)
        return changed

    def unchanged(self) -> bool:
        """Return True when no snapshotted module, attribute or function code changed."""
        modules = self.modules.values()
        try:
            return (
                _all(_map(_is, _map(sys.modules.get, self.modules), modules))
                and _all(_map(_is, _map(_type, modules), self._module_types))
                and _all(_map(_is, _map(_getitem, self._dicts, self._keys), self._values))
                and _all(_map(_is, _map(_code, self._functions), self._codes))
            )
        except KeyError:  # an attribute was deleted
            return False

    def _restore_libraries(self) -> list[str]:
        changed = []
        for (name, module), kind in _zip(self.modules.items(), self._module_types):
            if sys.modules.get(name, module) is not module:
                sys.modules[name] = module
                changed.append(f"sys.modules[{name!r}]")
            if _type(module) is not kind:
                module.__class__ = kind
                changed.append(f"{name}.__class__")
        for namespace in self.namespaces:
            changed += self._restore_namespace(namespace)
        for function, code in _zip(self._functions, self._codes):
            if function.__code__ is not code:
                function.__code__ = code
                changed.append(f"{function.__module__}.{function.__qualname__}.__code__")
        return changed

    def _restore_namespace(self, namespace: _Namespace) -> list[str]:
        changed = []
        current, owner = vars(namespace.owner), namespace.owner
        for i in range(namespace.start, namespace.stop):
            key, value = self._keys[i], self._values[i]
            now = current.get(key, _MISSING)
            if now is value:
                continue
            if _library_wrapper(now, value):  # the library's own change (torch's optimizer hooks)
                self._values[i] = now
                continue
            if issubclass(_type(owner), type):
                _setattr(owner, key, value)
            else:
                current[key] = value
            changed.append(f"{namespace.label}.{key}")
        return changed
