"""Grade export: one row per student with per-exercise scores and grading status, and an LMS file.

``ExerciseCsvExportPlugin`` is an nbgrader export plugin (``nbgrader export --exporter=...``). Its CSV
has one row per student and assignment:

    assignment, student_id, last_name, first_name, email, status, reason, total, max_score, ex01, ..., ex11

``status`` is ``graded`` or ``failed`` as recorded in ``grading_status.json`` (``hw3kit.status``), a
submission in the gradebook without a recorded status counts as ``graded``, and a student with neither
a submission nor a status is ``missing``. Only a graded row has scores: a failed or missing row has an
empty total and empty exercise cells, never 0, so it cannot pass for a real zero. ``total`` is
nbgrader's score less any late penalty (as in nbgrader's own grades.csv); ``exNN`` sums the grade
cells whose id starts with ``exNN-``.

``export_grades`` runs that export through nbgrader and also writes the totals as a Canvas gradebook
import file.
"""
import csv
import os

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.plugins import ExportPlugin

from hw3kit import grading, status

GRADED, FAILED, MISSING = status.GRADED, status.FAILED, "missing"
FIELDS = ["assignment", "student_id", "last_name", "first_name", "email", "status", "reason", "total", "max_score"]

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


def _number(value):
    return "" if value is None else f"{float(value):.10g}"


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
        students = {student.id: student for student in gradebook.students}
        rows, exercises = [], set()
        for assignment in gradebook.assignments:
            if not self._wanted(self.assignment, assignment.name):
                continue
            cells = {cell.name: (0.0, cell.max_score) for notebook in assignment.notebooks
                     for cell in notebook.grade_cells}
            exercises.update(grading.exercise_scores(cells))
            statuses = status.load(course_root, assignment.name)
            for student_id in sorted(set(students) | set(statuses)):
                if not self._wanted(self.student, student_id):
                    continue
                student = students.get(student_id)
                row = {"assignment": assignment.name, "student_id": student_id,
                       "last_name": (student.last_name if student else None) or "",
                       "first_name": (student.first_name if student else None) or "",
                       "email": (student.email if student else None) or "",
                       "max_score": _number(assignment.max_score), "total": ""}
                try:
                    submission = gradebook.find_submission(assignment.name, student_id)
                except MissingEntry:
                    submission = None
                recorded = statuses.get(student_id)
                if recorded:
                    row["status"], row["reason"] = recorded.get("status", ""), recorded.get("reason", "")
                else:
                    row["status"], row["reason"] = (GRADED, "") if submission else (MISSING, "")
                if row["status"] == GRADED and submission is None:
                    row["status"] = MISSING
                    row["reason"] = f"recorded as graded, but the gradebook has no submission ({row['reason']})" \
                        if row["reason"] else "recorded as graded, but the gradebook has no submission"
                if row["status"] == GRADED:
                    row["total"] = _number(max(0.0, submission.score - (submission.late_submission_penalty or 0.0)))
                    graded = {grade.name: (grade.score, grade.max_score)
                              for notebook in submission.notebooks for grade in notebook.grades}
                    for exercise, (score, _) in grading.exercise_scores(graded).items():
                        row[exercise] = _number(score)
                        exercises.add(exercise)
                rows.append(row)
        return rows, sorted(exercises)

    def export(self, gradebook):
        destination = self.to or "grades_by_exercise.csv"
        rows, exercises = self.rows(gradebook)
        self.log.info("Exporting %d rows with %d exercise columns to %s", len(rows), len(exercises), destination)
        with open(destination, "w", newline="", encoding="utf-8") as stream:
            writer = csv.DictWriter(stream, fieldnames=FIELDS + exercises, restval="")
            writer.writeheader()
            writer.writerows(rows)


def write_lms_csv(exercise_csv, destination, lms_user_ids=None):
    """Write the totals of an ``ExerciseCsvExportPlugin`` CSV as a Canvas gradebook import file: one
    column per assignment, an empty grade for failed or missing students; ``lms_user_ids`` ({student:
    LMS user id}) fills the "ID" column."""
    with open(exercise_csv, newline="", encoding="utf-8") as stream:
        rows = list(csv.DictReader(stream))
    assignments = list(dict.fromkeys(row["assignment"] for row in rows))
    points = {row["assignment"]: row["max_score"] for row in rows}
    students = {}
    for row in rows:
        entry = students.setdefault(row["student_id"], dict.fromkeys(LMS_FIELDS + assignments, ""))
        name = ", ".join(part for part in (row["last_name"], row["first_name"]) if part)
        entry["Student"] = name or row["student_id"]
        entry[LMS_ID_COLUMN] = row["student_id"]
        entry["ID"] = (lms_user_ids or {}).get(row["student_id"]) or ""
        entry[row["assignment"]] = row["total"] if row["status"] == GRADED else ""
    with open(destination, "w", newline="", encoding="utf-8") as stream:
        writer = csv.DictWriter(stream, fieldnames=LMS_FIELDS + assignments)
        writer.writeheader()
        writer.writerow({"Student": LMS_POINTS_ROW, **points})
        writer.writerows(students[student] for student in sorted(students))
    return destination


def export_grades(course_root, assignment="hw3", to=None, lms_to=None, db_url=None):
    """Export ``assignment``'s grades with ``nbgrader export`` and ``ExerciseCsvExportPlugin`` to ``to``
    (default ``<course>/grades_by_exercise.csv``), then its totals as a Canvas import file to ``lms_to``
    (default ``<course>/grades_lms.csv``). Returns (exercise csv path, lms csv path)."""
    course_root = os.fspath(course_root)
    to = os.path.abspath(to or os.path.join(course_root, "grades_by_exercise.csv"))
    lms_to = os.path.abspath(lms_to or os.path.join(course_root, "grades_lms.csv"))
    args = ["export", f"--exporter={ExerciseCsvExportPlugin.__module__}.{ExerciseCsvExportPlugin.__name__}",
            "--to", to, f"--ExportPlugin.assignment={assignment}"]
    if db_url:
        args.append(f"--CourseDirectory.db_url={db_url}")
    grading.nbgrader(course_root, *args)
    with Gradebook(db_url or f"sqlite:///{os.path.join(course_root, 'gradebook.db')}") as gradebook:
        lms_user_ids = {student.id: student.lms_user_id for student in gradebook.students}
    return to, write_lms_csv(to, lms_to, lms_user_ids)
