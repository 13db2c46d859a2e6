"""The grader's side of a student's worker: start it, call into it, read plain data back.

``Zygote`` starts the sandboxed zygote once per grading process; ``Zygote.spawn()`` forks a fresh
``Worker`` for one submission. A ``Worker`` runs the notebook's cells and hands out ``Handle``s to the
student's objects. Tests use handles like the objects themselves (call them, read and set their
attributes) and reach the rest of the student's process through ``handle.__student_side__``, a
``RemoteSide`` with the methods of ``public_tests.LocalSide``.

Everything that comes back is decoded by ``wire.Codec`` into plain data (numbers, strings, lists,
tuples, dicts, numpy arrays of numeric dtypes) or handles; nothing is unpickled or evaluated.
"""
import contextlib
import os
import socket
import subprocess
import tempfile
import threading
import time

from isograde import sandbox
from isograde.worker import wire

CHILD_LIMITS = {"RLIMIT_AS": 6 * 1024**3, "RLIMIT_CPU": 600, "RLIMIT_NPROC": 64, "RLIMIT_FSIZE": 64 * 1024**2}


class WorkerGone(BaseException):
    """The worker stopped answering: it ran past its time limit, or the student's code ended it.
    A BaseException, like KeyboardInterrupt: the checks' ``except Exception`` (which turns a student's
    error into a failure message) must not swallow it; it ends the test cell, and the grader then
    replaces the worker."""

    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


class StudentError(Exception):
    """An exception raised by the student's code; ``remote_type`` is its class name (text only)."""

    def __init__(self, remote_type, message):
        super().__init__(message)
        self.remote_type = remote_type


class Zygote:
    """One sandboxed zygote process; it forks one worker at a time."""

    def __init__(self, sandboxed=True, secrets=()):
        self.sandboxed = sandboxed
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.control = ours
        self.codec = wire.Codec(make_ref=lambda n: n, describe=lambda v: None, accept_standins=False)
        fd = theirs.fileno()
        if sandboxed:
            command = sandbox.bwrap_command(list(secrets), sandbox.FIRST_UID + 100000 * (os.getpid() % 40000))
            command[-6:-6] = ["--setenv", "ISOGRADE_CONTROL_FD", str(fd)]
            environment = None
        else:
            command, environment = sandbox.plain_command()
            self.scratch = tempfile.mkdtemp(prefix="isograde-")
            environment.update(ISOGRADE_CONTROL_FD=str(fd), TMPDIR=self.scratch)
        self.process = subprocess.Popen(command, pass_fds=(fd,), env=environment, stdin=subprocess.DEVNULL,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        theirs.close()
        self.current, self.ending = None, False
        ready = self._receive(timeout=120)
        if not ready or not ready.get("ready"):
            with contextlib.suppress(Exception):
                self.process.wait(2)
            error = self.process.stderr.read().decode(errors="replace")[-500:] if self.process.poll() is not None else ""
            raise sandbox.SandboxUnavailable(f"the worker sandbox did not start: {error.strip() or 'no answer'}")
        self.uid = ready.get("uid")
        threading.Thread(target=self.process.stderr.read, daemon=True).start()  # never let stderr fill up

    def _receive(self, timeout):
        self.control.settimeout(timeout)
        try:
            data = self.control.recv(65536)
        except (socket.timeout, OSError):
            return None
        return self.codec.unpack(data) if data else None

    def alive(self):
        return self.process.poll() is None

    def spawn(self, limits=None, timeout=30):
        """A fresh worker (a forked child), after the previous one has ended."""
        self.finish()
        self._await_end()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        socket.send_fds(self.control, [self.codec.pack({"op": "fork", "limits": limits or CHILD_LIMITS})],
                        [theirs.fileno()])
        theirs.close()
        started = self._receive(timeout)
        if not started or "started" not in started:
            ours.close()
            raise sandbox.SandboxUnavailable("the worker sandbox stopped answering")
        self.current = Worker(self, ours)
        return self.current

    def finish(self, kill=False):
        """End the current worker: close its channel (it then exits), or kill it. The zygote cleans up
        after it while the grader goes on; the next ``spawn`` waits for that."""
        worker, self.current = self.current, None
        if worker is None:
            return
        worker.close()
        self.ending = True
        if kill:
            self.control.send(self.codec.pack({"op": "kill"}))

    def _await_end(self):
        if not getattr(self, "ending", False):
            return
        ended = self._receive(timeout=5)
        if ended is None:  # still running student code, ignoring its closed channel
            self.control.send(self.codec.pack({"op": "kill"}))
            ended = self._receive(timeout=10)
        if ended is None:
            self.close()
            raise sandbox.SandboxUnavailable("the worker sandbox did not end a worker")
        self.ending = False

    def close(self):
        with contextlib.suppress(Exception):
            self.control.close()
        with contextlib.suppress(Exception):
            self.process.kill()
            self.process.wait(5)


class Worker:
    """One submission's student process, reached through a socket of its own."""

    def __init__(self, zygote, sock):
        self.zygote, self.sock = zygote, sock
        self.handles, self.next_request = {}, 1
        self.callbacks, self.stand_ins = {}, {}
        self.deadline = None
        self.codec = wire.Codec(make_ref=self._handle, describe=self._describe, accept_standins=False)
        self.side = RemoteSide(self)
        self.gone = None

    def _handle(self, number):
        if number not in self.handles:
            self.handles[number] = Handle(self, number)
        return self.handles[number]

    def _describe(self, value):
        if isinstance(value, Handle) and value._worker is self:
            return wire.Ref(value._number)
        raise TypeError(f"cannot send a {type(value).__name__} to the student's process")

    @contextlib.contextmanager
    def time_limit(self, seconds):
        """Every request inside the block must be answered before ``seconds`` have passed."""
        saved, self.deadline = self.deadline, time.monotonic() + seconds
        try:
            yield
        finally:
            self.deadline = saved

    def request(self, operation, *arguments):
        if self.gone:
            raise WorkerGone(self.gone)
        number, self.next_request = self.next_request, self.next_request + 1
        try:
            wire.send(self.sock, self.codec.pack([number, operation, list(arguments)]))
            while True:
                self.sock.settimeout(None if self.deadline is None else max(0.001, self.deadline - time.monotonic()))
                frame = wire.receive(self.sock)
                if frame is None:
                    raise self._lost("your code ended the worker process (for example os._exit, a crash or "
                                     "running out of memory)")
                reply = self.codec.unpack(frame)
                if isinstance(reply, list) and len(reply) == 3 and reply[0] == "callback":
                    wire.send(self.sock, self.codec.pack(self._answer(*reply[1:])))
                    continue
                if isinstance(reply, list) and reply and reply[0] == number:
                    break
                raise self._lost("the worker process sent a message out of turn")
        except socket.timeout:
            raise self._lost("timed out: your code was still running at the time limit") from None
        except (BrokenPipeError, ConnectionResetError):
            raise self._lost("your code ended the worker process") from None
        except wire.ProtocolError as error:
            raise self._lost(f"the worker process sent malformed data ({error})") from None
        if len(reply) == 3 and reply[1] == "ok":
            return reply[2]
        if len(reply) == 4 and reply[1] == "error" and isinstance(reply[2], str) and isinstance(reply[3], str):
            raise StudentError(reply[2][:100], reply[3][:2000])
        raise self._lost("the worker process sent a malformed reply")

    def _answer(self, number, call):
        """The grader's answer to a stand-in's call: ["answer", "ok", result, update] or an error."""
        stand_in = self.callbacks.get(number) if isinstance(number, int) else None
        if stand_in is None or not (isinstance(call, list) and len(call) == 2 and isinstance(call[0], list)
                                    and isinstance(call[1], dict)):
            return ["answer", "error", "a stand-in was called in a way the grader does not know"]
        try:
            result, update = stand_in.answer(call[0], call[1])
        except AssertionError as refusal:
            return ["answer", "error", str(refusal)]
        return ["answer", "ok", result, update]

    def _lost(self, reason):
        self.gone = reason
        self.close()
        return WorkerGone(reason)

    def close(self):
        with contextlib.suppress(OSError):
            self.sock.close()

    # what the grader asks of a worker ------------------------------------------------------------
    def write_files(self, files):
        self.request("files", files)

    def run_cell(self, source):
        """{'stdout', 'stderr', 'error': None or (name, message, traceback)} of one cell, as text."""
        result = self.request("run", source)
        if not isinstance(result, dict):
            raise self._lost("the worker process sent a malformed reply")
        error = result.get("error")
        if error is not None and not (isinstance(error, (list, tuple)) and len(error) == 3 and all(isinstance(e, str) for e in error)):
            error = ["Error", "(malformed error)", ""]
        return {"stdout": _text(result.get("stdout")), "stderr": _text(result.get("stderr")),
                "error": tuple(error) if error else None}

    def lookup(self, name):
        """A handle to the student's global ``name``, or None if the notebook did not define it."""
        found = self.request("global", name)
        if isinstance(found, list) and len(found) == 2 and found[0] == "found" and isinstance(found[1], Handle):
            return found[1]
        return None


def _text(value):
    return value if isinstance(value, str) else ""


class Handle:
    """A student's object, seen from the grader. Calls, attribute reads and item reads return plain
    data or further handles; exceptions raised by the student's code arrive as ``StudentError``."""
    __slots__ = ("_worker", "_number")

    def __init__(self, worker, number):
        object.__setattr__(self, "_worker", worker)
        object.__setattr__(self, "_number", number)

    @property
    def __student_side__(self):
        return self._worker.side

    def __call__(self, *args, **kwargs):
        return self._worker.request("call", self, list(args), kwargs)

    def __getattr__(self, name):
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        try:
            return self._worker.request("getattr", self, name)
        except StudentError as error:
            if error.remote_type == "AttributeError":
                raise AttributeError(str(error)) from None
            raise

    def __setattr__(self, name, value):
        self._worker.request("setattr", self, name, value)

    def __getitem__(self, key):
        return self._worker.request("getitem", self, key)

    def __repr__(self):
        return f"<the student's object #{self._number}>"


class RemoteSide:
    """``public_tests.LocalSide``'s methods, carried out in the student's worker."""

    def __init__(self, worker):
        self.worker = worker

    def put(self, value):
        return self.worker.request("put", value)

    def fetch(self, value):
        return self.worker.request("fetch", value) if isinstance(value, Handle) else value

    @contextlib.contextmanager
    def seeded(self, seed):
        self.worker.request("seed", int(seed))
        try:
            yield
        finally:
            if not self.worker.gone:
                self.worker.request("unseed")

    @contextlib.contextmanager
    def replaced(self, thing, **stand_ins):
        token = self.worker.request("patch", thing, stand_ins)
        try:
            yield
        finally:
            if not self.worker.gone:
                self.worker.request("unpatch", token)

    def new(self, cls):
        return self.worker.request("new", cls)

    def replay(self, exercise, name, calls, hint=None):
        return self._stand_in(Replay(exercise, name, calls, hint), name)

    def spy(self, returns=None, update=None):
        return self._stand_in(Spy(returns, update), "spy")

    def calls(self, spy):
        """The calls the spy received, as the grader logged them (the student's process cannot
        change this log)."""
        return [[list(args), dict(kwargs)] for args, kwargs in self.worker.callbacks[self.worker.stand_ins[spy]].calls]

    def _stand_in(self, answerer, name):
        number = len(self.worker.callbacks) + 1
        self.worker.callbacks[number] = answerer
        handle = self.worker.request("make", wire.StandIn("callback", {"id": number, "name": name}))
        self.worker.stand_ins[handle] = number
        return handle

    def namespace(self, call=None, **attributes):
        return self.worker.request("make", wire.StandIn("namespace", {"attributes": attributes, "call": call}))

    def same(self, first, second):
        if not isinstance(first, Handle) or not isinstance(second, Handle):
            return first is second
        return self.worker.request("same", first, second) is True


class Replay:
    """The grader's half of a replayed function: the recorded calls and their results. A call whose
    arguments match none of them is refused with the exercise's message."""

    def __init__(self, exercise, name, calls, hint=None):
        self.exercise, self.name, self.hint = exercise, name, hint
        self.calls = [(tuple(args), result) for args, result in calls]
        self.count = 0

    def answer(self, args, kwargs):
        for expected, result in self.calls:
            if len(args) >= len(expected) and all(matches(a, e) for a, e in zip(args, expected)):
                self.count += 1
                return result, None
        raise AssertionError(f"Exercise {self.exercise}: {self.name} was called with unexpected arguments "
                             f"({', '.join(_summary(a) for a in args)})."
                             + (f"\nHint: {self.hint}" if self.hint else ""))


def _summary(value):
    """A short view of an argument: the first entries of an array, else the kind of value."""
    import numpy as np
    if isinstance(value, np.ndarray):
        flat = value.ravel()
        shown = np.array2string(flat[:4], precision=8, separator=", ")
        return shown[:-1] + (", ...]" if flat.size > 4 else "]")
    return "an object" if isinstance(value, Handle) else type(value).__name__


class Spy:
    """The grader's half of a spy: it logs every call and gives the same answer."""

    def __init__(self, returns, update):
        self.returns, self.update, self.calls = returns, update, []

    def answer(self, args, kwargs):
        self.calls.append((args, kwargs))
        return self.returns, self.update


def matches(received, expected):
    """Does a received argument match a recorded one? Arrays by shape and value, containers item by
    item, handles by identity, plain values by equality."""
    import numpy as np
    if isinstance(expected, np.ndarray):
        if not isinstance(received, (np.ndarray, int, float, list, tuple)):
            return False
        try:
            values = np.asarray(received, dtype=float)
        except (TypeError, ValueError):
            return False
        return values.shape == expected.shape and bool(np.allclose(values, expected, atol=1e-6, rtol=1e-5))
    if isinstance(expected, (list, tuple)):
        return (isinstance(received, (list, tuple)) and len(received) == len(expected)
                and all(matches(r, e) for r, e in zip(received, expected)))
    if isinstance(expected, dict):
        return (isinstance(received, dict) and set(received) == set(expected)
                and all(matches(received[k], v) for k, v in expected.items()))
    if isinstance(expected, Handle):
        return received is expected
    return type(received) in (int, float, bool, str, type(None)) and received == expected
