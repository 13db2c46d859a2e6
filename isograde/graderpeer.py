"""How the grader's side reads and writes the channel to a worker: a handle goes as its number, a library function
or class as its name (the worker resolves it to its own copy), plain values as values, a grader function as a
callback; what comes back is decoded into plain data, the grader's own library objects, or handles."""
import inspect
import sys
import types

import numpy as np

from isograde import proxy
from isograde.exceptions import INTERNAL_MODULES
from isograde.worker import wire
# Modules of the course that the student's folder also holds (the released copies): never resolved by
# name between the grader and the worker, whose copies belong to the student.
COURSE_MODULES = {"public_tests", "checklib"}

class GraderPeer(wire.Peer):
    """How the grader's side reads and writes the channel."""

    def __init__(self, worker):
        self.worker = worker

    def ref(self, number, info):
        registry = self.worker.registry
        if not registry.known(number) and info is None:
            info = {}
        return registry.build(number, info)

    def library(self, module, qualname):
        return self.worker.resolve_library(module, qualname)

    def module(self, name):
        return self.worker.resolve_module(name)

    def describe(self, value):
        worker = self.worker
        number = proxy.number_of(value) if proxy.is_handle(value) else worker.registry.number_of_class(value)
        if number is not None:
            if proxy.is_handle(value) and proxy._worker(value) is not worker:
                raise TypeError("a handle of another submission's worker")
            return wire.Ref(number)
        if isinstance(value, types.ModuleType):
            return wire.ModuleName(value.__name__)
        library = library_name(value)
        if library is not None:
            return wire.Library(*library)
        parts = wire.encode_value(value)
        if parts is not None:
            return wire.value_ext(worker.codec, parts)
        if callable(value):
            return worker.callback_for(value)
        if isinstance(value, np.ndarray):  # a subclass (matrix, masked array): its plain values
            return np.asarray(value)
        raise TypeError(f"cannot send {type(value).__name__} to the student's code")


def library_name(value):
    """(module, qualname) of a library function or class the worker resolves to its own copy."""
    if not (inspect.isroutine(value) or inspect.isclass(value) or isinstance(value, np.ufunc)):
        return None
    module_name = getattr(value, "__module__", None)
    qualname = getattr(value, "__qualname__", None) or getattr(value, "__name__", None)
    if isinstance(value, np.ufunc):
        module_name, qualname = "numpy", value.__name__
    if not isinstance(module_name, str) or not isinstance(qualname, str) or "<" in qualname:
        return None
    root = module_name.split(".")[0]
    if root in INTERNAL_MODULES or module_name.startswith("__") or root in COURSE_MODULES:
        return None
    module = sys.modules.get(module_name)
    found = module
    for part in qualname.split("."):
        found = getattr(found, part, None)
    return (module_name, qualname) if module is not None and found is value else None
