"""A Gradescope autograder for an assignment of the course: ``python -m coursekit gradescope ASSIGNMENT``.

``build`` writes ``autograder.zip`` as Gradescope's autograder specification asks: ``setup.sh`` and
``run_autograder`` at the root; Gradescope unpacks the zip to /autograder/source, puts the student's
upload in /autograder/submission and reads /autograder/results/results.json. The zip carries the
course (nbgrader_config.py, source/, the generated release/ and a gradebook holding only the
assignment's definition, grader/), the kit's packages (coursekit, isograde) and the pinned requirements.

``run`` (what run_autograder calls) grades the upload with the kit's own engine, exactly as
``python -m coursekit grade`` does (``classgrade.grade_one``: nbgrader's autograde with GradeInSandbox,
student code in the bubblewrap sandbox, verdicts written by the grader), then turns the gradebook's
scores and the autograded notebook's verdicts into results.json: one test per grade cell; the
hand-graded written answer listed as such, with no points; an upload that cannot be graded (wrong
name, invalid JSON, the whole run past its time limit) as one visible test saying what went wrong.
Whatever happens, run writes a results.json: a crash of the autograder itself is reported the same way.

run_autograder runs only /autograder/venv/bin/python, the environment setup.sh builds (never another
Python, whose packages would not be the pinned ones). Where that environment is missing (setup.sh did
not run, or failed) or its Python ends without writing results.json, run_autograder writes one itself
from ``failure_results.json`` (built here, with the assignment's points; no Python needed), saying why,
and exits non-zero.
"""
import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import zipfile

import coursekit
from coursekit.errors import InputError
from coursekit.settings import GradescopeCommand
from coursekit.platforms.gradescope_results import STUDENT, failed_result, graded_result

SETTINGS_FILE = "autograder_settings.json"
FAILURE_FILE = "failure_results.json"  # results.json for run_autograder to write when no Python can
FAILURE_REASON = "@REASON@"  # replaced by run_autograder (sed) with why nothing was graded (and 0 s by its time)
VISIBILITIES = GradescopeCommand.visibility.values
DEFAULT_TIME_LIMIT = GradescopeCommand.time_limit.default_value  # seconds for the whole grading of one upload
TEMPLATES = os.path.join(coursekit.TEMPLATES, "gradescope")
# Packages of requirements.txt that only the kit's tests use; the autograder image does without them.
TEST_ONLY_PACKAGES = ("tensorflow", "pytest", "pytest-xdist", "selenium", "dask", "distributed",
                      "psycopg2-binary", "psycopg[binary]")


class BuildError(InputError):
    """The autograder cannot be built from this course; the message says what to fix."""


# ---------------------------------------------------------------------------------------------
# Building autograder.zip
# ---------------------------------------------------------------------------------------------


def grading_requirements(requirements_text):
    """The course's pinned requirements without the packages only its tests need."""
    kept = []
    for line in requirements_text.splitlines():
        name = line.split("#", 1)[0].strip().split("==", 1)[0].strip().lower()
        if name and name not in TEST_ONLY_PACKAGES:
            kept.append(line.strip())
    return "\n".join(kept) + "\n"


def build(course_root, assignment=None, output=None, time_limit=DEFAULT_TIME_LIMIT,
          visibility=GradescopeCommand.visibility.default_value,
          cell_timeout=None):
    """Write the Gradescope autograder of ``assignment`` (default: the course's only one); returns the zip's path."""
    from coursekit.workflow import submissioncheck
    from coursekit import gradebook as grading
    from coursekit.preflight import the_assignment

    course_root = os.path.abspath(course_root)
    assignment = the_assignment(course_root, assignment)
    notebooks = submissioncheck.source_notebooks(course_root, assignment)
    requirements = os.path.join(course_root, "requirements.txt")
    if not os.path.isfile(requirements):
        raise BuildError(f"no requirements.txt in {course_root}: the autograder installs its pinned packages")
    if visibility not in VISIBILITIES:
        raise BuildError(f"visibility must be one of {', '.join(VISIBILITIES)}")
    output = os.path.abspath(output or os.path.join(course_root, "autograder.zip"))
    with tempfile.TemporaryDirectory(prefix="coursekit-gradescope-") as stage:
        course = os.path.join(stage, "course")
        grading.new_course(course, course_root, assignment)  # source/, grader/, config; release + gradebook
        with open(requirements, encoding="utf-8") as handle:
            _write(os.path.join(stage, "requirements.txt"), grading_requirements(handle.read()))
        for package in ("coursekit", "isograde"):
            shutil.copytree(_package_folder(package), os.path.join(stage, package),
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        settings = {"assignment": assignment, "notebooks": notebooks, "time_limit": time_limit,
                    "visibility": visibility, "cell_timeout": cell_timeout}
        _write(os.path.join(stage, SETTINGS_FILE), json.dumps(settings, indent=2) + "\n")
        failure = dict(failed_result(FAILURE_REASON, course, visibility, assignment), execution_time=0)
        _write(os.path.join(stage, FAILURE_FILE), json.dumps(failure, indent=2) + "\n")
        for script in ("setup.sh", "run_autograder"):
            shutil.copy(os.path.join(TEMPLATES, script), os.path.join(stage, script))
        partial = output + ".partial"
        _zip(stage, partial)
        os.replace(partial, output)
    return output


def _package_folder(name):
    module = __import__(name)
    return os.path.dirname(os.path.abspath(module.__file__))


def _write(path, text):
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)


def _zip(folder, destination):
    """Zip the folder's contents (not the folder) with the scripts executable, as Gradescope needs."""
    with zipfile.ZipFile(destination, "w", zipfile.ZIP_DEFLATED) as archive:
        for root, _, files in os.walk(folder):
            for name in sorted(files):
                path = os.path.join(root, name)
                relative = os.path.relpath(path, folder)
                info = zipfile.ZipInfo.from_file(path, relative)
                mode = 0o755 if relative in ("setup.sh", "run_autograder") else 0o644
                info.external_attr = (0o100000 | mode) << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                with open(path, "rb") as handle:
                    archive.writestr(info, handle.read())


# ---------------------------------------------------------------------------------------------
# Grading one upload (run_autograder)
# ---------------------------------------------------------------------------------------------


def run(source, submission, results):
    """Grade the upload in ``submission`` with the autograder unpacked in ``source``; write results.json."""
    started = time.monotonic()
    try:
        with open(os.path.join(source, SETTINGS_FILE), encoding="utf-8") as handle:
            settings = json.load(handle)
        result = grade_upload(source, submission, settings)
    except Exception as error:  # the autograder's own failure: reported to student and instructor, no crash
        result = failed_result(f"The autograder itself failed ({type(error).__name__}: {error}). "
                               "Your submission was not graded; tell your instructor.", None, "visible")
    result["execution_time"] = round(time.monotonic() - started, 2)
    write_results(results, result)
    return result


def write_results(path, result):
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    partial = path + ".partial"
    with open(partial, "w", encoding="utf-8") as handle:
        json.dump(result, handle, indent=2)
        handle.write("\n")
    os.replace(partial, path)


def grade_upload(source, submission, settings):
    from coursekit.workflow import submissioncheck

    assignment, visibility = settings["assignment"], settings.get("visibility", "visible")
    with tempfile.TemporaryDirectory(prefix="coursekit-gradescope-") as work:
        course = os.path.join(work, "course")
        shutil.copytree(os.path.join(source, "course"), course)
        folder = os.path.join(course, "submitted", STUDENT, assignment)
        os.makedirs(folder)
        problem = place_upload(submission, folder, settings["notebooks"])
        if problem:
            return failed_result(f"Your upload could not be graded: {problem}. Upload the notebook itself "
                                 "(a regular file), not a link to it.", course, visibility, assignment)
        problem = submissioncheck.check_submission(course, assignment, STUDENT, settings["notebooks"]) \
            or sandbox_problem()
        if problem:
            return failed_result(f"Your upload could not be graded: {problem}.", course, visibility, assignment)
        outcome = grade_in_child(course, assignment, settings)
        if outcome["status"] != "graded":
            return failed_result(f"Your upload could not be graded: {outcome['reason']}.", course, visibility,
                                 assignment)
        return graded_result(course, assignment, settings["notebooks"], visibility, outcome.get("reason", ""))


def sandbox_problem():
    """Why the engine's sandbox cannot start here (then nothing is graded), or None."""
    from isograde.sandbox import SandboxUnavailable, check_available
    try:
        check_available()
    except SandboxUnavailable as error:
        return f"the autograder cannot sandbox student code in this image ({error}); tell your instructor"
    return None


UPLOAD_LIMITS = {"entries": 2000, "depth": 16, "total": float("inf")}  # what an upload may hold beside the notebook


def place_upload(submission, folder, expected):
    """Copy the uploaded notebooks into the course's submitted/ folder; returns why the upload is
    refused, or None. Gradescope keeps an upload's folders (a zip, or a folder dragged in): the expected
    notebook is taken wherever it is; other notebooks are copied only when it is missing, so that the
    check names them. The upload is read as coursekit.studentfiles reads a student's files: nothing is
    followed (a notebook that is a link to the master in /autograder/source is refused, never read), no
    pipe or device is opened, the notebook's size is capped."""
    from coursekit import studentfiles

    base, name = os.path.split(os.path.abspath(submission))
    handle = os.open(base, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        listing = studentfiles.scan(name, handle, UPLOAD_LIMITS,
                                 ignore=lambda path, entry: entry in ("__MACOSX", ".ipynb_checkpoints"))
    finally:
        os.close(handle)
    notebooks = [problem for problem in listing.problems
                 if problem[0].endswith(".ipynb") or not problem[0] or problem[1].startswith("is a symbolic link")]
    if notebooks:  # a notebook (or a folder on the way) that is not a regular file: refused, never read
        path, sentence = min(notebooks, key=lambda problem: studentfiles.severity(problem[1]))
        return f"{studentfiles.shown(path) if path else 'the upload'} {sentence}"
    by_name = {}
    for item in sorted(listing.files, key=lambda item: (item.path.count("/"), item.path)):
        if item.path.endswith(".ipynb"):
            by_name.setdefault(item.path.rsplit("/", 1)[-1], item.path)
    wanted = [name for name in expected if name in by_name]
    handle = os.open(submission, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for notebook in wanted or sorted(by_name):
            try:
                content = studentfiles.read_relative(handle, by_name[notebook], studentfiles.MAX_NOTEBOOK_BYTES)
            except studentfiles.Refused as refused:
                return f"{studentfiles.shown(by_name[notebook])} {refused}"
            with open(os.path.join(folder, notebook), "wb") as stream:
                stream.write(content)
    finally:
        os.close(handle)
    return None


def grade_in_child(course, assignment, settings):
    """``classgrade.grade_one`` in a child process with the whole run's time limit: a submission that
    outlasts it ends as a visible timeout rather than as Gradescope's silent one."""
    outcome_file = os.path.join(course, "outcome.json")
    command = [sys.executable, "-m", "coursekit.platforms.gradescope", "grade-one", course, assignment, outcome_file]
    if settings.get("cell_timeout"):
        command += ["--timeout", str(settings["cell_timeout"])]
    limit = float(settings.get("time_limit") or DEFAULT_TIME_LIMIT)
    child = subprocess.Popen(command, start_new_session=True, env=dict(os.environ, PYTHONUNBUFFERED="1"))
    try:
        child.wait(timeout=limit)
    except subprocess.TimeoutExpired:
        os.killpg(child.pid, signal.SIGKILL)
        child.wait()
        return {"status": "failed", "reason": f"timeout: grading took longer than the autograder's limit of "
                                              f"{limit:g} s (a cell that never ends, or very slow code)"}
    try:
        with open(outcome_file, encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return {"status": "failed", "reason": f"the grading process ended without a result (exit {child.returncode})"}


def grade_one_to_file(course, assignment, outcome_file, timeout=None):
    from coursekit.workflow import grade as classgrade

    outcome = classgrade.grade_one(course, assignment, STUDENT, timeout=timeout)
    _write(outcome_file, json.dumps({"status": outcome.status, "reason": outcome.reason,
                                     "seconds": outcome.seconds}))


# ---------------------------------------------------------------------------------------------
# Command line of run_autograder (the kit's own CLI builds the zip)
# ---------------------------------------------------------------------------------------------


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m coursekit.platforms.gradescope", description="run_autograder's side")
    commands = parser.add_subparsers(dest="command", required=True)
    grade = commands.add_parser("run", help="grade /autograder/submission, write results.json")
    grade.add_argument("--source", default="/autograder/source")
    grade.add_argument("--submission", default="/autograder/submission")
    grade.add_argument("--results", default="/autograder/results/results.json")
    one = commands.add_parser("grade-one", help="(internal) grade the course's one submission")
    one.add_argument("course")
    one.add_argument("assignment")
    one.add_argument("outcome_file")
    one.add_argument("--timeout", type=float)
    args = parser.parse_args(argv)
    if args.command == "run":
        result = run(args.source, args.submission, args.results)
        print(f"Wrote {args.results}: score {result.get('score')}, {len(result.get('tests', []))} test(s).")
        return 0
    import isograde
    isograde.skip_slow_optional_imports()
    grade_one_to_file(args.course, args.assignment, args.outcome_file, args.timeout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
