"""Start JupyterLab for the course: python -m coursekit.platforms.lab [--course DIR] [--port N] [--open]

JupyterLab runs in the course directory (so nbgrader's formgrader and Validate button use the course's
nbgrader_config.py), listens on 127.0.0.1 only, always asks for a token (a fresh random one unless
given) and has nbgrader's server extensions enabled (formgrader at /formgrader, Validate, assignment
and course lists). nbgrader's exchange folder is created if missing. The command waits until the
server answers, then prints the address to open, token included; Ctrl-C stops it.
"""
import argparse
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from coursekit.errors import InputError

HOST = "127.0.0.1"  # loopback only: JupyterLab runs code, it must never listen on a public interface
NBGRADER_SERVER_EXTENSIONS = (
    "nbgrader.server_extensions.formgrader",
    "nbgrader.server_extensions.validate_assignment",
    "nbgrader.server_extensions.assignment_list",
    "nbgrader.server_extensions.course_list",
)


class LabError(InputError):
    """JupyterLab did not start, or started without what the course needs."""


def free_port(host=HOST):
    """A TCP port on ``host`` that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def exchange_root(course_root):
    """nbgrader's exchange folder for this course: ``c.Exchange.root`` of the course's
    nbgrader_config.py, else nbgrader's default (/usr/local/share/nbgrader/exchange)."""
    from nbgrader.exchange.default.exchange import Exchange
    from traitlets.config.loader import load_pyconfig_files

    root = Exchange.root.default_value
    try:
        config = load_pyconfig_files(["nbgrader_config.py"], course_root)
        root = config.Exchange.get("root", root)
    except Exception:  # an unreadable config shows up again, with its real message, when nbgrader loads it
        pass
    return root


def ensure_exchange(course_root, log=print):
    """Create the exchange folder, writable by everyone as nbgrader asks, if it does not exist.
    Returns its path, or None when it cannot be created (nbgrader's Assignments tab then says so)."""
    root = exchange_root(course_root)
    if os.path.isdir(root):
        return root
    try:
        os.makedirs(root)
        os.chmod(root, 0o777)
    except OSError as error:
        log(f"warning: cannot create nbgrader's exchange folder {root} ({error.strerror}); the formgrader "
            f"and Validate work without it. To use the exchange: sudo mkdir -p {root} && sudo chmod 777 {root}")
        return None
    return root


def lab_command(course_root, port, token, extra_args=()):
    """The JupyterLab command line (token and loopback address given explicitly, so that no
    configuration file can turn either off)."""
    command = [
        sys.executable, "-m", "jupyterlab",
        "--no-browser",
        f"--ServerApp.ip={HOST}",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",  # never silently move to another port than the one printed
        f"--ServerApp.root_dir={course_root}",
        f"--IdentityProvider.token={token}",
    ]
    for extension in NBGRADER_SERVER_EXTENSIONS:
        command.append(f"--ServerApp.jpserver_extensions={extension}=True")
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")
    return command + list(extra_args)


def _get(url, token, timeout=5):
    request = urllib.request.Request(url, headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.status, response.read()


def lab_url(port, token, path="lab"):
    return f"http://{HOST}:{port}/{path.lstrip('/')}?token={token}"


def start_lab(course_root, port=None, token=None, open_browser=False, env=None, extra_args=(), log_file=None,
              timeout=90, log=print):
    """Start JupyterLab on the course and wait until it answers.

    ``port``: None or 0 picks a free port of 127.0.0.1. ``token``: None makes a random one.
    ``env``: extra environment variables for the server and its kernels. ``log_file``: an open file
    for the server's log (default: this process's stdout and stderr). Returns ``(process, url)``;
    the process leads its own process group: stop it with ``stop_lab(process)``.
    """
    course_root = os.path.abspath(course_root)
    if not os.path.isfile(os.path.join(course_root, "nbgrader_config.py")):
        raise LabError(f"{course_root} is not an nbgrader course directory (no nbgrader_config.py).")
    token = token or secrets.token_hex(24)
    ensure_exchange(course_root, log=log)
    environment = dict(os.environ)
    # nbgrader calls alembic (and kernels find jupyter) through PATH: this interpreter's bin/ first.
    environment["PATH"] = os.path.dirname(sys.executable) + os.pathsep + environment.get("PATH", "")
    environment.update(env or {})

    attempts = 1 if port else 3  # a port picked here may be taken by someone else before the server binds it
    for attempt in range(attempts):
        chosen = port or free_port()
        process = subprocess.Popen(lab_command(course_root, chosen, token, extra_args), cwd=course_root,
                                   env=environment, stdin=subprocess.DEVNULL, stdout=log_file,
                                   stderr=subprocess.STDOUT if log_file else None, start_new_session=True)
        try:
            _wait_until_ready(process, chosen, token, timeout)
            break
        except LabError:
            exited_by_itself = process.poll() is not None  # e.g. the port was taken meanwhile
            stop_lab(process)
            if attempt + 1 == attempts or not exited_by_itself:
                raise
        except BaseException:  # Ctrl-C while waiting: the server has its own process group, stop it too
            stop_lab(process)
            raise
    url = lab_url(chosen, token)
    if open_browser:
        import webbrowser
        webbrowser.open(url)
    return process, url


def _wait_until_ready(process, port, token, timeout):
    """Poll /api/status until the server answers, then check that the formgrader is there."""
    deadline = time.monotonic() + timeout
    status_url = f"http://{HOST}:{port}/api/status"
    while True:
        if process.poll() is not None:
            raise LabError(f"JupyterLab exited with code {process.returncode} before answering on port {port}.")
        try:
            code, _ = _get(status_url, token, timeout=2)
            if code == 200:
                break
        except (urllib.error.URLError, ConnectionError, OSError):
            pass
        if time.monotonic() > deadline:
            raise LabError(f"JupyterLab did not answer on {status_url} within {timeout} s.")
        time.sleep(0.25)
    try:
        _get(f"http://{HOST}:{port}/formgrader/api/status", token)
    except urllib.error.HTTPError as error:
        raise LabError(f"JupyterLab runs but nbgrader's formgrader does not answer (HTTP {error.code}): "
                       "is nbgrader installed in this environment?") from None


def formgrader_assignments(url, timeout=10):
    """The formgrader's list of assignments ({name: summary}) as the running server sees it."""
    base, token = url.split("/lab?token=")
    _, body = _get(f"{base}/formgrader/api/assignments", token, timeout=timeout)
    return {assignment["name"]: assignment for assignment in json.loads(body)}


def stop_lab(process, timeout=15):
    """Stop JupyterLab and everything in its process group (SIGTERM, then SIGKILL). The server shuts
    its kernels down on SIGTERM; kernels left behind by a SIGKILL exit when their parent is gone."""
    if process.poll() is not None:
        return process.returncode
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        try:
            return process.wait(wait)
        except subprocess.TimeoutExpired:
            continue
    return process.poll()


def add_arguments(parser):
    """The options of ``lab`` (for ``python -m coursekit lab`` and ``python -m coursekit.platforms.lab``)."""
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    parser.add_argument("--token", help="the access token (default: a new random one)")
    parser.add_argument("--open", action="store_true", help="open the address in a web browser")


def run(args, course=None):
    """Start JupyterLab on the course, print its address, and serve until Ctrl-C (or SIGTERM)."""
    course = os.path.abspath(course or getattr(args, "course", None) or os.getcwd())

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    # The server leads its own process group (so that stop_lab reaches all of it): a Ctrl-C or a
    # SIGTERM sent to this command stops it too.
    previous = {sig: signal.signal(sig, interrupt) for sig in (signal.SIGTERM, signal.SIGHUP)}
    process = None
    try:
        process, url = start_lab(course, port=args.port or None, token=args.token, open_browser=args.open)
        print(f"\nJupyterLab for the course in {course} is running. Open (the token is the password):\n\n"
              f"    {url}\n\nformgrader (instructors): {url.replace('/lab?', '/formgrader?')}\n"
              "Press Ctrl-C to stop it.\n", flush=True)
        return process.wait()
    except KeyboardInterrupt:
        print("Stopping JupyterLab ...", flush=True)
        return 0
    finally:
        if process is not None:
            stop_lab(process)
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m coursekit.platforms.lab", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--course", default=os.getcwd(), help="the nbgrader course directory (default: here)")
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return run(args)
    except LabError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
