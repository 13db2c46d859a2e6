"""Grading statuses: what happened to each submission, kept in the gradebook database itself.

nbgrader's gradebook records scores but not whether a submission could be graded at all (a broken
notebook ends as a timestamp and 0.0, like a real zero), nor which files were graded. The kit keeps
one row per (assignment, student) in a table of its own, ``coursekit_grading``, in the same database as
nbgrader's tables (SQLite or PostgreSQL), so that the gradebook is the one truth: a new gradebook has
no statuses and grades everyone, and removing a student removes both.

    status       "graded" or "failed" (the last attempt)
    reason       why it failed, or a graded one's note (cells stopped at the time limit)
    files_hash   SHA-256 of the submitted files that attempt read (``submission_hash``)
    graded_hash  the files of the last attempt that succeeded: the grade in the gradebook is theirs
    graded_at    when that was

Every graded attempt is kept too, one row per (assignment, student, files graded) in ``coursekit_attempt``: its
submission time, late penalty and the scores of its automatically graded cells, so that an instructor who counts
the best attempt (``c.GradeOnSubmit.counted_attempt``) has them after nbgrader's gradebook moved on to the next.

Only the coordinating process writes. nbgrader's own tables are created by nbgrader first (its
``Gradebook`` stamps a new database with its alembic version only when the database is empty).
"""
import datetime
import functools
import json
import os
import time

from sqlalchemy import Column, Float, MetaData, String, Table, Text, create_engine, delete, inspect, select
from sqlalchemy.exc import OperationalError

GRADED, FAILED = "graded", "failed"
TABLE = "coursekit_grading"
FORMER_TABLE = "hw3kit_grading"  # its name before the kit served any course: renamed on first use

_metadata = MetaData()
_table = Table(
    TABLE, _metadata,
    Column("assignment", String(128), primary_key=True),
    Column("student", String(128), primary_key=True),
    Column("status", String(16), nullable=False),
    Column("reason", Text, nullable=False, default=""),
    Column("seconds", Float, nullable=False, default=0.0),
    Column("finished", String(32), nullable=False),
    Column("phases", Text, nullable=True),
    Column("files_hash", String(64), nullable=True),
    Column("graded_hash", String(64), nullable=True),
    Column("graded_at", String(32), nullable=True),
)
ATTEMPTS_TABLE = "coursekit_attempt"
_attempts = Table(
    ATTEMPTS_TABLE, _metadata,
    Column("assignment", String(128), primary_key=True),
    Column("student", String(128), primary_key=True),
    Column("files_hash", String(64), primary_key=True),
    Column("submitted_at", String(32), nullable=True),  # nbgrader's submission time (naive UTC, ISO)
    Column("late_penalty", Float, nullable=False, default=0.0),
    Column("cells", Text, nullable=False),  # JSON {grade id: [score, max score]} of the autograded cells
    Column("graded_at", String(32), nullable=False),
)
_ENGINES = {}


SQLITE_WAIT = "timeout=60"  # seconds a SQLite connection waits for another's write (Python's default: 5)


def gradebook_url(course_root, db_url=None):
    """The gradebook URL a command uses: ``--db`` if given, else the course's setting
    (``c.CourseDirectory.db_url`` in nbgrader_config.py), else its ``gradebook.db``. A SQLite URL gets
    a longer wait for locks: grading workers and the coordinator write to one file."""
    url = db_url or configured_url(os.path.abspath(course_root)) or \
        f"sqlite:///{os.path.join(os.path.abspath(course_root), 'gradebook.db')}"
    if url.startswith("sqlite:///") and "?" not in url:
        url += "?" + SQLITE_WAIT
    return url


@functools.lru_cache(maxsize=None)
def configured_url(course_root):
    from traitlets.config import PyFileConfigLoader

    config_file = os.path.join(course_root, "nbgrader_config.py")
    if not os.path.isfile(config_file):
        return None
    config = PyFileConfigLoader(config_file).load_config()
    return config.CourseDirectory.db_url if "db_url" in config.CourseDirectory else None


def sqlite_file(url):
    """The file of a sqlite:/// URL (None for another database)."""
    return url[len("sqlite:///"):].split("?", 1)[0] if url.startswith("sqlite:///") else None


def _engine(url, create):
    if url not in _ENGINES:
        connect_args = {} if url.startswith("sqlite") else {"connect_timeout": 10}
        _ENGINES[url] = create_engine(url, future=True, connect_args=connect_args, pool_pre_ping=True)
    engine = _ENGINES[url]
    _rename_former_table(engine)
    if create:
        if not inspect(engine).get_table_names():
            from nbgrader.api import Gradebook  # let nbgrader create and stamp its own database first
            Gradebook(url).close()
        _metadata.create_all(engine)
    return engine


def _rename_former_table(engine):
    """A gradebook written by the kit under its former name keeps its statuses (nothing is lost)."""
    try:
        names = inspect(engine).get_table_names()
    except OperationalError:
        return
    if FORMER_TABLE in names and TABLE not in names:
        from sqlalchemy import text
        with engine.begin() as connection:
            connection.execute(text(f"ALTER TABLE {FORMER_TABLE} RENAME TO {TABLE}"))


def _rows(table, course_root, assignment, db_url):
    """The rows of one of the kit's tables for ``assignment``; none when the gradebook or the table does not exist
    yet (nothing is created by reading)."""
    url = gradebook_url(course_root, db_url)
    database = sqlite_file(url)
    if database is not None and not os.path.isfile(database):
        return []
    engine = _engine(url, create=False)
    if table.name not in inspect(engine).get_table_names():
        return []
    with engine.connect() as connection:
        return connection.execute(select(table).where(table.c.assignment == assignment)).mappings().all()


def load(course_root, assignment, db_url=None):
    """{student: {"status", "reason", "seconds", "finished", "phases", "files_hash", "graded_hash",
    "graded_at"}} for one assignment; empty when the gradebook (or the table) does not exist yet."""
    found = {}
    for row in _rows(_table, course_root, assignment, db_url):
        entry = dict(row)
        entry.pop("assignment")
        entry["phases"] = json.loads(entry["phases"]) if entry["phases"] else {}
        found[entry.pop("student")] = entry
    return found


def record(course_root, assignment, student, status, reason="", seconds=0.0, phases=None, files_hash=None,
           db_url=None, retry_for=30.0):
    """Store one attempt's outcome in one transaction. A failed attempt keeps the last success's
    ``graded_hash``: the grade of those files is still the one in the gradebook. The database may be
    restarting (PostgreSQL): retried for ``retry_for`` seconds, then the error goes up."""
    url = gradebook_url(course_root, db_url)
    now = datetime.datetime.now().isoformat(timespec="seconds")
    row = {"assignment": assignment, "student": student, "status": status, "reason": reason,
           "seconds": round(float(seconds), 4), "finished": now, "files_hash": files_hash,
           "phases": json.dumps({k: round(v, 4) for k, v in phases.items()}) if phases else None}
    deadline = time.monotonic() + retry_for
    while True:
        try:
            engine = _engine(url, create=True)
            with engine.begin() as connection:
                key = (_table.c.assignment == assignment) & (_table.c.student == student)
                previous = connection.execute(select(_table.c.graded_hash, _table.c.graded_at).where(key)).first()
                if status == GRADED:
                    row["graded_hash"], row["graded_at"] = files_hash, now
                else:
                    row["graded_hash"], row["graded_at"] = previous if previous else (None, None)
                connection.execute(delete(_table).where(key))
                connection.execute(_table.insert().values(**row))
            return
        except OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(1.0)


def remove(course_root, assignment, student, db_url=None):
    """Forget a student's status and attempts for ``assignment``; True if there was a status."""
    url = gradebook_url(course_root, db_url)
    engine = _engine(url, create=True)
    with engine.begin() as connection:
        done = connection.execute(delete(_table).where((_table.c.assignment == assignment)
                                                       & (_table.c.student == student)))
        connection.execute(delete(_attempts).where((_attempts.c.assignment == assignment)
                                                   & (_attempts.c.student == student)))
    return done.rowcount > 0


def keep_attempts(course_root, assignment, graded, db_url=None):
    """Keep the attempts just graded, ``graded``: {student: hash of the files graded}, with their scores as
    nbgrader's gradebook holds them now (a regrade of the same files replaces its row). One query for the class
    (nbgrader's objects would load each submission's notebooks and grades one query at a time)."""
    from nbgrader.api import Assignment, Grade, GradeCell, SubmittedAssignment, SubmittedNotebook
    from sqlalchemy.orm import Session

    url = gradebook_url(course_root, db_url)
    now = datetime.datetime.now().isoformat(timespec="seconds")
    found = {}
    engine = _engine(url, create=True)
    with Session(engine) as session:  # nbgrader's tables through its own models, without opening a Gradebook
        query = (session.query(SubmittedAssignment.student_id, SubmittedAssignment.timestamp, SubmittedNotebook.id,
                                    SubmittedNotebook.late_submission_penalty, GradeCell.name, GradeCell.max_score,
                                    Grade.score)
                 .join(Assignment, SubmittedAssignment.assignment_id == Assignment.id)
                 .join(SubmittedNotebook, SubmittedNotebook.assignment_id == SubmittedAssignment.id)
                 .join(Grade, Grade.notebook_id == SubmittedNotebook.id)
                 .join(GradeCell, GradeCell.id == Grade.cell_id)
                 .filter(Assignment.name == assignment, SubmittedAssignment.student_id.in_(sorted(graded)),
                         Grade.auto_score.isnot(None)))
        for student, timestamp, notebook, penalty, name, max_score, score in query:
            entry = found.setdefault(student, {"submitted_at": timestamp.isoformat() if timestamp else None,
                                               "penalties": {}, "cells": {}})
            entry["penalties"][notebook] = float(penalty or 0.0)
            entry["cells"][name] = [float(score), float(max_score)]
    rows = [{"assignment": assignment, "student": student, "files_hash": graded[student],
             "submitted_at": entry["submitted_at"], "late_penalty": sum(entry["penalties"].values()),
             "cells": json.dumps(entry["cells"], sort_keys=True), "graded_at": now}
            for student, entry in sorted(found.items())]
    with engine.begin() as connection:
        for row in rows:
            connection.execute(delete(_attempts).where(
                (_attempts.c.assignment == assignment) & (_attempts.c.student == row["student"])
                & (_attempts.c.files_hash == row["files_hash"])))
            connection.execute(_attempts.insert().values(**row))


def load_attempts(course_root, assignment, db_url=None):
    """{student: [{"files_hash", "submitted_at", "late_penalty", "cells", "graded_at"}]}, oldest first."""
    found = {}
    rows = _rows(_attempts, course_root, assignment, db_url)
    for row in sorted(rows, key=lambda row: (row["submitted_at"] or "", row["graded_at"])):
        entry = dict(row, cells={name: tuple(pair) for name, pair in json.loads(row["cells"]).items()})
        found.setdefault(entry.pop("student"), []).append(entry)
    return found


def submission_hash(course_root, assignment, student):
    """SHA-256 over the names and bytes of every file in submitted/<student>/<assignment>/ (None when
    the folder does not exist): a re-imported, changed notebook has another hash. Nothing is followed
    and no pipe or device is opened (``coursekit.studentfiles.submission_hash``)."""
    from coursekit.studentfiles import submission_hash as safe_hash

    return safe_hash(course_root, assignment, student)
