"""The notebook's folder, on both sides of the channel.

In a kernel, the notebook, its test cells and the student's code share one working folder: the files
the assignment ships (``data.txt``), the files the student's code writes (stock nbgrader keeps them in
``autograded/``), the files a test writes for the student's code to read. Here the student's code runs
in the worker's own folder and the test cells in the grader's (the notebook's folder in
``autograded/``), and this class keeps the two in step: the worker's new and changed files are copied
here before a test reads them and when grading ends, the test's new files there before student code
runs. Only regular files travel, as bytes the grader writes itself (never a link, never outside the
folder), within size and count limits; the files the assignment ships and the notebooks keep the
grader's version whatever student code writes over them.
"""
import contextlib
import os
import stat

MAX_FILE = 64 * 1024 * 1024
MAX_TOTAL = 256 * 1024 * 1024
MAX_FILES = 1000
MAX_DEPTH = 8


def safe_relative(name):
    """A relative path of plain components (no '..', no hidden or empty parts), or None."""
    if not isinstance(name, str) or not name or len(name) > 1024 or "\0" in name or name.startswith("/"):
        return None
    parts = name.split("/")
    if len(parts) > MAX_DEPTH or any(not p or p in (".", "..") or p.startswith(".") or len(p) > 255 for p in parts):
        return None
    return name


def scan(folder):
    """{relative name: (size, mtime_ns)} of the regular files under ``folder`` (links not followed)."""
    found = {}
    if not folder:
        return found

    def walk(path, prefix, depth):
        with contextlib.suppress(OSError), os.scandir(path) as entries:
            for entry in entries:
                name = prefix + entry.name
                if safe_relative(name) is None or len(found) >= MAX_FILES:
                    continue
                if entry.is_dir(follow_symlinks=False) and depth < MAX_DEPTH:
                    walk(entry.path, name + "/", depth + 1)
                elif entry.is_file(follow_symlinks=False):
                    status = entry.stat(follow_symlinks=False)
                    found[name] = (status.st_size, status.st_mtime_ns)
    walk(folder, "", 1)
    return found


def read_regular(folder, name, limit=MAX_FILE):
    """The bytes of a regular file under ``folder`` (None if it is not one, or too large)."""
    path = os.path.join(folder, name)
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    with os.fdopen(descriptor, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            return None
        content = handle.read(limit + 1)
    return content if len(content) <= limit else None


def write_regular(folder, name, content):
    """Write ``content`` as the regular file ``folder/name``, making plain folders on the way; never
    through a link."""
    if safe_relative(name) is None:
        return False
    current = folder
    for part in name.split("/")[:-1]:
        current = os.path.join(current, part)
        if os.path.islink(current) or (os.path.exists(current) and not os.path.isdir(current)):
            return False
        with contextlib.suppress(FileExistsError):
            os.mkdir(current)
    path = os.path.join(folder, name)
    with contextlib.suppress(FileNotFoundError):
        if os.path.islink(path) or not os.path.isfile(path):
            os.unlink(path)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(content)
    return True


class FolderSync:
    """The grader's folder (``folder``, may be None) and the worker's, kept in step."""

    def __init__(self, folder, protected=()):
        self.folder = folder
        self.protected = set(protected)
        self.grader_seen = {}
        self.folder_time = None
        self.worker_seen = {}
        self.worker_fingerprint = None

    def keeps(self, name):
        """Files whose grader copy never changes: the assignment's own, notebooks, nbgrader's."""
        return name in self.protected or name.endswith(".ipynb") or name == "timestamp.txt"

    def start(self, worker):
        """Send the folder's files (but notebooks) to a new worker."""
        files, total = {}, 0
        current = self._scan()
        for name in sorted(current):
            if name.endswith(".ipynb"):
                continue
            content = read_regular(self.folder, name)
            if content is None or total + len(content) > MAX_TOTAL:
                continue
            files[name] = content
            total += len(content)
        stats = worker.write_files(files) if files else {}
        self.grader_seen = current
        self.worker_seen = {name: tuple(value) for name, value in (stats or {}).items()
                            if isinstance(value, list) and len(value) == 2}
        self.worker_fingerprint = None

    def unchanged_since_scan(self):
        """Whether the grader's folder still holds exactly what was last scanned: the folder's own time
        (files added, removed or renamed) and each known file's size and time (a few stats, not a walk)."""
        try:
            if os.stat(self.folder).st_mtime_ns != self.folder_time:
                return False
            for name, seen in self.grader_seen.items():
                status = os.stat(os.path.join(self.folder, name), follow_symlinks=False)
                if (status.st_size, status.st_mtime_ns) != seen:
                    return False
        except OSError:
            return False
        return "/" not in "".join(self.grader_seen)  # files in subfolders: walk every time

    def _scan(self):
        with contextlib.suppress(OSError):
            self.folder_time = os.stat(self.folder).st_mtime_ns
        return scan(self.folder)

    def push(self, worker):
        """Before student code runs during a test: the test's new or changed files into the worker."""
        if not self.folder or self.unchanged_since_scan():
            return
        current = self._scan()
        changed = {name for name, seen in current.items() if self.grader_seen.get(name) != seen
                   and not name.endswith(".ipynb")}
        removed = [name for name in self.grader_seen if name not in current]
        self.grader_seen = current
        if not changed and not removed:
            return
        files = {}
        for name in sorted(changed):
            content = read_regular(self.folder, name)
            if content is not None:
                files[name] = content
        if files:
            stats = worker.request("write_files", files)
            for name, value in (stats or {}).items():
                if isinstance(value, list) and len(value) == 2:
                    self.worker_seen[name] = tuple(value)
        if removed:
            worker.request("delete_files", removed)
            for name in removed:
                self.worker_seen.pop(name, None)

    def pull(self, worker, fingerprint=None):
        """The worker's new and changed files into the grader's folder (the assignment's own files
        and the notebooks keep the grader's version)."""
        if not self.folder or (fingerprint is not None and fingerprint == self.worker_fingerprint):
            return
        listing = worker.request("list_files")
        if not isinstance(listing, dict):
            return
        listing = {name: tuple(value) for name, value in listing.items()
                   if safe_relative(name) and isinstance(value, list) and len(value) == 2}
        wanted = [name for name, seen in listing.items() if self.worker_seen.get(name) != seen and not self.keeps(name)]
        if wanted:
            files = worker.request("read_files", wanted[:MAX_FILES], MAX_TOTAL)
            for name, content in (files or {}).items():
                if name in wanted and isinstance(content, bytes):
                    with contextlib.suppress(OSError):
                        write_regular(self.folder, name, content)
        self.worker_seen = listing
        self.grader_seen = self._scan()
        self.worker_fingerprint = fingerprint
