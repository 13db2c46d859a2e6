"""Run a grading kernel inside a bubblewrap sandbox.

nbgrader starts each notebook's kernel from a kernelspec; the kit's kernelspec (written by
``install_kernelspec``) runs ``python -m hw3kit.sandbox CONNECTION_FILE`` instead of the kernel.
Outside the sandbox this module builds the ``bwrap`` command and replaces itself with it; inside,
it lowers the limits, drops to an unprivileged user and becomes ``ipykernel``.

What the student's code sees: the submission folder (the kernel's working directory, read-write,
except the files nbgrader copied from source/ such as public_tests.py, which are read-only),
the Python environment and the system's programs and libraries (read-only), an empty /tmp, and
nothing else: not the course directory (source/, gradebook.db, other students), not /root or /home,
not the network (its own network namespace), and no other process (its own PID namespace). Limits:
address space, CPU time, number of processes, file size. The kernel talks to nbgrader through Unix
sockets (``KernelManager.transport = "ipc"``) in a runtime folder shared with the sandbox.

bubblewrap (Debian package ``bubblewrap``) does the isolation: it is the maintained tool for
unprivileged Linux namespaces. What is written here is only the list of folders to show.
"""
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile

KERNEL_NAME = "hw3kit-sandbox"
# Each sandboxed kernel runs as a user id of its own (no account needed), so that one submission's
# processes never count against another's process limit: 100000 + the launcher's process id.
FIRST_SANDBOX_UID = 100000
SYSTEM_PATHS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/etc")
LIMITS = {  # resource: (soft, hard); a fork bomb stops at the process limit, a memory bomb at the address space
    resource.RLIMIT_AS: 4 * 1024**3,
    resource.RLIMIT_CPU: 600,
    resource.RLIMIT_NPROC: 128,
    resource.RLIMIT_FSIZE: 256 * 1024**2,
}


class SandboxUnavailable(RuntimeError):
    """The sandbox cannot be set up on this machine; the message says why and what to do."""


def python_paths():
    """Folders the kernel's Python needs, read-only: the environment, its base, and the kit itself."""
    import hw3kit
    paths = {sys.prefix, sys.base_prefix, os.path.dirname(os.path.abspath(hw3kit.__file__))}
    mnist = os.environ.get("HW3_MNIST_PATH")
    if mnist and os.path.exists(mnist):
        paths.add(os.path.abspath(mnist))
    return sorted(p for p in paths if p and os.path.exists(p))


def _parents_with_dirs(path):
    """bwrap options that create the folders above ``path`` world-traversable (0755)."""
    options, current = [], "/"
    for part in os.path.abspath(path).strip("/").split("/")[:-1]:
        current = os.path.join(current, part)
        options += ["--perms", "0755", "--dir", current]
    return options


def bwrap_command(workdir, runtime_dir, inner):
    """The bwrap command that runs ``inner`` with only ``workdir`` (rw) and ``runtime_dir`` (rw) visible
    beside the system and the Python environment (ro)."""
    bwrap = shutil.which("bwrap")
    if not bwrap:
        raise SandboxUnavailable("bubblewrap is not installed (apt-get install bubblewrap)")
    command = [bwrap, "--die-with-parent", "--new-session", "--unshare-ipc", "--unshare-pid", "--unshare-net",
               "--unshare-uts", "--unshare-cgroup-try", "--proc", "/proc", "--dev", "/dev",
               "--perms", "1777", "--tmpfs", "/tmp"]
    for path in SYSTEM_PATHS:
        command += ["--ro-bind-try", path, path]
    for path in python_paths():
        command += _parents_with_dirs(path) + ["--ro-bind", path, path]
    for path in (runtime_dir, workdir):
        command += _parents_with_dirs(path) + ["--bind", path, path]
    for name in sorted(os.listdir(workdir)):  # the test helpers nbgrader copied in stay as they are
        path = os.path.join(workdir, name)
        if os.path.isfile(path) and not name.endswith(".ipynb"):
            command += ["--ro-bind", path, path]
    command += ["--chdir", workdir, "--setenv", "HOME", "/tmp", "--setenv", "MPLCONFIGDIR", "/tmp",
                "--setenv", "TMPDIR", "/tmp", "--setenv", "XDG_CACHE_HOME", "/tmp",
                # the kernel's parent is outside its PID namespace: it must not poll for it
                "--unsetenv", "JPY_PARENT_PID"]
    if os.geteuid() == 0:  # root: keep only what the inner step needs to give the folder away and drop to its own user
        command += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", "--cap-add", "CAP_CHOWN"]
    return command + ["--", *inner]


def check_available():
    """Raise SandboxUnavailable unless a trivial command runs in the sandbox here."""
    with tempfile.TemporaryDirectory() as scratch:
        command = bwrap_command(scratch, scratch, [sys.executable, "-c", "print('ok')"])
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired) as error:
            raise SandboxUnavailable(f"bubblewrap could not run: {error}") from None
        if done.returncode != 0 or done.stdout.strip() != "ok":
            raise SandboxUnavailable(f"bubblewrap failed here: {done.stderr.strip()[:300]}")


def install_kernelspec(folder):
    """Write the sandboxed kernelspec under ``folder``/kernels and return ``folder`` (for JUPYTER_PATH)."""
    spec_dir = os.path.join(folder, "kernels", KERNEL_NAME)
    os.makedirs(spec_dir, exist_ok=True)
    with open(os.path.join(spec_dir, "kernel.json"), "w") as handle:
        json.dump({"argv": [sys.executable, "-m", "hw3kit.sandbox", "{connection_file}"],
                   "display_name": "Python 3 (hw3kit sandbox)", "language": "python",
                   # signals do not cross into the sandbox's PID namespace; interrupts go as messages
                   "interrupt_mode": "message",
                   "metadata": {"debugger": False}}, handle)
    return folder


def _outside(connection_file, kernel_arguments):
    runtime_dir = os.path.dirname(os.path.abspath(connection_file))
    uid = str(FIRST_SANDBOX_UID + os.getpid())
    inner = [sys.executable, "-m", "hw3kit.sandbox", "--inside", uid, os.path.abspath(connection_file),
             *kernel_arguments]
    command = bwrap_command(os.getcwd(), runtime_dir, inner)
    os.execv(command[0], command)


def _inside(uid, connection_file, kernel_arguments):
    for limit, value in LIMITS.items():
        resource.setrlimit(limit, (value, value))
    if os.geteuid() == 0:
        # The connection file is root's (mode 0600): hand the kernel a readable copy, give it the
        # submission folder, then become the sandbox's own user with no capabilities left.
        with open(connection_file) as handle:
            info = handle.read()
        copy = connection_file[:-5] + "-sandbox.json" if connection_file.endswith(".json") else connection_file + ".sandbox"
        with open(copy, "w") as handle:
            handle.write(info)
        os.chmod(copy, 0o644)
        for root, folders, files in os.walk(os.getcwd()):
            for name in [root] + [os.path.join(root, n) for n in folders + files]:
                try:
                    os.chown(name, uid, uid)
                except OSError:  # the read-only test helpers keep their owner
                    pass
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
        connection_file = copy
    os.execv(sys.executable, [sys.executable, "-m", "ipykernel_launcher", "-f", connection_file, *kernel_arguments])


if __name__ == "__main__":
    # nbgrader appends its kernel arguments (Execute.extra_arguments) after the connection file.
    if sys.argv[1:2] == ["--inside"]:
        _inside(int(sys.argv[2]), sys.argv[3], sys.argv[4:])
    else:
        _outside(sys.argv[1], sys.argv[2:])
