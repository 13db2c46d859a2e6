"""Submission times and due dates, as nbgrader keeps them, read without trusting what a student wrote.

nbgrader's late-submission penalty needs two things: the assignment's due date in the gradebook
(``Assignment.duedate``: ``nbgrader db assignment add ASSIGNMENT --duedate ...``, the formgrader's
"Manage Assignments", or ``coursekit release ASSIGNMENT --duedate ...``) and the submission's time, which
its autograde reads from ``submitted/<student>/<assignment>/timestamp.txt`` into
``SubmittedAssignment.timestamp``. ``AssignLatePenalties`` (in the autograde list) then asks the
``LateSubmissionPlugin`` (``c.LateSubmissionPlugin.penalty_method = "zero"``, or a plugin of one's own,
``c.AssignLatePenalties.plugin_class``) for each notebook's penalty, kept as
``SubmittedNotebook.late_submission_penalty``. A submission without a timestamp.txt is on time for nbgrader.

A timestamp.txt may come from a student (nbgrader's exchange is theirs to write): it is read at most
``MAX_TIMESTAMP_BYTES``, without following a link, and only a plain date and time is accepted
(``parse_time``): nbgrader's own ``2024-03-01 17:00:00.000000 UTC`` (any zone name nbgrader knows), ISO
8601 with an offset (``2024-03-01T17:00:00+01:00``), or a time without a zone (UTC, as nbgrader reads it),
from the year 2000 to a day from now. dateutil, which nbgrader uses, also reads "10" or "March" (as a date
of this month) and takes an unknown zone name for UTC: those are refused here.

Times are kept as naive UTC datetimes, as nbgrader's gradebook keeps them.
"""
import datetime
import os
import re

MAX_TIMESTAMP_BYTES = 256  # nbgrader writes about 30
EARLIEST = datetime.datetime(2000, 1, 1)
FUTURE_SLACK = datetime.timedelta(days=1)  # clocks and time zones of the machines that wrote the time
TIMESTAMP = "timestamp.txt"

_WHEN = r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?"
_NAMED = re.compile(rf"^(?P<when>{_WHEN})(?: (?P<zone>[A-Za-z][A-Za-z0-9_+\-/]{{0,63}}))?$")
_OFFSET = re.compile(rf"^(?P<when>{_WHEN}) ?(?P<offset>Z|[+-]\d{{2}}:?\d{{2}})$")


class BadTime(ValueError):
    """Not a time the kit accepts; the message says why."""


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def parse_time(text, require_zone=False, check_range=True, now=None):
    """The naive UTC datetime ``text`` stands for; raises BadTime. ``require_zone``: a time without a
    zone is refused (a due date typed by a person). ``check_range``: from 2000 to a day from ``now``."""
    text = text.strip()
    if len(text) > 100:
        raise BadTime("longer than any date and time")
    match = _OFFSET.match(text)
    try:
        if match:
            offset = "+00:00" if match["offset"] == "Z" else match["offset"]
            offset = offset if ":" in offset else f"{offset[:3]}:{offset[3:]}"
            value = datetime.datetime.fromisoformat(match["when"].replace(" ", "T") + offset)
        else:
            match = _NAMED.match(text)
            if not match:
                raise BadTime(f"not a date and time such as 2024-03-01 17:00:00.000000 UTC: {_shown(text)!r}")
            value = datetime.datetime.fromisoformat(match["when"].replace(" ", "T"))
            zone = match["zone"]
            if zone is None and require_zone:
                raise BadTime(f"no time zone in {_shown(text)!r} (nbgrader would read it as UTC): add one, "
                              "e.g. '2024-03-01 17:00 Europe/London' or '2024-03-01 17:00 UTC'")
            if zone is not None:
                import dateutil.tz  # nbgrader's own lookup of a zone name (nbgrader.utils.parse_utc)

                tz = dateutil.tz.gettz(zone)
                if tz is None:
                    raise BadTime(f"unknown time zone {_shown(zone)!r} (nbgrader would read the time as UTC)")
                value = value.replace(tzinfo=tz)
        if value.tzinfo is not None:
            value = (value - value.utcoffset()).replace(tzinfo=None)
    except BadTime:
        raise
    except (ValueError, OverflowError, TypeError) as error:  # month 13, 25 o'clock, year 9999 + offset
        raise BadTime(f"not a valid date and time: {_shown(text)!r} ({error})") from None
    if check_range:
        now = now or utcnow()
        if value < EARLIEST:
            raise BadTime(f"{shown_time(value)} is before {EARLIEST.year}")
        if value > now + FUTURE_SLACK:
            raise BadTime(f"{shown_time(value)} is in the future")
    return value


def time_from_bytes(content, now=None):
    """The time a timestamp.txt's bytes hold (one line, UTF-8); raises BadTime."""
    if len(content) > MAX_TIMESTAMP_BYTES:
        raise BadTime(f"larger than {MAX_TIMESTAMP_BYTES} bytes: not a time")
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        raise BadTime("not UTF-8 text") from None
    if not text.strip():
        raise BadTime("empty")
    if len(text.strip().splitlines()) > 1:
        raise BadTime("more than one line")
    value = parse_time(text, now=now)
    from nbgrader.utils import parse_utc  # what nbgrader's autograde will read (CourseDirectory.get_existing_timestamp)

    try:
        theirs = parse_utc(text.strip())
    except (ValueError, OverflowError, TypeError) as error:
        raise BadTime(f"nbgrader cannot read {_shown(text.strip())!r} ({error})") from None
    if theirs != value:
        raise BadTime(f"{_shown(text.strip())!r} is {shown_time(value)}, but nbgrader would read it as "
                      f"{shown_time(theirs)}: write it as {nbgrader_text(value)!r}")
    return value


def nbgrader_text(value):
    """``value`` (naive UTC) as nbgrader's exchange writes a timestamp.txt (Exchange.timestamp_format)."""
    return value.strftime("%Y-%m-%d %H:%M:%S.%f") + " UTC"


def shown_time(value):
    return value.strftime("%Y-%m-%d %H:%M:%S UTC") if value is not None else ""


def _shown(text):
    from coursekit.studentfiles import shown
    return shown(text, 60)


def late_by(seconds):
    """'2 h 13 min', '3 d 0 h', '45 s'."""
    seconds = int(round(seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min"
    return f"{secs} s"


def seconds_late(submitted_at, due):
    """nbgrader's SubmittedAssignment.total_seconds_late: 0 without a time or a due date."""
    if submitted_at is None or due is None:
        return 0.0
    return max(0.0, (submitted_at - due).total_seconds())


def from_posix(seconds):
    return datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc).replace(tzinfo=None)


def zip_entry_time(info):
    """(naive UTC time of a zip member, True if the zip says it is UTC). Info-ZIP's extended timestamp
    field (0x5455) holds UTC seconds; without it the member's date and time have no zone (read as UTC)."""
    extra, index = info.extra or b"", 0
    while index + 4 <= len(extra):
        kind = int.from_bytes(extra[index:index + 2], "little")
        size = int.from_bytes(extra[index + 2:index + 4], "little")
        data = extra[index + 4:index + 4 + size]
        if kind == 0x5455 and len(data) >= 5 and data[0] & 1:
            try:
                return from_posix(int.from_bytes(data[1:5], "little", signed=True)), True
            except (OverflowError, OSError, ValueError):
                break
        index += 4 + size
    try:
        return datetime.datetime(*info.date_time), False
    except (ValueError, TypeError):
        return None, False


# ---------------------------------------------------------------- the course's files and gradebook

def read_submitted_time(course_root, student, assignment):
    """(time of submitted/<student>/<assignment>/timestamp.txt or None, why it cannot be used or None).
    Nothing is followed; a missing file is (None, None): on time for nbgrader."""
    from coursekit import studentfiles

    try:
        handle = studentfiles.open_submission(course_root, student, assignment)
    except studentfiles.Refused:
        return None, None  # the folder itself is refused: grade and status say so
    if handle is None:
        return None, None
    try:
        content = studentfiles.read_regular(TIMESTAMP, handle, MAX_TIMESTAMP_BYTES)
    except FileNotFoundError:
        return None, None
    except studentfiles.Refused as refused:
        return None, f"{TIMESTAMP} {refused}"
    except OSError as error:
        return None, f"{TIMESTAMP} cannot be read ({error.strerror})"
    finally:
        os.close(handle)
    try:
        return time_from_bytes(content), None
    except BadTime as bad:
        return None, f"{TIMESTAMP} is not a submission time: {bad}"


def due_date(gradebook, assignment):
    """The assignment's due date in the gradebook (naive UTC), or None."""
    from nbgrader.api import MissingEntry

    try:
        return gradebook.find_assignment(assignment).duedate
    except MissingEntry:
        return None


def set_due_date(url, assignment, text):
    """Put ``text`` (with its time zone) as the assignment's due date in the gradebook, as
    ``nbgrader db assignment add ASSIGNMENT --duedate TEXT`` does; returns it (naive UTC)."""
    from nbgrader.api import Gradebook

    value = parse_time(text, require_zone=True, check_range=False)
    with Gradebook(url) as gradebook:
        gradebook.update_or_create_assignment(assignment, duedate=value)
    return value


def no_due_date_note(assignment):
    return (f"{assignment} has no due date in the gradebook, so nbgrader counts every submission as on time: "
            f"set one with `python -m coursekit release {assignment} --duedate '2024-03-01 17:00 Europe/London'` "
            f"(or `nbgrader db assignment add {assignment} --duedate ...`), then grade again.")
