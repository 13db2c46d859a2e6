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
import contextlib
import hashlib
import os
import posixpath
import re
import shutil
import tarfile
import tempfile
import zipfile
import zlib
from dataclasses import dataclass, field

import nbformat
from nbgrader.api import Gradebook
from sqlalchemy.exc import SQLAlchemyError

from coursekit import atomic, lateness, preflight
from coursekit import studentfiles
from coursekit.errors import InputError
from coursekit.workflow import importtimes

MAX_NOTEBOOK_BYTES = studentfiles.MAX_NOTEBOOK_BYTES
MAX_SOURCE_ENTRIES = 100_000  # files in one folder or archive imported at once
MAX_SOURCE_DEPTH = 32
MAX_READ_BYTES = 2 * 1024 ** 3  # notebook bytes read in one import (each is read twice: checked, then placed)
TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz")
EXPECTED = ("expected a folder with one sub-folder per student (alice/NOTEBOOK.ipynb, a notebook of the release), files "
            "named alice_NOTEBOOK.ipynb, "
            "or an LMS download (.zip, .tar) of such files")
_READ_ERRORS = importtimes.READ_ERRORS

CANVAS = re.compile(r"^(?P<slug>.+?)_(?:(?P<late>LATE)_)?(?P<lms_user_id>\d+)_(?P<file_id>\d+)_(?P<name>.+)$")
CANVAS_ANONYMOUS = re.compile(r"^(?:(?P<late>LATE)_)?anon_(?P<anonymous_id>[A-Za-z0-9]+)_(?P<file_id>\d+)_"
                              r"(?P<name>.+)$")
STUDENT_ID = re.compile(r"^\w[\w.\-]*$")


class ImportProblem(InputError):
    """The input cannot be imported at all; nothing was changed."""


@dataclass
class Entry:
    """One file of the source: its path as the user sees it, with '/' separators, and how to read it
    (``read(limit)``: at most ``limit`` bytes, or an error). ``problem``: why it is not read at all (a
    link, a device, a name that is not a name)."""
    path: str
    size: int
    read: callable = None
    problem: str = None
    mtime: object = None  # the file's or member's time (naive UTC datetime), or None
    mtime_source: str = ""  # what that time is, in words


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
    digest: str = None  # SHA-256 of the content read and checked (the content itself is not kept)
    canvas: bool = False  # named as in Canvas's download: ``late`` is Canvas's word on it
    own_folder: bool = False  # in a folder of its student's (<student>/hw3.ipynb): a timestamp.txt there is its
    submitted_at: object = None  # its submission time (naive UTC), when the source tells it
    time_source: str = ""  # where that time comes from, in words
    time_estimated: bool = False  # the time is the latest it can have been submitted (a file's time)


@dataclass
class Result:
    imported: list = field(default_factory=list)  # (student, notebook, Upload, "new" | "replaced" | "unchanged")
    not_imported: list = field(default_factory=list)  # (path, reason)
    renamed: list = field(default_factory=list)  # (student, sentence) of the imported students renamed
    times: dict = field(default_factory=dict)  # student: Time, for the students imported
    due: object = None  # the assignment's due date in the gradebook (naive UTC), or None


# ---------------------------------------------------------------- the source

def read_source(source, scratch=None):
    """The files of ``source`` (a folder, a .zip, a tar archive, or one file) as Entries. ``scratch``: a
    folder where a tar archive's notebooks are put to be read (a compressed tar cannot be read out of order)."""
    if not os.path.exists(source):
        raise ImportProblem(f"{source} does not exist: {EXPECTED}.")
    if os.path.isdir(source):
        return _folder_entries(source)
    if zipfile.is_zipfile(source):
        return _zip_entries(source)
    if source.lower().endswith(".zip"):
        raise ImportProblem(f"{source} is not a valid zip archive: download it again from the LMS.")
    if source.lower().endswith(TAR_SUFFIXES):
        return _tar_entries(source, scratch)
    return [Entry(os.path.basename(source), os.path.getsize(source),
                  lambda limit: studentfiles.read_path(source, limit),
                  mtime=lateness.from_posix(os.stat(source).st_mtime), mtime_source="the file's time")]


def _folder_entries(folder):
    """Every file of the folder, found without following links; links, pipes and devices are entries
    with a problem (never opened), and so are names that are not names."""
    limits = {"entries": MAX_SOURCE_ENTRIES, "depth": MAX_SOURCE_DEPTH, "file": MAX_NOTEBOOK_BYTES,
              "notebook": MAX_NOTEBOOK_BYTES, "total": float("inf")}
    base, name = os.path.split(os.path.abspath(folder))
    handle = os.open(base, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        listing = studentfiles.scan(name, handle, limits)
    finally:
        os.close(handle)
    if any(path == "" for path, _ in listing.problems):
        raise ImportProblem(f"{folder} holds more than {MAX_SOURCE_ENTRIES} files: {EXPECTED}.")
    problems = {}
    for path, sentence in listing.problems:
        problems.setdefault(path, sentence.removeprefix("is "))
    entries = []
    for item in listing.items:
        if item.kind == "folder":
            continue
        problem = problems.get(item.path)
        if item.kind == "file" and problem and problem.startswith("larger than"):
            problem = None  # reported by size below, as for an archive's member
        entries.append(Entry(item.path, item.size, None if problem else _folder_reader(folder, item.path), problem,
                             mtime=lateness.from_posix(item.mtime_ns / 1e9), mtime_source="the file's time"))
    return entries


def _folder_reader(folder, path):
    def read(limit):
        handle = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            return studentfiles.read_relative(handle, path, limit)
        finally:
            os.close(handle)
    return read


def _member_problem(path):
    for part in path.split("/"):
        if part and part not in (".", ".."):  # '..' is refused as a student id, and never becomes a path
            problem = studentfiles.name_problem(part)
            if problem:
                return problem
    return None


def _zip_entries(archive):
    try:
        bundle = zipfile.ZipFile(archive)
        members = [info for info in bundle.infolist() if not info.is_dir()]
    except (zipfile.BadZipFile, OSError) as error:
        raise ImportProblem(f"{archive} cannot be read as a zip archive ({error}): download it again.") from error
    if len(members) > MAX_SOURCE_ENTRIES:
        raise ImportProblem(f"{archive} holds more than {MAX_SOURCE_ENTRIES} files: {EXPECTED}.")
    entries = []
    for info in members:
        path = info.filename.replace("\\", "/")
        mode = info.external_attr >> 16
        problem = _member_problem(path)
        if mode & 0o170000 and not (mode & 0o170000) == 0o100000:  # a Unix mode that is not a regular file
            problem = f"{studentfiles.kind_of(mode)} in the archive; only regular files are imported"
        mtime, utc = lateness.zip_entry_time(info)
        entries.append(Entry(path, info.file_size, None if problem else
                             (lambda limit, info=info: _zip_read(bundle, info, limit)), problem, mtime=mtime,
                             mtime_source="the time of its entry in the zip" + ("" if utc else ", read as UTC")))
    return entries


def _zip_read(bundle, info, limit):
    if info.file_size > limit:
        raise studentfiles.Refused(f"larger than {studentfiles.mib(limit)} ({info.file_size} bytes)")
    with bundle.open(info) as stream:  # zipfile stops at the declared size (and checks the CRC)
        return stream.read(limit + 1)


def _tar_entries(archive, scratch):
    """The members of a tar archive. Links, hard links, devices and pipes are entries with a problem;
    regular members named like a notebook and within the cap are copied (one pass over the archive)
    into ``scratch`` under a number of their own, from where they are read."""
    entries = []
    try:
        with tarfile.open(archive, "r:*") as bundle:
            for number, member in enumerate(bundle):
                if number >= MAX_SOURCE_ENTRIES:
                    raise ImportProblem(f"{archive} holds more than {MAX_SOURCE_ENTRIES} files: {EXPECTED}.")
                if member.isdir():
                    continue
                path = member.name
                problem = _member_problem(path)
                if member.issym() or member.islnk():
                    kind = "a symbolic link" if member.issym() else "a hard link"
                    problem = f"{kind} in the archive (to {studentfiles.shown(member.linkname)}); only regular files are imported"
                elif not member.isreg():
                    problem = "a device, pipe or other special file in the archive; only regular files are imported"
                mtime = dict(mtime=_tar_time(member), mtime_source="the time of its entry in the archive")
                wanted = path.endswith(".ipynb") or (posixpath.basename(path) == lateness.TIMESTAMP
                                                     and member.size <= lateness.MAX_TIMESTAMP_BYTES)
                if problem or not wanted or member.size > MAX_NOTEBOOK_BYTES or scratch is None:
                    entries.append(Entry(path, member.size, None, problem, **mtime))
                    continue
                copy = os.path.join(scratch, str(number))
                with bundle.extractfile(member) as stream, open(copy, "wb") as out:
                    shutil.copyfileobj(stream, out)
                entries.append(Entry(path, member.size, lambda limit, copy=copy: studentfiles.read_path(copy, limit),
                                     **mtime))
    except (tarfile.TarError, OSError, EOFError, zlib.error) as error:
        raise ImportProblem(f"{archive} cannot be read as a tar archive ({error}): download it again.") from error
    return entries


def _tar_time(member):
    try:
        return lateness.from_posix(member.mtime)
    except (OverflowError, OSError, ValueError, TypeError):
        return None


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
                       file_id=int(match["file_id"]), late=bool(match["late"]), canvas=True)
    match = CANVAS.match(base)
    if match:
        return _upload(entry, notebooks, match["name"], slug=match["slug"], file_id=int(match["file_id"]),
                       late=bool(match["late"]), lms_user_id=match["lms_user_id"], canvas=True)
    for notebook in notebooks:
        match = re.match(rf"^(?P<student>.+?)_(?P<name>{_versioned(notebook)})$", base)
        if match:
            return _upload(entry, notebooks, match["name"], slug=match["student"])
    folders = [part for part in parts[:-1] if part != assignment]
    if _notebook_and_version(base, notebooks) and folders:
        return _upload(entry, notebooks, base, slug=folders[-1], own_folder=True)
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
        if equal and any(_safe_digest(u) != _safe_digest(latest) or _safe_digest(u) is None for u in equal):
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


class _Budget:
    """Bytes of notebooks one import may read (a zip bomb of many large members ends here)."""
    left = MAX_READ_BYTES


def _read(upload, budget):
    if budget.left <= 0:
        raise studentfiles.Refused(f"not read: the source holds more than {MAX_READ_BYTES // 1024 ** 3} GiB of "
                                "notebooks; import it in parts")
    if upload.entry.problem or upload.entry.read is None:
        raise studentfiles.Refused(upload.entry.problem or "not readable")
    content = upload.entry.read(MAX_NOTEBOOK_BYTES)
    budget.left -= len(content)
    if len(content) > MAX_NOTEBOOK_BYTES:
        raise studentfiles.Refused(f"too large for a notebook (more than {MAX_NOTEBOOK_BYTES} bytes)")
    return content


def _safe_digest(upload, budget=None):
    """The SHA-256 of the upload's content (read once, not kept), or None if it cannot be read."""
    if upload.digest is None:
        try:
            upload.digest = hashlib.sha256(_read(upload, budget or _Budget())).hexdigest()
        except _READ_ERRORS:
            return None
    return upload.digest


def notebook_problem(content):
    """Why ``content`` is not a notebook, or None (nbformat's reader, without its schema validation:
    a notebook that reads is imported and grading reports what else is wrong with it). Any JSON is
    survived: nesting too deep for the parser, parts of the wrong type."""
    if not content:
        return "empty file"
    try:
        nbformat.reader.reads(content.decode("utf-8"))
    except UnicodeDecodeError:
        return "not a notebook (not UTF-8 text)"
    except nbformat.reader.NotJSONError:
        return "not a notebook (invalid JSON)"
    except RecursionError:
        return "not a notebook (its JSON is nested too deeply)"
    except Exception as error:  # a student's file: whatever nbformat trips on, this file is not imported
        return f"not a notebook (JSON, but not a notebook: {' '.join(str(error).split())[:120]})"
    return None


def read_checked(uploads, result, budget=None):
    """The uploads whose content reads as a notebook; the others are reported. The content is not kept
    (its SHA-256 is): ``place`` reads it again."""
    budget = budget or _Budget()
    good = []
    for upload in uploads:
        if upload.entry.problem:
            result.not_imported.append((upload.entry.path, upload.entry.problem))
            continue
        if upload.entry.size > MAX_NOTEBOOK_BYTES:
            result.not_imported.append((upload.entry.path, f"too large for a notebook ({upload.entry.size} bytes)"))
            continue
        try:
            content = _read(upload, budget)
        except studentfiles.Refused as refused:
            result.not_imported.append((upload.entry.path, str(refused)))
            continue
        except _READ_ERRORS as error:
            result.not_imported.append((upload.entry.path, f"unreadable ({error})"))
            continue
        problem = notebook_problem(content)
        if problem:
            result.not_imported.append((upload.entry.path, problem))
        else:
            upload.digest = hashlib.sha256(content).hexdigest()
            good.append(upload)
        del content
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
    content = _read(upload, _Budget())
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
    stamps = importtimes.stamp_folders(uploads, stamps, result)
    try:
        with Gradebook(url) as gradebook:
            uploads = name_students(uploads, known_students(gradebook), result)
            chosen = read_checked(latest_uploads(uploads, result), result)
            chosen = importtimes.submission_times(chosen, stamps, result)
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
        except (studentfiles.Refused, *_READ_ERRORS) as error:
            result.not_imported.append((upload.entry.path, str(error)))
    for student in sorted({upload.student for upload in placed}):
        mine = [(upload, change) for name, _, upload, change in result.imported if name == student]
        try:
            result.times[student] = importtimes.place_time(course_root, assignment, student, [u for u, _ in mine],
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
    lines += importtimes.time_lines(result, assignment)
    if result.not_imported:
        lines.append(f"Not imported: {len(result.not_imported)} file(s):")
        lines += [f"  {studentfiles.shown(path, 300)}: {reason}" for path, reason in result.not_imported]
    return lines
