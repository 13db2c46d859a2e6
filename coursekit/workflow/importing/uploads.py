"""Which student and notebook each file of the source is (Canvas's names, nbgrader's layout, ``--regexp``), and
which upload of a student's counts."""
import hashlib
import os
import re
from dataclasses import dataclass, field

import nbformat

from coursekit import studentfiles

from .sources import MAX_NOTEBOOK_BYTES, MAX_READ_BYTES, READ_ERRORS, Entry

CANVAS = re.compile(r"^(?P<slug>.+?)_(?:(?P<late>LATE)_)?(?P<lms_user_id>\d+)_(?P<file_id>\d+)_(?P<name>.+)$")
CANVAS_ANONYMOUS = re.compile(r"^(?:(?P<late>LATE)_)?anon_(?P<anonymous_id>[A-Za-z0-9]+)_(?P<file_id>\d+)_"
                              r"(?P<name>.+)$")
STUDENT_ID = re.compile(r"^\w[\w.\-]*$")


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


class Budget:
    """Bytes of notebooks one import may read (a zip bomb of many large members ends here)."""
    left = MAX_READ_BYTES


def read_upload(upload, budget):
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
            upload.digest = hashlib.sha256(read_upload(upload, budget or Budget())).hexdigest()
        except READ_ERRORS:
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
    budget = budget or Budget()
    good = []
    for upload in uploads:
        if upload.entry.problem:
            result.not_imported.append((upload.entry.path, upload.entry.problem))
            continue
        if upload.entry.size > MAX_NOTEBOOK_BYTES:
            result.not_imported.append((upload.entry.path, f"too large for a notebook ({upload.entry.size} bytes)"))
            continue
        try:
            content = read_upload(upload, budget)
        except studentfiles.Refused as refused:
            result.not_imported.append((upload.entry.path, str(refused)))
            continue
        except READ_ERRORS as error:
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
