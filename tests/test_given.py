"""Given names and libraries (autograder.kernel.given): what a submitted cell changes is put back, by
identity."""

from __future__ import annotations

import functools
import sys
import types

import pytest

from autograder.kernel.given import Given, imported_modules


def _module(name: str) -> types.ModuleType:
    module = types.ModuleType(name)
    exec(  # noqa: S102 (a library of the test's own)
        "def isclose(a, b):\n    return abs(a - b) < 1e-9\n\n"
        "class Model:\n    def __call__(self, x):\n        return x\n",
        module.__dict__,
    )
    module.Model.__module__ = name
    return module


@pytest.fixture
def library():
    module = _module("course_test_library")
    sys.modules[module.__name__] = module
    yield module
    sys.modules.pop(module.__name__, None)


def test_replaced_functions_code_classes_and_modules_are_put_back(library):
    given = Given()
    original, call = library.isclose, library.Model.__call__
    assert given.restore({}) == [] and given.unchanged()

    library.isclose = lambda *a, **k: True
    library.Model.__call__ = lambda self, x: 0
    original.__code__ = (lambda a, b: True).__code__
    changed = given.restore({})
    assert library.isclose is original and library.Model.__call__ is call and not original(1, 2)
    assert {"course_test_library.isclose", "course_test_library.Model.__call__"} <= set(changed), changed

    sys.modules["course_test_library"] = types.ModuleType("fake")
    library.__class__ = type(
        "Sneaky", (types.ModuleType,), {"__getattribute__": lambda s, n: lambda *a: True}
    )
    changed = given.restore({})
    assert sys.modules["course_test_library"] is library and type(library) is types.ModuleType, changed


def test_an_object_that_says_it_is_equal_is_still_replaced(library):
    class Equal:
        def __eq__(self, other):
            return True

        def __call__(self, *args):
            return True

    given = Given()
    original = library.isclose
    library.isclose = Equal()
    assert not given.unchanged() and given.restore({}) and library.isclose is original


def test_a_librarys_own_wrapper_is_kept_and_a_notebooks_is_not(library):
    given = Given()
    original = library.isclose
    library.isclose = functools.lru_cache(original)  # wraps the old value, code from the library
    assert given.restore({}) == [] and library.isclose.__wrapped__ is original
    wrapper = library.isclose
    library.isclose = functools.wraps(wrapper)(lambda *a, **k: True)  # a wrapper written in a cell
    library.isclose.__code__ = library.isclose.__code__.replace(co_filename="/tmp/ipykernel_1/123.py")
    assert given.restore({}) and library.isclose is wrapper


def test_the_globals_an_instructor_cell_bound_are_put_back_and_the_rest_is_left():
    given = Given()
    user_ns = {"np": "numpy", "_": 1}
    before = dict(user_ns)
    user_ns.update(check_accuracy="given", labels=[1, 2])
    given.record(user_ns, before)
    user_ns.update(check_accuracy=lambda *a: None, labels=[3], mine=5, _i3="history")
    assert sorted(given.restore(user_ns, libraries=False)) == ["check_accuracy", "labels"]
    assert user_ns["check_accuracy"] == "given" and user_ns["labels"] == [1, 2] and user_ns["mine"] == 5


def test_the_modules_given_cells_import_are_found():
    sources = [
        "import numpy as np\nfrom labkit.training import train_model\n",
        "import os, math\nfrom . import x\n",
        "def (",
    ]
    assert imported_modules(sources) == ["numpy", "labkit.training", "os", "math"]
