"""Generate an assignment's student version with nbgrader and check it.

The engine's check library (``isograde/checklib.py``: the side objects, stand-ins, comparisons and
tolerances that public tests and hidden checks share) ships with every assignment: ``release`` first
copies it, byte for byte, into ``source/<assignment>/checklib.py`` (so the master notebook runs in
JupyterLab as the release does, and nbgrader's ``generate_assignment`` copies it into
``release/<assignment>/`` like any file beside the notebook), and the check refuses a release whose copy,
or whose source's copy, is not the engine's. Both copies are committed with the course; edit the
engine's file only. The grader never reads either copy: it loads the engine's file.
"""
import filecmp
import os
import re
import shutil
import tempfile

import nbformat

from coursekit import gradebook as grading
from coursekit.atomic import atomic_file
from coursekit.errors import InputError
from isograde.assignment import ENGINE_MODULES

LEAKS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS", "BEGIN MARK SCHEME",
         "END MARK SCHEME")


class ReleaseError(InputError):
    """The release holds something students must not see, or is not in sync with the source."""


def leaks(release_folder):
    """Lines of the release notebooks that hold a solution or hidden-test marker."""
    found = []
    for name in sorted(os.listdir(release_folder)):
        if name.endswith(".ipynb"):
            notebook = nbformat.read(os.path.join(release_folder, name), as_version=4)
            for index, cell in enumerate(notebook.cells):
                for marker in LEAKS:
                    if re.search(re.escape(marker), cell.source):
                        found.append(f"{name}, cell {index}: {marker}")
    return found


def shipped_modules():
    """{file name in the assignment's folder: the engine's file} of what every release carries."""
    return {name + ".py": path for name, path in ENGINE_MODULES.items()}


def ship_library(course_root, assignment, log=print):
    """Copy the engine's shipped modules into source/<assignment>/ where they differ (or are missing)."""
    for name, engine_path in shipped_modules().items():
        target = os.path.join(course_root, "source", assignment, name)
        with open(engine_path, encoding="utf-8") as handle:
            text = handle.read()
        if os.path.isfile(target) and not os.path.islink(target):
            with open(target, encoding="utf-8") as handle:
                if handle.read() == text:
                    continue
        with atomic_file(target) as stream:
            stream.write(text)
        log(f"Copied the engine's {name} into source/{assignment}/.")


def stale_library(course_root, assignment):
    """The copies of the engine's shipped modules in source/ and release/ that are missing or differ."""
    found = []
    for name, engine_path in shipped_modules().items():
        for folder in ("source", "release"):
            copy = os.path.join(course_root, folder, assignment, name)
            if not os.path.isfile(copy) or os.path.islink(copy):
                found.append(f"{folder}/{assignment}/{name} (missing)")
            elif not filecmp.cmp(copy, engine_path, shallow=False):
                found.append(f"{folder}/{assignment}/{name} (not the engine's isograde/{os.path.basename(engine_path)})")
    return found


def out_of_sync(course_root, assignment):
    """Files of release/<assignment> that differ from a release generated anew from source/."""
    with tempfile.TemporaryDirectory(prefix="coursekit-release-") as scratch:
        fresh_course = os.path.join(scratch, "course")
        os.makedirs(fresh_course)
        ignore = shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints")
        shutil.copytree(os.path.join(course_root, "source"), os.path.join(fresh_course, "source"),
                        ignore=ignore)  # headers too
        # nbgrader_config.py, and autotests.yml for AUTOTEST cells (read from the course root); expanding them
        # runs the master notebook in a kernel, whose hidden tests may import the grader's helpers
        grading.copy_course_files(course_root, fresh_course)
        if os.path.isdir(os.path.join(course_root, "grader")):
            shutil.copytree(os.path.join(course_root, "grader"), os.path.join(fresh_course, "grader"), ignore=ignore)
        grading.nbgrader(fresh_course, "generate_assignment", assignment, "--force",
                         f"--CourseDirectory.root={fresh_course}",
                         f"--CourseDirectory.db_url=sqlite:///{os.path.join(scratch, 'gradebook.db')}")
        fresh = os.path.join(fresh_course, "release", assignment)
        committed = os.path.join(course_root, "release", assignment)
        if not os.path.isdir(committed):
            return [f"release/{assignment}/ does not exist"]
        comparison = filecmp.dircmp(fresh, committed, ignore=["__pycache__", ".ipynb_checkpoints"])
        return sorted(comparison.diff_files + [f"{n} (missing)" for n in comparison.left_only]
                      + [f"{n} (extra)" for n in comparison.right_only])


def release(course_root, assignment, check_only=False, log=print, db_url=None, duedate=None):
    """Copy the engine's check library into source/<assignment>/ and generate release/<assignment>/
    (unless ``check_only``) and record it in the gradebook, then check it: no solution or hidden test,
    identical to what nbgrader generates from source/ now, and the check library the engine's.
    ``duedate`` (text with a time zone) is then put in the gradebook as the assignment's due date."""
    from coursekit import lateness, preflight

    preflight.check_assignment(course_root, assignment)
    if duedate is not None:
        try:  # checked before anything is touched
            lateness.parse_time(duedate, require_zone=True, check_range=False)
        except lateness.BadTime as bad:
            raise InputError(f"--duedate: {bad}") from None
    if not check_only:
        preflight.check_database(course_root, db_url)
        ship_library(course_root, assignment, log)
        grading.nbgrader(course_root, "generate_assignment", assignment, "--force",
                         *([f"--CourseDirectory.db_url={db_url}"] if db_url else []))
        log(f"Generated release/{assignment}/.")
    problems = [f"leak: {line}" for line in leaks(os.path.join(course_root, "release", assignment))]
    problems += [f"out of sync with source/: {name}" for name in out_of_sync(course_root, assignment)]
    problems += [f"out of date with the engine: {name}" for name in stale_library(course_root, assignment)]
    if problems:
        raise ReleaseError(f"release/{assignment}/ is not fit to hand out:\n  " + "\n  ".join(problems))
    log(f"Checked release/{assignment}/: no solutions, no hidden tests, in sync with source/{assignment}/ "
        "and the engine's check library.")
    if duedate is not None:
        url = preflight.check_database(course_root, db_url)
        if not preflight.released_in_gradebook(course_root, assignment, db_url):
            raise InputError(f"{assignment} is not in the gradebook {preflight.shown(url)}: run `python -m coursekit "
                             f"release {assignment}` (without --check) first.")
        from coursekit.records import gradebook_url

        value = lateness.set_due_date(gradebook_url(course_root, db_url), assignment, duedate)
        log(f"{assignment} is due {lateness.shown_time(value)} in the gradebook. Submissions graded before keep "
            f"the penalty of the due date they were graded with: `python -m coursekit grade {assignment} --force` "
            "regrades them.")
