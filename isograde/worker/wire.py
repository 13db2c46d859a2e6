"""The data-only channel between the grader and a student's worker process.

Messages are msgpack maps and lists of plain values, framed by a 4-byte length. Numbers, strings,
bytes, lists and dicts travel as themselves; four extension types carry the rest:

- ARRAY: a numeric numpy array as [dtype string, shape, raw bytes]; only boolean, integer, float and
  complex dtypes are accepted, and the bytes must match the shape exactly (np.frombuffer: no pickle);
- TUPLE: a tuple, so that ``A, Z = layer(...)`` keeps its shape;
- REF: a handle to an object that lives in the worker (a student's instance, a stand-in);
- STANDIN: the grader's description of a stand-in the worker should build (grader -> worker only).

Nothing here ever unpickles or evaluates what it receives. The decoder caps frame size, nesting and
array size, so that a hostile worker cannot exhaust the grader's memory. This file is also mounted
into the sandbox as it is: it imports only the standard library, numpy and msgpack.
"""
import struct

import msgpack
import numpy as np

ARRAY, TUPLE, REF, STANDIN, COMPLEX = 1, 2, 3, 4, 5
MAX_FRAME = 64 * 1024 * 1024        # bytes in one message
MAX_ARRAY_ITEMS = 16 * 1024 * 1024  # entries in one array
ALLOWED_KINDS = "biufc"             # bool, int, unsigned, float, complex: never object or structured
_HEADER = struct.Struct("!I")


class ProtocolError(Exception):
    """The peer sent something that is not a well-formed message of this protocol."""


class Ref:
    """A handle to an object held by the worker, by number."""
    __slots__ = ("number",)

    def __init__(self, number):
        self.number = number

    def __repr__(self):
        return f"Ref({self.number})"


class StandIn:
    """The description of a stand-in for the worker to build: a kind and its plain-data settings."""
    __slots__ = ("kind", "settings")

    def __init__(self, kind, settings):
        self.kind, self.settings = kind, settings


def decode_array(payload):
    try:
        dtype_text, shape, raw = msgpack.unpackb(payload, use_list=True, raw=False)
        dtype = np.dtype(dtype_text)
    except Exception:
        raise ProtocolError("malformed array") from None
    if dtype.kind not in ALLOWED_KINDS or dtype.fields is not None or dtype.subdtype is not None:
        raise ProtocolError(f"array of dtype {dtype_text!r} refused")
    if not isinstance(shape, list) or not all(isinstance(n, int) and 0 <= n <= MAX_ARRAY_ITEMS for n in shape):
        raise ProtocolError("malformed array shape")
    count = 1
    for n in shape:
        count *= n
    if count > MAX_ARRAY_ITEMS or not isinstance(raw, bytes) or len(raw) != count * dtype.itemsize:
        raise ProtocolError("array bytes do not match its shape")
    return np.frombuffer(raw, dtype=dtype).reshape(shape).copy()


def encode_array(array):
    array = np.ascontiguousarray(array)
    if array.dtype.kind not in ALLOWED_KINDS or array.dtype.fields is not None:
        raise TypeError(f"cannot send an array of dtype {array.dtype}")
    return msgpack.ExtType(ARRAY, msgpack.packb([array.dtype.str, list(array.shape), array.tobytes()]))


class Codec:
    """Packs and unpacks messages. ``make_ref(number)`` turns a REF into a local object (a proxy on
    the grader's side, the held object on the worker's); ``describe(obj)`` is asked about any value
    that is not plain data and returns a Ref or StandIn for it (or raises TypeError)."""

    def __init__(self, make_ref, describe, accept_standins):
        self.make_ref, self.describe, self.accept_standins = make_ref, describe, accept_standins

    def pack(self, message):
        return msgpack.packb(message, default=self._default, use_bin_type=True, strict_types=True)

    def _default(self, value):
        if isinstance(value, np.ndarray):
            return encode_array(value)
        if isinstance(value, tuple):
            return msgpack.ExtType(TUPLE, self.pack(list(value)))
        if isinstance(value, (bool, np.bool_)):
            return bool(value)
        if isinstance(value, (int, np.integer)):
            return int(value)
        if isinstance(value, (float, np.floating)):
            return float(value)
        if isinstance(value, (complex, np.complexfloating)):
            return msgpack.ExtType(COMPLEX, msgpack.packb([value.real, value.imag]))
        if isinstance(value, str):
            return str(value)
        if isinstance(value, (list, dict)):  # subclasses travel as the plain type
            return list(value) if isinstance(value, list) else dict(value)
        if isinstance(value, Ref):
            return msgpack.ExtType(REF, msgpack.packb(value.number))
        if isinstance(value, StandIn):
            return msgpack.ExtType(STANDIN, self.pack([value.kind, value.settings]))
        described = self.describe(value)
        if isinstance(described, (Ref, StandIn)):
            return self._default(described)
        raise TypeError(f"cannot send {type(value).__name__}")

    def unpack(self, frame):
        try:
            return msgpack.unpackb(frame, ext_hook=self._ext, raw=False, strict_map_key=False,
                                   use_list=True)
        except ProtocolError:
            raise
        except Exception as error:
            raise ProtocolError(f"malformed message: {type(error).__name__}") from None

    def _ext(self, code, payload):
        if code == ARRAY:
            return decode_array(payload)
        if code == TUPLE:
            items = self.unpack(payload)
            if not isinstance(items, list):
                raise ProtocolError("malformed tuple")
            return tuple(items)
        if code == COMPLEX:
            real, imag = msgpack.unpackb(payload)
            if not all(isinstance(x, (int, float)) for x in (real, imag)):
                raise ProtocolError("malformed complex number")
            return complex(real, imag)
        if code == REF:
            number = msgpack.unpackb(payload)
            if not isinstance(number, int):
                raise ProtocolError("malformed reference")
            return self.make_ref(number)
        if code == STANDIN and self.accept_standins:
            kind, settings = self.unpack(payload)
            return StandIn(kind, settings)
        raise ProtocolError(f"unknown extension type {code}")


def send(sock, data):
    sock.sendall(_HEADER.pack(len(data)) + data)


def receive(sock):
    """One frame, or None at end of stream. Raises ProtocolError on an oversized frame."""
    header = _read_exactly(sock, _HEADER.size)
    if header is None:
        return None
    (size,) = _HEADER.unpack(header)
    if size > MAX_FRAME:
        raise ProtocolError(f"message of {size} bytes refused")
    body = _read_exactly(sock, size)
    if body is None:
        raise ProtocolError("stream ended inside a message")
    return body


def _read_exactly(sock, size):
    chunks, remaining = [], size
    while remaining:
        chunk = sock.recv(min(remaining, 1 << 20))
        if not chunk:
            if remaining == size:
                return None
            raise ProtocolError("stream ended inside a message")
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)
