"""Grade export: one row per student with per-exercise scores and grading status, and an LMS file.

``ExerciseCsvExportPlugin`` is an nbgrader export plugin (``nbgrader export --exporter=...``). Its CSV
has one row per student and assignment:

    assignment, student_id, last_name, first_name, email, lms_user_id, status, reason, total, max_score,
    submitted_at, due, seconds_late, late_penalty, <one column per exercise>

``status`` is where the submission stands (``coursekit.standing``): graded, pending (a hand-graded answer
not graded yet: its column reads "not graded yet", never 0), changed (the files changed since they
were graded), not graded, failed (``reason`` says why) or missing. Only graded and pending rows have
scores: the others have an empty total and empty exercise cells, so they cannot pass for a real zero.
``total`` is the points of the graded cells less any late penalty (as in nbgrader's grades.csv), which
``late_penalty`` shows, with the submission's time (``submitted_at``, from its timestamp.txt, UTC), its
``due`` date (the gradebook's, with the student's extension) and ``seconds_late``;
an exercise column sums the grade cells the master notebook groups under it (``coursekit.exercises``:
``"coursekit": {"exercise": ...}`` in a grade cell's metadata; a grade cell without it is a column of its own,
named by its grade id). Columns come in the master notebook's order; an export of several assignments
(one gradebook) has the columns of each, in turn, and a row's empty where its assignment has no such
column. The file is replaced only once complete.

``export_grades`` runs that export through nbgrader, for one assignment or every assignment of the gradebook,
and also writes the totals as a Canvas gradebook import file (one column per assignment).
"""
import csv
import os

from nbgrader.plugins import ExportPlugin

from coursekit import gradebook as grading
from coursekit import preflight
from coursekit.atomic import atomic_file
from coursekit.exercises import layout as assignment_layout
from coursekit.standing import GRADED, SCORED, standings

FIELDS = ["assignment", "student_id", "last_name", "first_name", "email", "lms_user_id", "status", "reason",
          "total", "max_score", "submitted_at", "due", "seconds_late", "late_penalty"]
NOT_GRADED_YET = "not graded yet"

# Canvas gradebook import (Grades > Import): the first five columns identify the student, then one
# column per assignment; a column whose title matches no existing assignment creates one, with the
# points of the "Points Possible" row (the second row of Canvas's own gradebook export). Canvas matches
# a row by ID, SIS User ID or SIS Login ID; nbgrader's student ids are usually login names, so they go
# in SIS Login ID (change LMS_ID_COLUMN if your ids are SIS user ids). A student imported from a Canvas
# download has its Canvas user id in the gradebook (Student.lms_user_id): that goes in "ID", which Canvas
# tries first (GradebookImporter#process_student in instructure/canvas-lms). An empty grade changes nothing.
LMS_FIELDS = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
LMS_ID_COLUMN = "SIS Login ID"
LMS_POINTS_ROW = "    Points Possible"


def column_header(exercise):
    """The export's column of an exercise: its name, unless that is one of the fixed fields."""
    return f"exercise {exercise}" if exercise in FIELDS else exercise


def _number(value):
    return "" if value is None else f"{float(value):.10g}"


def _lateness(standing):
    """The submission's time (its timestamp.txt), its due date and seconds late, and the penalty nbgrader
    took (only for a scored row: the penalty of other rows is not of these files)."""
    from coursekit.lateness import shown_time

    return {"submitted_at": shown_time(standing.submitted_at), "due": shown_time(standing.due),
            "seconds_late": _number(standing.seconds_late) if standing.submitted_at and standing.due else "",
            "late_penalty": _number(standing.late_penalty) if standing.state in SCORED else ""}


class ExerciseCsvExportPlugin(ExportPlugin):
    """nbgrader export plugin: per-exercise scores and grading status, one row per student."""

    def _course_root(self):
        coursedir = getattr(self.parent, "coursedir", None)
        return coursedir.root if coursedir is not None else os.getcwd()

    def _wanted(self, names, value):
        return not names or value in [str(name) for name in names]

    def rows(self, gradebook):
        """The export's rows as dicts (numbers already formatted), and the exercise columns."""
        course_root = self._course_root()
        db_url = str(gradebook.engine.url.render_as_string(hide_password=False))
        rows, exercises = [], {}
        for assignment in gradebook.assignments:
            if not self._wanted(self.assignment, assignment.name):
                continue
            layout = assignment_layout(course_root, assignment.name, db_url)
            exercises.update(dict.fromkeys(layout.columns))
            for student_id, standing in standings(course_root, assignment.name, db_url).items():
                if not self._wanted(self.student, student_id):
                    continue
                last, first, email = standing.names
                row = {"assignment": assignment.name, "student_id": student_id, "last_name": last,
                       "first_name": first, "email": email, "lms_user_id": standing.lms_user_id,
                       "status": standing.state, "reason": standing.reason,
                       "max_score": _number(assignment.max_score), "total": _number(standing.total),
                       **_lateness(standing)}
                if standing.state in SCORED:
                    pending = {layout.column_of(name) for name in standing.pending}
                    scored = {name: (score or 0.0, out_of) for name, (score, out_of) in standing.cells.items()}
                    for exercise, (score, _) in grading.exercise_scores(scored, layout).items():
                        row[column_header(exercise)] = NOT_GRADED_YET if exercise in pending else _number(score)
                        exercises.setdefault(exercise)
                rows.append(row)
        return rows, [column_header(exercise) for exercise in exercises]

    def export(self, gradebook):
        destination = self.to or "grades_by_exercise.csv"
        rows, exercises = self.rows(gradebook)
        self.log.info("Exporting %d rows with %d exercise columns to %s", len(rows), len(exercises), destination)
        with atomic_file(destination) as stream:
            writer = csv.DictWriter(stream, fieldnames=FIELDS + exercises, restval="")
            writer.writeheader()
            writer.writerows(rows)


def write_lms_csv(exercise_csv, destination):
    """Write the totals of an ``ExerciseCsvExportPlugin`` CSV as a Canvas gradebook import file: one
    column per assignment, an empty grade (Canvas then changes nothing) for every student not fully
    graded: failed, missing, changed since grading, or with an answer not graded yet. The CSV's
    ``lms_user_id`` (the Canvas user id ``import`` kept) fills the "ID" column."""
    with open(exercise_csv, newline="", encoding="utf-8") as stream:
        rows = list(csv.DictReader(stream))
    assignments = list(dict.fromkeys(row["assignment"] for row in rows))
    points = {row["assignment"]: row["max_score"] for row in rows}
    students = {}
    for row in rows:
        entry = students.setdefault(row["student_id"], dict.fromkeys(LMS_FIELDS + assignments, ""))
        name = ", ".join(part for part in (row["last_name"], row["first_name"]) if part)
        entry["Student"] = name or row["student_id"]
        entry["ID"] = row.get("lms_user_id", "")  # Canvas's own user id, kept by `import`
        entry[LMS_ID_COLUMN] = row["student_id"]
        entry[row["assignment"]] = row["total"] if row["status"] == GRADED else ""
    with atomic_file(destination) as stream:
        writer = csv.DictWriter(stream, fieldnames=LMS_FIELDS + assignments)
        writer.writeheader()
        writer.writerow({"Student": LMS_POINTS_ROW, **points})
        writer.writerows(students[student] for student in sorted(students))
    return destination


def check_exportable(course_root, assignment, db_url=None):
    """The assignment is in the gradebook (a typo must not overwrite the exports with empty files)."""
    url = preflight.check_database(course_root, db_url)
    if not preflight.released_in_gradebook(course_root, assignment, db_url):
        preflight.check_assignment(course_root, assignment)
        raise preflight.InputError(f"{assignment} is not in the gradebook {preflight.shown(url)}: nothing to "
                                   f"export (run `python -m coursekit release {assignment}` and `grade` first).")


def exportable_assignments(course_root, assignment=None, db_url=None):
    """[``assignment``] once checked, or every assignment released into the gradebook (None: the course's)."""
    if assignment is not None:
        check_exportable(course_root, assignment, db_url)
        return [assignment]
    preflight.check_database(course_root, db_url)
    released = [name for name in preflight.released_assignments(course_root, db_url)
                if preflight.released_in_gradebook(course_root, name, db_url)]
    if not released:
        for name in preflight.every_assignment(course_root, None, db_url):  # says which to release
            check_exportable(course_root, name, db_url)
    return released


def export_grades(course_root, assignment=None, to=None, lms_to=None, db_url=None):
    """Export the grades of ``assignment`` (None: of every assignment in the gradebook) with ``nbgrader
    export`` and ``ExerciseCsvExportPlugin`` to ``to`` (default ``<course>/grades_by_exercise.csv``), then their
    totals as a Canvas import file to ``lms_to`` (default ``<course>/grades_lms.csv``). Returns (exercise csv
    path, lms csv path)."""
    course_root = os.fspath(course_root)
    assignments = exportable_assignments(course_root, assignment, db_url)
    to = os.path.abspath(to or os.path.join(course_root, "grades_by_exercise.csv"))
    lms_to = os.path.abspath(lms_to or os.path.join(course_root, "grades_lms.csv"))
    args = ["export", f"--exporter={ExerciseCsvExportPlugin.__module__}.{ExerciseCsvExportPlugin.__name__}",
            "--to", to, *(f"--ExportPlugin.assignment={name}" for name in assignments)]  # one flag each: a list
    if db_url:
        args.append(f"--CourseDirectory.db_url={db_url}")
    grading.nbgrader(course_root, *args)
    return to, write_lms_csv(to, lms_to)
