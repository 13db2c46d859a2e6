"""The student-side zygote, from the grader: started once per grading process (sandboxed with bubblewrap,
``isograde.sandbox``), it forks one fresh ``Worker`` per submission (``Zygote.spawn``) and cleans up after it.
Control messages are small (a SOCK_SEQPACKET socket, one message per packet)."""
import contextlib
import os
import socket
import subprocess
import tempfile
import threading

from isograde import sandbox
from isograde.remote import Worker
from isograde.worker import wire

CHILD_LIMITS = {"RLIMIT_AS": 6 * 1024**3, "RLIMIT_CPU": 600, "RLIMIT_NPROC": 64, "RLIMIT_FSIZE": 64 * 1024**2}
TMP_BYTES = 512 * 1024**2
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
