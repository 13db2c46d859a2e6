"""`import`: the checked uploads placed into submitted/ (atomically) and the gradebook, and what the command prints."""
import contextlib
import hashlib
import os
import posixpath
import re
import tempfile

from nbgrader.api import Gradebook
from sqlalchemy.exc import SQLAlchemyError

from coursekit import atomic, lateness, preflight, studentfiles

from . import times
from .sources import EXPECTED, MAX_NOTEBOOK_BYTES, READ_ERRORS, ImportProblem, read_source
from .uploads import Budget, Result, Upload, latest_uploads, name_students, parse_entry, read_checked, read_upload

# ---------------------------------------------------------------- the gradebook

def known_students(gradebook):
    return {student.id: student.lms_user_id for student in gradebook.students}


def record_students(gradebook, uploads):
    for upload in uploads:
        if upload.lms_user_id:
            gradebook.update_or_create_student(upload.student, lms_user_id=upload.lms_user_id)
        else:
            gradebook.update_or_create_student(upload.student)


# ---------------------------------------------------------------- placing

def place(course_root, assignment, upload):
    """Write the upload to submitted/<student>/<assignment>/<notebook> atomically; returns "new",
    "replaced" or "unchanged" (an identical file is left as it is). Raises studentfiles.Refused (the
    upload changed since it was checked, or a folder on the way is not a folder) with the reason."""
    submitted = os.path.realpath(os.path.join(course_root, "submitted"))
    folder = os.path.join(submitted, upload.student, assignment)
    for path in (os.path.dirname(folder), folder):
        if os.path.lexists(path) and (os.path.islink(path) or not os.path.isdir(path)):
            raise studentfiles.Refused(f"submitted/{studentfiles.shown(os.path.relpath(path, submitted))} is not a "
                                    "folder (a link?): move it away and import again")
    if os.path.commonpath([submitted, os.path.realpath(folder)]) != submitted:  # student ids are checked
        raise studentfiles.Refused(f"refusing to write outside submitted/: {upload.student}")
    content = read_upload(upload, Budget())
    if hashlib.sha256(content).hexdigest() != upload.digest:
        raise studentfiles.Refused("changed while it was imported: import again")
    destination = os.path.join(folder, upload.notebook)
    change = "new"
    if os.path.lexists(destination):
        change = "replaced"
        with contextlib.suppress(studentfiles.Refused, OSError):
            if studentfiles.read_path(destination, MAX_NOTEBOOK_BYTES) == content:
                return "unchanged"
    os.makedirs(folder, exist_ok=True)
    atomic.write_bytes(destination, content)
    with contextlib.suppress(FileNotFoundError):  # a refused collect's reason: this notebook supersedes it
        os.unlink(os.path.join(folder, studentfiles.REFUSED_MARKER))
    return change

# ---------------------------------------------------------------- the command

def release_notebooks(course_root, assignment):
    folder = os.path.join(course_root, "release", assignment)
    if not os.path.isdir(folder):
        raise ImportProblem(f"release/{assignment}/ does not exist: run `python -m coursekit release {assignment}` "
                            "first (or check the assignment name).")
    notebooks = sorted(name for name in os.listdir(folder) if name.endswith(".ipynb"))
    if not notebooks:
        raise ImportProblem(f"release/{assignment}/ holds no notebook: run `python -m coursekit release {assignment}`.")
    return notebooks


def import_submissions(course_root, assignment, source, regexp=None, db_url=None):
    """Import ``source`` into submitted/ and the gradebook; returns a Result. Raises ImportProblem,
    having changed nothing, when the release, the source or the database cannot be used."""
    course_root = os.path.abspath(course_root)
    source = os.path.realpath(source)  # the argument is the instructor's: followed; nothing inside it is
    notebooks = release_notebooks(course_root, assignment)
    pattern = _compile(regexp)
    with tempfile.TemporaryDirectory(prefix="coursekit-import-") as scratch:
        entries = read_source(source, scratch)
        if not any(entry.path.lower().endswith(".ipynb") for entry in entries):
            raise ImportProblem(f"{source} holds no notebook (.ipynb): {EXPECTED}.")
        submitted = os.path.join(course_root, "submitted")
        if not os.access(submitted if os.path.isdir(submitted) else course_root, os.W_OK):
            raise ImportProblem(f"cannot write to {submitted}: check its permissions.")
        url = preflight.check_database(course_root, db_url)
        return _import(course_root, assignment, entries, notebooks, pattern, url)


def _import(course_root, assignment, entries, notebooks, pattern, url):
    result = Result()
    uploads = []
    stamps = {}  # folder: its timestamp.txt
    for entry in entries:
        if posixpath.basename(entry.path) == lateness.TIMESTAMP:
            stamps[posixpath.dirname(entry.path)] = entry
            continue
        if entry.problem:  # a link, a device, a name that is not one: never read, never an upload
            result.not_imported.append((entry.path, entry.problem))
            continue
        parsed = parse_entry(entry, notebooks, assignment, pattern)
        if isinstance(parsed, Upload):
            uploads.append(parsed)
        else:
            result.not_imported.append((entry.path, parsed))
    stamps = times.stamp_folders(uploads, stamps, result)
    try:
        with Gradebook(url) as gradebook:
            uploads = name_students(uploads, known_students(gradebook), result)
            chosen = read_checked(latest_uploads(uploads, result), result)
            chosen = times.submission_times(chosen, stamps, result)
            result.due = lateness.due_date(gradebook, assignment)
            record_students(gradebook, chosen)
    except SQLAlchemyError as error:
        raise ImportProblem(f"the gradebook {preflight.shown(url)} cannot be used ({' '.join(str(error).split())[:300]}); "
                            "no notebook was placed.") from error
    placed = []
    for upload in chosen:
        try:
            result.imported.append((upload.student, upload.notebook, upload, place(course_root, assignment, upload)))
            placed.append(upload)
        except (studentfiles.Refused, *READ_ERRORS) as error:
            result.not_imported.append((upload.entry.path, str(error)))
    for student in sorted({upload.student for upload in placed}):
        mine = [(upload, change) for name, _, upload, change in result.imported if name == student]
        try:
            result.times[student] = times.place_time(course_root, assignment, student, [u for u, _ in mine],
                                               [change for _, change in mine])
        except OSError as error:
            result.not_imported.append((mine[0][0].entry.path, f"placed, but its {lateness.TIMESTAMP} could not be "
                                        f"written ({error.strerror}): import again"))
    result.renamed = [(student, sentence) for student, sentence in result.renamed
                      if student in {upload.student for upload in placed}]
    result.not_imported.sort()
    return result


def _compile(regexp):
    if not regexp:
        return None
    try:
        pattern = re.compile(regexp)
    except re.error as error:
        raise ImportProblem(f"--regexp {regexp!r} is not a regular expression: {error}") from error
    if not {"student_id", "file_id"} <= set(pattern.groupindex):
        raise ImportProblem("--regexp needs the named groups student_id and file_id, "
                            r"e.g. '^(?P<student_id>\w+)/(?P<file_id>[^/]+\.ipynb)$'.")
    return pattern


def report_lines(result, assignment):
    """What the command prints: imported, renamed, not imported."""
    lines = [f"Imported {len(result.imported)} notebook(s) into submitted/ for {assignment}:"]
    for student, notebook, upload, change in sorted(result.imported, key=lambda item: item[:2]):
        details = [f"LMS user {upload.lms_user_id}"] if upload.lms_user_id else []
        details += ["LATE"] if upload.late else []
        details.append(change)
        lines.append(f"  {student}/{notebook} <- {upload.entry.path} ({', '.join(details)})")
    if result.renamed:
        lines.append(f"Renamed {len(result.renamed)} student(s) whose name is another student's:")
        lines += [f"  {sentence}" for _, sentence in result.renamed]
    lines += times.time_lines(result, assignment)
    if result.not_imported:
        lines.append(f"Not imported: {len(result.not_imported)} file(s):")
        lines += [f"  {studentfiles.shown(path, 300)}: {reason}" for path, reason in result.not_imported]
    return lines
