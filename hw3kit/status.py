"""Grading statuses: what happened to each submission, kept next to the gradebook.

nbgrader's gradebook records scores but not whether a submission could be graded at all: a broken
notebook ends as a timestamp and 0.0, like a real zero. The kit records every submission's outcome in
``grading_status.json`` in the course directory:

    {"hw3": {"alice": {"status": "graded", "reason": "", "seconds": 4.2, "finished": "2026-11-25T13:00:00"}}}

``status`` is ``graded`` or ``failed``; ``reason`` says why a failed one failed (or notes a graded
one's cell timeouts). Only the coordinating process writes the file.
"""
import datetime
import json
import os
import tempfile

STATUS_FILE = "grading_status.json"
GRADED, FAILED = "graded", "failed"


def path(course_root):
    return os.path.join(course_root, STATUS_FILE)


def load_all(course_root):
    try:
        with open(path(course_root)) as handle:
            return json.load(handle)
    except FileNotFoundError:
        return {}


def load(course_root, assignment):
    """{student: {"status", "reason", "seconds", "finished"}} for one assignment."""
    return load_all(course_root).get(assignment, {})


def record(course_root, assignment, student, status, reason="", seconds=0.0, phases=None):
    """Store one submission's outcome, atomically (a crash never leaves a half-written file).
    ``phases``: seconds spent per grading phase (sandbox, student cells, checks)."""
    statuses = load_all(course_root)
    statuses.setdefault(assignment, {})[student] = {
        "status": status, "reason": reason, "seconds": round(float(seconds), 4),
        "finished": datetime.datetime.now().isoformat(timespec="seconds"),
    }
    if phases:
        statuses[assignment][student]["phases"] = {name: round(value, 4) for name, value in phases.items()}
    handle, temporary = tempfile.mkstemp(dir=course_root, prefix=".grading_status.")
    with os.fdopen(handle, "w") as stream:
        json.dump(statuses, stream, indent=1, sort_keys=True)
    os.replace(temporary, path(course_root))
