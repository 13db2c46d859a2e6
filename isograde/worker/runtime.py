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
import os
import shutil
import signal
import socket
import sys

if __name__ == "__main__":  # started with -S: the environment's packages are added explicitly
    import importlib.util
    import site
    for _folder in filter(None, os.environ.get("ISOGRADE_SITE", "").split(":")):
        site.addsitedir(_folder)
    # this folder as a package of its own name: its modules import each other relatively, and nothing of
    # it is on sys.path, where a student's module of the same name (wire.py, shell.py) would meet it
    _here = os.path.dirname(os.path.abspath(__file__))
    _spec = importlib.util.spec_from_file_location("_isograde_worker", os.path.join(_here, "__init__.py"),
                                                   submodule_search_locations=[_here])
    sys.modules["_isograde_worker"] = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(sys.modules["_isograde_worker"])
    from _isograde_worker import holding, wire
    from _isograde_worker.child import Child
    from _isograde_worker.folder import WORK
    from _isograde_worker.shell import CollectingShell, new_shell
else:
    from . import holding, wire
    from .child import Child
    from .folder import WORK
    from .shell import CollectingShell, new_shell


# ------------------------------------------------------------------------------------------------
# The zygote
# ------------------------------------------------------------------------------------------------

class WorkerShell(CollectingShell):
    """The student's IPython: frames of the notebook's cells in tracebacks."""

    prepared = None

    def prepare(self, source):
        """IPython's static transformation of a cell is a function of its source alone: the zygote makes it
        once for the given cells that every submission runs, and each child finds it ready."""
        manager = self.input_transformer_manager
        if self.prepared is None:
            self.prepared, transform = {}, manager.transform_cell
            manager.transform_cell = lambda cell: self.prepared.get(cell) or transform(cell)
        if isinstance(source, str) and source not in self.prepared:
            with contextlib.suppress(Exception):
                self.prepared[source] = manager.transform_cell(source)


def _no_input(prompt=""):
    from IPython.core.error import StdinNotImplementedError
    raise StdinNotImplementedError("raw_input was called, but this frontend does not support input requests.")


def preload():
    import numpy
    import numpy.random  # noqa: F401  (numpy imports it lazily: once here rather than in every child)
    holding.MUTABLE_DATA_TYPES.types += (numpy.ndarray,)
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
        if request.get("op") == "warm" and not fds:
            SHELL.prepare(request.get("source"))
            continue
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
                elif message.get("op") == "warm" and not extra:  # sent while this child ends: for the next
                    SHELL.prepare(message.get("source"))
        os.close(exited)
        kill_leftovers(pid)
        if os.environ.get("ISOGRADE_SANDBOXED"):
            wipe("/tmp")
        control.send({"ended": pid, "status": status})


SHELL = None

if __name__ == "__main__":
    zygote_main()
