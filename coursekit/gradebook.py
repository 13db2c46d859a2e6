"""Run nbgrader on a course directory and read the results back from its gradebook."""
import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

from nbgrader.api import Gradebook, MissingEntry
from coursekit.errors import StepFailed

ASSIGNMENT = "hw3"
EXERCISE_OF_CELL = re.compile(r"^(ex\d\d)-")


class NbgraderError(StepFailed):
    """An nbgrader command failed; the message holds the command and the end of its log."""


def nbgrader(course_root, *args, check=True):
    """Run one nbgrader command in ``course_root`` with this Python's environment (nbgrader calls
    ``alembic`` from PATH, so the interpreter's bin/ folder goes first). Returns its combined log."""
    env = dict(os.environ)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    command = [sys.executable, "-m", "nbgrader", *args]
    done = subprocess.run(command, cwd=course_root, env=env, capture_output=True, text=True)
    log = done.stdout + done.stderr
    if check and (done.returncode != 0 or "| ERROR]" in log):  # nbgrader logs "[App | ERROR] ..."
        tail = "\n".join(log.splitlines()[-30:])
        raise NbgraderError(f"`nbgrader {' '.join(args)}` failed in {course_root} (exit {done.returncode}):\n{tail}")
    return log


def new_course(destination, template_root, assignment=ASSIGNMENT):
    """A fresh course directory holding the template's source/ and nbgrader_config.py, with its
    assignment generated into release/ and registered in a new gradebook."""
    os.makedirs(destination, exist_ok=True)
    shutil.copytree(os.path.join(template_root, "source"), os.path.join(destination, "source"),
                    ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
    grader = os.path.join(template_root, "grader")
    if os.path.isdir(grader):
        shutil.copytree(grader, os.path.join(destination, "grader"),
                        ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
    shutil.copy(os.path.join(template_root, "nbgrader_config.py"), destination)
    nbgrader(destination, "generate_assignment", assignment, "--force")
    return destination


def autograde(course_root, students, jobs=1, assignment=ASSIGNMENT):
    """Autograde the given students' submissions with ``jobs`` nbgrader processes, each taking a
    disjoint share of the class (nbgrader's student_id_exclude), against one gradebook."""
    students = sorted(students)
    groups = [students[i::jobs] for i in range(jobs) if students[i::jobs]]

    def grade(group):
        others = ",".join(s for s in students if s not in group)
        args = ["autograde", assignment, "--force"]
        if others:
            args.append(f"--CourseDirectory.student_id_exclude={others}")
        return nbgrader(course_root, *args, check=False)

    with ThreadPoolExecutor(max_workers=len(groups) or 1) as pool:
        return "\n".join(pool.map(grade, groups))


def cell_scores(course_root, assignment=ASSIGNMENT, db_url=None):
    """{student: {grade cell id: (score, max_score)}} of every graded submission in the gradebook."""
    db_url = db_url or f"sqlite:///{os.path.join(course_root, 'gradebook.db')}"
    scores = {}
    with Gradebook(db_url) as gradebook:
        for student in gradebook.students:
            try:
                submission = gradebook.find_submission(assignment, student.id)
            except MissingEntry:
                continue
            scores[student.id] = {grade.name: (grade.score, grade.max_score)
                                  for notebook in submission.notebooks for grade in notebook.grades}
    return scores


def exercise_scores(cells):
    """Sum cell scores per exercise: {'ex01': (score, max_score), ..., 'written': (...)}; a grade cell
    outside the numbered exercises counts under the first word of its id."""
    totals = {}
    for name, (score, max_score) in cells.items():
        match = EXERCISE_OF_CELL.match(name)
        part = match.group(1) if match else name.split("-", 1)[0]  # e.g. "written" for the written question
        got, out_of = totals.get(part, (0.0, 0.0))
        totals[part] = (got + score, out_of + max_score)
    return dict(sorted(totals.items()))


def format_table(scores_by_student, pending=None):
    """A per-student, per-exercise text table of exercise scores, with totals; ``pending`` ({student:
    exercises not graded yet}) shows those as "-", not 0."""
    pending = pending or {}
    exercises = sorted({ex for s in scores_by_student.values() for ex in exercise_scores(s)})
    if not exercises:
        return "(no graded submissions)"
    maxima = {}
    for cells in scores_by_student.values():
        for ex, (_, out_of) in exercise_scores(cells).items():
            maxima[ex] = out_of
    width = max([len("student")] + [len(s) for s in scores_by_student])
    header = f"{'student':<{width}} " + " ".join(f"{ex[:5]:>5}" for ex in exercises) + "  total"
    lines = [header, f"{'(max)':<{width}} " + " ".join(f"{maxima[ex]:>5g}" for ex in exercises)
             + f"  {sum(maxima.values()):>5g}", "-" * len(header)]
    for student, cells in sorted(scores_by_student.items()):
        per = exercise_scores(cells)
        row = " ".join(f"{'-':>5}" if ex in pending.get(student, ()) else f"{per.get(ex, (0, 0))[0]:>5g}"
                       for ex in exercises)
        lines.append(f"{student:<{width}} {row}  {sum(s for s, _ in per.values()):>5g}")
    return "\n".join(lines)
