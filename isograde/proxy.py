"""The student's objects as the grader sees them: handles that behave like the objects themselves.

A ``Handle`` stands for one object of the student's process: calling it, reading or setting its
attributes and items, iterating it and applying operators are requests carried out in the student's
process, whose results come back as plain data or further handles. What decides a verdict stays here:

- ``==`` and ``!=`` of a handle are decided by the grader (the same object; or, for classes that compare
  by their fields like dataclasses, the fields' values fetched as data), never by the student's
  ``__eq__``; ordering comparisons of handles are refused, ``x in handle`` iterates and compares here;
- classes of the student's are mirrored by shadow classes of the same name and module, so
  ``isinstance``, ``type(x).__name__`` and ``str(type(x))`` read as they would in the student's kernel;
- exceptions raised by student code arrive as instances of the same class (``isograde.exceptions``).

``isograde.shadows`` builds handles and shadow classes from the worker's descriptions.
"""
# Longer than 300 lines: a handle, the mirror of its class (HandleType) and the grader's equality (same_object,
# same_value) call one another; split into modules, they would import each other.
import inspect

import numpy as np

from isograde.worker import wire

# Attribute names with dunders that are plain data about the object (forwarded); every other dunder is
# answered here: Python's machinery probes for them (numpy's array interface would read raw memory).
FORWARDED_DUNDERS = {"__name__", "__qualname__", "__dict__", "__defaults__", "__kwdefaults__",
                     "__annotations__", "__code__", "__self__", "__func__", "__wrapped__", "__slots__",
                     "__closure__", "__globals__", "__mro__", "__bases__", "__class__name__", "__version__",
                     "__all__", "__file__", "__path__"}
REFUSED_PREFIXES = ("_repr_", "_ipython_", "__array_")


class Handle:
    """An object of the student's process (see the module's docstring)."""
    __slots__ = ("_ig_worker", "_ig_number", "_ig_method", "__weakref__")
    _ig_class_number = None

    def __call__(self, *args, **kwargs):
        return _worker(self).call(self, args, kwargs)

    def __getattr__(self, name):
        if name.startswith(REFUSED_PREFIXES) or (name.startswith("__") and name.endswith("__")
                                                  and name not in FORWARDED_DUNDERS):
            raise AttributeError(name)
        return _worker(self).request("getattr", self, name)

    def __setattr__(self, name, value):
        if name.startswith("_ig_"):
            object.__setattr__(self, name, value)
        else:
            _worker(self).request("setattr", self, name, value)

    def __delattr__(self, name):
        _worker(self).request("delattr", self, name)

    def __getitem__(self, key):
        return _worker(self).request("getitem", self, key)

    def __setitem__(self, key, value):
        _worker(self).request("setitem", self, key, value)

    def __delitem__(self, key):
        _worker(self).request("delitem", self, key)

    def __iter__(self):
        iterator = _worker(self).request("unary", self, "iter")
        if iterator is self:
            return _Iterating(self)
        return iter(iterator) if not isinstance(iterator, Handle) else _Iterating(iterator)

    def __next__(self):
        return _worker(self).request("unary", self, "next")

    def __len__(self):
        length = _worker(self).request("unary", self, "len")
        if type(length) is not int or length < 0:
            raise TypeError("len() of the student's object is not a non-negative integer")
        return length

    def __bool__(self):
        return _worker(self).request("unary", self, "bool") is True

    def __str__(self):
        return _as_text(_worker(self).request("unary", self, "str"))

    def __repr__(self):
        return _as_text(_worker(self).request("unary", self, "repr"))

    def __format__(self, spec):
        return _as_text(_worker(self).request("binary", "format", self, spec))

    def __int__(self):
        return _number(_worker(self).request("unary", self, "int"), int)

    def __float__(self):
        return _number(_worker(self).request("unary", self, "float"), float)

    def __complex__(self):
        return _number(_worker(self).request("unary", self, "complex"), complex)

    def __index__(self):
        return _number(_worker(self).request("unary", self, "index"), int)

    def __bytes__(self):
        value = _worker(self).request("unary", self, "bytes")
        if type(value) is not bytes:
            raise TypeError("bytes() of the student's object did not give bytes")
        return value

    def __array__(self, dtype=None, copy=None):
        value = _worker(self).request("unary", self, "array")
        if not isinstance(value, np.ndarray):
            raise TypeError("the student's object did not convert to an array of plain values")
        return value if dtype is None else value.astype(dtype)

    def __dir__(self):
        names = _worker(self).request("unary", self, "dir")
        return [n for n in names if isinstance(n, str)] if isinstance(names, list) else []

    def __enter__(self):
        return _worker(self).request("unary", self, "enter")

    def __exit__(self, *details):
        kind, value, _ = details
        sent = (None, None, None) if kind is None else (None, None, None)
        return _worker(self).request("binary", "exit", self, tuple(sent)) is True

    def __reversed__(self):
        return _worker(self).request("unary", self, "reversed")

    def __round__(self, digits=None):
        if digits is None:
            return _worker(self).request("unary", self, "round")
        return _worker(self).request("binary", "round", self, digits)

    def __copy__(self):
        return _worker(self).request("call", wire.Library("copy", "copy"), [self], {})[0]

    def __deepcopy__(self, memo=None):
        return _worker(self).request("call", wire.Library("copy", "deepcopy"), [self], {})[0]

    @property
    def __signature__(self):
        parameters = []
        for name, kind, has_default, default in _worker(self).request("signature", self):
            parameters.append(inspect.Parameter(name, inspect._ParameterKind(kind),
                                                default=default if has_default else inspect.Parameter.empty))
        return inspect.Signature(parameters)

    @property
    def __student_side__(self):
        return _worker(self).side

    # the grader decides ---------------------------------------------------------------------------
    def __eq__(self, other):
        return same_object(self, other)

    def __ne__(self, other):
        return not same_object(self, other)

    def __hash__(self):
        return hash((id(_worker(self)), object.__getattribute__(self, "_ig_number")))

    def __lt__(self, other):
        return _refused("<")

    def __le__(self, other):
        return _refused("<=")

    def __gt__(self, other):
        return _refused(">")

    def __ge__(self, other):
        return _refused(">=")

    def __contains__(self, item):
        for member in self:
            if member is item or same_value(member, item):
                return True
        return False


def _binary(name, reflected=False):
    def operate(self, other):
        first, second = (other, self) if reflected else (self, other)
        return _worker(self).request("binary", name, first, second)
    operate.__name__ = f"__{'r' if reflected else ''}{name.rstrip('_')}__"
    return operate


for _name in ("add", "sub", "mul", "matmul", "truediv", "floordiv", "mod", "pow", "lshift", "rshift", "and_",
              "or_", "xor", "divmod"):
    _plain = _name.rstrip("_")
    setattr(Handle, f"__{_plain}__", _binary(_name))
    setattr(Handle, f"__r{_plain}__", _binary(_name, reflected=True))
    if _name != "divmod":
        setattr(Handle, f"__i{_plain}__", _binary("i" + _plain if _name not in ("and_", "or_") else "i" + _plain))
for _name in ("neg", "pos", "invert", "abs"):
    setattr(Handle, f"__{_name}__", (lambda op: lambda self: _worker(self).request("unary", self, op))(_name))


class _Iterating:
    """Iteration over a student's iterator: one item per request (items are computed lazily, in the
    student's process, exactly when Python asks for them)."""

    def __init__(self, iterator):
        self.iterator = iterator

    def __iter__(self):
        return self

    def __next__(self):
        return _worker(self.iterator).request("unary", self.iterator, "next")


class HandleType(type):
    """The metaclass of shadow classes: a class of the student's, seen from the grader. Instances of
    the student's class come back as instances of its shadow; calling the shadow builds an instance in
    the student's process."""

    def __call__(cls, *args, **kwargs):
        return _worker(cls).call(cls, args, kwargs)

    def __getattr__(cls, name):
        if name.startswith(REFUSED_PREFIXES) or (name.startswith("__") and name.endswith("__")
                                                 and name not in FORWARDED_DUNDERS) or name.startswith("_ig_"):
            raise AttributeError(name)
        if type.__getattribute__(cls, "_ig_class_number") is None:
            raise AttributeError(name)
        return _worker(cls).request("getattr", cls, name)

    def __setattr__(cls, name, value):
        if name.startswith("_ig_") or name in ("__module__", "__qualname__", "__name__", "__doc__"):
            type.__setattr__(cls, name, value)
        else:
            _worker(cls).request("setattr", cls, name, value)

    @property
    def __signature__(cls):
        return Handle.__signature__.fget(cls)

    @property
    def __student_side__(cls):
        return _worker(cls).side


class _RemoteDoc:
    """``__doc__`` of a handle or shadow class: the student's docstring, read when asked."""

    def __get__(self, instance, owner):
        target = owner if instance is None else instance
        if number_of(target) is None:
            return None
        doc = _worker(target).request("getattr", target, "__doc__")
        return doc if isinstance(doc, str) else None


def _worker(thing):
    if isinstance(thing, type):
        return type.__getattribute__(thing, "_ig_class_worker")
    return object.__getattribute__(thing, "_ig_worker")


def number_of(thing):
    try:
        if isinstance(thing, type):
            return type.__getattribute__(thing, "_ig_class_number") if isinstance(thing, HandleType) else None
        return object.__getattribute__(thing, "_ig_number") if isinstance(thing, Handle) else None
    except AttributeError:
        return None


def is_handle(value):
    return isinstance(value, Handle) or (isinstance(value, type) and number_of(value) is not None)


def _refused(operator):
    raise TypeError(f"'{operator}' between the student's objects is decided by their own code; the grader does "
                    "not let student code decide a comparison: compare plain values instead")


def _as_text(value):
    if type(value) is not str:
        raise TypeError("the student's object did not give a string")
    return value


def _number(value, kind):
    if type(value) is not kind and not (kind is complex and type(value) in (int, float)) \
            and not (kind is float and type(value) is int):
        raise TypeError(f"the student's object did not convert to {kind.__name__}")
    return kind(value)


def same_object(first, second):
    """``first == second`` where at least one is a handle: the same object of the student's, the same
    bound method, or (for classes that compare by their fields) the same fields' values."""
    if first is second:
        return True
    if not (is_handle(first) and is_handle(second)):
        return False
    if _worker(first) is not _worker(second):
        return False
    if number_of(first) == number_of(second):
        return True
    methods = [object.__getattribute__(h, "_ig_method") if isinstance(h, Handle) else None for h in (first, second)]
    if methods[0] is not None and methods[1] is not None:
        return all(same_object(a, b) for a, b in zip(methods[0], methods[1]))
    kind = type(first)
    fields = getattr(kind, "_ig_fields", None) if isinstance(kind, HandleType) else None
    if fields is None or type(second) is not kind:
        return False
    worker = _worker(first)
    return all(same_value(worker.request("getattr", first, name), worker.request("getattr", second, name))
               for name in fields)


def same_value(first, second):
    """Equality as the grader computes it (numpy arrays compared whole, handles by ``same_object``)."""
    if is_handle(first) or is_handle(second):
        return same_object(first, second)
    try:
        result = first == second
        if isinstance(result, np.ndarray):
            return bool(result.all()) and np.shape(first) == np.shape(second)
        return bool(result)
    except Exception:
        return False
