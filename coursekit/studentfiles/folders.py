"""The course's submission folders, submitted/<student>/<assignment>/: opened, listed, refused, hashed."""
import hashlib
import os

from .reading import MAX_FILE_BYTES, MAX_NOTEBOOK_BYTES, MAX_TOTAL_BYTES, REFUSED_MARKER, Refused, open_folder, \
    read_regular, read_relative, shown
from .scanning import Item, Listing, scan_open


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
    listing = scan_open(handle)
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
