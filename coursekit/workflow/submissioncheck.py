"""What can be graded: the assignment (its notebooks, the modules its tests import) once for the class, and
each submission (its folder and notebooks, read without following anything) before nbgrader sees it."""
import glob
import os

from coursekit import preflight


class GradingSetupError(preflight.InputError):
    """The course or assignment cannot be graded at all (nothing is graded, nothing is lost)."""


def check_assignment_grades(course_root, assignment, notebooks):
    """The engine's own setup checks (every module a test cell imports is found), once for the class: a
    course that cannot be graded stops here with one line, instead of failing every submission alike."""
    from isograde.assignment import Assignment, GraderSetupError
    for notebook in notebooks:
        try:
            Assignment(course_root, assignment, os.path.splitext(notebook)[0])
        except GraderSetupError as error:
            raise GradingSetupError(f"{error}. Nothing was graded.") from None


def source_notebooks(course_root, assignment):
    folder = os.path.join(course_root, "source", assignment)
    names = sorted(os.path.basename(p) for p in glob.glob(os.path.join(folder, "*.ipynb")))
    if not names:
        raise GradingSetupError(f"no notebooks in {folder}: is {assignment!r} an assignment of this course?")
    return names


def submitted_students(course_root, assignment):
    """The students with a folder submitted/<student>/<assignment>/ (names that are not UTF-8 left out:
    ``grade`` and ``status`` name them)."""
    from coursekit.studentfiles import student_folders

    return student_folders(course_root, assignment)[0]


def check_submission(course_root, assignment, student, expected):
    """Why this submission cannot be graded, or None. ``expected``: the assignment's notebook names.

    The folder is read as ``coursekit.studentfiles`` reads a student's files (nothing followed, no pipe or
    device opened, sizes, counts and names capped): nbgrader copies every file of it into autograded/
    with shutil, following links, so what it refuses must be refused here, before nbgrader runs."""
    from coursekit import studentfiles

    problem = studentfiles.name_problem(student)
    if problem:  # a folder unpacked into submitted/ by hand: its name would garble every listing
        return f"refused: the folder submitted/{studentfiles.shown(student)} {problem}"
    listing, handle = studentfiles.scan_submission(course_root, student, assignment)
    try:
        if handle is None and not listing.items:
            return f"missing submission: no folder submitted/{student}/{assignment}/"
        refusal = studentfiles.refusal_of(listing)
        if refusal:
            return refusal
        present = sorted(item.path for item in listing.files if item.path.endswith(".ipynb") and "/" not in item.path)
        for name in expected:
            if name not in present:
                others = [n for n in present if n not in expected]
                if others:
                    return f"wrong file name: found {', '.join(others)}, expected {name}"
                return f"missing notebook: {name} is not in the submission"
            problem = studentfiles.notebook_refusal(name, handle)
            if problem:
                return problem
        return None
    finally:
        if handle is not None:
            os.close(handle)
