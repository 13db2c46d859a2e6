"""Frames on the channel between the grader and a student's worker: each message a 4-byte length, then its bytes
(packed by ``wire.Codec``); a frame over the limit is refused before it is read."""
import struct

from .errors import ProtocolError

MAX_FRAME = 64 * 1024 * 1024    # bytes in one message
_HEADER = struct.Struct("!I")


def send(sock, data):
    sock.sendall(_HEADER.pack(len(data)) + data)


def receive(sock, limit=MAX_FRAME):
    """One frame, or None at end of stream. Raises ProtocolError on a frame over ``limit`` bytes."""
    header = _read_exactly(sock, _HEADER.size)
    if header is None:
        return None
    (size,) = _HEADER.unpack(header)
    if size > limit:
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
