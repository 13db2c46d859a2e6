"""The grader's side of a student's worker: start it, call into it, read plain data back.

``Zygote`` starts the sandboxed zygote once per grading process; ``Zygote.spawn()`` forks a fresh
``Worker`` for one submission. A ``Worker`` runs the notebook's cells and hands out handles
(``isograde.proxy``) to the student's objects; tests use them like the objects themselves and reach the
rest of the student's process through ``handle.__student_side__``, a ``RemoteSide`` with the methods
of the check library's ``LocalSide`` (``isograde/checklib.py``, shipped with each release): the same
tests run in the student's notebook and in the grader.

What the worker sends is decoded by ``wire.Codec`` into plain data, names of library objects resolved
to the grader's own, or handles; nothing is unpickled or evaluated. Every reply is bounded: frame size,
entries and nesting per message (``wire``), bytes per check and per submission (``Budget``).
"""
import contextlib
import inspect
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import types

import numpy as np

from isograde import checklib, proxy, sandbox, shadows
from isograde.exceptions import INTERNAL_MODULES, rebuild_exception
from isograde.worker import wire

CHILD_LIMITS = {"RLIMIT_AS": 6 * 1024**3, "RLIMIT_CPU": 600, "RLIMIT_NPROC": 64, "RLIMIT_FSIZE": 64 * 1024**2}
TMP_BYTES = 512 * 1024**2
MAX_NESTED_CALLBACKS = 50
SPY_LOG = 1000  # calls a spy keeps (it counts the rest)
# Modules of the course that the student's folder also holds (the released copies): never resolved by
# name between the grader and the worker, whose copies belong to the student.
COURSE_MODULES = {"public_tests", "checklib"}


class WorkerGone(BaseException):
    """The worker stopped answering: it ran past its time limit, or the student's code ended it, or it
    broke the protocol. A BaseException, like KeyboardInterrupt: the checks' ``except Exception`` must
    not swallow it; it ends the test cell, and the grader then replaces the worker. ``kind`` is one of
    "timeout", "ended", "protocol", "budget"."""

    def __init__(self, reason, kind="ended"):
        super().__init__(reason)
        self.reason, self.kind = reason, kind


class Budget:
    """Bytes the worker may send: per check and per submission."""

    def __init__(self, per_check=256 * 1024**2, per_submission=1024**3):
        self.per_check, self.per_submission = per_check, per_submission
        self.check = self.total = 0

    def spend(self, size):
        self.check += size
        self.total += size
        if self.check > self.per_check or self.total > self.per_submission:
            return f"your code sent more data to the grader than it accepts ({self.per_check // 1024**2} MiB per " \
                   f"test, {self.per_submission // 1024**2} MiB per notebook)"
        return None


# cells the zygote prepares for its workers, and the size of each (a control message is at most 64 KiB)
WARM_CELLS, WARM_CELL_BYTES = 1000, 60_000


class Zygote:
    """One sandboxed zygote process; it forks one worker at a time."""

    def __init__(self, sandboxed=True, secrets=(), memory=None):
        self.sandboxed = sandboxed
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.control = ours
        self.codec = wire.Codec(wire.Peer())
        fd = theirs.fileno()
        self.cgroup = sandbox.MemoryGroup.create(memory) if sandboxed and memory else None
        if sandboxed:
            command = sandbox.bwrap_command(list(secrets), sandbox.FIRST_UID + 100000 * (os.getpid() % 40000))
            command[-6:-6] = ["--setenv", "ISOGRADE_CONTROL_FD", str(fd)]
            environment = None
        else:
            command, environment = sandbox.plain_command()
            self.scratch = tempfile.mkdtemp(prefix="isograde-")
            environment.update(ISOGRADE_CONTROL_FD=str(fd), TMPDIR=self.scratch)
        self.process = subprocess.Popen(command, pass_fds=(fd,), env=environment, stdin=subprocess.DEVNULL,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                        preexec_fn=self.cgroup.enter if self.cgroup else None)
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

    def warm(self, sources):
        """Have the zygote prepare these cells (IPython's transformation of each) once, before it forks, for
        every worker to find ready: the given cells every submission runs. Only cells that every student
        holds anyway (a forked worker can read whatever the zygote held)."""
        warmed = self.__dict__.setdefault("warmed", set())
        for source in sources:
            if source in warmed or len(warmed) >= WARM_CELLS or len(source.encode()) > WARM_CELL_BYTES:
                continue
            warmed.add(source)
            with contextlib.suppress(OSError):
                self.control.send(self.codec.pack({"op": "warm", "source": source}))

    def _receive(self, timeout):
        self.control.settimeout(timeout)
        try:
            data = self.control.recv(65536)
        except (socket.timeout, OSError):
            return None
        try:
            return self.codec.unpack(data) if data else None
        except wire.ProtocolError:
            return None

    def alive(self):
        return self.process.poll() is None

    def spawn(self, limits=None, timeout=30, environment=None, allowed_roots=(), tmp_bytes=TMP_BYTES):
        """A fresh worker (a forked child), after the previous one has ended."""
        self.finish()
        self._await_end()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        request = {"op": "fork", "limits": limits or CHILD_LIMITS, "environment": environment or {},
                   "tmp_bytes": tmp_bytes}
        socket.send_fds(self.control, [self.codec.pack(request)], [theirs.fileno()])
        theirs.close()
        started = self._receive(timeout)
        if not started or "started" not in started:
            ours.close()
            raise sandbox.SandboxUnavailable("the worker sandbox stopped answering")
        self.current = Worker(self, ours, allowed_roots)
        return self.current

    def finish(self, kill=False):
        """End the current worker: close its channel (it then exits), or kill it. The zygote cleans up
        after it while the grader goes on; the next ``spawn`` waits for that."""
        worker, self.current = self.current, None
        if worker is None:
            return
        kill = kill or bool(worker.gone)  # a worker that stopped answering may still be running
        worker.close()
        self.ending = True
        if kill:
            with contextlib.suppress(OSError):
                self.control.send(self.codec.pack({"op": "kill"}))

    def _await_end(self):
        if not getattr(self, "ending", False):
            return
        ended = self._receive(timeout=5)
        if ended is None:  # still running student code, ignoring its closed channel
            with contextlib.suppress(OSError):
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
        if self.cgroup:
            self.cgroup.remove()


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


class Worker:
    """One submission's student process, reached through a socket of its own."""

    def __init__(self, zygote, sock, allowed_roots=()):
        self.zygote, self.sock = zygote, sock
        self.allowed_roots = set(allowed_roots)
        self.next_request = 1
        self.callbacks, self.callback_numbers, self.stand_ins = {}, {}, {}
        self.deadline = None
        self.codec = wire.Codec(GraderPeer(self))
        self.registry = shadows.Registry(self, self.allowed_roots)
        self.side = RemoteSide(self)
        self.gone = None
        self.budget = Budget()
        self.output_sink = None     # called with the outputs student code made during each request
        self.before_request = None  # called before each request (the grader's files into the worker)
        self.after_request = None   # called after each request (the worker's files into the grader's folder)
        self.syncing = False
        self.depth = 0
        self.fingerprint = None     # of the worker's folder after its last reply (FolderSync.pull)

    @contextlib.contextmanager
    def time_limit(self, seconds):
        """Every request inside the block must be answered before ``seconds`` have passed."""
        saved = self.deadline
        deadline = time.monotonic() + seconds
        self.deadline = deadline if saved is None else min(saved, deadline)
        try:
            yield
        finally:
            self.deadline = saved

    # names the worker sends -------------------------------------------------------------------------
    def resolve_module(self, name):
        module = _allowed_module(name, self.allowed_roots)
        return module if module is not None else shadows.UnknownLibrary(name, "")

    def resolve_library(self, module_name, qualname):
        module = _allowed_module(module_name, self.allowed_roots)
        found = module
        for part in qualname.split(".") if module is not None else ():
            found = getattr(found, part, None)
            if found is None:
                break
        return found if found is not None else shadows.UnknownLibrary(module_name, qualname)

    def callback_for(self, function):
        number = self.callback_numbers.get(id(function))
        if number is None or self.callbacks[number][0] is not function:
            number = len(self.callbacks) + 1
            self.callbacks[number] = (function, lambda args, kwargs: (function(*args, **kwargs), None))
            self.callback_numbers[id(function)] = number
        name = getattr(function, "__name__", "function")
        return wire.StandIn("callback", {"id": number, "name": name if isinstance(name, str) else "function"})

    # requests ---------------------------------------------------------------------------------------
    def request(self, operation, *arguments):
        if self.gone:
            raise WorkerGone(self.gone, self.gone_kind)
        outermost = self.depth == 0 and not self.syncing
        if outermost and self.before_request is not None:
            self._sync(self.before_request)
        number, self.next_request = self.next_request, self.next_request + 1
        self.depth += 1
        try:
            return self._exchange(number, operation, arguments)
        finally:
            self.depth -= 1
            if outermost and self.after_request is not None and not self.gone:
                self._sync(self.after_request)

    def _sync(self, step):
        self.syncing = True
        try:
            step(self)
        finally:
            self.syncing = False

    def _exchange(self, number, operation, arguments):
        try:
            wire.send(self.sock, self.codec.pack([number, operation, list(arguments)]))
            while True:
                self.sock.settimeout(None if self.deadline is None else max(0.001, self.deadline - time.monotonic()))
                frame = wire.receive(self.sock)
                if frame is None:
                    raise self._lost("your code ended the worker process (for example os._exit, a crash or "
                                     "running out of memory)")
                exceeded = self.budget.spend(len(frame))
                if exceeded:
                    raise self._lost(exceeded, "budget")
                reply = self.codec.unpack(frame)
                if isinstance(reply, list) and len(reply) == 4 and reply[0] == "callback":
                    self._answer_callback(reply[1], reply[2], reply[3])
                    continue
                if isinstance(reply, list) and len(reply) == 5 and reply[0] == number:
                    break
                raise self._lost("the worker process sent a message out of turn", "protocol")
        except socket.timeout:
            raise self._lost("timed out: your code was still running at the time limit", "timeout") from None
        except (BrokenPipeError, ConnectionResetError):
            raise self._lost("your code ended the worker process") from None
        except wire.ProtocolError as error:
            raise self._lost(f"the worker process sent malformed data ({error})", "protocol") from None
        self._forward_outputs(reply[3])
        if type(reply[4]) is int:
            self.fingerprint = reply[4]
        if reply[1] == "ok":
            return reply[2]
        if reply[1] == "error":
            raise rebuild_exception(reply[2], self.allowed_roots)
        raise self._lost("the worker process sent a malformed reply", "protocol")

    def _forward_outputs(self, outputs):
        if self.output_sink is not None and isinstance(outputs, list) and outputs:
            self.output_sink(outputs)

    def _answer_callback(self, number, args, kwargs):
        """Run the grader's function behind a stand-in or a passed function, and answer the worker."""
        entry = self.callbacks.get(number) if type(number) is int else None
        if entry is None or not isinstance(args, list) or not isinstance(kwargs, dict) \
                or not all(isinstance(k, str) for k in kwargs):
            answer = ["answer", "error", {"name": "TypeError", "message": "an unknown function was called"}]
        elif self.depth > MAX_NESTED_CALLBACKS:
            answer = ["answer", "error", {"name": "RecursionError", "message": "calls between your code and the "
                                                                                 "grader nested too deeply"}]
        else:
            try:
                result, update, *into = entry[1](args, kwargs)
                answer = ["answer", "ok", result, update, into[0] if into else None]
                self.codec.pack(answer)  # a result that cannot be sent is the function's error
            except Exception as error:  # the grader's function raised: student code sees the same type
                message = str(error)[:2000]
                answer = ["answer", "error", {"name": type(error).__name__, "message": message}]
        wire.send(self.sock, self.codec.pack(answer))

    def _lost(self, reason, kind="ended"):
        self.gone, self.gone_kind = reason, kind
        self.close()
        return WorkerGone(reason, kind)

    def close(self):
        with contextlib.suppress(OSError):
            self.sock.close()

    # what the grader asks of a worker ------------------------------------------------------------
    def write_files(self, files):
        return self.request("write_files", files)

    def run_cell(self, source):
        """The outputs of one of the student's cells (a list of output dicts, unchecked)."""
        outputs = self.request("run", source)
        if not isinstance(outputs, list):
            raise self._lost("the worker process sent a malformed reply", "protocol")
        return outputs

    def lookup(self, name):
        """The student's global ``name`` (plain data, a library object or a handle); KeyError if the
        notebook does not define it."""
        found = self.request("global", name)
        if isinstance(found, list) and len(found) == 2 and found[0] == "found":
            return found[1]
        raise KeyError(name)

    def call(self, target, args, kwargs):
        """Call a student's function with plain data, handles or the grader's functions. Containers
        the call changed in place (a list sorted, an array updated) are changed here too, as if the
        student's code had changed the grader's own objects."""
        reply = self.request("call", target, list(args), dict(kwargs))
        if not isinstance(reply, list) or not reply:
            raise self._lost("the worker process sent a malformed reply", "protocol")
        if len(reply) == 2 and isinstance(reply[1], dict):
            for key, new in reply[1].items():
                original = args[key] if type(key) is int and 0 <= key < len(args) else kwargs.get(key)
                update_in_place(original, new)
        return reply[0]


def update_in_place(original, new):
    """Make ``original`` (a container the grader sent) hold what the student's code left in its copy."""
    with contextlib.suppress(Exception):
        if isinstance(original, list) and isinstance(new, list):
            original[:] = new
        elif isinstance(original, dict) and isinstance(new, dict):
            for key in [k for k in original if k not in new]:
                del original[key]
            for key, value in new.items():
                if key in original and isinstance(original[key], np.ndarray) and isinstance(value, np.ndarray) \
                        and original[key].shape == value.shape and original[key].flags.writeable:
                    np.copyto(original[key], value, casting="unsafe")
                elif key in original and isinstance(original[key], (list, dict)) and type(value) is type(original[key]):
                    update_in_place(original[key], value)
                else:
                    original[key] = value
        elif isinstance(original, set) and isinstance(new, set):
            original.clear()
            original.update(new)
        elif isinstance(original, bytearray) and isinstance(new, bytearray):
            original[:] = new
        elif isinstance(original, np.ndarray) and isinstance(new, np.ndarray) and original.shape == new.shape \
                and original.flags.writeable:
            np.copyto(original, new, casting="unsafe")


_DENIED_MODULES = {"antigravity", "this", "idlelib", "tkinter", "turtle", "turtledemo", "webbrowser", "__main__"}


def _allowed_module(name, allowed_roots):
    """The grader's own module of that name, if it may have it: already loaded, or of the standard
    library or a package the assignment's master notebook imports (never the grader's own tools)."""
    if not isinstance(name, str) or not name or name.startswith(".") or ".." in name:
        return None
    root = name.split(".")[0]
    if root in _DENIED_MODULES or root in INTERNAL_MODULES or root in COURSE_MODULES:
        return None
    module = sys.modules.get(name)
    if module is not None:
        return module
    if root in allowed_roots or root in sys.stdlib_module_names:
        try:
            __import__(name)
        except Exception:
            return None
        return sys.modules.get(name)
    return None


class RemoteSide:
    """``checklib.LocalSide``'s methods, carried out in the student's worker (the same names and
    signatures: ``tests/test_checklib.py`` compares them)."""

    def __init__(self, worker):
        self.worker = worker

    def put(self, value):
        return self.worker.request("put", value)

    def fetch(self, value):
        return self.worker.request("fetch", value) if proxy.is_handle(value) else value

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

    def new(self, cls, **attributes):
        return self.worker.request("new", cls, attributes)

    def replay(self, exercise, name, calls, hint=None, parameters=None, atol=checklib.ATOL, rtol=checklib.RTOL):
        return self._stand_in(Replay(exercise, name, calls, hint, parameters, atol, rtol), name)

    def spy(self, returns=None, update=None, into=None):
        return self._stand_in(Spy(returns, update, into), "spy")

    def calls(self, spy):
        """The calls the spy received, as the grader logged them (the student's process cannot
        change this log)."""
        answerer = self.worker.callbacks[self.worker.stand_ins[spy]][0]
        return [[list(args), dict(kwargs)] for args, kwargs in answerer.calls]

    def _stand_in(self, answerer, name):
        number = len(self.worker.callbacks) + 1
        self.worker.callbacks[number] = (answerer, answerer.answer)
        handle = self.worker.request("make", wire.StandIn("callback", {"id": number, "name": name}))
        self.worker.stand_ins[handle] = number
        return handle

    def namespace(self, call=None, **attributes):
        return self.worker.request("make", wire.StandIn("namespace", {"attributes": attributes, "call": call}))

    def same(self, first, second):
        """``first is second`` in the student's process, or the same bound method: decided here."""
        if not proxy.is_handle(first) or not proxy.is_handle(second):
            return first is second
        return proxy.same_object(first, second) and (proxy.number_of(first) == proxy.number_of(second) or
                                                     object.__getattribute__(first, "_ig_method") is not None)


class Replay:
    """The grader's half of a replayed function: the recorded calls and their results. A call whose
    arguments match none of them (``matches``, within the stand-in's ``atol`` and ``rtol``) is refused
    with the exercise's message. With ``parameters`` (the names of the function it stands for), keyword
    arguments are bound to positions as Python binds them, so a call in any style matches."""

    def __init__(self, exercise, name, calls, hint=None, parameters=None, atol=checklib.ATOL, rtol=checklib.RTOL):
        self.exercise, self.name, self.hint = exercise, name, hint
        self.parameters = list(parameters) if parameters else None
        self.atol, self.rtol = float(atol), float(rtol)
        self.calls = [(tuple(args), result) for args, result in calls]
        self.count = 0

    def bound(self, args, kwargs):
        return checklib.bound_positionally(self.parameters, args, kwargs)

    def answer(self, args, kwargs):
        positional = self.bound(args, kwargs)
        if positional is not None:
            for expected, result in self.calls:
                if len(positional) >= len(expected) and all(matches(a, e, self.atol, self.rtol)
                                                             for a, e in zip(positional, expected)):
                    self.count += 1
                    return result, None
        shown = [_summary(a) for a in args] + [f"{k}={_summary(v)}" for k, v in kwargs.items()]
        raise AssertionError(f"Exercise {self.exercise}: {self.name} was called with unexpected arguments "
                             f"({', '.join(shown)})." + (f"\nHint: {self.hint}" if self.hint else ""))


def _summary(value):
    """A short view of an argument: the first entries of an array, else the kind of value."""
    if isinstance(value, np.ndarray):
        return checklib.preview(value, 4)
    return "an object" if proxy.is_handle(value) else type(value).__name__


class Spy:
    """The grader's half of a spy: it logs the first calls (SPY_LOG; it counts the rest) and gives
    the same answer to every call."""

    def __init__(self, returns, update, into=None):
        self.returns, self.update, self.into, self.calls, self.count = returns, update, into, [], 0

    def answer(self, args, kwargs):
        self.count += 1
        if len(self.calls) < SPY_LOG:
            self.calls.append((args, kwargs))
        return self.returns, self.update, self.into


def matches(received, expected, atol=checklib.ATOL, rtol=checklib.RTOL):
    """Does a received argument match a recorded one? Arrays by shape and value (within ``atol`` and
    ``rtol``, the stand-in's), containers item by item, handles by identity, plain values by equality:
    ``checklib.same_argument`` on the grader's side, where a received object is a handle."""
    if isinstance(expected, np.ndarray):
        if not isinstance(received, (np.ndarray, int, float, list, tuple)):
            return False
        try:
            values = np.asarray(received, dtype=float)
        except (TypeError, ValueError):
            return False
        return values.shape == expected.shape and bool(np.allclose(values, expected, atol=atol, rtol=rtol))
    if isinstance(expected, (list, tuple)):
        return (isinstance(received, (list, tuple)) and len(received) == len(expected)
                and all(matches(r, e, atol, rtol) for r, e in zip(received, expected)))
    if isinstance(expected, dict):
        return (isinstance(received, dict) and set(received) == set(expected)
                and all(matches(received[k], v, atol, rtol) for k, v in expected.items()))
    if proxy.is_handle(expected):
        return received is expected
    return type(received) in (int, float, bool, str, type(None)) and received == expected
