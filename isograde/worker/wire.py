"""The data-only channel between the grader and a student's worker process.

Messages are msgpack values framed by a 4-byte length. Numbers, strings, bytes, lists and dicts travel
as themselves; extension types carry the rest, each rebuilt by the receiver from plain parts:

- values: numpy arrays and scalars of any dtype that holds no Python object (dtype, shape, raw bytes:
  ``np.frombuffer``, never pickle), tuples, sets, frozensets, complex numbers, integers of any size,
  strings that are not valid UTF-8, and ``VALUE`` for the standard library's plain values (Fraction,
  Decimal, date and time types, bytearray, range, slice, Ellipsis, paths, Counter, OrderedDict,
  defaultdict, deque, named tuples);
- names: ``MODULE`` (a module, by name) and ``LIBRARY`` (a function or class of an installed module, by
  module and qualified name): each side resolves them to its own copy, so the student's process never
  hands the grader a function of its own making under a library's name;
- ``REF``: a handle to an object that lives on the sending side, by number, with a description the
  first time it is sent (its class, or what kind of object it is);
- ``STANDIN``: the grader's description of a stand-in the worker should build (grader -> worker only).

Nothing here ever unpickles or evaluates what it receives. The decoder caps the frame size, the
number of container entries, the nesting depth and every array's size, so that a hostile worker
cannot exhaust the grader's memory or stack. This file is also mounted into the sandbox as it is: it
imports only the standard library, numpy and msgpack.
"""

import msgpack
import numpy as np

from .errors import ProtocolError
from .framing import MAX_FRAME, receive, send  # noqa: F401 (the channel's API: frames of packed messages)
from .plain import (_dtype_description, decode_array, decode_scalar, decode_value, encode_array,  # noqa: F401
                    encode_value, is_namedtuple, namedtuple_class)

ARRAY, TUPLE, REF, STANDIN, COMPLEX, SCALAR, SET, FROZENSET, VALUE, MODULE, LIBRARY, BIGINT, TEXT = range(1, 14)
MAX_ENTRIES = 4 * 1024 * 1024   # entries of all lists, tuples, sets and dicts of one message together
MAX_DEPTH = 100                 # nesting of containers in one message
SMALL_FRAME = 1024 * 1024       # a message this small decodes without counting (it cannot hold more entries)
MAX_BIGINT_BYTES = 64 * 1024    # an integer beyond 64 bits travels as bytes: at most this many


class Ref:
    """A handle to an object held by the sending side, by number, with its description (or None
    when the receiver already knows it)."""
    __slots__ = ("number", "info")

    def __init__(self, number, info=None):
        self.number, self.info = number, info

    def __repr__(self):
        return f"Ref({self.number})"


class StandIn:
    """The description of a stand-in for the worker to build: a kind and its plain-data settings."""
    __slots__ = ("kind", "settings")

    def __init__(self, kind, settings):
        self.kind, self.settings = kind, settings


class Library:
    """A function or class of an installed module, by name."""
    __slots__ = ("module", "qualname")

    def __init__(self, module, qualname):
        self.module, self.qualname = module, qualname


class ModuleName:
    __slots__ = ("name",)

    def __init__(self, name):
        self.name = name


# ------------------------------------------------------------------------------------------------
# the codec
# ------------------------------------------------------------------------------------------------

class Peer:
    """What a codec asks of its side. ``describe`` turns an object that is not plain data into a Ref,
    StandIn, Library or ModuleName (or raises TypeError); ``ref`` turns a received REF into a local
    object; ``library`` and ``module`` resolve names to this side's own objects (or raise)."""

    accept_standins = False

    def describe(self, value):
        raise TypeError(f"cannot send {type(value).__name__}")

    def ref(self, number, info):
        raise ProtocolError("no references expected")

    def library(self, module, qualname):
        raise ProtocolError("no library names expected")

    def module(self, name):
        raise ProtocolError("no modules expected")

    def namedtuple(self, module, qualname, fields):
        return namedtuple_class(module, qualname, fields)

    def standin(self, kind, settings):
        return StandIn(kind, settings)


_PLAIN = (type(None), bool, str, bytes, float)


class Codec:
    """Packs and unpacks messages for one side of the channel (see ``Peer``)."""

    def __init__(self, peer):
        self.peer = peer
        self.entries = self.depth = 0
        self.counting = True

    # packing --------------------------------------------------------------------------------------
    def pack(self, message):
        try:
            return msgpack.packb(message, default=self._default, use_bin_type=True, strict_types=True)
        except UnicodeEncodeError:  # a string that is not valid UTF-8 (lone surrogates) travels as TEXT
            return msgpack.packb(_texts(message), default=self._default, use_bin_type=True, strict_types=True)

    def _ext(self, code, parts):
        return msgpack.ExtType(code, self.pack(parts))

    def _default(self, value):
        kind = type(value)
        handler = _BY_TYPE.get(kind)
        if handler is not None:
            return handler(self, value)
        if isinstance(value, np.generic) and not value.dtype.hasobject:
            return self._ext(SCALAR, [_dtype_description(value.dtype), np.asarray(value).tobytes()])
        described = self.peer.describe(value)
        if type(described) in _WIRE_FORMS:
            return _BY_TYPE[type(described)](self, described)
        if described is not None:
            return described  # plain data the peer chose to send instead (e.g. a subclass as its base)
        raise TypeError(f"cannot send {kind.__name__}")

    # unpacking ------------------------------------------------------------------------------------
    def unpack(self, frame):
        self.entries = self.depth = 0
        self.counting = len(frame) > SMALL_FRAME
        try:
            return self._unpackb(frame)
        except ProtocolError:
            raise
        except RecursionError:
            raise ProtocolError("message nested too deeply") from None
        except Exception as error:
            raise ProtocolError(f"malformed message: {type(error).__name__}") from None

    def _unpackb(self, data):
        if not self.counting:  # a message of at most SMALL_FRAME bytes holds at most that many entries
            return msgpack.unpackb(data, ext_hook=self._ext_hook, raw=False, strict_map_key=False, use_list=True)
        return msgpack.unpackb(data, ext_hook=self._ext_hook, raw=False, strict_map_key=False, use_list=True,
                               list_hook=self._count, object_pairs_hook=self._dict,
                               max_array_len=MAX_ENTRIES, max_map_len=MAX_ENTRIES)

    def _count(self, items):
        self.entries += len(items)
        if self.entries > MAX_ENTRIES:
            raise ProtocolError("message with too many entries refused")
        return items

    def _dict(self, pairs):
        self._count(pairs)
        try:
            return dict(pairs)
        except TypeError:
            raise ProtocolError("a dict key that cannot be a key") from None

    def _nested(self, payload):
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ProtocolError("message nested too deeply")
        try:
            return self._unpackb(payload)
        finally:
            self.depth -= 1

    def _ext_hook(self, code, payload):
        if code == BIGINT:
            if len(payload) > MAX_BIGINT_BYTES:
                raise ProtocolError("integer too large")
            return int.from_bytes(payload, "big", signed=True)
        if code == TEXT:
            return payload.decode("utf-8", "surrogatepass")
        parts = self._nested(payload)
        if code == ARRAY:
            return decode_array(parts)
        if code == SCALAR:
            return decode_scalar(parts)
        if code == TUPLE:
            return tuple(_list(parts, "tuple"))
        if code in (SET, FROZENSET):
            try:
                return (set if code == SET else frozenset)(_list(parts, "set"))
            except TypeError:
                raise ProtocolError("a set member that cannot be one") from None
        if code == COMPLEX:
            if not (isinstance(parts, list) and len(parts) == 2 and all(type(x) in (int, float) for x in parts)):
                raise ProtocolError("malformed complex number")
            return complex(*parts)
        if code == VALUE:
            return decode_value(parts, self.peer.namedtuple)
        if code == REF:
            if not (isinstance(parts, list) and len(parts) == 2 and type(parts[0]) is int):
                raise ProtocolError("malformed reference")
            return self.peer.ref(parts[0], parts[1])
        if code == LIBRARY:
            if not (isinstance(parts, list) and len(parts) == 2 and all(type(p) is str for p in parts)):
                raise ProtocolError("malformed library name")
            return self.peer.library(*parts)
        if code == MODULE:
            if type(parts) is not str:
                raise ProtocolError("malformed module name")
            return self.peer.module(parts)
        if code == STANDIN and self.peer.accept_standins:
            if not (isinstance(parts, list) and len(parts) == 2 and type(parts[0]) is str):
                raise ProtocolError("malformed stand-in")
            return self.peer.standin(*parts)
        raise ProtocolError(f"unknown extension type {code}")


def _ref(codec, value):
    if value.info is None:  # the common case, packed without a second pass through the codec
        return msgpack.ExtType(REF, msgpack.packb([value.number, None]))
    return codec._ext(REF, [value.number, value.info])


def _array(codec, value):
    if value.dtype.hasobject:
        raise TypeError(f"cannot send an array of dtype {value.dtype}")
    return codec._ext(ARRAY, encode_array(value))


_BY_TYPE = {
    int: lambda codec, value: msgpack.ExtType(BIGINT, _int_bytes(value)),  # beyond 64 bits
    tuple: lambda codec, value: codec._ext(TUPLE, list(value)),
    list: lambda codec, value: list(value),
    dict: lambda codec, value: dict(value),
    complex: lambda codec, value: codec._ext(COMPLEX, [value.real, value.imag]),
    set: lambda codec, value: codec._ext(SET, list(value)),
    frozenset: lambda codec, value: codec._ext(FROZENSET, list(value)),
    np.ndarray: _array,
    Ref: _ref,
    StandIn: lambda codec, value: codec._ext(STANDIN, [value.kind, value.settings]),
    Library: lambda codec, value: codec._ext(LIBRARY, [value.module, value.qualname]),
    ModuleName: lambda codec, value: codec._ext(MODULE, value.name),
}
_WIRE_FORMS = (Ref, StandIn, Library, ModuleName)


def value_ext(codec, parts):
    return msgpack.ExtType(VALUE, codec.pack(parts))


def _list(parts, what):
    if not isinstance(parts, list):
        raise ProtocolError(f"malformed {what}")
    return parts


def _texts(value, depth=0):
    kind = type(value)
    if kind is str:
        try:
            value.encode("utf-8")
            return value
        except UnicodeEncodeError:
            return msgpack.ExtType(TEXT, value.encode("utf-8", "surrogatepass"))
    if depth > MAX_DEPTH:
        return value
    if kind is list:
        return [_texts(item, depth + 1) for item in value]
    if kind is tuple:
        return tuple(_texts(item, depth + 1) for item in value)
    if kind is dict:
        return {_texts(k, depth + 1): _texts(v, depth + 1) for k, v in value.items()}
    return value


def _int_bytes(number):
    length = (number.bit_length() + 8) // 8
    if length > MAX_BIGINT_BYTES:
        raise TypeError("integer too large to send")
    return number.to_bytes(length, "big", signed=True)
