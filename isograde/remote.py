"""The grader's side of a student's worker: call into it, read plain data back.

``isograde.zygote.Zygote`` starts the sandboxed zygote once per grading process; ``Zygote.spawn()`` forks a
fresh ``Worker`` for one submission. A ``Worker`` runs the notebook's cells and hands out handles
(``isograde.proxy``) to the student's objects; tests use them like the objects themselves and reach the
rest of the student's process through ``handle.__student_side__``, a ``RemoteSide`` (``isograde.remoteside``) with the methods
of the check library's ``LocalSide`` (``isograde/checklib.py``, shipped with each release): the same
tests run in the student's notebook and in the grader.

What the worker sends is decoded by ``wire.Codec`` into plain data, names of library objects resolved
to the grader's own, or handles; nothing is unpickled or evaluated. Every reply is bounded: frame size,
entries and nesting per message (``wire``), bytes per check and per submission (``Budget``).
"""
import contextlib
import socket
import sys
import time

import numpy as np

from isograde import shadows
from isograde.exceptions import INTERNAL_MODULES, rebuild_exception
from isograde.graderpeer import COURSE_MODULES, GraderPeer
from isograde.remoteside import RemoteSide
from isograde.worker import wire

MAX_NESTED_CALLBACKS = 50


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
