"""The hub demo's system accounts, the files given to them (written as the account itself), nbgrader's exchange and
each account's nbgrader settings."""
import io
import json
import os
import pwd
import shlex
import signal
import subprocess
import tarfile
import time
from pathlib import Path

from coursekit.platforms.hublayout import (ACCOUNT_MARK, COURSE_CONTENT, FORMGRADER_EXTENSION,
                                           INSTRUCTOR_ONLY_LAB_PLUGINS, MATHJAX_MODULES, QUIET_LAB, HubError)


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
