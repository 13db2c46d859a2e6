"""The worker's working folder: the notebook's files, what student code writes, and a fingerprint the grader
compares to know when to copy files back (``isograde.files`` is the grader's side)."""
import contextlib
import os

WORK = os.path.join(os.environ.get("TMPDIR", "/tmp"), "work")
MAX_FILE = 64 * 1024 * 1024


class FolderOps:
    """The requests about files, answered by the student's process."""

    def op_write_files(self, files):
        stats = {}
        for name, content in files.items():
            if not safe_relative(name) or not isinstance(content, bytes):
                raise ValueError(f"refused file name {name!r}")
            path = os.path.join(WORK, name)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with contextlib.suppress(FileNotFoundError):
                if not os.path.isfile(path) or os.path.islink(path):
                    os.unlink(path)
            with open(path, "wb") as handle:
                handle.write(content)
            stats[name] = stat_of(path)
        return stats

    def op_delete_files(self, names):
        for name in names:
            if safe_relative(name):
                with contextlib.suppress(OSError):
                    os.unlink(os.path.join(WORK, name))

    def op_list_files(self):
        """{name: [size, mtime]} of the regular files in the working folder."""
        return {name: list(seen) for name, seen in scan(WORK).items()}

    def op_read_files(self, names, limit):
        files, total = {}, 0
        for name in names:
            path = os.path.join(WORK, name)
            if not safe_relative(name) or os.path.islink(path):
                continue
            with contextlib.suppress(OSError), open(path, "rb") as handle:
                content = handle.read(min(MAX_FILE, limit - total) + 1)
                if len(content) > MAX_FILE or total + len(content) > limit:
                    continue
                total += len(content)
                files[name] = content
        return files


def safe_relative(name):
    """A relative path of plain components (the same rule as the grader's isograde.files)."""
    if not isinstance(name, str) or not name or len(name) > 1024 or "\0" in name or name.startswith("/"):
        return False
    parts = name.split("/")
    return len(parts) <= 8 and all(p and p not in (".", "..") and not p.startswith(".") and len(p) <= 255
                                   for p in parts)


def scan(folder, prefix="", depth=1, found=None):
    found = {} if found is None else found
    with contextlib.suppress(OSError), os.scandir(folder) as entries:
        for entry in entries:
            name = prefix + entry.name
            if not safe_relative(name) or len(found) >= 1000:
                continue
            if entry.is_dir(follow_symlinks=False) and depth < 8:
                scan(entry.path, name + "/", depth + 1, found)
            elif entry.is_file(follow_symlinks=False):
                status = entry.stat(follow_symlinks=False)
                found[name] = (status.st_size, status.st_mtime_ns)
    return found


_FINGERPRINT = {"time": None, "files": {}, "value": 0}


def folder_fingerprint():
    """A number that changes when the working folder's files do: a walk only when the folder's own time
    changed (a file added, removed or renamed), else a stat of each file known."""
    cache = _FINGERPRINT
    try:
        folder_time = os.stat(WORK).st_mtime_ns
        if folder_time == cache["time"] and "/" not in "".join(cache["files"]):
            current = {}
            for name in cache["files"]:
                status = os.stat(os.path.join(WORK, name), follow_symlinks=False)
                current[name] = (status.st_size, status.st_mtime_ns)
        else:
            current = scan(WORK)
    except OSError:
        folder_time, current = None, scan(WORK)
    if current != cache["files"] or folder_time != cache["time"]:
        cache.update(time=folder_time, files=current, value=hash(tuple(sorted(current.items()))) & 0xFFFFFFFF)
    return cache["value"]


def stat_of(path):
    status = os.stat(path, follow_symlinks=False)
    return [status.st_size, status.st_mtime_ns]
