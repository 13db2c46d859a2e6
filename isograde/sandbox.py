"""Start the student-side zygote (``isograde/worker/runtime.py``), sandboxed with bubblewrap.

What the sandbox shows, all read-only: the system's programs and libraries, the Python interpreter
(at /opt/python), the environment's site-packages (at /opt/site) and the worker runtime (at
/opt/isograde); plus an empty, writable /tmp and a minimal /dev. Not shown: the course directory
(source/, grader/, gradebook.db, other students), the grader's code, /root, /home, /proc. The
environment is cleared (no variable of the grader's shell). Own network (none), PID, IPC and UTS
namespaces. Run as root, the zygote keeps only the capabilities to manage its children, and each child
becomes a user id of its own, with no capability left, before any student code runs.

Files of site-packages that would name the course directory (an editable install's finder and
``.pth``, ``direct_url.json``) are covered with empty files. bubblewrap (Debian ``bubblewrap``) does
the isolation: this module only lists what to show.
"""
import contextlib
import itertools
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time

RUNTIME_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "worker")
SYSTEM_PATHS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/etc/ld.so.cache", "/etc/fonts",
                "/etc/alternatives")
FIRST_UID = 200000  # children run as FIRST_UID + n: no account is needed


class SandboxUnavailable(RuntimeError):
    """The sandbox cannot be set up on this machine; the message says why and what to do."""


def site_packages():
    return [p for p in dict.fromkeys([sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]])
            if os.path.isdir(p)]


def _revealing_files(folder, secrets):
    """Files in site-packages whose text names one of ``secrets`` (editable installs point home)."""
    found = []
    for name in os.listdir(folder):
        path = os.path.join(folder, name)
        if name.startswith("__editable__"):  # an editable install's hook: useless without its source
            found.append(path)
            continue
        candidates = []
        if name.endswith(".pth"):
            candidates.append(path)
        elif name.endswith((".dist-info", ".egg-info")):
            candidates += [os.path.join(path, n) for n in ("direct_url.json", "RECORD", "SOURCES.txt")]
        elif name.endswith(".egg-link"):
            candidates.append(path)
        for candidate in candidates:
            try:
                with open(candidate, "rb") as handle:
                    text = handle.read(1 << 20)
            except OSError:
                continue
            if any(secret.encode() in text for secret in secrets):
                found.append(candidate)
    return found


def bwrap_command(secrets, uid):
    bwrap = shutil.which("bwrap")
    if not bwrap:
        raise SandboxUnavailable("bubblewrap is not installed (Debian: apt-get install bubblewrap)")
    # As root, no user namespace: the zygote gives up root for a uid of its own (setuid needs the real
    # thing). Unprivileged, bubblewrap makes a user namespace and the process is unprivileged already.
    unshare = (["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try"]
               if os.geteuid() == 0 else ["--unshare-all"])
    command = [bwrap, "--die-with-parent", "--new-session", *unshare, "--clearenv",
               "--dev", "/dev", "--perms", "1777", "--tmpfs", "/tmp"]
    for path in SYSTEM_PATHS:
        command += ["--ro-bind-try", path, path]
    command += ["--perms", "0755", "--dir", "/opt", "--ro-bind", sys.base_prefix, "/opt/python",
                "--ro-bind", RUNTIME_DIR, "/opt/isograde"]
    sites = []
    for index, folder in enumerate(site_packages()):
        target = f"/opt/site{index}"
        command += ["--ro-bind", folder, target]
        for path in _revealing_files(folder, secrets):
            command += ["--ro-bind", "/dev/null", target + path[len(folder):]]
        sites.append(target)
    python = os.path.join("/opt/python", os.path.relpath(os.path.realpath(sys._base_executable), sys.base_prefix))
    environment = {"PATH": "/usr/bin:/bin", "HOME": "/tmp", "TMPDIR": "/tmp", "MPLCONFIGDIR": "/tmp/.matplotlib",
                   "MPLBACKEND": "Agg", "LD_LIBRARY_PATH": "/opt/python/lib", "OPENBLAS_NUM_THREADS": "1",
                   "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONDONTWRITEBYTECODE": "1",
                   "PYTHONHASHSEED": "0", "ISOGRADE_SITE": ":".join(sites), "ISOGRADE_SANDBOXED": "1",
                   "ISOGRADE_UID": str(uid), "LANG": "C.UTF-8"}
    for name, value in environment.items():
        command += ["--setenv", name, value]
    # The zygote gives each child a /tmp and an IPC namespace of its own (CAP_SYS_ADMIN, for that alone:
    # runtime.private_tmp), and as root a uid of its own; it kills and cleans up after each child.
    capabilities = ("CAP_SETUID", "CAP_SETGID", "CAP_KILL", "CAP_FOWNER", "CAP_DAC_OVERRIDE", "CAP_SYS_ADMIN") \
        if os.geteuid() == 0 else ("CAP_SYS_ADMIN",)
    for capability in capabilities:
        command += ["--cap-add", capability]
    return command + ["--chdir", "/tmp", python, "-S", "-E", "-s", "-B", "/opt/isograde/runtime.py"]


class MemoryGroup:
    """A memory cgroup holding one zygote and its workers, so that everything a worker can pin
    (its processes, its /tmp, shared memory) counts against one limit. Made where this process may make
    one (root, a writable cgroup v1 memory hierarchy or a delegated cgroup v2); elsewhere the rlimits
    and the size of each worker's /tmp bound it."""

    def __init__(self, path):
        self.path = path

    @classmethod
    def create(cls, limit):
        base = _memory_cgroup_base()
        if base is None:
            return None
        path = os.path.join(base, f"isograde-{os.getpid()}-{next(_GROUPS)}")
        try:
            os.mkdir(path)
            name = "memory.max" if os.path.exists(os.path.join(path, "memory.max")) else "memory.limit_in_bytes"
            with open(os.path.join(path, name), "w") as handle:
                handle.write(str(int(limit)))
            swap = os.path.join(path, "memory.swap.max")
            if os.path.exists(swap):
                with open(swap, "w") as handle:
                    handle.write("0")
        except OSError:
            with contextlib.suppress(OSError):
                os.rmdir(path)
            return None
        return cls(path)

    def enter(self):
        """Run in the child process before it executes bubblewrap (Popen's preexec_fn)."""
        with open(os.path.join(self.path, "cgroup.procs"), "w") as handle:
            handle.write(str(os.getpid()))

    def remove(self):
        for _ in range(50):
            try:
                os.rmdir(self.path)
                return
            except FileNotFoundError:
                return
            except OSError:
                time.sleep(0.05)


_GROUPS = itertools.count(1)


def _memory_cgroup_base():
    """The folder under which this process may make a memory cgroup, or None."""
    try:
        with open("/proc/self/cgroup") as handle:
            lines = handle.read().splitlines()
    except OSError:
        return None
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if "memory" in controllers.split(","):
            base = os.path.join("/sys/fs/cgroup/memory", path.lstrip("/"))
            if os.access(base, os.W_OK) and os.path.exists(os.path.join(base, "memory.limit_in_bytes")):
                return base
    for line in lines:
        if line.startswith("0::"):
            base = os.path.join("/sys/fs/cgroup", line[3:].lstrip("/"))
            try:
                with open(os.path.join(base, "cgroup.subtree_control")) as handle:
                    delegated = "memory" in handle.read().split()
            except OSError:
                delegated = False
            if delegated and os.access(base, os.W_OK):
                return base
    return None


def plain_command():
    """The zygote without a sandbox (``--no-sandbox``: only for code you trust)."""
    environment = {"PATH": "/usr/bin:/bin", "HOME": tempfile.gettempdir(), "MPLBACKEND": "Agg",
                   "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "PYTHONDONTWRITEBYTECODE": "1",
                   "ISOGRADE_SITE": ":".join(site_packages()), "LANG": "C.UTF-8"}
    return [sys.executable, "-S", "-E", "-s", "-B", os.path.join(RUNTIME_DIR, "runtime.py")], environment


def check_available():
    """Raise SandboxUnavailable unless a trivial command runs in the sandbox here."""
    try:
        command = bwrap_command([], FIRST_UID)[:-6] + ["/bin/true"]
        done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise SandboxUnavailable(f"bubblewrap could not run: {error}") from None
    if done.returncode != 0:
        raise SandboxUnavailable(f"bubblewrap failed here: {done.stderr.strip()[:300]} (where unprivileged user "
                                 "namespaces are disabled, run the grader as root or enable them)")
