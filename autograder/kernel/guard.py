"""The grading kernel: an IPython kernel that undoes hook tampering before every cell the instructor wrote.

A submission's cells run in the same kernel as the tests after them, so a cell can change how IPython
parses, transforms, executes or reports later cells (input and AST transformers, custom exception handlers,
replaced traceback, display or publishing methods on an instance or its class, trace functions, event
callbacks...). This kernel closes that family of routes and makes what it cannot close evident:

- at its first execute request, before any submitted code has run, it takes a `Pristine` snapshot of
  IPython's and ipykernel's execution path: the classes (every method of every class in the MRO of the
  kernel, shell, display publisher, display hook, compiler, transformer manager, event manager, traceback
  formatters, session and output streams), the callables and hook lists held by those instances, the
  functions of the modules on that path, ``builtins`` and the ``sys`` hooks;
- a request marked by the grader (`MARKER` and a one-time nonce) restores that snapshot *before* IPython
  sees the cell, so the cell is parsed, run and reported by pristine code;
- the reply carries a proof: an HMAC, with a key only the grader and this kernel know (read from a file that
  the grader deletes before the first cell runs), of the nonce, the execution status and what was restored. A
  kernel whose execute path was replaced cannot produce it, and the grader
  (`autograder.execute.guarded.GuardedExecute`) scores such a cell zero with the note "kernel tampering
  detected".

No in-process defence is complete: code in the same process can read memory, so a submission that finds
the key in memory and rebuilds the proof is not stopped. docs/security.md lists what is and is not covered.
"""

from __future__ import annotations

import builtins
import hashlib
import hmac
import json
import os
import sys
import threading
import time
import types
from typing import Any

from ipykernel.ipkernel import IPythonKernel

from autograder.kernel.given import PRELOAD_ENV, Given, preload

MARKER = "#@course-guard "
#: Flag after the nonce of a graded test cell: the libraries are checked before it.
GRADED_FLAG = "graded"
KEY_ENV = "COURSE_GUARD_KEY_FILE"
#: Event callbacks from these packages are the execution environment's own (inline figures, widgets).
TRUSTED_CALLBACK_PACKAGES = (
    "matplotlib",
    "matplotlib_inline",
    "ipympl",
    "ipywidgets",
    "IPython",
    "ipykernel",
)
#: Modules whose functions IPython's execution path calls; replacing one of them is tampering.
GUARDED_MODULES = (
    "IPython.core.interactiveshell",
    "IPython.core.ultratb",
    "IPython.core.displayhook",
    "IPython.core.displaypub",
    "IPython.core.compilerop",
    "IPython.core.inputtransformer2",
    "IPython.core.events",
    "IPython.core.async_helpers",
    "IPython.core.display_trap",
    "IPython.core.builtin_trap",
    "ipykernel.ipkernel",
    "ipykernel.kernelbase",
    "ipykernel.zmqshell",
    "ipykernel.iostream",
    "ipykernel.displayhook",
    "jupyter_client.session",
    "traceback",
    "codeop",
    "ast",
    "hmac",
    "hashlib",
    "json",
)
SYS_HOOKS = ("excepthook", "displayhook", "breakpointhook", "stdout", "stderr", "stdin")
_SKIP_KEYS = {"__dict__", "__weakref__", "__doc__", "__module__", "__abstractmethods__", "_abc_impl"}

# The guard's own tools, bound now: later rebinding of the module attributes does not reach them.
_hmac_new, _compare, _sha256, _dumps = hmac.new, hmac.compare_digest, hashlib.sha256, json.dumps
_getattr, _setattr, _delattr, _type, _vars, _isinstance = getattr, setattr, delattr, type, vars, isinstance


def proof(key: bytes, nonce: str, status: str, restored: list[str]) -> str:
    """Return the HMAC-SHA256 that proves a guarded cell ran through this kernel's pristine path."""
    message = _dumps([nonce, status, restored]).encode()
    return _hmac_new(key, message, _sha256).hexdigest()


def _is_hook(value: Any) -> bool:
    """Return True for values a replacement can change behaviour with: functions and descriptors."""
    return (
        callable(value)
        or _isinstance(value, (staticmethod, classmethod, property))
        or hasattr(_type(value), "__get__")
    )


class Pristine:
    """A snapshot of the kernel's execution path and the means to put it back.

    Parameters
    ----------
    kernel
        The running `GuardedKernel` (its shell, session and streams are snapshotted with it).
    """

    def __init__(self, kernel: IPythonKernel) -> None:
        shell = kernel.shell
        self.objects = self._guarded_objects(kernel)
        self.types = {name: _type(obj) for name, obj in self.objects.items()}
        # ipykernel's own per-request rebinding (stream writes, _save_getpass) is not tampering
        self.instance = {
            name: {k: v for k, v in _vars(obj).items() if not k.startswith("_save")}
            for name, obj in self.objects.items()
            if hasattr(obj, "__dict__") and name not in ("stdout", "stderr")
        }
        self.traits = {
            name: dict(obj._trait_values)
            for name, obj in self.objects.items()
            if hasattr(obj, "_trait_values")
        }
        self.classes = {
            cls: dict(cls.__dict__)
            for obj in self.objects.values()
            for cls in _type(obj).__mro__
            if cls is not object and cls.__module__ != "builtins"
        }
        self.modules = {
            name: dict(_vars(sys.modules[name])) for name in GUARDED_MODULES if name in sys.modules
        }
        self.builtins = dict(_vars(builtins))
        self.sys = {name: _getattr(sys, name) for name in SYS_HOOKS}
        self.trace = (sys.gettrace(), sys.getprofile())
        self.lists = {name: list(value) for name, value in self._hook_lists(shell).items()}
        self.callbacks = {event: list(funcs) for event, funcs in shell.events.callbacks.items()}
        self.exceptions = (shell.custom_exceptions, shell.CustomTB)

    @staticmethod
    def _guarded_objects(kernel: IPythonKernel) -> dict[str, Any]:
        shell = kernel.shell
        candidates = {
            "kernel": kernel,
            "shell": shell,
            "display_pub": shell.display_pub,
            "displayhook": shell.displayhook,
            "compile": shell.compile,
            "input_transformer_manager": shell.input_transformer_manager,
            "events": shell.events,
            "InteractiveTB": shell.InteractiveTB,
            "SyntaxTB": shell.SyntaxTB,
            "builtin_trap": shell.builtin_trap,
            "display_trap": shell.display_trap,
            "session": kernel.session,
            "iopub_socket": kernel.iopub_socket,
            "stdout": sys.stdout,
            "stderr": sys.stderr,
        }
        return {name: obj for name, obj in candidates.items() if obj is not None}

    @staticmethod
    def _hook_lists(shell: Any) -> dict[str, list]:
        manager = shell.input_transformer_manager
        return {
            "input_transformers_cleanup": manager.cleanup_transforms,
            "input_transformer_manager.line_transforms": manager.line_transforms,
            "input_transformer_manager.token_transformers": manager.token_transformers,
            "input_transformers_post": shell.input_transformers_post,
            "ast_transformers": shell.ast_transformers,
        }

    def restore(self, kernel: IPythonKernel) -> list[str]:
        """Put the snapshot back and return what had changed (empty: nothing was tampered with)."""
        changed: list[str] = []
        changed += self._restore_trace()
        changed += self._restore_objects()
        for cls, pristine in self.classes.items():
            changed += _restore_namespace(cls, pristine, f"{cls.__module__}.{cls.__qualname__}", delete=True)
        for name, pristine in self.modules.items():
            changed += _restore_namespace(sys.modules[name], pristine, name, delete=False)
        changed += _restore_namespace(builtins, self.builtins, "builtins", delete=False)
        changed += self._restore_shell_hooks(kernel.shell)
        for name, value in self.sys.items():
            if _getattr(sys, name) is not value:
                _setattr(sys, name, value)  # rebinding the streams is not reported: libraries do it
        return changed

    def _restore_trace(self) -> list[str]:
        changed = []
        if sys.gettrace() is not self.trace[0]:
            sys.settrace(self.trace[0])
            changed.append("sys.settrace")
        if sys.getprofile() is not self.trace[1]:
            sys.setprofile(self.trace[1])
            changed.append("sys.setprofile")
        if _getattr(threading, "_trace_hook", None) or _getattr(threading, "_profile_hook", None):
            threading.settrace(None)  # type: ignore[arg-type]
            threading.setprofile(None)  # type: ignore[arg-type]
            changed.append("threading.settrace")
        return changed

    def _restore_objects(self) -> list[str]:
        changed = []
        for name, obj in self.objects.items():
            if _type(obj) is not self.types[name]:
                obj.__class__ = self.types[name]
                changed.append(f"{name}.__class__")
            if name in self.instance:
                changed += _restore_instance(obj, self.instance[name], name, self.objects)
            if name in self.traits:
                changed += _restore_traits(obj, self.traits[name], name, self.objects)
        return changed

    def _restore_shell_hooks(self, shell: Any) -> list[str]:
        changed = []
        for name, current in self._hook_lists(shell).items():
            if current != self.lists[name]:
                current[:] = self.lists[name]
                changed.append(name)
        if (shell.custom_exceptions, shell.CustomTB) != self.exceptions:
            shell.custom_exceptions, shell.CustomTB = self.exceptions
            changed.append("set_custom_exc")
        for event, funcs in shell.events.callbacks.items():
            kept = [f for f in funcs if f in self.callbacks.get(event, []) or _trusted(f)]
            if kept != funcs:
                funcs[:] = kept
                changed.append(f"events.{event}")
        return changed


def _trusted(func: Any) -> bool:
    module = _getattr(func, "__module__", None) or ""
    return module.split(".")[0] in TRUSTED_CALLBACK_PACKAGES


def _restore_namespace(owner: Any, pristine: dict, label: str, delete: bool) -> list[str]:
    """Restore the hook-valued entries of a class or module namespace; return the changed names."""
    changed = []
    current = owner.__dict__
    for key, value in pristine.items():
        if key in _SKIP_KEYS or not _is_hook(value):
            continue
        if key not in current or current[key] is not value:
            _setattr(owner, key, value)
            changed.append(f"{label}.{key}")
    if delete:
        for key in [
            k for k, v in current.items() if k not in pristine and k not in _SKIP_KEYS and _is_hook(v)
        ]:
            _delattr(owner, key)
            changed.append(f"{label}.{key}")
    return changed


def _restore_instance(obj: Any, pristine: dict, label: str, guarded: dict) -> list[str]:
    """Undo replaced or added callables and swapped guarded sub-objects in an instance's ``__dict__``."""
    changed = []
    current = _vars(obj)
    for key in list(current):
        value = current[key]
        if key.startswith("_save"):
            continue
        if key not in pristine:
            if callable(value) and not _isinstance(value, type):
                del current[key]
                changed.append(f"{label}.{key}")
        elif value is not pristine[key] and (
            _bound_or_function(pristine[key]) or pristine[key] in guarded.values()
        ):
            current[key] = pristine[key]
            changed.append(f"{label}.{key}")
    return changed


def _restore_traits(obj: Any, pristine: dict, label: str, guarded: dict) -> list[str]:
    changed = []
    values = obj._trait_values
    for key, old in pristine.items():
        if values.get(key) is not old and (
            _bound_or_function(old) or any(old is g for g in guarded.values())
        ):
            values[key] = old
            changed.append(f"{label}.{key}")
    return changed


def _bound_or_function(value: Any) -> bool:
    return _isinstance(value, (types.FunctionType, types.MethodType, types.BuiltinFunctionType))


class GuardedKernel(IPythonKernel):
    """IPython kernel whose grader-marked cells run on a restored, pristine execution path."""

    implementation = "course-guard"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._guard_key = _read_key()
        self._pristine: Pristine | None = None
        self._given: Given | None = None
        self._given_seconds = 0.0
        self._student_ran = False
        self._given_error = ""

    async def do_execute(
        self,
        code,
        silent,
        store_history=True,
        user_expressions=None,
        allow_stdin=False,
        *,
        cell_meta=None,
        cell_id=None,
    ):
        """Run a cell; for a marked cell, restore the snapshot first and sign the outcome."""
        started = time.perf_counter()
        if self._pristine is None:  # before the first cell: no submitted code has run yet
            preload(os.environ.get(PRELOAD_ENV, ""))  # (the given cells would import them anyway)
            started = time.perf_counter()
            self._pristine = Pristine(self)
            self._given = self._given_step(Given)
            self._given_seconds = time.perf_counter() - started
            started = time.perf_counter()
        marked = code.startswith(MARKER)
        if marked:
            first, _, code = code.partition("\n")
            nonce, _, flags = first[len(MARKER) :].strip().partition(" ")
            restored = self._pristine.restore(self)
            user_ns = self.shell.user_ns
            # the libraries before a graded cell and after submitted code; the given globals every time
            libraries = GRADED_FLAG in flags.split() or self._student_ran
            given = self._given_step(lambda: self._given.restore(user_ns, libraries=libraries)) or []
            self._student_ran = False
            before, modules = dict(user_ns), set(sys.modules)
            self._given_seconds += time.perf_counter() - started
        else:
            self._student_ran = True
        reply = await _pristine_do_execute(
            self,
            code,
            silent,
            store_history,
            user_expressions,
            allow_stdin,
            cell_meta=cell_meta,
            cell_id=cell_id,
        )
        if marked:
            started = time.perf_counter()
            self._given_step(lambda: self._given.record(user_ns, before))
            self._given_step(lambda: self._given.add_new_modules(set(sys.modules) - modules))
            self._given_seconds += time.perf_counter() - started
            status = str(reply.get("status"))
            reply["course_guard"] = {
                "restored": restored,
                "given_restored": given,
                "given_seconds": round(self._given_seconds, 4),
                "given_error": self._given_error,
                "proof": proof(self._guard_key, nonce, status, restored),
            }
        return reply

    def _given_step(self, step: Any) -> Any:
        """Run one step of `Given`; a failure of the guard's own code is reported, never fatal to the cell."""
        if self._given is None and step is not Given:
            return None
        try:
            return step()
        except Exception as exc:  # noqa: BLE001
            self._given_error = f"{type(exc).__name__}: {str(exc)[:200]}"
            print(f"course-guard: given names not checked: {self._given_error}", file=sys.stderr)
            self._given = None
            return None


_pristine_do_execute = IPythonKernel.do_execute


def _read_key() -> bytes:
    """Read the grader's key file named by `KEY_ENV` (the grader deletes it before the first cell)."""
    path = os.environ.pop(KEY_ENV, "")
    if not path:
        return b""
    try:
        with open(path, "rb") as handle:
            key = handle.read()
        os.unlink(path)
    except OSError:
        return b""
    return key


def verify(key: bytes, nonce: str, reply_content: dict) -> tuple[bool, list[str]]:
    """Check a guarded cell's reply: return (proof valid, what the kernel restored)."""
    guard = reply_content.get("course_guard")
    if not _isinstance(guard, dict) or not key:
        return False, []
    restored = [str(name) for name in guard.get("restored", [])]
    expected = proof(key, nonce, str(reply_content.get("status")), restored)
    return _compare(expected, str(guard.get("proof", ""))), restored


def main() -> None:
    """Start the guarded kernel (``python -m autograder.kernel.guard -f CONNECTION_FILE``)."""
    from ipykernel.kernelapp import IPKernelApp

    IPKernelApp.launch_instance(kernel_class=GuardedKernel)


if __name__ == "__main__":
    main()
