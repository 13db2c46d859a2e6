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
import hashlib
import io
import json
import os
import pwd
import secrets
import shlex
import shutil
import signal
import subprocess
import sys
import tarfile
import time
import urllib.error
import re
import urllib.request
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from coursekit.platforms.hubauth import write_password_file
from coursekit.platforms.lab import HOST, free_port
from coursekit.errors import InputError

REPO = Path(__file__).resolve().parents[2]
MATHJAX_MODULES = REPO / "node_modules"  # `make` installs MathJax there (package.json): feedback maths
HUB_FILES = REPO / "hub"  # jupyterhub_config.py, and package.json + package-lock.json of the proxy
ACCOUNT_MARK = "coursekit hub demo"  # the GECOS field of the accounts the demo creates: only those are removed
COURSE_CONTENT = ("source", "grader", "release", "nbgrader_config.py", "autotests.yml")  # those the course has
MAX_ACCOUNT_NAME = 32  # useradd's limit on a name (Debian)
# The users' environment is requirements.txt without what only the kit's own tests use.
TEST_ONLY_PACKAGES = ("tensorflow", "pytest", "pytest-xdist", "selenium")
SYSTEM_PYTHON = "/usr/bin/python3"
FORMGRADER_EXTENSION = "nbgrader.server_extensions.formgrader"
INSTRUCTOR_ONLY_LAB_PLUGINS = ("@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment")
QUIET_LAB = {  # no news or update check: the hub has no internet, and nothing pops up over the page
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false",
                                                                       "checkForUpdates": False},
}


class HubError(InputError):
    """The hub cannot be set up or started here; the message says why and what to do."""


@dataclass
class HubLayout:
    """Where the demo keeps everything, and the names of its accounts."""

    state: Path
    course: Path  # the course to serve (this repository by default)
    prefix: str = None  # of the accounts' names (default: from the course id, account_prefix)
    student_count: int = 2
    cache: Path = None  # the installed proxy and users' environment, kept by --clean (default: state)

    def __post_init__(self):
        self.state, self.course = Path(self.state).absolute(), Path(self.course).absolute()
        self.cache = Path(self.cache).absolute() if self.cache else self.state
        if self.prefix is None:
            self.prefix = account_prefix(self.course_id)

    @cached_property
    def course_id(self):
        return course_id(self.course)

    run_dir = property(lambda self: self.state / "run")  # hub database, cookie secret, password hashes: root only
    home_dir = property(lambda self: self.state / "home")
    exchange = property(lambda self: self.state / "exchange")
    proxy_dir = property(lambda self: self.cache / "proxy")
    env_dir = property(lambda self: self.cache / "env")  # the users' Python environment
    password_file = property(lambda self: self.run_dir / "passwords.json")
    instructor = property(lambda self: f"{self.prefix}instructor")
    students = property(lambda self: [f"{self.prefix}student{n}" for n in range(1, self.student_count + 1)])
    users = property(lambda self: [self.instructor, *self.students])
    course_dir = property(lambda self: self.home(self.instructor) / self.course_id)  # the instructor's copy

    def home(self, user):
        return self.home_dir / user


def course_id(course):
    from traitlets.config.loader import load_pyconfig_files

    config = load_pyconfig_files(["nbgrader_config.py"], str(course))
    name = config.CourseDirectory.get("course_id", "")
    if not name:
        raise HubError(f"{course}/nbgrader_config.py sets no c.CourseDirectory.course_id: the exchange needs one.")
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", name):
        raise HubError(f"the course id {name!r} of {course}/nbgrader_config.py names the exchange's folder and the "
                       "instructor's course folder: use letters, digits, '.', '_' and '-' only.")
    return name


def account_prefix(course):
    """The demo accounts' prefix from the course id: ``<course id>-``, lower case, other characters than
    letters, digits and '-' made '-', short enough for useradd (``<prefix>instructor``)."""
    name = re.sub(r"[^a-z0-9-]+", "-", course.lower()).strip("-")
    if not name[:1].isalpha():
        name = "c" + name
    return name[:MAX_ACCOUNT_NAME - len("instructor") - 1].rstrip("-") + "-"


# --- the proxy (npm) --------------------------------------------------------------------------------

def install_proxy(layout, log=print):
    """configurable-http-proxy at the pinned version, installed with npm into the state folder."""
    binary = layout.proxy_dir / "node_modules" / ".bin" / "configurable-http-proxy"
    wanted = json.loads((HUB_FILES / "package.json").read_text())["dependencies"]["configurable-http-proxy"]
    if binary.exists() and _proxy_version(binary) == wanted:
        return binary
    for tool in ("node", "npm"):
        if not shutil.which(tool):
            raise HubError(f"{tool} is missing: JupyterHub's proxy runs on nodejs (Debian: apt-get install nodejs npm).")
    layout.proxy_dir.mkdir(parents=True, exist_ok=True)
    for name in ("package.json", "package-lock.json"):
        shutil.copy(HUB_FILES / name, layout.proxy_dir / name)
    log(f"Installing configurable-http-proxy {wanted} from the npm registry into {layout.proxy_dir} ...")
    done = subprocess.run(["npm", "ci", "--prefix", str(layout.proxy_dir), "--no-audit", "--no-fund",
                           "--loglevel=error"], capture_output=True, text=True)
    if done.returncode != 0 or _proxy_version(binary) != wanted:
        raise HubError(f"npm could not install configurable-http-proxy {wanted}:\n{done.stdout}{done.stderr}")
    return binary


def _proxy_version(binary):
    try:
        return subprocess.run([str(binary), "--version"], capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return None


# --- the users' Python environment ------------------------------------------------------------------
#
# Every user's server runs from an environment of its own in the state folder: the kit's own .venv may
# sit on an interpreter other accounts cannot run (e.g. under /root/.pyenv), and it is an editable install
# of the repository. The users' environment has requirements.txt's pins (without the test tools) and a
# copy of the kit (isograde, coursekit), reinstalled at each start, that the instructor grades with.

def users_python():
    """An interpreter every account may run: this one's base if others can reach it, else Debian's."""
    base = Path(sys._base_executable).resolve()
    if reachable(base) and reachable(Path(sys.base_prefix).resolve()):
        return base
    if Path(SYSTEM_PYTHON).exists():
        return Path(SYSTEM_PYTHON)
    raise HubError(f"no Python that the demo's accounts may run: {base} is in a folder only root enters, and "
                   f"{SYSTEM_PYTHON} is missing (Debian: apt-get install python3 python3-venv).")


def users_requirements():
    lines = []
    for line in (REPO / "requirements.txt").read_text().splitlines():
        name = line.split("==")[0].split("[")[0].strip().lower()
        if line.strip() and not line.lstrip().startswith("#") and name not in TEST_ONLY_PACKAGES:
            lines.append(line.strip())
    return "\n".join(lines) + "\n"


def install_users_env(layout, log=print):
    """Create (once per requirements) the users' environment; reinstall the kit into it. Returns its bin/."""
    env, wanted = layout.env_dir, users_requirements()
    stamp = env / "coursekit-requirements.txt"
    pip = [str(env / "bin" / "python"), "-m", "pip", "install", "--quiet"]
    if not stamp.exists() or stamp.read_text() != wanted:
        if not (env / "bin" / "python").exists():
            python = users_python()
            log(f"Creating the users' Python environment in {env} (from {python}; a few minutes) ...")
            _run_or_fail([str(python), "-m", "venv", str(env)],
                         "cannot create the users' environment (Debian: apt-get install python3-venv)")
        else:
            log(f"Updating the users' Python environment in {env} to requirements.txt ...")
        requirements = env / "requirements.txt"
        requirements.write_text(wanted)
        _run_or_fail(pip + ["-r", str(requirements)], "pip could not install the users' environment")
        stamp.write_text(wanted)
    kit_stamp, kit = env / "coursekit-kit.sha256", kit_digest()
    if not kit_stamp.exists() or kit_stamp.read_text() != kit:
        _run_or_fail(pip + ["--no-deps", "--force-reinstall", "--no-cache-dir", str(REPO)],
                     "pip could not install the kit into the users' environment", cwd=layout.cache)
        kit_stamp.write_text(kit)
    return env / "bin"


def kit_digest():
    """A digest of the kit's packages as they are now (the users' copy is reinstalled when it changes)."""
    digest = hashlib.sha256()
    templates = [path for path in REPO.glob("coursekit/templates/**/*") if path.is_file()]  # the formgrader's page
    for path in sorted([REPO / "pyproject.toml", *REPO.glob("coursekit/**/*.py"), *REPO.glob("isograde/**/*.py"),
                        *templates]):
        digest.update(str(path.relative_to(REPO)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _run_or_fail(command, what, cwd=None):
    done = subprocess.run(command, capture_output=True, text=True, cwd=cwd)
    if done.returncode != 0:
        raise HubError(f"{what}: `{' '.join(command)}` failed:\n" + "\n".join((done.stdout + done.stderr).splitlines()[-15:]))


def users_mathjax(layout, log=print):
    """The node_modules holding MathJax for the instructor's feedback pages: the checkout's when the demo's
    accounts can reach it, else (a checkout in a folder only its owner enters: a home folder, a private
    temporary folder) a copy in the cache, refreshed when npm's record of the installed packages changes."""
    if not (MATHJAX_MODULES / "mathjax-full" / "package.json").is_file():
        raise HubError(f"MathJax is not installed in {MATHJAX_MODULES} (feedback pages need it): run `make` first.")
    if reachable(MATHJAX_MODULES):
        return MATHJAX_MODULES
    copy, record = layout.cache / "node_modules", ".package-lock.json"  # npm's record of what it installed
    wanted = (MATHJAX_MODULES / record).read_bytes() if (MATHJAX_MODULES / record).is_file() else None
    if wanted is None or not (copy / record).is_file() or (copy / record).read_bytes() != wanted:
        log(f"Copying MathJax into {copy} (the demo's accounts cannot reach {MATHJAX_MODULES}) ...")
        partial = layout.cache / "node_modules.partial"
        shutil.rmtree(partial, ignore_errors=True)
        shutil.copytree(MATHJAX_MODULES, partial, symlinks=True)
        for root, folders, files in os.walk(partial):
            os.chmod(root, 0o755)
            for name in files:
                path = os.path.join(root, name)
                if not os.path.islink(path):
                    os.chmod(path, os.stat(path).st_mode | 0o444)
        shutil.rmtree(copy, ignore_errors=True)
        os.replace(partial, copy)
    check_reachable(copy, "MathJax for the feedback pages")
    return copy


# --- system accounts --------------------------------------------------------------------------------

def account(name):
    try:
        return pwd.getpwnam(name)
    except KeyError:
        return None


def is_demo_account(entry, layout):
    return entry is not None and entry.pw_gecos == ACCOUNT_MARK and Path(entry.pw_dir) == layout.home(entry.pw_name)


def create_account(name, layout):
    """A system account of the demo with a home folder only it can enter (an existing one of the demo is kept)."""
    entry = account(name)
    if entry is not None:
        if not is_demo_account(entry, layout):
            raise HubError(f"the account {name} already exists and is not this demo's (home {entry.pw_dir}): "
                           "choose other names with --prefix.")
        return entry
    done = subprocess.run(["useradd", "--create-home", "--home-dir", str(layout.home(name)), "--user-group",
                           "--shell", "/bin/bash", "--comment", ACCOUNT_MARK, name], capture_output=True, text=True)
    if done.returncode != 0:
        raise HubError(f"useradd could not create the account {name}: {done.stderr.strip()}")
    entry = pwd.getpwnam(name)
    os.chmod(entry.pw_dir, 0o700)
    return entry


def remove_account(name, layout, log=print):
    entry = account(name)
    if entry is None:
        return False
    if not is_demo_account(entry, layout):
        log(f"left alone: the account {name} is not this demo's")
        return False
    stop_processes_of(entry.pw_uid)
    done = subprocess.run(["userdel", "--remove", name], capture_output=True, text=True)
    if done.returncode != 0 and account(name) is not None:
        raise HubError(f"userdel could not remove {name}: {done.stderr.strip()}")
    return True


def processes_of(uid):
    """Process ids running as ``uid`` (from /proc)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.stat(f"/proc/{entry}").st_uid == uid:
                    found.append(int(entry))
            except FileNotFoundError:
                continue
    return found


def stop_processes_of(uid, timeout=10):
    """Stop what a demo account still runs (its server and kernels, when the hub could not stop them)."""
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5)):
        for pid in processes_of(uid):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + wait
        while processes_of(uid) and time.monotonic() < deadline:
            time.sleep(0.2)
        if not processes_of(uid):
            return


def give_files(entry, destination, files):
    """Write ``files`` ({relative path: bytes}) under ``destination`` as the account itself (tar run with the
    account's uid extracts them), so that root never writes into a folder a user controls."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for relative, data in files.items():
            info = tarfile.TarInfo(relative)
            info.size, info.mode, info.mtime = len(data), 0o644, int(time.time())
            archive.addfile(info, io.BytesIO(data))
    _extract_as(entry, destination, buffer.getvalue())


def give_tree(entry, source, destination, names):
    """Copy ``names`` of the folder ``source`` into ``destination`` as the account (see give_files)."""
    buffer = io.BytesIO()
    skip = lambda info: None if "__pycache__" in info.name or ".ipynb_checkpoints" in info.name else info
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name in names:
            archive.add(Path(source) / name, arcname=name, filter=skip)
    _extract_as(entry, destination, buffer.getvalue())


def _extract_as(entry, destination, archive):
    done = subprocess.run(["tar", "--extract", "--no-same-owner", "--directory", str(destination)], input=archive,
                          user=entry.pw_uid, group=entry.pw_gid, extra_groups=[], cwd=entry.pw_dir,
                          capture_output=True, env={"PATH": "/usr/bin:/bin", "HOME": entry.pw_dir})
    if done.returncode != 0:
        raise HubError(f"cannot write into {destination} as {entry.pw_name}: {done.stderr.decode().strip()}")


def mkdir_as(entry, path):
    subprocess.run(["mkdir", "-p", str(path)], user=entry.pw_uid, group=entry.pw_gid, extra_groups=[],
                   check=True, cwd=entry.pw_dir)


# --- nbgrader: exchange, course directory, per-user configuration ---------------------------------

def prepare_exchange(layout, instructor, course):
    """nbgrader's exchange: a root-owned folder everyone can write (as nbgrader asks) with the sticky bit (nobody
    removes what another made), and the course's folder in it made for the instructor before anyone else can."""
    layout.exchange.mkdir(parents=True, exist_ok=True)
    os.chmod(layout.exchange, 0o1777)
    course_folder = layout.exchange / course
    if not course_folder.exists():
        course_folder.mkdir(mode=0o755)
        os.chown(course_folder, instructor.pw_uid, instructor.pw_gid)
    elif course_folder.stat().st_uid != instructor.pw_uid:
        raise HubError(f"{course_folder} does not belong to {instructor.pw_name}: remove it (make hub-clean).")


def nbgrader_config_text(exchange, course, course_dir=None, node_modules=MATHJAX_MODULES):
    lines = ["# Written by coursekit.platforms.hub: nbgrader's exchange for the course.", "c = get_config()  # noqa: F821",
             f"c.Exchange.root = {str(exchange)!r}", f"c.CourseDirectory.course_id = {course!r}"]
    if course_dir is not None:
        lines[0] = "# Written by coursekit.platforms.hub: the instructor's course directory and nbgrader's exchange."
        # the course's own settings (GradeInSandbox, feedback) for the formgrader too, which runs in the home folder
        lines += [f"load_subconfig({str(course_dir / 'nbgrader_config.py')!r})",
                  f"c.CourseDirectory.root = {str(course_dir)!r}",
                  # the users' copy of the kit is not a checkout: its feedback pages take MathJax from this one's
                  f"c.FeedbackHTMLExporter.node_modules = {str(node_modules)!r}"]
    return "\n".join(lines) + "\n"


def user_files(layout, course, instructor, bin_dir, node_modules=MATHJAX_MODULES):
    """The account's ~/.jupyter: nbgrader's settings; for students, no formgrader and no Create Assignment. And
    a ~/.bash_profile that puts the course's environment first (JupyterLab's terminals run login shells, whose
    /etc/profile resets PATH)."""
    files = {f".jupyter/lab/user-settings/{name}": json.dumps(values).encode() for name, values in QUIET_LAB.items()}
    files[".bash_profile"] = (f"# Written by coursekit.platforms.hub\n[ -f ~/.profile ] && . ~/.profile\n"
                              f"export PATH={shlex.quote(str(bin_dir))}:\"$PATH\"\n").encode()
    if instructor:
        files[".jupyter/nbgrader_config.py"] = nbgrader_config_text(layout.exchange, course, layout.course_dir,
                                                                     node_modules).encode()
        return files
    files[".jupyter/nbgrader_config.py"] = nbgrader_config_text(layout.exchange, course).encode()
    files[".jupyter/jupyter_server_config.json"] = json.dumps(
        {"ServerApp": {"jpserver_extensions": {FORMGRADER_EXTENSION: False}}}).encode()
    files[".jupyter/labconfig/page_config.json"] = json.dumps(
        {"disabledExtensions": {plugin: True for plugin in INSTRUCTOR_ONLY_LAB_PLUGINS}}).encode()
    return files


def prepare_accounts(layout, course, bin_dir, node_modules=MATHJAX_MODULES):
    entries = {name: create_account(name, layout) for name in layout.users}
    instructor = entries[layout.instructor]
    if not layout.course_dir.exists():
        mkdir_as(instructor, layout.course_dir)
        give_tree(instructor, layout.course, layout.course_dir,
                  [name for name in COURSE_CONTENT if (layout.course / name).exists()])
    for name, entry in entries.items():
        give_files(entry, entry.pw_dir, user_files(layout, course, name == layout.instructor, bin_dir,
                                                        node_modules))
    prepare_exchange(layout, instructor, course)
    return entries


def reachable(path):
    """Whether other accounts may enter every folder down to ``path`` (and read it)."""
    path = Path(path).absolute()
    folders_ok = all(not folder.exists() or folder.stat().st_mode & 0o001 for folder in path.parents)
    return folders_ok and (not path.exists() or bool(path.stat().st_mode & 0o004))


def check_reachable(path, what):
    """The users' servers run with their own uids: they must reach the state folder."""
    if not reachable(path):
        raise HubError(f"the demo's accounts cannot reach {path} ({what}): use a --state folder others may enter "
                       "(e.g. under /srv or /tmp).")


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


def hub_settings(layout, port, proxy, bin_dir, environment):
    return {
        "port": port, "hub_port": free_port(), "proxy_api_port": free_port(), "proxy_command": str(proxy),
        "run_dir": str(layout.run_dir), "password_file": str(layout.password_file),
        "instructor": layout.instructor, "students": layout.students,
        "bin_dir": str(bin_dir), "environment": environment or {},
    }


def start_hub(layout, port=None, environment=None, timeout=90, log=print):
    """Set up the accounts, the exchange and the course, start JupyterHub, wait until it answers.
    ``environment``: extra variables for every user's server. Returns a RunningHub; stop it with stop_hub."""
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
        settings_path.write_text(json.dumps(hub_settings(layout, chosen, proxy, bin_dir, environment), indent=1))
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
        hub = start_hub(layout)
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
