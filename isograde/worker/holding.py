"""What goes back to the grader: plain data, library names, or handles to objects the worker holds; and the
stand-ins the grader asks the worker to build (functions whose answers only the grader holds)."""
import inspect
import sys

from . import wire
from .folder import WORK


class MutableTypes:
    """The containers whose in-place changes by a call go back to the grader (numpy's arrays are added
    when the zygote has imported numpy: ``runtime.preload``)."""
    types = (list, dict, set, bytearray)


MUTABLE_DATA_TYPES = MutableTypes



class Callback:
    """A function whose answers the grader gives: a stand-in (a recorded table or a spy's log that
    only the grader holds), or a function of the grader's (a test's lambda) passed to student code."""

    def __init__(self, child, number, name):
        self._child, self._number, self.__name__ = child, number, name
        self.__qualname__ = name

    def __call__(self, *args, **kwargs):
        return self._child.callback(self._number, args, kwargs)

    def __repr__(self):
        return f"<function {self.__name__}>"


class Namespace:
    """An object with the given attributes; calling it calls the attribute named ``call``."""

    def __init__(self, attributes, call=None):
        self.__dict__.update(attributes)
        self._call = call

    def __call__(self, *args, **kwargs):
        return getattr(self, self._call)(*args, **kwargs)


class GraderError(Exception):
    """An error of the grader's side (a stand-in refused a call) raised into student code."""


def student_module(module):
    name = getattr(module, "__name__", "")
    path = getattr(module, "__file__", None) or ""
    return name == "__main__" or (isinstance(path, str) and path.startswith(WORK))


def library_name(value):
    """(module, qualname) when ``value`` is a function or class that an installed module defines
    under that name (so the grader can use its own copy), else None."""
    try:
        module_name, qualname = value.__module__, getattr(value, "__qualname__", None) or value.__name__
    except Exception:
        return None
    if not isinstance(module_name, str) or not isinstance(qualname, str) or "<" in qualname:
        return None
    module = sys.modules.get(module_name)
    if module is None or student_module(module):
        return None
    found = module
    for part in qualname.split("."):
        found = getattr(found, part, None)
        if found is None:
            return None
    return (module_name, qualname) if found is value else None


class WorkerPeer(wire.Peer):
    accept_standins = True

    def __init__(self, child):
        self.child = child

    def describe(self, value):
        return self.child.describe(value)

    def ref(self, number, info):
        return self.child.held(number)

    def library(self, module, qualname):
        found = sys.modules.get(module)
        if found is None:
            found = __import__(module, fromlist=["_"])
        for part in qualname.split("."):
            found = getattr(found, part)
        return found

    def module(self, name):
        return sys.modules.get(name) or __import__(name, fromlist=["_"])

    def standin(self, kind, settings):
        return self.child.build_standin(kind, settings)

    def namedtuple(self, module, qualname, fields):
        if module == "__main__":
            cls = self.child.shell.user_ns.get(qualname)
            if isinstance(cls, type) and getattr(cls, "_fields", None) == tuple(fields):
                return cls
        return wire.namedtuple_class(module, qualname, fields)


class Holding:
    """The objects of the student's process the grader holds handles to, by number, and how values are
    described for the grader."""

    def held(self, number):
        if number not in self.objects:
            raise wire.ProtocolError(f"no object {number}")
        return self.objects[number]

    def hold(self, value):
        number = self.numbers.get(id(value))
        if number is None or self.objects.get(number) is not value:
            number, self.next_number = self.next_number, self.next_number + 1
            self.objects[number], self.numbers[id(value)] = value, number
        info = None
        if number not in self.described:
            info = self.info(value)
            self.sending.add(number)
        return wire.Ref(number, info)

    def info(self, value):
        """What the grader needs to know of a new handle: for a class, its names and bases; for
        anything else, its class and, for a bound method, its object and function."""
        if isinstance(value, type):
            library = library_name(value)
            if library:
                return {"library": list(library)}
            bases = [self.describe(base) if library_name(base) is None else wire.Library(*library_name(base))
                     for base in value.__bases__ if base is not object]
            info = {"class": [str(value.__module__), str(value.__qualname__), str(value.__name__)], "bases": bases,
                    "exception": issubclass(value, BaseException)}
            fields = _structural_fields(value)
            if fields is not None:
                info["fields"] = fields
            return info
        kind = type(value)
        library = library_name(kind)
        info = {"type": wire.Library(*library) if library else self.describe(kind), "callable": callable(value)}
        if inspect.ismethod(value):
            info["method"] = [self.describe(value.__self__), self.describe(value.__func__)]
        return info

    def describe(self, value):
        """The wire form of a value that is not plain data (see wire.Codec._default)."""
        if inspect.ismodule(value) and not student_module(value) and isinstance(getattr(value, "__name__", None), str):
            return wire.ModuleName(value.__name__)
        parts = wire.encode_value(value)
        if parts is not None:
            return wire.value_ext(self.codec, parts)
        if not isinstance(value, type) and (inspect.isroutine(value) or inspect.isclass(value)):
            library = library_name(value)
            if library:
                return wire.Library(*library)
        elif isinstance(value, type):
            library = library_name(value)
            if library:
                return wire.Library(*library)
        kind = type(value)
        if kind.__module__ not in ("__main__",) and not student_module(sys.modules.get(kind.__module__)):
            for base in (bool, int, float, str, bytes, list, tuple, dict):  # a library's subclass travels as its base
                if isinstance(value, base) and kind is not base:
                    return base(value)
        import numpy as np
        if isinstance(value, np.ndarray) and not value.dtype.hasobject and library_name(kind):
            return np.asarray(value)
        return self.hold(value)

    def as_data(self, value, depth=0, top=False):
        """Plain data where the value is plain data (containers rebuilt, their members converted),
        a handle where it is an object, or an object the grader already holds."""
        if not top:
            number = self.numbers.get(id(value))
            if number is not None and self.objects.get(number) is value:
                return self.hold(value)
        kind = type(value)
        if kind in (type(None), bool, int, float, str, bytes, complex):
            return value
        if depth > 40:
            return self.hold(value)
        if kind in (list, tuple, set, frozenset):
            items = [self.as_data(item, depth + 1) for item in value]
            return items if kind is list else kind(items) if kind is not set else set(_hashables(items))
        if kind is dict:
            return {self.as_data(k, depth + 1): self.as_data(v, depth + 1) for k, v in value.items()
                    if _hashable(self.as_data(k, depth + 1))}
        return value  # numpy values, library values and objects: the codec's describe decides


def _hashable(value):
    try:
        hash(value)
        return True
    except Exception:
        return False


def _hashables(items):
    return [item for item in items if _hashable(item)]


def _structural_fields(cls):
    """Field names when the class compares its instances by these fields, as a dataclass's generated
    ``__eq__`` does; None otherwise."""
    params = getattr(cls, "__dataclass_params__", None)
    fields = getattr(cls, "__dataclass_fields__", None)
    if params is None or not getattr(params, "eq", False) or not isinstance(fields, dict):
        return None
    if "__eq__" in cls.__dict__ and getattr(cls.__dict__["__eq__"], "__qualname__", "").endswith("__create_fn__.<locals>.__eq__") is False:
        if not getattr(cls.__dict__["__eq__"], "__qualname__", "").endswith(".__eq__"):
            return None
    return [name for name, field in fields.items() if getattr(field, "compare", True)
            and type(getattr(field, "_field_type", None)).__name__ != "_FIELD_CLASSVAR"]
