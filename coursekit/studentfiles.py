"""What a student hands in, read without trusting it: no link followed, no special file opened, sizes,
counts and names capped, and notebooks parsed as JSON of any shape.

Every step of the kit that reads a submission goes through here: ``import`` (folders, zip and tar
archives), the file hashes of ``grade`` and ``status``, the check ``grade`` makes before nbgrader
copies a submission, nbgrader's own ``autograde`` (``guard_nbgrader_autograde``, installed by the
course's nbgrader_config.py), nbgrader's ``collect`` (``coursekit.workflow.exchange.SafeExchangeCollect``) and the
Gradescope autograder's upload.

What a submission folder may hold (``scan``): regular files and folders only. A symbolic link (to
``grader/hw3/hw3_checks.py``, to ``/etc/shadow``, to the master notebook), a named pipe, a socket or a
device is never opened nor followed: the submission is refused, with a one-line reason that names the
file. So are names with control or invisible characters or that are not UTF-8 (they would garble the
instructor's terminal and files), names longer than ``MAX_NAME_CHARS``, folders nested deeper than
``MAX_DEPTH``, more than ``MAX_ENTRIES`` files and folders, a file larger than ``MAX_FILE_BYTES`` (a
notebook: ``MAX_NOTEBOOK_BYTES``) and more than ``MAX_TOTAL_BYTES`` in all. A leading dot or dash is
allowed (JupyterLab's ``.ipynb_checkpoints``; the kit never hands a name to a shell).

How: every folder is opened with ``O_DIRECTORY | O_NOFOLLOW`` and read through its descriptor
(``os.scandir(fd)``, ``stat(..., dir_fd=fd, follow_symlinks=False)``), every file with ``O_NOFOLLOW |
O_NONBLOCK`` relative to its folder's descriptor, after ``lstat`` said it is a regular file, and
checked again with ``fstat`` once open; reads stop at the cap. A file swapped for a link or a pipe
between the look and the open (a student's own folder in nbgrader's exchange) is refused the same way.

What a notebook may be (``parse_notebook``): UTF-8 JSON of nbformat 4 whose parts have the types the
format gives them (``shape_problem``), nested at most ``MAX_JSON_DEPTH`` levels (``json.loads`` raises
RecursionError at about a thousand: caught), without lone UTF-16 surrogates (they cannot be written
back as UTF-8). A notebook that is not is one bad notebook, with its reason, never the class's stop.
"""
import hashlib
import json
import os
import stat
import unicodedata
from dataclasses import dataclass, field

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
            raise Refused(f"is a symbolic link (to {shown(_link_target(name, dir_fd))})") from None
        if not stat.S_ISDIR(info.st_mode):
            raise Refused(f"is {kind_of(info.st_mode)}, not a folder") from None
        raise Refused(f"cannot be opened ({error.strerror})") from None


def _link_target(name, dir_fd):
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
        raise Refused(f"is a symbolic link (to {shown(_link_target(name, dir_fd))})")
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


# ---------------------------------------------------------------------------------------------
# A folder, without following anything
# ---------------------------------------------------------------------------------------------


@dataclass
class Item:
    path: str  # relative to the scanned folder, '/' separators
    kind: str  # "file", "folder", "link", "special"
    size: int = 0
    mtime_ns: int = 0
    target: str = ""  # a link's text (never followed)


@dataclass
class Listing:
    """What ``scan`` found: every item in os.walk's order (a folder's files by name, then its folders),
    and the problems, each (path, sentence)."""
    items: list = field(default_factory=list)
    problems: list = field(default_factory=list)
    exists: bool = True
    truncated: bool = False

    @property
    def files(self):
        return [item for item in self.items if item.kind == "file"]

    def refusal(self):
        """One line naming the first problem (and how many others), or None."""
        if not self.problems:
            return None
        path, sentence = min(self.problems, key=lambda problem: severity(problem[1]))
        more = len(self.problems) - 1
        return (f"refused: {shown(path) if path else 'the submission'} {sentence}"
                + (f" (and {more} other problem{'s' * (more > 1)})" if more else ""))


def severity(sentence):
    """Which problem a refusal names first: what could reach the grader, then the caps, then names."""
    if sentence.startswith(("is a symbolic link", "is a named pipe", "is a socket", "is a character device",
                            "is a block device", "is not a regular file")):
        return 0
    if sentence.startswith("has a name"):
        return 2
    return 1


def scan(folder, base_fd=None, limits=None, ignore=None):
    """List ``folder`` (relative to ``base_fd`` if given) without following links. ``ignore``: a
    function of (relative path, name) telling which entries to leave out entirely (not checked)."""
    limits = dict(DEFAULT_LIMITS, **(limits or {}))
    listing = Listing()
    try:
        handle = open_folder(folder, base_fd)
    except FileNotFoundError:
        listing.exists = False
        return listing
    except Refused as refused:
        listing.problems.append((os.path.basename(folder), str(refused)))
        listing.items.append(Item("", "link", target=_link_target(folder, base_fd)))
        return listing
    try:
        _scan(handle, "", 0, listing, limits, [0, 0], ignore)
    finally:
        os.close(handle)
    return listing


DEFAULT_LIMITS = {"entries": MAX_ENTRIES, "depth": MAX_DEPTH, "file": MAX_FILE_BYTES,
                  "notebook": MAX_NOTEBOOK_BYTES, "total": MAX_TOTAL_BYTES}


def _scan(handle, prefix, depth, listing, limits, counts, ignore):
    """counts: [entries seen, bytes of regular files]."""
    names = []
    with os.scandir(handle) as entries:
        for entry in entries:
            if counts[0] + len(names) >= limits["entries"]:
                listing.problems.append(("", f"holds more than {limits['entries']} files and folders"))
                listing.truncated = True
                break
            names.append(entry.name)
    files, folders = [], []
    for name in sorted(names):
        path = prefix + name
        if ignore is not None and ignore(path, name):
            continue
        counts[0] += 1
        problem = name_problem(name)
        try:
            info = os.stat(name, dir_fd=handle, follow_symlinks=False)
        except OSError as error:
            listing.problems.append((path, f"cannot be read ({error.strerror})"))
            continue
        if problem:
            listing.problems.append((path, problem))
        if stat.S_ISLNK(info.st_mode):
            target = _link_target(name, handle)
            listing.problems.append((path, f"is a symbolic link (to {shown(target)}); only regular files are read"))
            files.append(Item(path, "link", target=target))
        elif stat.S_ISDIR(info.st_mode):
            folders.append((name, path))
        elif stat.S_ISREG(info.st_mode):
            limit = limits["notebook"] if name.endswith(".ipynb") else limits["file"]
            if info.st_size > limit:
                listing.problems.append((path, f"is larger than {mib(limit)} ({info.st_size} bytes)"))
            counts[1] += info.st_size
            files.append(Item(path, "file", info.st_size, info.st_mtime_ns))
        else:
            listing.problems.append((path, f"is {kind_of(info.st_mode)}; only regular files are read"))
            files.append(Item(path, "special", info.st_size, info.st_mtime_ns, target=kind_of(info.st_mode)))
    total = f"holds more than {mib(limits['total'])} of files"
    if counts[1] > limits["total"] and ("", total) not in listing.problems:
        listing.problems.append(("", total))
    listing.items.extend(files)
    for name, path in folders:
        listing.items.append(Item(path, "folder"))
        if depth + 1 > limits["depth"]:
            listing.problems.append((path, f"is nested more than {limits['depth']} folders deep"))
            listing.truncated = True
            continue
        try:
            child = open_folder(name, handle)
        except (Refused, OSError) as error:  # swapped since the look
            listing.problems.append((path, str(error)))
            continue
        try:
            _scan(child, path + "/", depth + 1, listing, limits, counts, ignore)
        finally:
            os.close(child)


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


# ---------------------------------------------------------------------------------------------
# A submission folder: submitted/<student>/<assignment>/
# ---------------------------------------------------------------------------------------------


def open_submission(course_root, student, assignment, submitted="submitted"):
    """A descriptor of submitted/<student>/<assignment>/ (the course's submitted/ is trusted; the two
    folders below it are not followed), or None when it does not exist. Raises Refused."""
    try:
        base = os.open(os.path.join(course_root, submitted), os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    try:
        try:
            middle = open_folder(student, base)
        except Refused as refused:
            raise Refused(str(refused), f"{submitted}/{student}") from None
        try:
            return open_folder(assignment, middle)
        except Refused as refused:
            raise Refused(str(refused), f"{submitted}/{student}/{assignment}") from None
        finally:
            os.close(middle)
    except FileNotFoundError:
        return None
    finally:
        os.close(base)


def scan_submission(course_root, student, assignment, submitted="submitted"):
    """(Listing of submitted/<student>/<assignment>/, its descriptor or None). Close the descriptor."""
    try:
        handle = open_submission(course_root, student, assignment, submitted)
    except Refused as refused:
        listing = Listing()
        listing.problems.append((refused.path, str(refused)))
        listing.items.append(Item("", "link"))
        return listing, None
    if handle is None:
        return Listing(exists=False), None
    listing = Listing()
    _scan(handle, "", 0, listing, DEFAULT_LIMITS, [0, 0], None)
    marker = next((item for item in listing.files if item.path == REFUSED_MARKER), None)
    if marker is not None:
        try:
            text = read_regular(REFUSED_MARKER, handle, 64 * 1024).decode("utf-8", "replace")
        except (Refused, OSError):
            text = ""
        first = text.strip().splitlines()[0] if text.strip() else "refused when collected"
        listing.problems.insert(0, (REFUSED_MARKER, shown(first, 300)))
    return listing, handle


def student_folders(course_root, assignment, submitted="submitted"):
    """(students with a folder submitted/<student>/<assignment>/, the folder names left out because they
    are not UTF-8 text: no student id, file, database or terminal can hold them; shown escaped)."""
    root = os.path.join(course_root, submitted)
    try:
        names = os.listdir(root)
    except (FileNotFoundError, NotADirectoryError):
        return [], []
    students, unreadable = [], []
    for name in sorted(names):
        if not os.path.isdir(os.path.join(root, name, assignment)):
            continue
        try:
            name.encode("utf-8")
        except UnicodeEncodeError:
            unreadable.append(shown(name, 200))
            continue
        students.append(name)
    return students, unreadable


def unreadable_note(names, submitted="submitted"):
    """The line that names student folders left out by ``student_folders``."""
    return (f"Left out {len(names)} folder(s) of {submitted}/ whose name is not UTF-8 text (rename each to the "
            f"student's id): {', '.join(names)}")


def submission_refusal(course_root, student, assignment, submitted="submitted"):
    """One line saying why submitted/<student>/<assignment>/ is refused, or None (also when absent)."""
    listing, handle = scan_submission(course_root, student, assignment, submitted)
    if handle is not None:
        os.close(handle)
    return refusal_of(listing)


def refusal_of(listing):
    """``listing.refusal()``, or the reason a refused collect left in the folder (REFUSED_MARKER)."""
    if listing.problems and listing.problems[0][0] == REFUSED_MARKER:
        return f"refused when collected: {listing.problems[0][1]}"
    return listing.refusal()


def submission_hash(course_root, assignment, student, submitted="submitted"):
    """SHA-256 over the names and bytes of every regular file in submitted/<student>/<assignment>/
    (None when the folder does not exist); links, pipes and devices count by their name, kind and a
    link's text, never by what they lead to; a file above the caps by its size and time. For a folder of
    regular files the value is the kit's earlier one (os.walk's order, name + NUL + SHA-256 of bytes)."""
    listing, handle = scan_submission(course_root, student, assignment, submitted)
    if handle is None and not listing.items:
        return None
    digest = hashlib.sha256()
    try:
        if handle is None:  # the folder itself is a link
            digest.update(b"\0refused-folder\0" + listing.problems[0][1].encode("utf-8", "replace"))
            return digest.hexdigest()
        budget = MAX_TOTAL_BYTES
        for item in listing.items:
            name = item.path.encode("utf-8", "surrogateescape")
            if item.kind == "folder":
                continue
            if item.kind != "file":
                digest.update(name + b"\0" + f"\0{item.kind}\0".encode() + item.target.encode("utf-8", "surrogateescape"))
                continue
            digest.update(name + b"\0")
            content = None
            if item.size <= min(budget, MAX_FILE_BYTES if not item.path.endswith(".ipynb") else MAX_NOTEBOOK_BYTES):
                try:
                    content = read_relative(handle, item.path)
                except (Refused, OSError):
                    content = None
            if content is None:
                digest.update(hashlib.sha256(f"\0unread\0{item.size}\0{item.mtime_ns}".encode()).digest())
            else:
                budget -= len(content)
                digest.update(hashlib.sha256(content).digest())
        if listing.truncated:
            digest.update(b"\0truncated\0")
        return digest.hexdigest()
    finally:
        if handle is not None:
            os.close(handle)


# ---------------------------------------------------------------------------------------------
# Notebooks: JSON of any shape
# ---------------------------------------------------------------------------------------------


class BadNotebook(ValueError):
    """The bytes are not a notebook the kit reads. ``kind``: empty, encoding, json, deep, shape."""

    def __init__(self, kind, detail=""):
        super().__init__(detail or kind)
        self.kind, self.detail = kind, detail


def parse_notebook(content):
    """The notebook (plain dicts and lists) of ``content``, or BadNotebook."""
    if not content:
        raise BadNotebook("empty", "an empty file")
    try:
        text = content.decode("utf-8") if isinstance(content, bytes) else content
    except UnicodeDecodeError:
        raise BadNotebook("encoding", "not UTF-8 text") from None
    try:
        notebook = json.loads(text)
    except RecursionError:
        raise BadNotebook("deep", f"its JSON is nested more than {MAX_JSON_DEPTH} levels deep") from None
    except ValueError as error:
        raise BadNotebook("json", str(error).splitlines()[0][:150] if str(error) else "invalid JSON") from None
    problem = shape_problem(notebook)
    if problem:
        raise BadNotebook("deep" if "nested" in problem else "shape", problem)
    return notebook


_TYPE_NAMES = {dict: "an object", list: "a list", str: "text", bool: "true or false", int: "a number",
               float: "a number", type(None): "null"}


def _a(value):
    return _TYPE_NAMES.get(type(value), type(value).__name__)


def _is_text(value):
    return isinstance(value, str) or (isinstance(value, list) and all(isinstance(part, str) for part in value))


def shape_problem(notebook):
    """Why ``notebook`` (parsed JSON) is not an nbformat 4 notebook the kit and nbgrader can read, or
    None: the types of the parts every reader touches, the depth, the cell count, lone surrogates."""
    if not isinstance(notebook, dict):
        return f"the file is {_a(notebook)}, not a notebook"
    problem = _depth_and_text_problem(notebook)
    if problem:
        return problem
    version = notebook.get("nbformat")
    if type(version) is not int or version != 4:
        return f"its nbformat is {shown(json.dumps(version), 20)}, expected 4"
    if not isinstance(notebook.get("metadata", {}), dict):
        return f"its metadata is {_a(notebook['metadata'])}, not an object"
    cells = notebook.get("cells")
    if not isinstance(cells, list):
        return "it has no cells" if cells is None else f"its cells are {_a(cells)}, not a list"
    if len(cells) > MAX_CELLS:
        return f"it has more than {MAX_CELLS} cells"
    for index, cell in enumerate(cells):
        problem = _cell_problem(cell)
        if problem:
            return f"cell {index}: {problem}"
    return None


_NBGRADER_TYPES = {"grade": bool, "solution": bool, "locked": bool, "task": bool, "grade_id": str,
                   "schema_version": int, "points": (int, float), "cell_type": str, "checksum": str}


def _cell_problem(cell):
    if not isinstance(cell, dict):
        return f"it is {_a(cell)}, not an object"
    if cell.get("cell_type") not in ("code", "markdown", "raw"):
        return f"its cell_type is {shown(json.dumps(cell.get('cell_type')), 30)}"
    if not _is_text(cell.get("source", "")):
        return f"its source is {_a(cell['source'])}, not text"
    metadata = cell.get("metadata", {})
    if not isinstance(metadata, dict):
        return f"its metadata is {_a(metadata)}, not an object"
    nbgrader = metadata.get("nbgrader", {})
    if not isinstance(nbgrader, dict):
        return f"its nbgrader metadata is {_a(nbgrader)}, not an object"
    for key, kinds in _NBGRADER_TYPES.items():
        if key in nbgrader and (not isinstance(nbgrader[key], kinds) or
                                (kinds is not bool and isinstance(nbgrader[key], bool))):
            return f"its nbgrader {key} is {_a(nbgrader[key])}"
    for key in ("tags",):
        if key in metadata and not (isinstance(metadata[key], list) and all(isinstance(t, str) for t in metadata[key])):
            return f"its metadata {key} are {_a(metadata[key])}, not a list of text"
    if not isinstance(cell.get("attachments", {}), dict):
        return f"its attachments are {_a(cell['attachments'])}, not an object"
    if "id" in cell and not isinstance(cell["id"], str):
        return f"its id is {_a(cell['id'])}, not text"
    if cell["cell_type"] != "code":
        return None
    count = cell.get("execution_count")
    if count is not None and (type(count) is not int):
        return f"its execution_count is {_a(count)}"
    outputs = cell.get("outputs", [])
    if not isinstance(outputs, list):
        return f"its outputs are {_a(outputs)}, not a list"
    for number, output in enumerate(outputs):
        problem = _output_problem(output)
        if problem:
            return f"output {number}: {problem}"
    return None


def _output_problem(output):
    if not isinstance(output, dict):
        return f"it is {_a(output)}, not an object"
    if output.get("output_type") not in ("stream", "display_data", "execute_result", "error"):
        return f"its output_type is {shown(json.dumps(output.get('output_type')), 30)}"
    for key in ("name", "ename", "evalue"):
        if key in output and not isinstance(output[key], str):
            return f"its {key} is {_a(output[key])}, not text"
    if "text" in output and not _is_text(output["text"]):
        return f"its text is {_a(output['text'])}, not text"
    if "traceback" in output and not (isinstance(output["traceback"], list)
                                      and all(isinstance(line, str) for line in output["traceback"])):
        return f"its traceback is {_a(output['traceback'])}, not a list of text"
    for key in ("data", "metadata"):
        if key in output and not isinstance(output[key], dict):
            return f"its {key} is {_a(output[key])}, not an object"
    return None


def _depth_and_text_problem(root):
    """Nesting deeper than MAX_JSON_DEPTH, or a string that cannot be written as UTF-8 (a lone
    surrogate from a \\ud800 escape); iterative, so any depth json.loads returned is safe here."""
    stack = [(root, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            return f"its JSON is nested more than {MAX_JSON_DEPTH} levels deep"
        if isinstance(value, dict):
            for key, item in value.items():
                if not _utf8(key):
                    return "it holds text that is not valid Unicode (a lone surrogate)"
                if isinstance(item, (dict, list)):
                    stack.append((item, depth + 1))
                elif isinstance(item, str) and not _utf8(item):
                    return "it holds text that is not valid Unicode (a lone surrogate)"
        elif isinstance(value, list):
            for item in value:
                if isinstance(item, (dict, list)):
                    stack.append((item, depth + 1))
                elif isinstance(item, str) and not _utf8(item):
                    return "it holds text that is not valid Unicode (a lone surrogate)"
    return None


def _utf8(text):
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def notebook_refusal(name, dir_fd):
    """Why the notebook ``name`` (relative to ``dir_fd``, a checked submission folder) cannot be graded,
    in the words of ``grade``'s reasons, or None: a regular file within the cap, UTF-8 JSON of an
    nbformat 4 notebook whose parts have their types (nbgrader validates the rest when it reads it)."""
    try:
        content = read_regular(name, dir_fd, MAX_NOTEBOOK_BYTES)
    except Refused as refused:
        return f"refused: {name} {refused}"
    except OSError as error:
        return f"not a notebook: {name} cannot be read ({error.strerror})"
    try:
        parse_notebook(content)
    except BadNotebook as bad:
        if bad.kind == "empty":
            return f"not a notebook: {name} is an empty file"
        if bad.kind == "encoding":
            return f"not a notebook: {name} is not UTF-8 text"
        if bad.kind == "json":
            return f"not a notebook (invalid JSON): {name}: {bad.detail}"
        if bad.detail == "it has no cells":
            return f"not a valid notebook: {name} has no cells"
        return f"not a valid notebook: {name}: {bad.detail}"
    return None


# ---------------------------------------------------------------------------------------------
# Reading parsed student JSON defensively (for notebooks read without parse_notebook)
# ---------------------------------------------------------------------------------------------


def as_dict(value):
    return value if isinstance(value, dict) else {}


def as_list(value):
    return value if isinstance(value, list) else []


def as_text(value):
    """A notebook's multiline string (text, or a list of text) as one str; anything else: ''."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "".join(part for part in value if isinstance(part, str))
    return ""


def load_json_file(path, limit=MAX_NOTEBOOK_BYTES):
    """A JSON file of the course (an autograded notebook) read with the caps: its value, or BadNotebook /
    Refused / OSError. No shape is assumed: read it with as_dict, as_list, as_text."""
    content = read_path(path, limit)
    try:
        return json.loads(content.decode("utf-8"))
    except RecursionError:
        raise BadNotebook("deep", "JSON nested too deeply") from None
    except (UnicodeDecodeError, ValueError) as error:
        raise BadNotebook("json", str(error).splitlines()[0][:150] if str(error) else "invalid JSON") from None


# ---------------------------------------------------------------------------------------------
# nbgrader's own autograde
# ---------------------------------------------------------------------------------------------


class UnsafeSubmission(RuntimeError):
    """nbgrader's autograde is about to copy a submission the kit refuses."""


def guard_nbgrader_autograde():
    """Make nbgrader's Autograde check each submission folder before it copies it.

    nbgrader copies submitted/<student>/<assignment>/ into autograded/ with shutil (following links,
    reading pipes and devices) in ``init_assignment``, before any preprocessor runs, and has no setting
    for the converter class (AutogradeApp builds ``Autograde`` by name). So the course's
    nbgrader_config.py calls this: ``Autograde.init_destination``, the first step nbgrader takes for
    each submission, refuses a folder ``submission_refusal`` refuses. nbgrader then logs the reason,
    fails that submission alone (removing its partial output) and goes on with the others. The
    notebooks are checked as ``grade`` checks them (``notebook_refusal``), so a malformed one fails with
    its reason rather than with nbgrader's traceback. Idempotent."""
    from nbgrader.converters.autograde import Autograde

    original = Autograde.init_destination
    if getattr(original, "_coursekit_guard", False):
        return

    def init_destination(self, assignment_id, student_id):
        excluded = self.coursedir.student_id_exclude.split(",") if self.coursedir.student_id_exclude else []
        if student_id not in excluded:
            submitted = os.path.dirname(os.path.dirname(os.path.normpath(
                self._format_source(assignment_id, student_id))))  # <course>/submitted/<student>/<assignment>
            refusal = _refusal_for_nbgrader(os.path.dirname(submitted), os.path.basename(submitted), student_id,
                                            assignment_id, [os.path.basename(path) for path in self.notebooks])
            if refusal:
                self.log.error("Refusing the submission of %s: %s", shown(student_id, 200), refusal)
                raise UnsafeSubmission(refusal)
        return original(self, assignment_id, student_id)

    init_destination._coursekit_guard = True
    Autograde.init_destination = init_destination


def _refusal_for_nbgrader(course_root, submitted, student, assignment, notebooks):
    """The folder's refusal, else the first notebook's (``grade``'s check, for nbgrader's own autograde)."""
    problem = name_problem(student)
    if problem:
        return f"refused: the folder {submitted}/{shown(student)} {problem}"
    listing, handle = scan_submission(course_root, student, assignment, submitted)
    try:
        refusal = refusal_of(listing)
        if refusal or handle is None:
            return refusal
        for name in notebooks:
            refusal = notebook_refusal(name, handle)
            if refusal:
                return refusal
        return None
    finally:
        if handle is not None:
            os.close(handle)
