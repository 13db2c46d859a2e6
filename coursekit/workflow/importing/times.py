"""The submission times of an import (``coursekit.workflow.importing``): where each comes from
(nbgrader's ``timestamp.txt`` beside the notebook; Canvas's LATE with the time of its file), what is
written to ``submitted/<student>/<assignment>/timestamp.txt`` (nbgrader's format, read by its autograde
for its late penalty), and what the command says of them."""
import contextlib
import os
import posixpath
import tarfile
import zipfile
import zlib
from dataclasses import dataclass

from coursekit import atomic, lateness
from coursekit import studentfiles

# what reading a source's file can raise (importing uses these)
READ_ERRORS = (zipfile.BadZipFile, tarfile.TarError, RuntimeError, NotImplementedError, OSError, EOFError,
                zlib.error, studentfiles.Refused)


@dataclass
class Time:
    """What the import did with a student's submission time (submitted/<student>/<assignment>/timestamp.txt)."""
    value: object  # naive UTC datetime written, or None
    source: str  # where it comes from, or why there is none
    change: str = ""  # "written", "as before", "removed", "kept", or "" (there was and is none)
    estimated: bool = False


def stamp_folders(uploads, stamps, result):
    """The timestamp.txt files of ``stamps`` ({folder: Entry}) that sit in a student's own folder
    beside a notebook of the assignment; every other one is reported as not used."""
    folders = {posixpath.dirname(upload.entry.path) for upload in uploads if upload.own_folder}
    for folder, entry in sorted(stamps.items()):
        if folder not in folders:
            result.not_imported.append((entry.path, entry.problem or (
                f"a {lateness.TIMESTAMP} that is not in a student's folder beside a notebook of the assignment: not "
                f"used (nbgrader's layout: <student>/{{assignment}}/{lateness.TIMESTAMP} beside the notebook)")))
    return {folder: entry for folder, entry in stamps.items() if folder in folders}


def _stamp_time(entry, now):
    """The time of a source's timestamp.txt; raises lateness.BadTime or studentfiles.Refused."""
    if entry.problem:
        raise studentfiles.Refused(entry.problem)
    if entry.size > lateness.MAX_TIMESTAMP_BYTES or entry.read is None:
        raise lateness.BadTime(f"larger than {lateness.MAX_TIMESTAMP_BYTES} bytes ({entry.size}): not a time")
    content = entry.read(lateness.MAX_TIMESTAMP_BYTES)
    return lateness.time_from_bytes(content, now=now)


def submission_times(uploads, stamps, result, now=None):
    """Give each upload its submission time, from what the source tells:

    * a timestamp.txt in the student's folder beside the notebook (nbgrader's layout): its time, checked
      (``lateness.time_from_bytes``); one that is not a plain, plausible time refuses the upload (its
      time is unknown, and no time would make it on time);
    * Canvas's LATE: the time of the file (its zip entry, or the file once unpacked). Canvas's file
      names carry no submission time, and its zip entries' times are not documented as one: the file's
      time is taken as the latest the student can have submitted (no earlier than the upload), and the
      import says so; an earlier time the instructor writes into submitted/<student>/<assignment>/
      timestamp.txt stays while the same notebook is imported again (``place_time``);
    * Canvas without LATE: on time (no time: nbgrader counts it as on time);
    * anything else: no time (nbgrader counts it as on time).
    Returns the uploads kept."""
    now = now or lateness.utcnow()
    kept = []
    for upload in uploads:
        folder = posixpath.dirname(upload.entry.path)
        if upload.own_folder and folder in stamps:
            stamp = stamps[folder]
            try:
                upload.submitted_at = _stamp_time(stamp, now)
                upload.time_source = f"from {studentfiles.shown(stamp.path, 200)}"
            except (lateness.BadTime, studentfiles.Refused, *READ_ERRORS) as error:
                result.not_imported.append((upload.entry.path, f"its {lateness.TIMESTAMP} "
                                            f"({studentfiles.shown(stamp.path, 200)}) is refused: {error}; fix it or "
                                            "remove it, then import again"))
                continue
        elif upload.canvas and upload.late:
            mtime = upload.entry.mtime
            if mtime is not None and lateness.EARLIEST <= mtime <= now + lateness.FUTURE_SLACK:
                upload.submitted_at, upload.time_estimated = mtime, True
                upload.time_source = (f"LATE in Canvas; {upload.entry.mtime_source}, the latest it can have been "
                                      "submitted (Canvas's download carries no submission time)")
            else:
                upload.time_source = (f"LATE in Canvas, but {upload.entry.mtime_source} is not a plausible time "
                                      f"({lateness.shown_time(mtime) or 'none'}): no penalty applies unless you write "
                                      f"its {lateness.TIMESTAMP}")
        elif upload.canvas:
            upload.time_source = "on time in Canvas (not marked LATE)"
        kept.append(upload)
    return kept


def _student_time(uploads):
    """(time, where it comes from, estimated, on time by the LMS's word) of one student's uploads: the
    latest of their times."""
    timed = [upload for upload in uploads if upload.submitted_at is not None]
    if timed:
        latest = max(timed, key=lambda upload: upload.submitted_at)
        return latest.submitted_at, latest.time_source, any(u.time_estimated for u in timed), False
    sources = sorted({upload.time_source for upload in uploads if upload.time_source})
    return None, "; ".join(sources), False, all(upload.canvas and not upload.late for upload in uploads)


def place_time(course_root, assignment, student, uploads, changes):
    """Write, keep or remove submitted/<student>/<assignment>/timestamp.txt after the student's notebooks
    were placed (``changes``: what ``place`` did to each); returns a Time. A time written is in
    nbgrader's format, atomically; the same time is not rewritten. A time that is only the latest the
    submission can have been made (a Canvas file's time) does not move an earlier time of the same,
    unchanged notebook (each new download of Canvas has a later time). Without a time, a stale
    timestamp.txt goes when the notebook changed or the LMS says it is on time."""
    folder = os.path.join(os.path.realpath(os.path.join(course_root, "submitted")), student, assignment)
    path = os.path.join(folder, lateness.TIMESTAMP)
    before, existing = None, None
    with contextlib.suppress(studentfiles.Refused, OSError):
        before = studentfiles.read_path(path, lateness.MAX_TIMESTAMP_BYTES)
        with contextlib.suppress(lateness.BadTime):
            existing = lateness.time_from_bytes(before)
    unchanged = all(change == "unchanged" for change in changes)
    value, source, estimated, on_time = _student_time(uploads)
    if value is None and not on_time and unchanged and existing is not None:
        return Time(existing, "kept from an earlier import (the notebook is unchanged)", "kept")
    if value is None:
        if os.path.lexists(path) and (on_time or not unchanged):
            os.unlink(path)
            return Time(None, source, "removed")
        return Time(None, source)
    if estimated and unchanged and existing is not None and existing < value:
        value, source, estimated = existing, "kept from an earlier import (the notebook is unchanged)", False
    text = lateness.nbgrader_text(value).encode()
    if before == text:
        return Time(value, source, "as before", estimated)
    atomic.write_bytes(path, text)
    return Time(value, source, "written", estimated)



def time_lines(result, assignment):
    """The submission times the import kept, with how late each is for the gradebook's due date."""
    timed = {student: time for student, time in result.times.items() if time.value is not None}
    lines = []
    if timed:
        due = f"due {lateness.shown_time(result.due)}" if result.due else "no due date"
        lines.append(f"Submission times ({lateness.TIMESTAMP}, read by nbgrader's late penalty; {assignment}: {due}):")
        for student, time in sorted(timed.items()):
            late = lateness.seconds_late(time.value, result.due)
            lateness_words = f"late by {lateness.late_by(late)}" if late else ("on time" if result.due else "")
            lines.append(f"  {studentfiles.shown(student, 200)}: {lateness.shown_time(time.value)}"
                         + (f", {lateness_words}" if lateness_words else "")
                         + f" ({time.source}; {lateness.TIMESTAMP} {time.change})")
        if result.due is None:
            lines.append(f"  {lateness.no_due_date_note(assignment)}")
    removed = sorted(student for student, time in result.times.items() if time.change == "removed")
    if removed:
        lines.append(f"Removed the earlier {lateness.TIMESTAMP} of {len(removed)} student(s) whose new submission has "
                     f"no time: {', '.join(studentfiles.shown(s, 200) for s in removed)}.")
    untimed = [time for time in result.times.values() if time.value is None]
    if untimed:
        on_time = sum(1 for time in untimed if time.source.startswith("on time in Canvas"))
        words = [f"{on_time} on time in Canvas (not marked LATE)"] if on_time else []
        if len(untimed) - on_time:
            words.append(f"{len(untimed) - on_time} without a time (no {lateness.TIMESTAMP} beside the notebook)")
        lines.append(f"Without a submission time: {', '.join(words)}: nbgrader counts them as on time.")
    late_without_time = [time.source for time in untimed if time.source.startswith("LATE in Canvas")]
    lines += [f"  {source}" for source in late_without_time]
    return lines
