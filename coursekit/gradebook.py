"""Run nbgrader on a course directory and read the results back from its gradebook."""
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

from nbgrader.api import Gradebook, MissingEntry
from coursekit.errors import StepFailed


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


def new_course(destination, template_root, assignment=None):
    """A fresh course directory holding the template's source/, grader/, autotests.yml and nbgrader_config.py,
    with ``assignment`` (default: the template's only one) generated into release/ and registered in a new
    gradebook."""
    from coursekit.preflight import the_assignment

    assignment = the_assignment(template_root, assignment)
    os.makedirs(destination, exist_ok=True)
    shutil.copytree(os.path.join(template_root, "source"), os.path.join(destination, "source"),
                    ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
    grader = os.path.join(template_root, "grader")
    if os.path.isdir(grader):
        shutil.copytree(grader, os.path.join(destination, "grader"),
                        ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
    copy_course_files(template_root, destination)
    nbgrader(destination, "generate_assignment", assignment, "--force")
    return destination


# Files of the course root that nbgrader's generate_assignment reads: the settings, and the AUTOTEST templates
# (nbgrader's InstantiateTests looks for autotests.yml in the assignment's folder, then in the course root).
COURSE_FILES = ("nbgrader_config.py", "autotests.yml")


def copy_course_files(course_root, destination):
    for name in COURSE_FILES:
        if os.path.isfile(os.path.join(course_root, name)):
            shutil.copy(os.path.join(course_root, name), destination)


def autograde(course_root, students, jobs=1, assignment=None):
    """Autograde the given students' submissions of ``assignment`` (default: the course's only one) with
    ``jobs`` nbgrader processes, each taking a disjoint share of the class (nbgrader's student_id_exclude),
    against one gradebook."""
    from coursekit.preflight import the_assignment

    assignment = the_assignment(course_root, assignment)
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


def cell_scores(course_root, assignment=None, db_url=None):
    """{student: {grade cell id: (score, max_score)}} of every graded submission of ``assignment`` (default:
    the course's only one) in the gradebook."""
    from coursekit.preflight import the_assignment

    assignment = the_assignment(course_root, assignment)
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


def exercise_scores(cells, layout):
    """Sum cell scores per column of the assignment's ``layout`` (``coursekit.exercises``): {column: (score,
    max_score)}, in the master notebook's order."""
    return layout.totals(cells)


def format_table(scores_by_student, layout, pending=None):
    """A per-student, per-column text table of scores, with totals; ``pending`` ({student: columns not
    graded yet}) shows those as "-", not 0."""
    pending = pending or {}
    per_student = {student: layout.totals(cells) for student, cells in scores_by_student.items()}
    columns = [c for c in layout.columns if any(c in per for per in per_student.values())]
    columns += sorted({c for per in per_student.values() for c in per} - set(columns))
    if not columns:
        return "(no graded submissions)"
    maxima = {}
    for per in per_student.values():
        for column, (_, out_of) in per.items():
            maxima[column] = out_of
    widths = {column: max(5, len(column)) for column in columns}
    width = max([len("student")] + [len(s) for s in scores_by_student])
    header = f"{'student':<{width}} " + " ".join(f"{c:>{widths[c]}}" for c in columns) + "  total"
    lines = [header, f"{'(max)':<{width}} " + " ".join(f"{maxima[c]:>{widths[c]}g}" for c in columns)
             + f"  {sum(maxima.values()):>5g}", "-" * len(header)]
    for student, per in sorted(per_student.items()):
        row = " ".join(f"{'-':>{widths[c]}}" if c in pending.get(student, ()) else f"{per.get(c, (0, 0))[0]:>{widths[c]}g}"
                       for c in columns)
        lines.append(f"{student:<{width}} {row}  {sum(s for s, _ in per.values()):>5g}")
    return "\n".join(lines)
