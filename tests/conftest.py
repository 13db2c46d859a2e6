"""Shared fixtures: one temporary course in which the whole class of test submissions is graded
once per session by real nbgrader (two processes), and helpers to execute notebooks."""
import os
import shutil
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from coursekit import gradebook as grading
from homework3.samples import SAMPLE_STUDENTS
from coursekit.submissions import build_submission, load_course_notebooks, write_submission

from homework3 import catalogue

REPO = Path(__file__).resolve().parents[1]
os.environ["PATH"] = str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"]


def execute_notebook(path, env=None, timeout=300, every_cell=False):
    """Execute a notebook in its own folder with a fresh kernel; returns the executed notebook.
    ``every_cell``: run the cells tagged skip-execution too, as a student's Run All does."""
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(notebook, timeout=timeout, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(Path(path).parent)}},
                            **({"skip_cells_with_tag": ""} if every_cell else {}))
    saved = dict(os.environ)
    os.environ.update(env or {})
    try:
        client.execute()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return notebook


def stdout_of(cell):
    return "".join(o.get("text", "") for o in cell.get("outputs", [])
                   if o.output_type == "stream" and o.name == "stdout")


def pytest_unconfigure(config):
    """Say loudly, as the very last lines of the run, which tests did not run and why (a browser test
    skipped for want of Chromium would otherwise hide among the passes)."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter is not None else []
    if not skipped:
        return
    by_reason = {}
    for report in skipped:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        by_reason.setdefault(reason.removeprefix("Skipped: "), []).append(report.nodeid)
    reporter.write_sep("!", f"{len(skipped)} TEST(S) DID NOT RUN", red=True, bold=True)
    for reason, tests in by_reason.items():
        for test in tests:
            reporter.write_line(f"  not run: {test}", red=True)
        reporter.write_line(f"  because: {reason}", red=True, bold=True)
    reporter.write_sep("!", "the suite above did not test everything", red=True, bold=True)


@pytest.fixture(scope="session")
def repo():
    return REPO


@pytest.fixture(scope="session")
def graded_class(tmp_path_factory):
    """A course made from the repository's source/ (release generated anew), with every test
    submission autograded: the sample students, the solution itself, the blank release and the
    mutation catalogue. Returns (course folder, {student: {grade cell: (score, max)}})."""
    course = grading.new_course(tmp_path_factory.mktemp("class") / "course", REPO)
    release, source = load_course_notebooks(REPO)
    students = []
    for student in SAMPLE_STUDENTS:
        shutil.copytree(REPO / "samples" / "submitted" / student, course / "submitted" / student)
        students.append(student)
    for name, (answers, _) in catalogue.entries().items():
        write_submission(course, name, build_submission(release, source, answers))
        students.append(name)
    write_submission(course, "instructor-solution", source)
    write_submission(course, "blank-release", release)
    students += ["instructor-solution", "blank-release"]
    log = grading.autograde(course, students, jobs=2)
    return course, grading.cell_scores(course), log
