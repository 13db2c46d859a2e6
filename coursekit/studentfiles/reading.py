"""Names, limits and reading one file or folder of a submission without following a link or opening a special
file (see the package's docstring for the rules)."""
import os
import stat
import unicodedata

MiB = 1024 * 1024
MAX_NOTEBOOK_BYTES = 20 * MiB  # a homework notebook with its plots is well under 1 MiB
MAX_FILE_BYTES = 32 * MiB  # any other file (MNIST's mnist.npz is 11 MiB)
MAX_TOTAL_BYTES = 64 * MiB  # everything in one submission folder
MAX_ENTRIES = 500  # files and folders in one submission folder
MAX_DEPTH = 8  # folders inside the submission folder
MAX_NAME_CHARS = 128
MAX_JSON_DEPTH = 64  # real notebooks nest fewer than 10 levels
MAX_CELLS = 10_000
REFUSED_MARKER = ".coursekit-refused"  # written by SafeExchangeCollect in place of a submission it refused

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC


class Refused(Exception):
    """A file or folder that is not read; the message says why, in words that follow its name
    (``path``, when known): "is a symbolic link (to /etc/shadow)"."""

    def __init__(self, sentence, path=""):
        super().__init__(sentence)
        self.path = path


def mib(size):
    return f"{size / MiB:g} MiB"


def shown(name, limit=80):
    """``name`` fit for a one-line message: escaped when it holds unprintable characters, shortened."""
    text = name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")  # undecodable bytes: \xff
    text = text if text.isprintable() else ascii(text)[1:-1].replace("\\\\x", "\\x")
    return text if len(text) <= limit else text[:limit - 1] + "…"


def name_problem(name):
    """Why ``name`` (one path component) is refused, or None."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return "has a name that is not UTF-8 text"
    if any(unicodedata.category(char) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp") for char in name):
        return "has a name with control or invisible characters"
    if len(name) > MAX_NAME_CHARS:
        return f"has a name longer than {MAX_NAME_CHARS} characters"
    if name in (".", "..") or "/" in name or "\0" in name:
        return "has a name that is not a file name"
    return None


def kind_of(mode):
    """What a file of this mode is, in words."""
    for test, words in ((stat.S_ISLNK, "a symbolic link"), (stat.S_ISFIFO, "a named pipe"),
                        (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
                        (stat.S_ISBLK, "a block device"), (stat.S_ISDIR, "a folder"),
                        (stat.S_ISREG, "a regular file")):
        if test(mode):
            return words
    return "not a regular file"



# ---------------------------------------------------------------------------------------------
# Opening and reading without following
# ---------------------------------------------------------------------------------------------


def open_folder(name, dir_fd=None):
    """A descriptor of the folder ``name`` (relative to ``dir_fd``), never through a link. Raises
    Refused (a link, a file) or FileNotFoundError."""
    try:
        return os.open(name, _DIR_FLAGS, dir_fd=dir_fd)
    except FileNotFoundError:
        raise
    except OSError as error:
        try:
            info = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        except OSError:
            raise Refused(f"cannot be opened ({error.strerror})") from None
        if stat.S_ISLNK(info.st_mode):
            raise Refused(f"is a symbolic link (to {shown(link_target(name, dir_fd))})") from None
        if not stat.S_ISDIR(info.st_mode):
            raise Refused(f"is {kind_of(info.st_mode)}, not a folder") from None
        raise Refused(f"cannot be opened ({error.strerror})") from None


def link_target(name, dir_fd):
    try:
        return os.readlink(name, dir_fd=dir_fd)
    except OSError:
        return "?"


def read_regular(name, dir_fd=None, limit=MAX_FILE_BYTES, hard_links=True):
    """The bytes of the regular file ``name`` (relative to ``dir_fd``), at most ``limit`` of them.
    A link is not followed, a pipe or a device is never opened, a larger file is not read: Refused.
    ``hard_links=False``: a file with another name elsewhere is refused too (in a folder a student
    controls, such as nbgrader's exchange, it may be another name of a file the student cannot read)."""
    info = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    if stat.S_ISLNK(info.st_mode):
        raise Refused(f"is a symbolic link (to {shown(link_target(name, dir_fd))})")
    if not stat.S_ISREG(info.st_mode):
        raise Refused(f"is {kind_of(info.st_mode)}")
    if info.st_size > limit:
        raise Refused(f"is larger than {mib(limit)} ({info.st_size} bytes)")
    try:
        handle = os.open(name, _FILE_FLAGS, dir_fd=dir_fd)
    except OSError as error:  # swapped for a link since (ELOOP), or gone
        raise Refused(f"cannot be opened safely ({error.strerror})") from None
    try:
        info = os.fstat(handle)
        if not stat.S_ISREG(info.st_mode):
            raise Refused(f"is {kind_of(info.st_mode)}")
        if not hard_links and info.st_nlink > 1:
            raise Refused("is a hard link (another name of a file elsewhere); only plain files are read")
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(handle, min(1 * MiB, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:
            raise Refused(f"is larger than {mib(limit)}")
        return b"".join(chunks)
    finally:
        os.close(handle)


def read_path(path, limit=MAX_FILE_BYTES):
    """``read_regular`` for a path whose folder is trusted (the course's, Gradescope's) and whose last
    component is not followed."""
    folder, name = os.path.split(os.path.abspath(path))
    handle = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        return read_regular(name, handle, limit)
    finally:
        os.close(handle)



def read_relative(folder_fd, path, limit=MAX_FILE_BYTES, hard_links=True):
    """``read_regular`` of ``path`` ('/' separators) below the folder ``folder_fd``, every folder on the
    way opened without following it."""
    parts = path.split("/")
    handles = []
    try:
        handle = folder_fd
        for part in parts[:-1]:
            handle = open_folder(part, handle)
            handles.append(handle)
        return read_regular(parts[-1], handle, limit, hard_links)
    finally:
        for opened in handles:
            os.close(opened)
