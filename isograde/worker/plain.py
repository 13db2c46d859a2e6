"""Plain values on the channel besides msgpack's own: numpy arrays and scalars of any dtype that holds no
Python object (dtype, shape, raw bytes: ``np.frombuffer``, never pickle), and the standard library's Fraction, Decimal, date and time types, bytearray,
range, slice, Ellipsis, paths, Counter, OrderedDict, defaultdict, deque and named tuples, each sent as
[kind, parts...] and rebuilt by the receiver from those parts (a named tuple's class is made here from its
names, never taken from the peer)."""
import collections
import datetime
import decimal
import fractions
import pathlib

import numpy as np

MAX_ARRAY_DIMENSION = 64 * 1024 * 1024  # entries along one axis (the frame limit bounds the bytes)

from .errors import ProtocolError


_NAMEDTUPLES = {}


def namedtuple_class(module, qualname, fields):
    """One class per (module, name, fields), built here from plain names: never the peer's class."""
    key = (module, qualname, tuple(fields))
    if key not in _NAMEDTUPLES:
        cls = collections.namedtuple(qualname.rsplit(".", 1)[-1], list(fields), module=module)
        cls.__qualname__ = qualname
        _NAMEDTUPLES[key] = cls
    return _NAMEDTUPLES[key]


def is_namedtuple(value):
    cls = type(value)
    fields = getattr(cls, "_fields", None)
    return (isinstance(value, tuple) and isinstance(fields, tuple) and all(isinstance(f, str) for f in fields)
            and len(fields) == len(value))


def _timezone(offset):
    if offset is None:
        return None
    if not isinstance(offset, (int, float)) or abs(offset) >= 86400:
        raise ProtocolError("malformed time zone")
    return datetime.timezone(datetime.timedelta(seconds=offset))


def _offset(tz, moment):
    if tz is None:
        return None
    delta = tz.utcoffset(moment)
    return None if delta is None else delta.total_seconds()


def encode_value(value):
    """[kind, parts...] for a standard library value, or None if ``value`` is not one."""
    kind = type(value)
    if kind is fractions.Fraction:
        return ["fraction", value.numerator, value.denominator]
    if kind is decimal.Decimal:
        return ["decimal", str(value)]
    if kind is datetime.datetime:
        return ["datetime", value.replace(tzinfo=None).isoformat(), _offset(value.tzinfo, value), value.fold]
    if kind is datetime.date:
        return ["date", value.isoformat()]
    if kind is datetime.time:
        return ["time", value.replace(tzinfo=None).isoformat(), _offset(value.tzinfo, None), value.fold]
    if kind is datetime.timedelta:
        return ["timedelta", value.days, value.seconds, value.microseconds]
    if kind is bytearray:
        return ["bytearray", bytes(value)]
    if kind is range:
        return ["range", value.start, value.stop, value.step]
    if kind is slice:
        return ["slice", value.start, value.stop, value.step]
    if value is Ellipsis:
        return ["ellipsis"]
    if isinstance(value, pathlib.PurePath) and kind in (pathlib.PurePosixPath, pathlib.PosixPath, pathlib.Path):
        return ["path", str(value), "pure" if kind is pathlib.PurePosixPath else "path"]
    if kind is collections.Counter:
        return ["counter", list(value.items())]
    if kind is collections.OrderedDict:
        return ["ordereddict", list(value.items())]
    if kind is collections.defaultdict:
        return ["defaultdict", value.default_factory, list(value.items())]
    if kind is collections.deque:
        return ["deque", list(value), value.maxlen]
    if is_namedtuple(value):
        return ["namedtuple", str(kind.__module__), str(kind.__qualname__), list(kind._fields), list(value)]
    return None


def decode_value(parts, namedtuples=namedtuple_class):
    if not isinstance(parts, list) or not parts or not isinstance(parts[0], str):
        raise ProtocolError("malformed value")
    kind, rest = parts[0], parts[1:]
    try:
        if kind == "fraction":
            numerator, denominator = rest
            if not (isinstance(numerator, int) and isinstance(denominator, int)) or denominator == 0:
                raise ValueError
            return fractions.Fraction(numerator, denominator)
        if kind == "decimal" and len(rest[0]) < 10000:
            return decimal.Decimal(rest[0])
        if kind == "datetime":
            return datetime.datetime.fromisoformat(rest[0]).replace(tzinfo=_timezone(rest[1]), fold=int(rest[2]))
        if kind == "date":
            return datetime.date.fromisoformat(rest[0])
        if kind == "time":
            return datetime.time.fromisoformat(rest[0]).replace(tzinfo=_timezone(rest[1]), fold=int(rest[2]))
        if kind == "timedelta":
            return datetime.timedelta(days=rest[0], seconds=rest[1], microseconds=rest[2])
        if kind == "bytearray" and isinstance(rest[0], bytes):
            return bytearray(rest[0])
        if kind == "range" and all(isinstance(n, int) for n in rest):
            return range(*rest)
        if kind == "slice":
            return slice(*rest)
        if kind == "ellipsis":
            return Ellipsis
        if kind == "path" and isinstance(rest[0], str):
            return (pathlib.PurePosixPath if rest[1] == "pure" else pathlib.Path)(rest[0])
        if kind == "counter":
            return collections.Counter(dict(rest[0]))
        if kind == "ordereddict":
            return collections.OrderedDict(rest[0])
        if kind == "defaultdict":
            factory = rest[0]
            if factory is not None and not callable(factory):
                raise ValueError
            return collections.defaultdict(factory, rest[1])
        if kind == "deque":
            return collections.deque(rest[0], rest[1])
        if kind == "namedtuple":
            module, qualname, fields, values = rest
            if not (isinstance(module, str) and isinstance(qualname, str) and isinstance(fields, list)
                    and all(isinstance(f, str) and f.isidentifier() for f in fields) and len(fields) == len(values)
                    and len(fields) < 256):
                raise ValueError
            return namedtuples(module, qualname, fields)(*values)
    except ProtocolError:
        raise
    except Exception:
        raise ProtocolError(f"malformed {kind} value") from None
    raise ProtocolError(f"unknown value kind {kind!r}")


def _dtype_description(dtype):
    return dtype.str if dtype.fields is None and dtype.subdtype is None else dtype.descr


def _safe_dtype(description):
    try:
        dtype = np.dtype(description if isinstance(description, str) else
                         [tuple(field) for field in description])
    except Exception:
        raise ProtocolError("malformed dtype") from None
    if dtype.hasobject or dtype.kind == "O":
        raise ProtocolError(f"an array of Python objects ({description!r}) is refused")
    return dtype


def decode_array(parts):
    if not (isinstance(parts, list) and len(parts) == 3 and isinstance(parts[1], list) and isinstance(parts[2], bytes)):
        raise ProtocolError("malformed array")
    dtype = _safe_dtype(parts[0])
    shape, raw = parts[1], parts[2]
    if len(shape) > 32 or not all(isinstance(n, int) and 0 <= n <= MAX_ARRAY_DIMENSION for n in shape):
        raise ProtocolError("malformed array shape")
    count = 1
    for n in shape:
        count *= n
    if dtype.itemsize == 0 or len(raw) != count * dtype.itemsize:
        if not (dtype.itemsize == 0 and not raw):
            raise ProtocolError("array bytes do not match its shape")
    if dtype.itemsize == 0:
        return np.zeros(shape, dtype=dtype)
    return np.frombuffer(raw, dtype=dtype).reshape(shape).copy()


def encode_array(array):
    if array.dtype.hasobject:
        raise TypeError(f"cannot send an array of dtype {array.dtype}")
    array = np.ascontiguousarray(array)
    return [_dtype_description(array.dtype), list(array.shape), array.tobytes()]


def decode_scalar(parts):
    if not (isinstance(parts, list) and len(parts) == 2 and isinstance(parts[1], bytes)):
        raise ProtocolError("malformed numpy scalar")
    dtype = _safe_dtype(parts[0])
    if len(parts[1]) != dtype.itemsize or dtype.itemsize == 0:
        raise ProtocolError("numpy scalar bytes do not match its dtype")
    return np.frombuffer(parts[1], dtype=dtype)[0]
