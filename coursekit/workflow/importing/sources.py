"""The files of an import's source (a folder, a .zip, a tar archive, one file) as entries, each read only
when asked and never through a link; no member name ever becomes a path."""
import os
import posixpath
import shutil
import tarfile
import zipfile
import zlib
from dataclasses import dataclass

from coursekit import lateness, studentfiles
from coursekit.errors import InputError

from . import times

MAX_NOTEBOOK_BYTES = studentfiles.MAX_NOTEBOOK_BYTES
MAX_SOURCE_ENTRIES = 100_000  # files in one folder or archive imported at once
MAX_SOURCE_DEPTH = 32
MAX_READ_BYTES = 2 * 1024 ** 3  # notebook bytes read in one import (each is read twice: checked, then placed)
TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz")
EXPECTED = ("expected a folder with one sub-folder per student (alice/NOTEBOOK.ipynb, a notebook of the release), files "
            "named alice_NOTEBOOK.ipynb, "
            "or an LMS download (.zip, .tar) of such files")
READ_ERRORS = times.READ_ERRORS


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
