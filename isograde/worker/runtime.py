"""The student's side: a zygote that forks one worker per submission, inside the sandbox.

Started by ``isograde.sandbox`` as ``python -S -E -s runtime.py`` in a bubblewrap sandbox, with a Unix
socket to the grader on the file descriptor named by ISOGRADE_CONTROL_FD. The zygote imports what
every notebook needs (numpy, matplotlib with the inline backend, IPython) once, then, for each
``fork`` request, starts a child that gets a /tmp of its own, drops to its own unprivileged user and:

1. writes the submission's files into a fresh working folder (its current directory, on ``sys.path``);
2. runs the notebook's code cells in order in an IPython shell, as a Jupyter kernel would;
3. answers the grader's requests on its own socket: look up a global, call this function, read that
   attribute, apply that operator, build this stand-in... Values go back as plain data or as handles.

The child decides nothing and holds nothing secret: the grader sends it inputs and stand-ins, reads
back values and computes every verdict itself. Whatever the student's code does to this process
(patching modules, IPython's machinery, these very functions) can only change its own answers.
"""
import contextlib
import inspect
import operator
import os
import shutil
import signal
import socket
import sys
import traceback

if __name__ == "__main__":  # started with -S: the environment's packages are added explicitly
    import site
    for _folder in filter(None, os.environ.get("ISOGRADE_SITE", "").split(":")):
        site.addsitedir(_folder)
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import wire
    from shell import CollectingShell, Outputs, OutputStream, new_shell
else:
    from . import wire
    from .shell import CollectingShell, Outputs, OutputStream, new_shell

WORK = os.path.join(os.environ.get("TMPDIR", "/tmp"), "work")
MAX_FILE = 64 * 1024 * 1024
MESSAGE_LIMIT, TRACE_LIMIT = 2000, 5000

UNARY = {"len": len, "iter": iter, "next": next, "bool": bool, "str": str, "repr": repr, "int": int,
         "float": float, "complex": complex, "index": operator.index, "abs": abs, "neg": operator.neg,
         "pos": operator.pos, "invert": operator.invert, "reversed": reversed, "round": round,
         "enter": lambda obj: obj.__enter__(), "dir": lambda obj: sorted(str(n) for n in dir(obj)),
         "bytes": bytes, "array": lambda obj: __import__("numpy").asarray(obj)}
BINARY = {name: getattr(operator, name) for name in (
    "add", "sub", "mul", "matmul", "truediv", "floordiv", "mod", "pow", "lshift", "rshift", "and_", "or_",
    "xor", "iadd", "isub", "imul", "imatmul", "itruediv", "ifloordiv", "imod", "ipow", "ilshift", "irshift",
    "iand", "ior", "ixor")}
BINARY.update(divmod=divmod, format=format, round=round, exit=lambda obj, args: obj.__exit__(*args))
MUTABLE = (list, dict, set, bytearray)
MUTABLE_DATA = MUTABLE  # with numpy's ndarray once the zygote has imported numpy (preload)


# ------------------------------------------------------------------------------------------------
# Stand-ins the grader can ask for
# ------------------------------------------------------------------------------------------------

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


# ------------------------------------------------------------------------------------------------
# What goes back: plain data, library names, or handles
# ------------------------------------------------------------------------------------------------

def _student_module(module):
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
    if module is None or _student_module(module):
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


class Child:
    def __init__(self, sock, shell):
        self.sock, self.shell = sock, shell
        self.objects, self.numbers, self.next_number = {}, {}, 1
        self.described, self.sending = set(), set()
        self.rng_states, self.patches = [], {}
        self.codec = wire.Codec(WorkerPeer(self))
        self.streams = OutputStream(shell, "stdout"), OutputStream(shell, "stderr")

    # handles ---------------------------------------------------------------------------------------
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
        if inspect.ismodule(value) and not _student_module(value) and isinstance(getattr(value, "__name__", None), str):
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
        if kind.__module__ not in ("__main__",) and not _student_module(sys.modules.get(kind.__module__)):
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

    # the notebook ---------------------------------------------------------------------------------
    def op_run(self, source):
        new_cell_for_warnings()
        return self.shell.run(source)

    # requests ---------------------------------------------------------------------------------------
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
            reply.append(folder_fingerprint())
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
        """The student's global names (asked once at the start of each test cell)."""
        new_cell_for_warnings()
        hidden = self.shell.user_ns_hidden
        return [n for n in self.shell.user_ns if isinstance(n, str) and not n.startswith("_") and n not in hidden][:10000]

    def op_call(self, target, args, kwargs):
        mutable = {key: (value, self.codec.pack(value)) for key, value in
                   (*enumerate(args), *kwargs.items()) if isinstance(value, MUTABLE_DATA)
                   and id(value) not in self.numbers}
        result = target(*args, **kwargs)
        changed = {}
        for key, (value, before) in mutable.items():
            with contextlib.suppress(Exception):
                if self.codec.pack(value) != before:
                    changed[key] = value
        return [self.as_data(result), changed] if changed else [self.as_data(result)]

    def op_getattr(self, target, name):
        return self.as_data(getattr(target, name))

    def op_setattr(self, target, name, value):
        setattr(target, name, value)

    def op_delattr(self, target, name):
        delattr(target, name)

    def op_getitem(self, target, key):
        return self.as_data(target[key])

    def op_setitem(self, target, key, value):
        target[key] = value

    def op_delitem(self, target, key):
        del target[key]

    def op_unary(self, target, name):
        return self.as_data(UNARY[name](target))

    def op_binary(self, name, first, second):
        return self.as_data(BINARY[name](first, second))

    def op_iterate(self, target, count):
        """Up to ``count`` next items of an iterator (fewer at its end)."""
        items = []
        for _ in range(count):
            try:
                items.append(next(target))
            except StopIteration:
                return [self.as_data(items), True]
        return [self.as_data(items), False]

    def op_fetch(self, target):
        return self.as_data(target, top=True)

    def op_put(self, value):
        return self.hold(value)

    def op_source(self, target):
        return inspect.getsource(target)

    def op_signature(self, target):
        parameters = []
        for parameter in inspect.signature(target).parameters.values():
            default = None if parameter.default is inspect.Parameter.empty else self.as_data(parameter.default)
            parameters.append([parameter.name, int(parameter.kind), parameter.default is not inspect.Parameter.empty,
                               default])
        return parameters

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

    def op_new(self, cls):
        return self.hold(cls.__new__(cls))

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

    # files ------------------------------------------------------------------------------------------
    def op_write_files(self, files):
        stats = {}
        for name, content in files.items():
            if not _safe_relative(name) or not isinstance(content, bytes):
                raise ValueError(f"refused file name {name!r}")
            path = os.path.join(WORK, name)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with contextlib.suppress(FileNotFoundError):
                if not os.path.isfile(path) or os.path.islink(path):
                    os.unlink(path)
            with open(path, "wb") as handle:
                handle.write(content)
            stats[name] = _stat(path)
        return stats

    def op_delete_files(self, names):
        for name in names:
            if _safe_relative(name):
                with contextlib.suppress(OSError):
                    os.unlink(os.path.join(WORK, name))

    def op_list_files(self):
        """{name: [size, mtime]} of the regular files in the working folder."""
        return {name: list(seen) for name, seen in _scan(WORK).items()}

    def op_read_files(self, names, limit):
        files, total = {}, 0
        for name in names:
            path = os.path.join(WORK, name)
            if not _safe_relative(name) or os.path.islink(path):
                continue
            with contextlib.suppress(OSError), open(path, "rb") as handle:
                content = handle.read(min(MAX_FILE, limit - total) + 1)
                if len(content) > MAX_FILE or total + len(content) > limit:
                    continue
                total += len(content)
                files[name] = content
        return files


def new_cell_for_warnings():
    """A kernel shows a warning again in each cell that triggers it: forget which were shown (changing the
    filters, even to the same list, invalidates the registries of warnings already shown)."""
    import warnings
    warnings.simplefilter("default", append=True)


def _numpy():
    import numpy
    return numpy


def _safe_relative(name):
    """A relative path of plain components (the same rule as the grader's isograde.files)."""
    if not isinstance(name, str) or not name or len(name) > 1024 or "\0" in name or name.startswith("/"):
        return False
    parts = name.split("/")
    return len(parts) <= 8 and all(p and p not in (".", "..") and not p.startswith(".") and len(p) <= 255
                                   for p in parts)


def _scan(folder, prefix="", depth=1, found=None):
    found = {} if found is None else found
    with contextlib.suppress(OSError), os.scandir(folder) as entries:
        for entry in entries:
            name = prefix + entry.name
            if not _safe_relative(name) or len(found) >= 1000:
                continue
            if entry.is_dir(follow_symlinks=False) and depth < 8:
                _scan(entry.path, name + "/", depth + 1, found)
            elif entry.is_file(follow_symlinks=False):
                status = entry.stat(follow_symlinks=False)
                found[name] = (status.st_size, status.st_mtime_ns)
    return found


_FINGERPRINT = {"time": None, "files": {}, "value": 0}


def folder_fingerprint():
    """A number that changes when the working folder's files do: a walk only when the folder's own time
    changed (a file added, removed or renamed), else a stat of each file known."""
    cache = _FINGERPRINT
    try:
        folder_time = os.stat(WORK).st_mtime_ns
        if folder_time == cache["time"] and "/" not in "".join(cache["files"]):
            current = {}
            for name in cache["files"]:
                status = os.stat(os.path.join(WORK, name), follow_symlinks=False)
                current[name] = (status.st_size, status.st_mtime_ns)
        else:
            current = _scan(WORK)
    except OSError:
        folder_time, current = None, _scan(WORK)
    if current != cache["files"] or folder_time != cache["time"]:
        cache.update(time=folder_time, files=current, value=hash(tuple(sorted(current.items()))) & 0xFFFFFFFF)
    return cache["value"]


def _stat(path):
    status = os.stat(path, follow_symlinks=False)
    return [status.st_size, status.st_mtime_ns]


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


# ------------------------------------------------------------------------------------------------
# The zygote
# ------------------------------------------------------------------------------------------------

class WorkerShell(CollectingShell):
    """The student's IPython: frames of the notebook's cells in tracebacks."""


def _no_input(prompt=""):
    from IPython.core.error import StdinNotImplementedError
    raise StdinNotImplementedError("raw_input was called, but this frontend does not support input requests.")


def preload():
    global MUTABLE_DATA
    import numpy
    MUTABLE_DATA = MUTABLE + (numpy.ndarray,)
    import matplotlib
    matplotlib.use("module://matplotlib_inline.backend_inline")
    import matplotlib.pyplot  # noqa: F401
    shell = new_shell(WorkerShell)
    shell.enable_matplotlib("inline")  # figures shown at the end of each cell, as in a kernel
    # pay IPython's first-cell costs here, once, rather than in every child
    shell.run("import numpy as np\nimport matplotlib.pyplot as plt\nnp.zeros(3) @ np.ones(3)\nprint(end='')")
    for name in [n for n in shell.user_ns if n not in shell.user_ns_hidden and not n.startswith("__")]:
        shell.user_ns.pop(name, None)
    shell.execution_count = 1
    import builtins
    builtins.input = _no_input
    return shell


def child_main(sock, request, uid):
    import resource
    os.setpgid(0, 0)
    private_tmp(request.get("tmp_bytes"))
    if uid is not None:
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
    for name, value in request.get("limits", {}).items():
        resource.setrlimit(getattr(resource, name), (value, value))
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(WORK)
    os.chdir(WORK)
    sys.path.insert(0, "")  # the notebook's folder, as in a kernel: its modules import
    for name, value in (request.get("environment") or {}).items():
        os.environ[str(name)] = str(value)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in ((0, 1) if os.environ.get("ISOGRADE_DEBUG") else (0, 1, 2)):  # C-level writes of student code go nowhere; the socket is the only channel
        os.dup2(devnull, fd)
    try:
        Child(sock, SHELL).serve()
    finally:
        os._exit(0)


def private_tmp(size):
    """A /tmp (and /dev/shm) of the child's own, of at most ``size`` bytes, and an IPC namespace of its
    own (System V shared memory dies with it), where the sandbox allows it (the zygote keeps
    CAP_SYS_ADMIN for this alone); else the shared /tmp, emptied after each child."""
    if not size or not os.environ.get("ISOGRADE_SANDBOXED"):
        return
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    CLONE_NEWNS, CLONE_NEWIPC = 0x00020000, 0x08000000
    if libc.unshare(CLONE_NEWNS | CLONE_NEWIPC) != 0:
        return
    MS_REC, MS_PRIVATE, MS_NOSUID, MS_NODEV = 0x4000, 0x40000, 0x2, 0x4
    libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None)
    for target in (b"/tmp", b"/dev/shm"):
        if os.path.isdir(target):
            options = f"size={int(size)},mode=1777".encode()
            libc.mount(b"tmpfs", target, b"tmpfs", MS_NOSUID | MS_NODEV, options)


def wipe(folder):
    for name in os.listdir(folder):
        path = os.path.join(folder, name)
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                os.unlink(path)


def kill_leftovers(pid):
    """Kill what the child left running: in the sandbox (its own PID namespace, its own user) every
    process but the zygote; without a sandbox, the child's process group. Then reap them."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        if os.environ.get("ISOGRADE_SANDBOXED"):
            os.kill(-1, signal.SIGKILL)
        else:
            os.killpg(pid, signal.SIGKILL)
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


class Control:
    """Small messages to and from the grader on a SOCK_SEQPACKET socket (one message per packet)."""

    def __init__(self, fd):
        self.sock = socket.socket(fileno=fd)
        self.codec = wire.Codec(wire.Peer())

    def send(self, message):
        self.sock.send(self.codec.pack(message))

    def receive(self):
        data, fds, _, _ = socket.recv_fds(self.sock, 65536, 1)
        if not data:
            return None, fds
        return self.codec.unpack(data), fds


def zygote_main():
    import select
    global SHELL
    control = Control(int(os.environ["ISOGRADE_CONTROL_FD"]))
    SHELL = preload()
    first_uid = int(os.environ.get("ISOGRADE_UID") or 0)
    with contextlib.suppress(Exception):
        import ctypes
        ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE 0: nothing can ptrace the zygote
    control.send({"ready": True, "uid": os.geteuid()})
    children = 0
    while True:
        request, fds = control.receive()
        if request is None:
            return
        if request.get("op") != "fork" or len(fds) != 1:
            for fd in fds:
                os.close(fd)
            continue
        children += 1
        pid = os.fork()
        if pid == 0:
            control.sock.close()
            # As root, each child becomes a user of its own: it cannot signal the zygote, nor what an
            # earlier child left behind, and it gives up every capability
            uid = first_uid + children % 100000 if first_uid and os.geteuid() == 0 else None
            child_main(socket.socket(fileno=fds[0]), request, uid)
        os.close(fds[0])
        control.send({"started": pid})
        status = None
        exited = os.pidfd_open(pid)
        while status is None:
            readable, _, _ = select.select([control.sock, exited], [], [])
            if exited in readable:
                status = os.waitpid(pid, 0)[1]
            elif readable:
                message, extra = control.receive()
                for fd in extra:
                    os.close(fd)
                if message is None:
                    os.kill(pid, signal.SIGKILL)
                    return
                if message.get("op") == "kill":
                    os.kill(pid, signal.SIGKILL)
        os.close(exited)
        kill_leftovers(pid)
        if os.environ.get("ISOGRADE_SANDBOXED"):
            wipe("/tmp")
        control.send({"ended": pid, "status": status})


SHELL = None

if __name__ == "__main__":
    zygote_main()
