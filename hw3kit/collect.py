"""Import student notebooks from a folder or an LMS download archive into submitted/.

This wraps nbgrader's ``zip_collect``: the input is staged in ``downloaded/<assignment>/archive/``,
nbgrader extracts the archives and places each file by its name (``FileNameCollectorPlugin`` with a
regular expression that yields ``student_id`` and ``file_id``). A folder with one sub-folder per
student (``alice/hw3.ipynb``) is staged as ``alice_hw3.ipynb`` first. Students are added to the
gradebook. What could not be placed is reported, never silently dropped.
"""
import os
import re
import shutil
import zipfile

from nbgrader.api import Gradebook

from hw3kit import grading

# "<student>/<file>.ipynb" or "<student>_<file>.ipynb", also LMS names such as Canvas's
# "<name>_<id>_<submission>_<file>.ipynb": the student id is the first part of the name.
DEFAULT_REGEXP = r"^(?:.*/)?(?P<student_id>[A-Za-z0-9.\-]+)(?:/|_(?:[^/]*_)?)(?P<file_id>[^/_]+\.ipynb)$"


class ImportProblem(RuntimeError):
    """The input cannot be imported at all."""


def stage(source, archive_folder):
    """Copy ``source`` (a .zip, a notebook, or a folder) into nbgrader's archive folder."""
    if os.path.isdir(archive_folder):
        shutil.rmtree(archive_folder)
    os.makedirs(archive_folder)
    if os.path.isfile(source):
        if source.endswith(".zip") and not zipfile.is_zipfile(source):
            raise ImportProblem(f"{source} is not a valid zip archive.")
        shutil.copy(source, archive_folder)
        return
    if not os.path.isdir(source):
        raise ImportProblem(f"{source} does not exist.")
    for entry in sorted(os.listdir(source)):
        path = os.path.join(source, entry)
        if os.path.isdir(path):  # one folder per student
            for root, _, files in os.walk(path):
                for name in files:
                    relative = os.path.relpath(os.path.join(root, name), path).replace(os.sep, "-")
                    shutil.copy(os.path.join(root, name), os.path.join(archive_folder, f"{entry}_{relative}"))
        else:
            shutil.copy(path, archive_folder)


def import_submissions(course_root, assignment, source, regexp=DEFAULT_REGEXP, db_url=None):
    """Import ``source`` into submitted/; returns (placed {student: [files]}, skipped [messages])."""
    course_root = os.path.abspath(course_root)
    if not os.path.isdir(os.path.join(course_root, "release", assignment)):
        raise ImportProblem(f"release/{assignment}/ does not exist: run `release {assignment}` first.")
    before = _snapshot(course_root, assignment)
    stage(os.path.abspath(source), os.path.join(course_root, "downloaded", assignment, "archive"))
    args = ["zip_collect", assignment, "--force", f"--FileNameCollectorPlugin.named_regexp={regexp}"]
    if db_url:
        args.append(f"--CourseDirectory.db_url={db_url}")
    log = grading.nbgrader(course_root, *args, check=False)
    skipped = [line.split("] ", 1)[-1] for line in log.splitlines()
               if "| WARNING]" in line and "did not match" not in line and re.search(r"Skipped|not a valid|not in", line)]
    errors = [line for line in log.splitlines() if "| ERROR]" in line]
    if errors:
        raise ImportProblem("nbgrader zip_collect failed:\n" + "\n".join(errors[-10:]))
    placed = {s: [name for name, _ in files] for s, files in _snapshot(course_root, assignment).items()
              if files != before.get(s)}
    _add_students(course_root, placed, db_url)
    return placed, skipped


def _snapshot(course_root, assignment):
    root = os.path.join(course_root, "submitted")
    found = {}
    if os.path.isdir(root):
        for student in sorted(os.listdir(root)):
            folder = os.path.join(root, student, assignment)
            if os.path.isdir(folder):
                found[student] = sorted((n, os.path.getmtime(os.path.join(folder, n))) for n in os.listdir(folder))
    return found


def _add_students(course_root, students, db_url):
    with Gradebook(db_url or f"sqlite:///{os.path.join(course_root, 'gradebook.db')}") as gradebook:
        for student in students:
            gradebook.update_or_create_student(student)
