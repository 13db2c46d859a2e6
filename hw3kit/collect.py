"""Import student notebooks from a folder, a notebook or an LMS download (.zip) into submitted/.

Understood names (the first that fits a file wins; ``--regexp`` is tried before them):

* Canvas's "Download Submissions" zip: ``<nameslug>_<userid>_<fileid>_<name>``, late ones
  ``<nameslug>_LATE_<userid>_<fileid>_<name>``, anonymous grading ``anon_<anonid>_<fileid>_<name>``.
  Canvas builds these in lib/content_zipper.rb (instructure/canvas-lms: ``get_filename`` joins the
  sortable name lowercased with non-word characters removed, "LATE" for a late submission and the user
  id; ``add_upload_submission`` appends the attachment's id and display name). A student's re-upload of
  a file with the same name is renamed by Canvas ``hw3-1.ipynb``, ``hw3-2.ipynb`` ... (reported in
  nus-cs2103-AY2324S1/forum#459 and nus-cs2103-AY2223S2/forum#361): the highest suffix wins, then the
  highest attachment id (a later upload has a larger id).
* ``<student>/hw3.ipynb`` (also ``<student>/hw3/hw3.ipynb``, nbgrader's own layout) and ``<student>_hw3.ipynb``.

Students of an LMS download are keyed by the LMS user id, kept in nbgrader's gradebook as
``Student.lms_user_id`` (the export writes it into the Canvas import file's "ID" column). A user id the
gradebook knows keeps its student id; a new one gets its name slug, or ``<slug>-<userid>`` when the slug
is another user's.

Why not nbgrader's ``zip_collect``: it aborts the whole import ("Duplicate submission file. No
timestamps for comparison") when two files map to one student, as Canvas re-uploads and two students of
the same name do; it cannot pick the later upload by Canvas's suffix or attachment id, nor map a user id
to a student; it copies invalid notebooks into submitted/ and extracts archives to disk by their member
names. Here every file is read into memory, checked, and only a chosen, valid notebook is written, to a
path built from a checked student id and a notebook name of the release (no member name ever becomes a
path: no zip-slip), atomically. Nothing is touched before the release, the source and the gradebook
database have been checked.
"""
import os
import re
import tempfile
import zipfile
import zlib
from dataclasses import dataclass, field

import nbformat
from nbgrader.api import Gradebook
from sqlalchemy.exc import SQLAlchemyError

from hw3kit import preflight

MAX_NOTEBOOK_BYTES = 200 * 1024 * 1024
EXPECTED = ("expected a folder with one sub-folder per student (alice/hw3.ipynb), files named alice_hw3.ipynb, "
            "or an LMS download (.zip) of such files")

CANVAS = re.compile(r"^(?P<slug>.+?)_(?:(?P<late>LATE)_)?(?P<lms_user_id>\d+)_(?P<file_id>\d+)_(?P<name>.+)$")
CANVAS_ANONYMOUS = re.compile(r"^(?:(?P<late>LATE)_)?anon_(?P<anonymous_id>[A-Za-z0-9]+)_(?P<file_id>\d+)_"
                              r"(?P<name>.+)$")
STUDENT_ID = re.compile(r"^\w[\w.\-]*$")


class ImportProblem(RuntimeError):
    """The input cannot be imported at all; nothing was changed."""


@dataclass
class Entry:
    """One file of the source: its path as the user sees it, with '/' separators, and how to read it."""
    path: str
    size: int
    read: callable


@dataclass
class Upload:
    """A file that names a student and a notebook of the assignment."""
    entry: Entry
    notebook: str
    version: int = 0  # Canvas's re-upload suffix: hw3-2.ipynb is version 2
    file_id: int = -1
    slug: str = ""
    lms_user_id: str = None
    late: bool = False
    student: str = None  # decided once the gradebook is read
    content: bytes = None


@dataclass
class Result:
    imported: list = field(default_factory=list)  # (student, notebook, Upload, "new" | "replaced" | "unchanged")
    not_imported: list = field(default_factory=list)  # (path, reason)
    renamed: list = field(default_factory=list)  # (student, sentence) of the imported students renamed


# ---------------------------------------------------------------- the source

def read_source(source):
    """The files of ``source`` (a folder, a .zip, or one file) as Entries."""
    if not os.path.exists(source):
        raise ImportProblem(f"{source} does not exist: {EXPECTED}.")
    if os.path.isdir(source):
        return _folder_entries(source)
    if zipfile.is_zipfile(source):
        return _zip_entries(source)
    if source.lower().endswith(".zip"):
        raise ImportProblem(f"{source} is not a valid zip archive: download it again from the LMS.")
    return [Entry(os.path.basename(source), os.path.getsize(source), lambda: _read_file(source))]


def _read_file(path):
    with open(path, "rb") as stream:
        return stream.read()


def _folder_entries(folder):
    entries = []
    for root, folders, files in os.walk(folder):
        folders.sort()
        for name in sorted(files):
            path = os.path.join(root, name)
            relative = os.path.relpath(path, folder).replace(os.sep, "/")
            size = os.path.getsize(path) if os.path.isfile(path) else 0  # a broken link is reported when read
            entries.append(Entry(relative, size, lambda path=path: _read_file(path)))
    return entries


def _zip_entries(archive):
    try:
        bundle = zipfile.ZipFile(archive)
        members = [info for info in bundle.infolist() if not info.is_dir()]
    except (zipfile.BadZipFile, OSError) as error:
        raise ImportProblem(f"{archive} cannot be read as a zip archive ({error}): download it again.") from error
    return [Entry(info.filename.replace("\\", "/"), info.file_size,
                  lambda info=info: bundle.read(info)) for info in members]


# ---------------------------------------------------------------- names

def parse_entry(entry, notebooks, assignment, regexp=None):
    """An Upload for ``entry``, or the reason it is not one."""
    parts = [part for part in entry.path.split("/") if part]
    base = parts[-1]
    if regexp is not None:
        match = regexp.match(entry.path)
        if match:
            return _upload(entry, notebooks, match.group("file_id"), slug=match.group("student_id"))
    match = CANVAS_ANONYMOUS.match(base)
    if match:
        return _upload(entry, notebooks, match["name"], slug=f"anon-{match['anonymous_id']}",
                       file_id=int(match["file_id"]), late=bool(match["late"]))
    match = CANVAS.match(base)
    if match:
        return _upload(entry, notebooks, match["name"], slug=match["slug"], file_id=int(match["file_id"]),
                       late=bool(match["late"]), lms_user_id=match["lms_user_id"])
    for notebook in notebooks:
        match = re.match(rf"^(?P<student>.+?)_(?P<name>{_versioned(notebook)})$", base)
        if match:
            return _upload(entry, notebooks, match["name"], slug=match["student"])
    folders = [part for part in parts[:-1] if part != assignment]
    if _notebook_and_version(base, notebooks) and folders:
        return _upload(entry, notebooks, base, slug=folders[-1])
    if _notebook_and_version(base, notebooks):
        return f"no student in its name or folder (expected <student>/{base} or <student>_{base})"
    return _not_a_notebook_name(base, notebooks)


def _versioned(notebook):
    stem, extension = os.path.splitext(notebook)
    return rf"{re.escape(stem)}(?:-\d+)?{re.escape(extension)}"


def _notebook_and_version(name, notebooks):
    """(notebook of the release, re-upload number) that ``name`` stands for, or None."""
    if name in notebooks:
        return name, 0
    match = re.match(r"^(?P<stem>.+)-(?P<version>\d+)(?P<extension>\.[^.]+)$", name)
    if match and match["stem"] + match["extension"] in notebooks:
        return match["stem"] + match["extension"], int(match["version"])
    return None


def _not_a_notebook_name(name, notebooks):
    if name.lower().endswith(".zip"):
        return "an archive inside the download: unpack it into a folder and import that folder"
    expected = " or ".join(notebooks)
    return f"not a notebook of the assignment: {name} (expected {expected})"


def _upload(entry, notebooks, name, slug, **fields):
    found = _notebook_and_version(name, notebooks)
    if not found:
        return _not_a_notebook_name(name, notebooks)
    if not STUDENT_ID.match(slug):
        return f"{slug!r} cannot be a student id (letters, digits, '.', '-' and '_' only)"
    notebook, version = found
    return Upload(entry, notebook, version=version, slug=slug, **fields)


# ---------------------------------------------------------------- which upload counts

def latest_uploads(uploads, result):
    """The upload that counts for each (student, notebook): the highest re-upload number, then the
    highest LMS file id. Two uploads nothing orders are both refused unless they are identical."""
    groups = {}
    for upload in uploads:
        groups.setdefault((upload.student, upload.notebook), []).append(upload)
    chosen = []
    for (student, notebook), group in sorted(groups.items()):
        group.sort(key=lambda u: (u.version, u.file_id, u.entry.path), reverse=True)
        latest, rest = group[0], group[1:]
        equal = [u for u in rest if (u.version, u.file_id) == (latest.version, latest.file_id)]
        if equal and any(_safe_content(u) != _safe_content(latest) or _safe_content(u) is None for u in equal):
            for upload in [latest, *equal]:
                others = ", ".join(u.entry.path for u in [latest, *equal] if u is not upload)
                result.not_imported.append((upload.entry.path, f"{student}'s {notebook} also comes as {others}, and "
                                            "nothing tells which is later: keep one and import again"))
            rest = [u for u in rest if u not in equal]
        else:
            chosen.append(latest)
        for upload in rest:
            if upload in equal:
                reason = f"identical to {latest.entry.path} (imported)"
            else:
                reason = f"superseded by a later upload: {latest.entry.path}"
            result.not_imported.append((upload.entry.path, reason))
    return chosen


def _safe_content(upload):
    try:
        return _content(upload)
    except (zipfile.BadZipFile, RuntimeError, NotImplementedError, OSError, EOFError, zlib.error):
        return None


def _content(upload):
    if upload.content is None:
        upload.content = upload.entry.read()
    return upload.content


def notebook_problem(content):
    """Why ``content`` is not a notebook, or None (nbformat's reader, without its schema validation:
    a notebook that reads is imported and grading reports what else is wrong with it)."""
    if not content:
        return "empty file"
    try:
        nbformat.reader.reads(content.decode("utf-8"))
    except UnicodeDecodeError:
        return "not a notebook (not UTF-8 text)"
    except nbformat.reader.NotJSONError:
        return "not a notebook (invalid JSON)"
    except (ValueError, KeyError, TypeError, AttributeError, nbformat.NBFormatError, nbformat.ValidationError) as error:
        return f"not a notebook (JSON, but not a notebook: {' '.join(str(error).split())[:120]})"
    return None


def read_checked(uploads, result):
    """The uploads whose content reads as a notebook; the others are reported."""
    good = []
    for upload in uploads:
        if upload.entry.size > MAX_NOTEBOOK_BYTES:
            result.not_imported.append((upload.entry.path, f"too large for a notebook ({upload.entry.size} bytes)"))
            continue
        try:
            content = _content(upload)
        except (zipfile.BadZipFile, RuntimeError, NotImplementedError, OSError, EOFError, zlib.error) as error:
            result.not_imported.append((upload.entry.path, f"unreadable ({error})"))
            continue
        problem = notebook_problem(content)
        if problem:
            result.not_imported.append((upload.entry.path, problem))
        else:
            good.append(upload)
    return good


# ---------------------------------------------------------------- students

def name_students(uploads, known, result):
    """Give each upload its student id. ``known`` maps the gradebook's student ids to their LMS user
    ids (or None). A user id the gradebook knows keeps its student; a new user gets the name slug unless
    another LMS user holds it (in the gradebook or in this download), then ``<slug>-<userid>``."""
    by_lms_id = {lms: student for student, lms in known.items() if lms}
    slugs = {}
    for upload in uploads:
        if upload.lms_user_id and upload.lms_user_id not in by_lms_id:
            slugs.setdefault(upload.slug, set()).add(upload.lms_user_id)
    decided = {}
    for lms_user_id, slug in sorted({(u.lms_user_id, u.slug) for u in uploads if u.lms_user_id}):
        if lms_user_id in by_lms_id or lms_user_id in decided:
            continue
        holders = _slug_holders(slug, lms_user_id, known, slugs)
        if not holders:
            decided[lms_user_id] = slug
            continue
        student = f"{slug}-{lms_user_id}"
        if known.get(student) not in (None, lms_user_id):
            decided[lms_user_id] = None
            continue
        decided[lms_user_id] = student
        result.renamed.append((student, f"{student} <- {slug} (LMS user {lms_user_id}): the name {slug} is also "
                                        f"{holders}"))
    named = []
    for upload in uploads:
        if upload.lms_user_id:
            upload.student = by_lms_id.get(upload.lms_user_id) or decided.get(upload.lms_user_id)
        else:
            upload.student = upload.slug
        if upload.student is None:
            result.not_imported.append((upload.entry.path, f"student id {upload.slug}-{upload.lms_user_id} belongs "
                                        "to another LMS user in the gradebook: rename one of them"))
        else:
            named.append(upload)
    return named


def _slug_holders(slug, lms_user_id, known, new_slugs):
    """Who else holds ``slug``: gradebook students of another LMS user named ``slug`` (or renamed from
    it) and other new LMS users of this download with the same slug; as words, or '' if nobody."""
    holders = [f"LMS user {lms} (student {student})" for student, lms in sorted(known.items())
               if lms and lms != lms_user_id and student in (slug, f"{slug}-{lms}")]
    holders += [f"LMS user {other} in this download" for other in sorted(new_slugs.get(slug, ()))
                if other != lms_user_id]
    return ", ".join(holders)


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
    "replaced" or "unchanged" (an identical file is left as it is)."""
    submitted = os.path.realpath(os.path.join(course_root, "submitted"))
    folder = os.path.realpath(os.path.join(submitted, upload.student, assignment))
    if os.path.commonpath([submitted, folder]) != submitted:  # student ids are checked; this is the backstop
        raise ImportProblem(f"refusing to write outside submitted/: {upload.student}")
    destination = os.path.join(folder, upload.notebook)
    if os.path.isfile(destination):
        if _read_file(destination) == upload.content:
            return "unchanged"
        change = "replaced"
    else:
        change = "new"
    os.makedirs(folder, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{upload.notebook}.", suffix=".partial")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(upload.content)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, destination)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
    return change


# ---------------------------------------------------------------- the command

def release_notebooks(course_root, assignment):
    folder = os.path.join(course_root, "release", assignment)
    if not os.path.isdir(folder):
        raise ImportProblem(f"release/{assignment}/ does not exist: run `python -m hw3kit release {assignment}` "
                            "first (or check the assignment name).")
    notebooks = sorted(name for name in os.listdir(folder) if name.endswith(".ipynb"))
    if not notebooks:
        raise ImportProblem(f"release/{assignment}/ holds no notebook: run `python -m hw3kit release {assignment}`.")
    return notebooks


def import_submissions(course_root, assignment, source, regexp=None, db_url=None):
    """Import ``source`` into submitted/ and the gradebook; returns a Result. Raises ImportProblem,
    having changed nothing, when the release, the source or the database cannot be used."""
    course_root = os.path.abspath(course_root)
    source = os.path.abspath(source)
    notebooks = release_notebooks(course_root, assignment)
    pattern = _compile(regexp)
    entries = read_source(source)
    if not any(entry.path.lower().endswith(".ipynb") for entry in entries):
        raise ImportProblem(f"{source} holds no notebook (.ipynb): {EXPECTED}.")
    submitted = os.path.join(course_root, "submitted")
    if not os.access(submitted if os.path.isdir(submitted) else course_root, os.W_OK):
        raise ImportProblem(f"cannot write to {submitted}: check its permissions.")
    url = preflight.check_database(course_root, db_url)

    result = Result()
    uploads = []
    for entry in entries:
        parsed = parse_entry(entry, notebooks, assignment, pattern)
        if isinstance(parsed, Upload):
            uploads.append(parsed)
        else:
            result.not_imported.append((entry.path, parsed))
    try:
        with Gradebook(url) as gradebook:
            uploads = name_students(uploads, known_students(gradebook), result)
            chosen = read_checked(latest_uploads(uploads, result), result)
            record_students(gradebook, chosen)
    except SQLAlchemyError as error:
        raise ImportProblem(f"the gradebook {preflight.shown(url)} cannot be used ({' '.join(str(error).split())[:300]}); "
                            "no notebook was placed.") from error
    for upload in chosen:
        result.imported.append((upload.student, upload.notebook, upload, place(course_root, assignment, upload)))
    result.renamed = [(student, sentence) for student, sentence in result.renamed
                      if student in {upload.student for upload in chosen}]
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
                            r"e.g. '^(?P<student_id>\w+)/(?P<file_id>hw3\.ipynb)$'.")
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
    if result.not_imported:
        lines.append(f"Not imported: {len(result.not_imported)} file(s):")
        lines += [f"  {path}: {reason}" for path, reason in result.not_imported]
    return lines
