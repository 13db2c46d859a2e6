"""The student's side: a zygote that forks one worker per submission, inside the sandbox.

Started by ``isograde.sandbox`` as ``python -S -E -s runtime.py`` in a bubblewrap sandbox, with a Unix
socket to the grader on file descriptor 3. The zygote imports what every notebook needs (numpy,
matplotlib with the Agg backend, IPython) once, drops to its own unprivileged user and then, for each
``fork`` request, starts a child that:

1. writes the submission's support files into a fresh working folder;
2. runs the notebook's code cells in order in an IPython shell (``%magic`` and ``!cmd`` allowed);
3. answers the grader's requests on its own socket (received with the request): call this function,
   read that attribute, build this stand-in... Values go back as plain data or as handles (``Ref``).

The child decides nothing and holds nothing secret: the grader sends it inputs and stand-ins, reads
back values and computes every verdict itself. Whatever the student's code does to this process
(patching modules, IPython's machinery, these very functions) can only change its own answers.
Children run one at a time; when one ends, the zygote kills whatever it left running and empties the
writable folders, so that nothing passes from one submission to the next.
"""
import contextlib
import io
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
    import wire
else:
    from . import wire

WORK = os.path.join(os.environ.get("TMPDIR", "/tmp"), "work")
OUTPUT_LIMIT = 100_000  # characters of printed output kept per cell


# ------------------------------------------------------------------------------------------------
# Stand-ins the grader can ask for
# ------------------------------------------------------------------------------------------------

class Callback:
    """A stand-in function whose answers the grader gives: each call goes to the grader, which
    holds the recorded table (or the log of a spy) and answers or refuses. Nothing of that table is
    in this process, so student code cannot read answers out of it."""

    def __init__(self, child, number, name):
        self._child, self._number, self.__name__ = child, number, name

    def __call__(self, *args, **kwargs):
        return self._child.callback(self._number, args, kwargs)


class Namespace:
    """An object with the given attributes; calling it calls the attribute named ``call``."""

    def __init__(self, attributes, call=None):
        self.__dict__.update(attributes)
        self._call = call

    def __call__(self, *args, **kwargs):
        return getattr(self, self._call)(*args, **kwargs)


# ------------------------------------------------------------------------------------------------
# One child: the student's notebook and the requests about it
# ------------------------------------------------------------------------------------------------

class Capture(io.TextIOBase):
    """A capped text buffer standing in for sys.stdout / sys.stderr."""

    def __init__(self):
        self.parts, self.size = [], 0

    def writable(self):
        return True

    def write(self, text):
        text = str(text)
        if self.size < OUTPUT_LIMIT:
            self.parts.append(text[:OUTPUT_LIMIT - self.size])
        self.size += len(text)
        return len(text)

    def take(self):
        text = "".join(self.parts)
        if self.size > OUTPUT_LIMIT:
            text += f"\n[... {self.size - OUTPUT_LIMIT} more characters not kept]"
        self.parts, self.size = [], 0
        return text


class Child:
    def __init__(self, sock, shell):
        import numpy as np
        self.np, self.sock, self.shell = np, sock, shell
        self.objects, self.numbers, self.next_number = {}, {}, 1
        self.rng_states, self.patches = [], {}
        self.codec = wire.Codec(make_ref=self._held, describe=self._describe, accept_standins=True)
        self.stdout, self.stderr = Capture(), Capture()

    # handles ---------------------------------------------------------------------------------------
    def _held(self, number):
        if number not in self.objects:
            raise wire.ProtocolError(f"no object {number}")
        return self.objects[number]

    def _describe(self, value):
        if isinstance(value, wire.StandIn):
            return value
        return self.hold(value)

    def hold(self, value):
        number = self.numbers.get(id(value))
        if number is None or self.objects.get(number) is not value:
            number, self.next_number = self.next_number, self.next_number + 1
            self.objects[number], self.numbers[id(value)] = value, number
        return wire.Ref(number)

    def as_data(self, value, depth=0, top=False):
        """Plain data where the value is plain data, a handle where it is an object (or already held)."""
        np = self.np
        if not top and id(value) in self.numbers and self.objects.get(self.numbers[id(value)]) is value:
            return wire.Ref(self.numbers[id(value)])
        if value is None or type(value) in (bool, int, float, str, bytes, complex):
            return value
        if depth > 50:
            return self.hold(value)
        if isinstance(value, np.ndarray) and value.dtype.kind in wire.ALLOWED_KINDS and value.dtype.fields is None:
            return np.array(value)
        if isinstance(value, np.generic) and value.dtype.kind in wire.ALLOWED_KINDS:
            return value.item()
        if isinstance(value, (list, tuple)):
            items = [self.as_data(item, depth + 1) for item in value]
            return tuple(items) if isinstance(value, tuple) else items
        if isinstance(value, dict):
            if all(type(key) in (str, int) for key in value):
                return {key: self.as_data(item, depth + 1) for key, item in value.items()}
        return self.hold(value)

    # the notebook ---------------------------------------------------------------------------------
    def run_cell(self, source):
        self.shell.last_error = None
        with self.captured():
            try:
                self.shell.run_cell(source, store_history=False)
            except BaseException as error:  # SystemExit and the like end the cell, not the worker
                self.shell.last_error = (type(error).__name__, str(error), "")
        return {"stdout": self.stdout.take(), "stderr": self.stderr.take(), "error": self.shell.last_error}

    @contextlib.contextmanager
    def captured(self):
        saved = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = self.stdout, self.stderr
        try:
            yield
        finally:
            sys.stdout, sys.stderr = saved

    # requests ---------------------------------------------------------------------------------------
    def serve(self):
        while True:
            frame = wire.receive(self.sock)
            if frame is None:
                return
            number, operation, arguments = self.codec.unpack(frame)
            try:
                reply = [number, "ok", getattr(self, "op_" + operation)(*arguments)]
            except BaseException as error:
                if isinstance(error, (wire.ProtocolError,)):
                    raise
                reply = [number, "error", type(error).__name__, _text(error)]
            try:
                data = self.codec.pack(reply)
            except Exception as error:
                data = self.codec.pack([number, "error", "UnsendableValue", _text(error)])
            wire.send(self.sock, data)

    def op_run(self, source):
        return self.run_cell(source)

    def op_files(self, files):
        for name, content in files.items():
            if "/" in name or name in (".", "..") or not isinstance(content, bytes):
                raise ValueError(f"refused file name {name!r}")
            with open(os.path.join(WORK, name), "wb") as handle:
                handle.write(content)

    def op_global(self, name):
        namespace = self.shell.user_ns
        if name not in namespace:
            return ["missing"]
        return ["found", self.hold(namespace[name])]

    def op_call(self, target, args, kwargs):
        with self.captured():
            result = target(*args, **kwargs)
        self.stdout.take(), self.stderr.take()  # what student code prints during a check is not kept
        return self.as_data(result)

    def op_getattr(self, target, name):
        with self.captured():
            return self.as_data(getattr(target, name))

    def op_setattr(self, target, name, value):
        with self.captured():
            setattr(target, name, value)

    def op_getitem(self, target, key):
        with self.captured():
            return self.as_data(target[key])

    def op_fetch(self, target):
        return self.as_data(target, top=True)

    def op_put(self, value):
        return self.hold(value)

    def op_make(self, standin):
        settings = standin.settings
        if standin.kind == "callback":
            return self.hold(Callback(self, int(settings["id"]), str(settings.get("name", "stand_in"))))
        if standin.kind == "namespace":
            return self.hold(Namespace(settings["attributes"], settings.get("call")))
        raise ValueError(f"unknown stand-in {standin.kind!r}")

    def callback(self, number, args, kwargs):
        """Ask the grader to answer a stand-in's call, and wait for its answer."""
        wire.send(self.sock, self.codec.pack(["callback", number, [self.as_data(list(args)), self.as_data(kwargs)]]))
        frame = wire.receive(self.sock)
        if frame is None:
            os._exit(0)
        answer = self.codec.unpack(frame)
        if answer[1] == "error":
            raise AssertionError(answer[2])
        result, update = answer[2], answer[3]
        if update is not None and args and isinstance(args[0], dict):
            args[0].update(update)
        return result

    def op_new(self, cls):
        return self.hold(cls.__new__(cls))

    def op_same(self, first, second):
        return first is second or (callable(first) and first == second)

    def op_describe(self, target):
        return {"type": type(target).__name__, "callable": callable(target)}

    def op_seed(self, seed):
        self.rng_states.append(self.np.random.get_state())
        self.np.random.seed(seed)

    def op_unseed(self):
        self.np.random.set_state(self.rng_states.pop())

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


def _namespace_of(thing, default):
    """The global namespace in which a notebook function or class looks up other names."""
    import inspect
    candidates = [thing] + list(vars(thing).values()) if inspect.isclass(thing) else [thing]
    for candidate in candidates:
        candidate = getattr(candidate, "__func__", candidate)
        if inspect.isfunction(candidate):
            return candidate.__globals__
    return default


def _text(error):
    try:
        return str(error)[:2000]
    except BaseException:
        return "(an error whose message could not be read)"


# ------------------------------------------------------------------------------------------------
# The zygote
# ------------------------------------------------------------------------------------------------

def make_shell():
    from IPython.core.interactiveshell import InteractiveShell

    class WorkerShell(InteractiveShell):
        """IPython without a kernel: tracebacks are kept as data, GUI event loops are not needed."""
        last_error = None

        def showtraceback(self, exc_tuple=None, filename=None, tb_offset=None, exception_only=False,
                          running_compiled_code=False):
            # IPython's own formatter takes ~0.1 s per error; a blank notebook raises a dozen
            etype, evalue, tb = exc_tuple or sys.exc_info()
            frames = [f for f in traceback.extract_tb(tb) if f.filename.startswith("<")] if tb else []
            trace = "".join(traceback.format_list(frames[-5:]))
            self.last_error = (getattr(etype, "__name__", "Error"), _text(evalue),
                               f"{trace}{getattr(etype, '__name__', 'Error')}: {_text(evalue)}")

        def showsyntaxerror(self, filename=None, running_compiled_code=False):
            etype, value, _ = sys.exc_info()
            self.last_error = (getattr(etype, "__name__", "SyntaxError"), _text(value),
                               "".join(traceback.format_exception_only(etype, value))[-2000:])

        def enable_gui(self, gui=None):
            pass

    from traitlets.config import Config
    config = Config()
    config.HistoryManager.enabled = False  # no history.sqlite anywhere
    return WorkerShell.instance(config=config)


def preload():
    import numpy  # noqa: F401
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot  # noqa: F401
    shell = make_shell()
    # pay IPython's first-cell costs here, once, rather than in every child
    shell.run_cell("import numpy as np\nimport matplotlib.pyplot as plt\nnp.zeros(3) @ np.ones(3)\nprint(end='')",
                   store_history=False)
    for name in ("np", "plt", "_", "__", "___", "_i", "_ii", "_iii", "_1", "_i1", "Out", "In"):
        shell.user_ns.pop(name, None)
    shell.user_ns.update(In=[], Out={})
    shell.execution_count = 1
    return shell


def child_main(sock, limits, uid):
    import resource
    os.setpgid(0, 0)
    if uid is not None:
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
    for name, value in limits.items():
        resource.setrlimit(getattr(resource, name), (value, value))
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(WORK)
    os.chdir(WORK)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in ((0, 1) if os.environ.get("ISOGRADE_DEBUG") else (0, 1, 2)):  # C-level writes of student code go nowhere; the socket is the only channel
        os.dup2(devnull, fd)
    try:
        Child(sock, SHELL).serve()
    finally:
        os._exit(0)


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
        self.codec = wire.Codec(make_ref=lambda n: n, describe=lambda v: None, accept_standins=False)

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
            child_main(socket.socket(fileno=fds[0]), request.get("limits", {}), uid)
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
