"""The whole course on one JupyterHub: python -m coursekit hub [--state DIR] [--port N] [--prefix P] [--clean]

Starts a real JupyterHub (hub/jupyterhub_config.py) on 127.0.0.1 for this course, with an instructor and
two students, each a system account of its own (created with useradd, marked as the demo's) whose
JupyterLab runs as that account in its home folder. Everything is named after the course id
(c.CourseDirectory.course_id of nbgrader_config.py): the accounts <course id>-instructor, <course id>-student1
and -student2 (--prefix chooses another prefix), nbgrader's exchange folder of the course, and the
instructor's course directory ~/<course id>/. The exchange is a folder of the demo's state (default .hub/ in
the course); the instructor's course directory is a copy of this course (source/, grader/, release/,
nbgrader_config.py, autotests.yml) in the instructor's home, which nobody else can enter. The instructor has the formgrader; students have the Assignments list and Validate.
Passwords are generated at each start and printed once; Ctrl-C stops the hub and every user's server.
``--clean`` removes the demo's accounts (and their homes), the exchange and the hub's state.

Needs root (it creates system accounts), nodejs and npm (configurable-http-proxy is installed from the npm
registry into the state folder, at the version pinned in hub/package.json).
"""
import argparse
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from coursekit.platforms.hubaccounts import (account, check_reachable, is_demo_account, prepare_accounts,
                                             remove_account, stop_processes_of)
from coursekit.platforms.hubauth import write_password_file
from coursekit.platforms.hubinstall import install_proxy, install_users_env, users_mathjax
from coursekit.platforms.hublayout import HUB_FILES, HubError, HubLayout, course_id
from coursekit.platforms.lab import HOST, free_port


# --- the hub ----------------------------------------------------------------------------------------

@dataclass
class RunningHub:
    process: subprocess.Popen
    url: str
    passwords: dict
    layout: HubLayout
    log_path: Path

    def user_url(self, user, path="lab"):
        return f"{self.url}user/{user}/{path.lstrip('/')}"


def hub_settings(layout, port, proxy, bin_dir, environment, serve=False):
    settings = {
        "port": port, "hub_port": free_port(), "proxy_api_port": free_port(), "proxy_command": str(proxy),
        "run_dir": str(layout.run_dir), "password_file": str(layout.password_file),
        "instructor": layout.instructor, "students": layout.students,
        "bin_dir": str(bin_dir), "environment": environment or {},
    }
    if serve:  # grade on submit: `coursekit serve` as the instructor, on the instructor's course, a hub service
        settings["serve"] = {"command": [str(Path(bin_dir) / "python"), "-m", "coursekit", "serve", "--course",
                                         str(layout.course_dir)],
                             "cwd": str(layout.course_dir), "home": str(layout.home(layout.instructor))}
    return settings


def start_hub(layout, port=None, environment=None, timeout=90, log=print, serve=False):
    """Set up the accounts, the exchange and the course, start JupyterHub, wait until it answers.
    ``environment``: extra variables for every user's server; ``serve``: the hub also runs `coursekit serve`
    (grade on submit) as the instructor. Returns a RunningHub; stop it with stop_hub."""
    if os.geteuid() != 0:
        raise HubError("the hub creates system accounts and starts servers as them: run it as root (sudo make hub).")
    for tool in ("useradd", "userdel", "tar"):
        if not shutil.which(tool):
            raise HubError(f"{tool} is missing (Debian: apt-get install passwd tar).")
    course = course_id(layout.course)
    layout.state.mkdir(parents=True, exist_ok=True)
    check_reachable(layout.state, "the demo's homes and exchange")
    layout.cache.mkdir(parents=True, exist_ok=True)
    check_reachable(layout.cache, "the users' Python environment")
    os.chmod(layout.cache, 0o755)
    os.chmod(layout.state, 0o755)
    layout.home_dir.mkdir(exist_ok=True)
    os.chmod(layout.home_dir, 0o755)
    layout.run_dir.mkdir(mode=0o700, exist_ok=True)
    os.chmod(layout.run_dir, 0o700)
    node_modules = users_mathjax(layout, log=log)
    proxy = install_proxy(layout, log=log)
    bin_dir = install_users_env(layout, log=log)
    prepare_accounts(layout, course, bin_dir, node_modules)
    passwords = {user: secrets.token_urlsafe(12) for user in layout.users}
    write_password_file(layout.password_file, passwords)

    settings_path = layout.run_dir / "settings.json"
    log_path = layout.run_dir / "jupyterhub.log"
    attempts = 1 if port else 3  # a port picked here may be taken before the proxy binds it
    for attempt in range(attempts):
        chosen = port or free_port()
        settings_path.write_text(json.dumps(hub_settings(layout, chosen, proxy, bin_dir, environment, serve), indent=1))
        env = dict(os.environ, HW3_HUB_SETTINGS=str(settings_path),
                   PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
        with open(log_path, "a") as log_file:
            process = subprocess.Popen([os.path.join(os.path.dirname(sys.executable), "jupyterhub"),
                                        "-f", str(HUB_FILES / "jupyterhub_config.py")], cwd=layout.run_dir, env=env,
                                       stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT,
                                       start_new_session=True)
        url = f"http://{HOST}:{chosen}/"
        try:
            _wait_until_ready(process, url, timeout, log_path)
            return RunningHub(process, url, passwords, layout, log_path)
        except HubError:
            exited_by_itself = process.poll() is not None
            stop_hub(process, layout)
            if attempt + 1 == attempts or not exited_by_itself:
                raise
        except BaseException:
            stop_hub(process, layout)
            raise


def _wait_until_ready(process, url, timeout, log_path):
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise HubError(f"JupyterHub exited with code {process.returncode}; its log {log_path} ends with:\n"
                           + "\n".join(Path(log_path).read_text().splitlines()[-15:]))
        try:
            with urllib.request.urlopen(f"{url}hub/api/", timeout=2) as response:
                if response.status == 200 and "version" in json.load(response):
                    return
        except (urllib.error.URLError, ConnectionError, OSError, ValueError):
            pass
        if time.monotonic() > deadline:
            raise HubError(f"JupyterHub did not answer on {url} within {timeout} s (log: {log_path}).")
        time.sleep(0.3)


def stop_hub(process, layout, timeout=30):
    """Stop JupyterHub (it stops the proxy and every user's server), then whatever a demo account still runs."""
    if process.poll() is None:
        try:
            os.kill(process.pid, signal.SIGTERM)
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            pass
        except ProcessLookupError:
            pass
    try:
        os.killpg(process.pid, signal.SIGKILL)  # the proxy, if the hub could not stop it
    except (ProcessLookupError, PermissionError):
        pass
    process.wait()
    for name in layout.users:
        entry = account(name)
        if is_demo_account(entry, layout):
            stop_processes_of(entry.pw_uid)
    return process.returncode


def clean(layout, log=print):
    """Remove the demo's accounts (and homes), exchange and hub state; the installed proxy is kept."""
    pid_file = layout.run_dir / "jupyterhub.pid"
    if pid_file.exists():
        try:
            pid = int(pid_file.read_text().strip())
            if b"jupyterhub" in Path(f"/proc/{pid}/cmdline").read_bytes():
                log(f"stopping the running hub (pid {pid}) ...")
                os.kill(pid, signal.SIGTERM)
                deadline = time.monotonic() + 30
                while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
                    time.sleep(0.3)
        except (ValueError, OSError):
            pass
    removed = [name for name in layout.users if remove_account(name, layout, log=log)]
    for folder in (layout.exchange, layout.run_dir, layout.home_dir):
        shutil.rmtree(folder, ignore_errors=True)
    return removed


def welcome(hub):
    lines = [f"\nJupyterHub for the course is running at {hub.url} (127.0.0.1 only).",
             "Log in with these accounts (the passwords are shown only now):", ""]
    width = max(len(user) for user in hub.passwords)
    for user, password in hub.passwords.items():
        role = "instructor: Nbgrader > Formgrader: Generate, Release, Collect" if user == hub.layout.instructor \
            else "student: Nbgrader > Assignment List: Fetch, Validate, Submit"
        lines.append(f"    {user:<{width}}  {password}   ({role})")
    lines += ["", f"The instructor's course directory: {hub.layout.course_dir}",
              f"nbgrader's exchange: {hub.layout.exchange}",
              f"Grade in the instructor's terminal: python -m coursekit grade --course ~/{hub.layout.course_dir.name}",
              "Press Ctrl-C to stop the hub and every user's server (make hub-clean removes the accounts).", ""]
    return "\n".join(lines)


def add_arguments(parser):
    """The options of ``hub`` (for ``python -m coursekit hub`` and ``python -m coursekit.platforms.hub``)."""
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    parser.add_argument("--state", help="folder for the exchange, the accounts' homes and the hub's state "
                                        "(default: .hub in the course)")
    parser.add_argument("--prefix", help="prefix of the accounts' names (default: the course id and '-', e.g. "
                                         "<course id>-instructor)")
    parser.add_argument("--no-serve", action="store_true",
                        help="do not grade on submit (by default the hub runs `coursekit serve` as the instructor: "
                             "each submission is graded and its feedback released to its student within seconds)")
    parser.add_argument("--clean", action="store_true",
                        help="remove the demo's accounts, homes, exchange and hub state, then exit")


def run(args, course=None):
    course = Path(course or getattr(args, "course", None) or os.getcwd()).absolute()
    layout = HubLayout(Path(args.state) if args.state else course / ".hub", course, prefix=args.prefix)
    if args.clean:
        removed = clean(layout)
        print(f"Removed the accounts {', '.join(removed) or '(none)'}, the exchange and the hub's state in {layout.state}.")
        return 0

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    previous = {sig: signal.signal(sig, interrupt) for sig in (signal.SIGTERM, signal.SIGHUP)}
    hub = None
    try:
        hub = start_hub(layout, serve=not args.no_serve)
        print(welcome(hub), flush=True)
        return hub.process.wait()
    except KeyboardInterrupt:
        print("Stopping JupyterHub ...", flush=True)
        return 0
    finally:
        if hub is not None:
            stop_hub(hub.process, layout)
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m coursekit.platforms.hub", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--course", default=os.getcwd(), help="the nbgrader course directory (default: here)")
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return run(args)
    except HubError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
