"""The state of a class, and tidying it: ``status``, ``remove`` and ``new-term``.

Nothing is deleted: a removed student's folders and a finished term's data are moved to
``archive/<date-time>/`` in the course directory (git ignores it), so a slip can be undone by moving
them back.
"""
import datetime
import os
import shutil

from coursekit import preflight
from coursekit import records as status_store
from coursekit.studentfiles import shown, student_folders, unreadable_note
from coursekit.standing import standings
from coursekit.workflow.serve import LEDGER  # serve's record of the submissions it served: this term's

STUDENT_DATA = ("submitted", "autograded", "feedback", "downloaded")
TERM_FILES = ("gradebook.db", "grading_status.json", "grades.csv", "grades_by_exercise.csv", "grades_lms.csv",
              "report.html", LEDGER)


def show_status(course_root, assignment=None, students=None, db_url=None):
    """A table of every submission of ``assignment`` with where it stands, and the count per state; without
    an assignment, one such table per assignment of the course (one only: that assignment's table)."""
    assignments = preflight.every_assignment(course_root, assignment, db_url)
    if len(assignments) == 1:
        return _status(course_root, assignments[0], students, db_url)
    current = {name: standings(course_root, name, db_url) for name in assignments}
    unknown = sorted(set(students or ()) - {s for found in current.values() for s in found})
    if unknown:
        raise preflight.InputError(f"no student {', '.join(unknown)} in {', '.join(assignments)} (neither in the "
                                   "gradebook nor in submitted/).")
    blocks = []
    for name in assignments:
        wanted = [s for s in students if s in current[name]] if students else None
        table = (_status(course_root, name, wanted, db_url, current[name]) if wanted is None or wanted
                 else f"Nothing of {', '.join(students)} in {name}.")
        blocks.append(f"{name}\n{'=' * len(name)}\n{table}")
    return "\n\n".join(blocks)


def _status(course_root, assignment, students=None, db_url=None, current=None):
    if current is None:
        preflight.check_assignment(course_root, assignment)
        preflight.check_database(course_root, db_url)
        current = standings(course_root, assignment, db_url)
    if students:
        unknown = sorted(set(students) - set(current))
        if unknown:
            raise preflight.InputError(f"no student {', '.join(unknown)} in {assignment} (neither in the gradebook "
                                       "nor in submitted/).")
        current = {s: current[s] for s in students}
    if not current:
        return f"No submissions of {assignment} yet: run `python -m coursekit import {assignment} DOWNLOAD`."
    names = {s: shown(s, 200) for s in current}  # a folder name with escape codes is shown escaped
    width = max(len("student"), *(len(name) for name in names.values()))
    late = lateness_cells(current)  # a column only when a submission has a time or a problem with it
    late_width = max([len("late by"), *(len(cell) for cell in late.values())]) if late else 0
    late_header = f"  {'late by':<{late_width}}" if late else ""
    tries = attempt_cells(course_root, assignment, current)  # a column only when a student has several attempts
    tries_width = max([len("attempts"), *(len(cell) for cell in tries.values())]) if tries else 0
    late_header += f"  {'attempts':<{tries_width}}" if tries else ""
    lines = [f"{'student':<{width}}  {'state':<10}  {'total':>6}{late_header}  where it stands",
             "-" * (width + 40 + (late_width + 2 if late else 0) + (tries_width + 2 if tries else 0))]
    counts = {}
    for student, standing in sorted(current.items()):
        counts[standing.state] = counts.get(standing.state, 0) + 1
        total = "" if standing.total is None else f"{standing.total:g}"
        late_cell = f"  {late.get(student, ''):<{late_width}}" if late else ""
        late_cell += f"  {tries.get(student, ''):<{tries_width}}" if tries else ""
        lines.append(f"{names[student]:<{width}}  {standing.state:<10}  {total:>6}{late_cell}  {standing.reason}")
    lines.append("")
    lines.append(", ".join(f"{count} {state}" for state, count in sorted(counts.items())) + ".")
    lines += lateness_notes(course_root, assignment, current)
    unreadable = student_folders(course_root, assignment)[1]
    if unreadable:
        lines.append(unreadable_note(unreadable))
    return "\n".join(lines)


def attempt_cells(course_root, assignment, current):
    """{student: "2" | "2, 1 not graded"}: the submissions graded (those ``serve`` graded, or the attempts the
    gradebook kept, whichever are more; which one counts is in the "where it stands" column) and those ``serve``
    did not grade (the instructor's limit on attempts, or the wait between them); {} when nobody has two."""
    from coursekit.workflow.serve import Ledger

    graded, refused = {}, {}
    for entry in Ledger(course_root).entries.values():
        if entry["assignment"] == assignment:
            tally = graded if entry.get("attempt", True) else refused
            tally[entry["student"]] = tally.get(entry["student"], 0) + 1
    for student, standing in current.items():
        if len(standing.attempts) > max(1, graded.get(student, 0)):
            graded[student] = len(standing.attempts)
    if not refused and all(count <= 1 for count in graded.values()):
        return {}
    return {student: f"{graded.get(student, 0)}" + (f", {refused[student]} not graded" if student in refused else "")
            for student in set(graded) | set(refused)}


def lateness_cells(current):
    """{student: "1 d 2 h, -12.5" | "on time" | "time refused"} for the submissions with a time (from
    their timestamp.txt) or a time that cannot be used; {} when none has one."""
    from coursekit.lateness import late_by

    cells = {}
    for student, standing in current.items():
        if standing.time_problem:
            cells[student] = "time refused"
        elif standing.submitted_at is not None and standing.due is not None:
            seconds = standing.seconds_late
            penalty = f", -{standing.late_penalty:g}" if standing.late_penalty and standing.total is not None else ""
            cells[student] = f"{late_by(seconds)}{penalty}" if seconds > 0 else "on time"
        elif standing.submitted_at is not None:
            cells[student] = "no due date"
    return cells


def lateness_notes(course_root, assignment, current):
    """The due date, the late penalty, and what to do about a time that cannot be used."""
    from coursekit import lateness
    from coursekit.latepenalty import describe

    timed = [s for s in current.values() if s.submitted_at is not None or s.time_problem]
    if not timed:
        return []
    dues = {s.due for s in current.values()}
    lines = []
    if dues == {None}:
        lines.append(lateness.no_due_date_note(assignment))
    else:
        base = min(d for d in dues if d is not None)
        lines.append(f"Due {lateness.shown_time(base)} (the gradebook's due date"
                     + (", later for students with an extension" if len(dues - {None}) > 1 else "")
                     + f"); late penalty: {describe(course_root)}; a late submission's total is after the penalty "
                     "once graded.")
    late = sorted(student for student, s in current.items() if s.seconds_late > 0)
    if late:
        lines.append(f"{len(late)} late: {', '.join(shown(s, 200) for s in late)}.")
    for student, standing in sorted(current.items()):
        if standing.time_problem and standing.state != "failed":  # a failed one says it in its row
            lines.append(f"  {shown(student, 200)}: {standing.time_problem}: grade refuses the submission until it "
                         f"is fixed or removed.")
    return lines


def _archive(course_root, label):
    stamp = datetime.datetime.now().strftime("%Y-%m-%dT%H-%M-%S")
    folder = os.path.join(course_root, "archive", f"{stamp}-{label}")
    suffix = 1
    while os.path.exists(folder):
        folder = os.path.join(course_root, "archive", f"{stamp}-{label}-{suffix}")
        suffix += 1
    return folder


def remove_students(course_root, assignment, students, db_url=None):
    """Remove each student's submission of ``assignment`` from the gradebook (and the student, when
    nothing else of theirs is left) and the kit's status; move their folders to archive/."""
    from nbgrader.api import Gradebook, MissingEntry

    preflight.check_assignment(course_root, assignment)
    url = preflight.check_database(course_root, db_url)
    known = standings(course_root, assignment, db_url)
    unknown = [s for s in students if s not in known]
    if unknown:
        raise preflight.InputError(f"no student {', '.join(unknown)} in {assignment}; `python -m coursekit status "
                                   f"{assignment}` lists them.")
    archive = _archive(course_root, "removed")
    lines = []
    with Gradebook(url) as gradebook:
        for student in students:
            moved = []
            for kind in STUDENT_DATA:
                folder = os.path.join(course_root, kind, student, assignment)
                if os.path.isdir(folder):
                    target = os.path.join(archive, kind, student, assignment)
                    os.makedirs(os.path.dirname(target), exist_ok=True)
                    shutil.move(folder, target)
                    moved.append(kind)
                    if not os.listdir(os.path.dirname(folder)):
                        os.rmdir(os.path.dirname(folder))
            try:
                gradebook.remove_submission(assignment, student)
            except MissingEntry:
                pass
            status_store.remove(course_root, assignment, student, db_url)
            left = [s for s in gradebook.find_student(student).submissions] if _in(gradebook, student) else []
            if _in(gradebook, student) and not left:
                gradebook.remove_student(student)
            lines.append(f"Removed {student} from {assignment}" + (
                f"; moved {', '.join(moved)} to {os.path.relpath(archive, course_root)}/" if moved else "") + ".")
    return lines


def _in(gradebook, student):
    from nbgrader.api import MissingEntry
    try:
        gradebook.find_student(student)
        return True
    except MissingEntry:
        return False


def _result_files(course_root, db_url):
    """The course's export and report files, as nbgrader_config.py names them, when they are in the course."""
    from coursekit.courseconfig import course_config
    from coursekit.settings import ExportCommand, ReportCommand

    config = course_config(os.path.abspath(course_root), db_url)
    export, report = ExportCommand(config=config), ReportCommand(config=config)
    return tuple(name for name in (export.to, export.lms_to, report.output)
                 if not os.path.isabs(name) and os.path.dirname(os.path.normpath(name)) == "")


def new_term(course_root, db_url=None):
    """Move every student's data and the SQLite gradebook to archive/; source/ and release/ stay."""
    if db_url and not db_url.startswith("sqlite"):
        raise preflight.InputError(f"the gradebook {preflight.shown(db_url)} is a database server: create a new, "
                                   "empty database for the new term and pass it with --db (this command moves "
                                   "only files).")
    names = [n for n in dict.fromkeys(STUDENT_DATA + TERM_FILES + _result_files(course_root, db_url))
             if os.path.exists(os.path.join(course_root, n))]
    if db_url:
        database = status_store.sqlite_file(db_url)
        if os.path.isfile(database) and os.path.dirname(os.path.abspath(database)) != os.path.abspath(course_root):
            raise preflight.InputError(f"the gradebook {database} is outside the course: move it yourself.")
    if not names:
        return "Nothing to archive: the course holds no student data."
    archive = _archive(course_root, "term")
    os.makedirs(archive)
    for name in names:
        shutil.move(os.path.join(course_root, name), os.path.join(archive, name))
    return (f"Moved {', '.join(names)} to {os.path.relpath(archive, course_root)}/. The course is clean: "
            "next, `python -m coursekit release ASSIGNMENT` puts the assignments in a new gradebook.")
