"""Fail closed when a notebook has tampered with what the hidden tests rely on.

Student code and the tests share one Python process, so a notebook can replace ``numpy.isclose``,
``builtins.AssertionError`` or a helper of ``public_tests`` to make wrong answers pass. Before each
hidden test, ``check()`` verifies that the objects the tests use are the genuine ones and raises an
AssertionError otherwise: the cell, and every other that is checked, then scores 0.

Genuineness is decided from facts a notebook cannot change: the real built-in classes are found
through ``object.__subclasses__()``, built-in functions must still be bound to the builtins module,
numpy functions must be numpy's own ufuncs or code from numpy's files, and the test helpers are a
private copy loaded from the read-only ``public_tests.py`` next to the notebook.
"""
import builtins
import importlib.util
import os
import sys
import uuid

BUILTIN_FUNCTIONS = ("abs", "all", "any", "getattr", "hasattr", "isinstance", "len", "max", "min", "print",
                     "repr", "sorted", "sum", "iter", "next", "callable", "__import__")
BUILTIN_CLASSES = ("AssertionError", "Exception", "BaseException", "NotImplementedError", "TypeError",
                   "ValueError", "float", "int", "str", "list", "dict", "tuple", "set", "range", "type", "object",
                   "bool", "enumerate", "zip", "map")
NUMPY_NAMES = ("isclose", "allclose", "asarray", "array", "all", "any", "array_equal", "shape", "size", "ndindex",
               "unravel_index", "argmin", "sum", "isfinite", "zeros", "zeros_like", "ones", "maximum", "where",
               "sqrt", "array2string", "ravel", "copy")


class Tampered(AssertionError):
    """The notebook changed something the tests rely on."""


def _genuine_classes():
    found, stack = {}, [object]
    while stack:
        cls = stack.pop()
        if getattr(cls, "__module__", None) == "builtins":
            found.setdefault(cls.__name__, cls)
        stack.extend(type.__subclasses__(cls) if cls is not type else [])
    return found


_BUILTIN_FUNCTION_TYPE = type(object.__subclasses__)  # builtin_function_or_method, reached without a lookup


def problems(public_tests_module=None):
    """What was tampered with, as readable strings (empty when all is genuine)."""
    found = []
    real_builtins = sys.modules.get("builtins")
    if real_builtins is not builtins:
        found.append("the builtins module was replaced")
    classes = _genuine_classes()
    for name in BUILTIN_CLASSES:
        if builtins.__dict__.get(name) is not classes.get(name):
            found.append(f"builtins.{name} was replaced")
    for name in BUILTIN_FUNCTIONS:
        value = builtins.__dict__.get(name)
        if type(value) is not _BUILTIN_FUNCTION_TYPE or getattr(value, "__self__", None) is not builtins \
                or value.__name__ != name:
            found.append(f"builtins.{name} was replaced")
    numpy = sys.modules.get("numpy")
    if numpy is None:
        return found
    numpy_dir = os.path.dirname(os.path.abspath(numpy.__spec__.origin)) + os.sep
    for name in NUMPY_NAMES:
        value = numpy.__dict__.get(name)
        kind = type(value)
        if kind.__name__ == "ufunc" and kind.__module__ == "numpy":
            continue
        if _from_numpy(value, numpy_dir):
            continue
        found.append(f"numpy.{name} was replaced")
    for name in ("__eq__", "__ne__", "__array_ufunc__", "astype", "copy", "tolist"):
        attribute = numpy.ndarray.__dict__.get(name)
        if attribute is None or type(attribute).__module__ not in ("builtins", None) and \
                not type(attribute).__name__.endswith(("descriptor", "wrapper")):
            found.append(f"numpy.ndarray.{name} was replaced")
    if public_tests_module is not None:
        path = os.path.abspath(public_tests_module.__file__)
        for name, value in vars(public_tests_module).items():
            code = getattr(getattr(value, "__wrapped__", value), "__code__", None)
            if code is not None and os.path.abspath(code.co_filename) != path:
                found.append(f"public_tests.{name} was replaced")
        if vars(public_tests_module).get("np") is not numpy:
            found.append("public_tests.np was replaced")
    return found


def _from_numpy(value, numpy_dir):
    """Whether ``value`` is numpy's own: a ufunc, C code of numpy, or Python code in numpy's files."""
    kind = type(value)
    if kind.__name__ == "ufunc" and kind.__module__ == "numpy":
        return True
    if isinstance(value, type):  # a class such as numpy.ndindex: its module must be numpy's file
        module = sys.modules.get(value.__module__ or "")
        origin = getattr(getattr(module, "__spec__", None), "origin", None) or ""
        return os.path.abspath(origin).startswith(numpy_dir) and getattr(module, value.__name__, None) is value
    implementation = getattr(value, "_implementation", None) or getattr(value, "__wrapped__", None) or value
    code = getattr(implementation, "__code__", None)
    if code is not None:
        return os.path.abspath(code.co_filename).startswith(numpy_dir)
    # C functions of numpy (array, asarray, where, ...), possibly behind numpy's dispatcher
    return type(implementation) is _BUILTIN_FUNCTION_TYPE and \
        (getattr(implementation, "__module__", "") or "").startswith("numpy") and \
        (kind is _BUILTIN_FUNCTION_TYPE or (kind.__module__ or "").startswith("numpy"))


def check(exercise, public_tests_module=None):
    found = problems(public_tests_module)
    if found:
        raise Tampered(f"Exercise {exercise}: the notebook changed what the tests rely on ({'; '.join(found[:4])}"
                       f"{'; ...' if len(found) > 4 else ''}). The tests refuse to run and this exercise scores 0. "
                       "Remove code that replaces numpy, Python built-ins or the test helpers.")


def trusted_public_tests(folder=None):
    """A private copy of public_tests.py, loaded from its file under a fresh module name, so that no
    notebook code can have patched it."""
    path = os.path.join(folder or os.getcwd(), "public_tests.py")
    if folder is None and not os.path.isfile(path):  # outside a notebook folder (the kit's own tests)
        spec = importlib.util.find_spec("public_tests")
        path = spec.origin if spec and spec.origin else path
    if not os.path.isfile(path):
        raise Tampered(f"public_tests.py is missing from {os.path.dirname(path)}: the tests cannot run.")
    name = f"_hw3kit_trusted_public_tests_{uuid.uuid4().hex}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and inspect look modules up by name
    spec.loader.exec_module(module)
    return module
