"""One child: the student's notebook run cell by cell, and the grader's requests about it answered on the
child's own socket, one at a time (while a callback waits for the grader's answer, the grader's nested
requests are served)."""
import contextlib
import inspect
import os
import sys
import traceback

from . import wire
from .folder import WORK, FolderOps, folder_fingerprint
from .holding import Callback, GraderError, Holding, Namespace, WorkerPeer
from .objects import ObjectOps
from .shell import Outputs, OutputStream

MESSAGE_LIMIT, TRACE_LIMIT = 2000, 5000
# requests that run none of the student's code, so cannot change the folder: no fingerprint in their reply
NO_STUDENT_CODE = {"make", "put", "names", "cell_start", "seed", "unseed", "random_seed", "patch", "unpatch",
                   "write_files", "delete_files", "list_files", "read_files"}


class Child(Holding, ObjectOps, FolderOps):
    def __init__(self, sock, shell):
        self.sock, self.shell = sock, shell
        self.objects, self.numbers, self.next_number = {}, {}, 1
        self.described, self.sending = set(), set()
        self.rng_states, self.patches = [], {}
        self.codec = wire.Codec(WorkerPeer(self))
        self.streams = OutputStream(shell, "stdout"), OutputStream(shell, "stderr")

    def op_run(self, source):
        new_cell_for_warnings()
        return self.shell.run(source)

    def serve(self, until_answer=False):
        """Answer the grader's requests; inside a callback, until the grader's answer comes."""
        while True:
            frame = wire.receive(self.sock)
            if frame is None:
                os._exit(0)
            message = self.codec.unpack(frame)
            if until_answer and isinstance(message, list) and message and message[0] == "answer":
                return message
            number, operation, arguments = message
            # what student code prints or displays meanwhile is kept for the reply (no context manager:
            # this runs for every request)
            shell, outputs = self.shell, Outputs()
            saved = sys.stdout, sys.stderr, shell.outputs
            sys.stdout, sys.stderr, shell.outputs = self.streams[0], self.streams[1], outputs
            try:
                reply = [number, "ok", getattr(self, "op_" + operation)(*arguments)]
            except wire.ProtocolError:
                raise
            except BaseException as error:
                reply = [number, "error", self.exception(error)]
            finally:
                sys.stdout, sys.stderr, shell.outputs = saved
            reply.append(outputs.take() if outputs.items else [])
            reply.append(None if operation in NO_STUDENT_CODE else folder_fingerprint())
            self.send(reply, number)

    def send(self, reply, number=None):
        self.sending = set()
        try:
            data = self.codec.pack(reply)
        except Exception as error:
            self.sending = set()
            data = self.codec.pack([number, "error", self.exception(error, unsendable=True), [], reply[-1]])
        wire.send(self.sock, data)
        self.described |= self.sending
        self.sending = set()

    def exception(self, error, unsendable=False):
        """An exception as data: its class (a library name or a handle), its message, its class's
        ancestry by name, and the student's own frames as text."""
        kind = type(error)
        if unsendable:
            return {"class": wire.Library("builtins", "TypeError"), "message": f"the value cannot be sent to the "
                    f"grader ({_text(error)})", "mro": [], "trace": ""}
        frames = [f for f in traceback.extract_tb(error.__traceback__) if f.filename.startswith("<")
                  or f.filename.startswith(WORK)]
        trace = "".join(traceback.format_list(frames[-8:]))[-TRACE_LIMIT:]
        mro = [[str(getattr(c, "__module__", "")), str(getattr(c, "__qualname__", ""))] for c in kind.__mro__[:20]]
        args = None
        with contextlib.suppress(BaseException):
            args = self.codec.pack(list(error.args)) and list(error.args)
            if len(self.codec.pack(args)) > MESSAGE_LIMIT:
                args = None
        try:
            described = self.describe(kind)
        except BaseException:
            described = wire.Library("builtins", "Exception")
        return {"class": described, "message": _text(error), "mro": mro, "trace": trace, "args": args}

    def op_global(self, name):
        namespace = self.shell.user_ns
        if name not in namespace:
            return ["missing"]
        return ["found", self.as_data(namespace[name])]

    def op_set_global(self, name, value):
        self.shell.user_ns[name] = value

    def op_del_global(self, name):
        del self.shell.user_ns[name]

    def op_names(self):
        """The student's global names."""
        hidden = self.shell.user_ns_hidden
        return [n for n in self.shell.user_ns if isinstance(n, str) and not n.startswith("_") and n not in hidden][:10000]

    def op_cell_start(self, wanted):
        """At the start of each test cell: the student's global names, and the values of the ``wanted``
        ones (as ``op_global`` gives them; a value that cannot be described is left for its own request)."""
        new_cell_for_warnings()
        values = {}
        for name in wanted[:64] if isinstance(wanted, list) else ():
            if not isinstance(name, str):
                continue
            with contextlib.suppress(Exception):
                found = self.op_global(name)
                values[name] = found if len(found) == 2 else ["missing", None]
        return [self.op_names(), values]

    def build_standin(self, kind, settings):
        if kind == "callback":
            return Callback(self, int(settings["id"]), str(settings.get("name", "stand_in")))
        if kind == "namespace":
            return Namespace(settings["attributes"], settings.get("call"))
        raise wire.ProtocolError(f"unknown stand-in {kind!r}")

    def op_make(self, standin):
        return self.hold(standin)

    def callback(self, number, args, kwargs):
        """Ask the grader to answer a call of one of its functions, serving its requests meanwhile."""
        self.send(["callback", number, self.as_data(list(args)), self.as_data(kwargs)])
        answer = self.serve(until_answer=True)
        if answer[1] == "error":
            raise _grader_exception(answer[2])
        result, update = answer[2], answer[3] if len(answer) > 3 else None
        into = answer[4] if len(answer) > 4 else None
        target = args[0] if args else kwargs.get(into) if isinstance(into, str) else None
        if update is not None and isinstance(target, dict):
            target.update(update)
        return result

    def op_random_seed(self, module, seed):
        if module == "numpy":
            _numpy().random.seed(seed)
        else:
            import random
            random.seed(seed)

    def op_seed(self, seed):
        self.rng_states.append(_numpy().random.get_state())
        _numpy().random.seed(seed)

    def op_unseed(self):
        _numpy().random.set_state(self.rng_states.pop())

    def op_patch(self, target, replacements):
        namespace = _namespace_of(target, self.shell.user_ns)
        token = len(self.patches) + 1
        self.patches[token] = (namespace, {name: namespace[name] for name in replacements if name in namespace},
                               list(replacements))
        namespace.update(replacements)
        return token

    def op_unpatch(self, token):
        namespace, saved, names = self.patches.pop(token)
        for name in names:
            if name in saved:
                namespace[name] = saved[name]
            else:
                namespace.pop(name, None)


def new_cell_for_warnings():
    """A kernel shows a warning again in each cell that triggers it: forget which were shown (changing the
    filters, even to the same list, invalidates the registries of warnings already shown)."""
    import warnings
    warnings.simplefilter("default", append=True)


def _numpy():
    import numpy
    return numpy


def _grader_exception(description):
    """An exception raised by the grader's side (a stand-in's refusal, a test's function), rebuilt
    here for student code to catch: built-in classes by name, others as Exception."""
    import builtins
    name = description.get("name") if isinstance(description, dict) else None
    message = description.get("message", "") if isinstance(description, dict) else str(description)
    cls = getattr(builtins, name, None) if isinstance(name, str) else None
    if not (isinstance(cls, type) and issubclass(cls, Exception)):
        cls = type(name, (GraderError,), {}) if isinstance(name, str) and name.isidentifier() else GraderError
    try:
        return cls(message)
    except Exception:
        return GraderError(message)


def _namespace_of(thing, default):
    """The global namespace in which a notebook function or class looks up other names."""
    candidates = [thing] + list(vars(thing).values()) if inspect.isclass(thing) else [thing]
    for candidate in candidates:
        candidate = getattr(candidate, "__func__", candidate)
        if inspect.isfunction(candidate):
            return candidate.__globals__
    return default


def _text(error, limit=MESSAGE_LIMIT):
    try:
        text = str(error)
    except BaseException:
        return "(an error whose message could not be read)"
    return text if len(text) <= limit else text[:limit] + f" [... {len(text) - limit} more characters]"
