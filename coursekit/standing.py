"""Where each submission of an assignment stands, from the gradebook, the kit's statuses and the files.

One function, ``standings``, answers for the export, the report, feedback and ``status``:

    graded      the gradebook's grade is of the files in submitted/ now, every cell graded
    pending     as graded, but a hand-graded answer is not graded yet (never counted as 0)
    changed     the files in submitted/ changed since they were graded: the old grade is not theirs
    not graded  imported, never graded
    failed      the last attempt on these files failed; ``reason`` says why
    missing     in the gradebook, but no submission

With ``c.GradeOnSubmit.counted_attempt = "best"`` a graded or failed submission counts with the automatically
graded cells of the student's best kept attempt (``records.load_attempts``) when an earlier one scored more; the
cells graded by hand stay the last attempt's, and ``counted`` says which attempt counts.
"""
import contextlib
import os
from dataclasses import dataclass, field

from coursekit import records as status_store
from coursekit.lateness import read_submitted_time, shown_time

GRADED, PENDING, CHANGED, NOT_GRADED, FAILED, MISSING = (
    "graded", "pending", "changed", "not graded", "failed", "missing")
SCORED = (GRADED, PENDING)


@dataclass
class Standing:
    student: str
    state: str
    reason: str = ""
    cells: dict = field(default_factory=dict)  # grade cell id -> (score or None when pending, max score)
    late_penalty: float = 0.0
    record: dict = field(default_factory=dict)  # the kit's status row, if any
    lms_user_id: str = ""
    names: tuple = ("", "", "")  # last name, first name, email
    submitted_at: object = None  # the time in submitted/<student>/<assignment>/timestamp.txt (naive UTC)
    due: object = None  # the due date in the gradebook, the student's extension included (naive UTC)
    time_problem: str = None  # why the timestamp.txt cannot be used
    attempts: list = field(default_factory=list)  # the graded attempts kept (records.load_attempts), oldest first
    counted: str = ""  # which attempt counts, when it is not the files in submitted/ now
    own_total: float = None  # then: the total of the files in submitted/ now (None: they failed)

    @property
    def seconds_late(self):
        """As nbgrader's SubmittedAssignment.total_seconds_late, of the files in submitted/ now."""
        from coursekit.lateness import seconds_late
        return seconds_late(self.submitted_at, self.due)

    @property
    def pending(self):
        return sorted(name for name, (score, _) in self.cells.items() if score is None)

    @property
    def total(self):
        """Points of the graded cells less the late penalty (None when not scored)."""
        if self.state not in SCORED:
            return None
        return max(0.0, sum(score for score, _ in self.cells.values() if score is not None) - self.late_penalty)


def _submitted_students(course_root, assignment):
    from coursekit.studentfiles import student_folders

    return set(student_folders(course_root, assignment)[0])


def standings(course_root, assignment, db_url=None):
    """{student: Standing} for every student in the gradebook, with a submission or with a status."""
    from nbgrader.api import Gradebook, MissingEntry

    course_root = os.path.abspath(course_root)
    url = status_store.gradebook_url(course_root, db_url)
    records = status_store.load(course_root, assignment, db_url)
    found = {}
    exists = not status_store.sqlite_file(url) or os.path.isfile(status_store.sqlite_file(url))
    people, submissions, due, extensions = {}, {}, None, {}
    if exists:
        with Gradebook(url) as gradebook:
            with contextlib.suppress(MissingEntry):
                due = gradebook.find_assignment(assignment).duedate
            for student in gradebook.students:
                people[student.id] = (student.lms_user_id or "",
                                      (student.last_name or "", student.first_name or "", student.email or ""))
                try:
                    submission = gradebook.find_submission(assignment, student.id)
                except MissingEntry:
                    continue
                extensions[student.id] = submission.extension
                grades = [grade for notebook in submission.notebooks for grade in notebook.grades]
                submissions[student.id] = (
                    {grade.name: (None if grade.needs_manual_grade else float(grade.score), float(grade.max_score))
                     for grade in grades},
                    float(submission.late_submission_penalty or 0.0),
                    any(grade.auto_score is not None for grade in grades),
                    {grade.name for grade in grades if grade.auto_score is not None})
    for student in sorted(set(people) | _submitted_students(course_root, assignment) | set(records)):
        standing = _standing(course_root, assignment, student, records.get(student), submissions.get(student))
        standing.lms_user_id, standing.names = people.get(student, ("", ("", "", "")))
        standing.submitted_at, standing.time_problem = read_submitted_time(course_root, student, assignment)
        extension = extensions.get(student)
        standing.due = due + extension if due is not None and extension else due
        found[student] = standing
    kept = status_store.load_attempts(course_root, assignment, db_url)
    best = counted_attempt(course_root, assignment, db_url) == "best"
    for student, standing in found.items():
        standing.attempts = kept.get(student, [])
        if best:
            _count_best(standing, submissions.get(student, ({}, 0.0, False, set()))[3])
    return found


def counted_attempt(course_root, assignment, db_url=None):
    """The course's c.GradeOnSubmit.counted_attempt for ``assignment`` ("last" or "best")."""
    from coursekit.courseconfig import course_config
    from coursekit.settings import GradeOnSubmit

    return GradeOnSubmit(config=course_config(course_root, db_url)).for_assignment(assignment).counted_attempt


def _points(cells, penalty):
    return sum(score or 0.0 for score, _ in cells.values()) - penalty


def _count_best(standing, autograded):
    """Count the kept attempt with the most automatic points less its late penalty, if it beats the last."""
    import datetime

    if standing.state not in SCORED and not (standing.state == FAILED and standing.attempts):
        return
    current = standing.record.get("graded_hash") if standing.state in SCORED else None
    own = {name: standing.cells[name] for name in autograded if name in standing.cells}
    best, most = None, _points(own, standing.late_penalty) if current else float("-inf")
    for attempt in standing.attempts:
        if attempt["files_hash"] != current and _points(attempt["cells"], attempt["late_penalty"]) > most + 1e-9:
            best, most = attempt, _points(attempt["cells"], attempt["late_penalty"])
    if best is None:
        return
    standing.own_total = standing.total
    by_hand = {name: value for name, value in standing.cells.items() if name not in autograded}
    standing.cells = {**(by_hand if current else {}), **best["cells"]}
    standing.late_penalty = best["late_penalty"]
    when = "earlier"
    if best["submitted_at"]:
        standing.submitted_at = datetime.datetime.fromisoformat(best["submitted_at"])
        when = shown_time(standing.submitted_at)
    standing.counted = f"the best attempt counts: the one submitted {when} ({most:g})"
    if standing.state == FAILED:
        standing.reason = f"the last attempt failed ({standing.reason}); {standing.counted}"
        standing.state = GRADED
    else:
        standing.reason = f"{standing.counted}; {standing.reason}" if standing.reason else standing.counted


def _standing(course_root, assignment, student, record, submission):
    now = status_store.submission_hash(course_root, assignment, student)
    cells, penalty, autograded = submission[:3] if submission else ({}, 0.0, False)
    record = record or {}
    graded = dict(cells=cells, late_penalty=penalty, record=record)
    if not record:
        if autograded:
            return _scored(Standing(student, GRADED, "graded outside the kit (no record of the files graded)",
                                    **graded))
        if now is None:
            return Standing(student, MISSING, "no submission", record=record)
        return Standing(student, NOT_GRADED, "imported, not graded yet", record=record)
    if submission and record.get("graded_hash") and now in (record["graded_hash"], None):
        reason = record.get("reason", "")
        if record.get("status") == status_store.FAILED:
            reason = f"the last regrade failed ({reason}); the grade is that of {record.get('graded_at')}"
        elif now is None:
            reason = "the submitted files are gone; the grade is that of the files graded before"
        return _scored(Standing(student, GRADED, reason, **graded))
    if record.get("status") == status_store.FAILED and record.get("files_hash") in (now, None):
        # files_hash None: an attempt whose worker crashed before it read the files (recorded so by
        # earlier versions of grade): it failed on the files there then, which nothing says changed
        return Standing(student, FAILED, record.get("reason", ""), record=record)
    if record.get("graded_hash"):
        return Standing(student, CHANGED, f"the submission changed since it was graded ({record.get('graded_at')})",
                        record=record)
    return Standing(student, CHANGED, "the submission changed since the failed attempt", record=record)


def _scored(standing):
    if standing.pending:
        standing.state = PENDING
        note = f"not graded yet: {', '.join(standing.pending)} (grade it in the formgrader)"
        standing.reason = f"{note}; {standing.reason}" if standing.reason else note
    return standing
