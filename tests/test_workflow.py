"""The instructor's workflow loses nothing and never shows a stale grade (issue 10), through the real
commands: every bad input ends with one line and exit 2 before anything is touched (the results are
compared byte for byte), results are replaced only once complete, the gradebook decides what to
regrade, and "not graded yet" is never a 0. The faults (a killed worker, a PostgreSQL restart, a full
disk) are in test_faults.py. The Canvas import is in test_import.py."""
import csv
import hashlib
import re
import shutil
from pathlib import Path

import pytest

from commands import cli, ok, refused

from coursekit import gradebook as grading
from homework3.samples import EXPECTED_TOTALS

REPO = Path(__file__).resolve().parents[1]
BAD_DB = "postgresql://nobody@127.0.0.1:1/gradebook"  # nothing listens on port 1
RESULTS = ("autograded", "feedback", "submitted", "gradebook.db", "grades_by_exercise.csv", "grades_lms.csv",
           "report.html")


def snapshot(course):
    """{relative path: sha256} of every result file of the course."""
    found = {}
    for name in RESULTS:
        path = course / name
        files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else []
        for file in files:
            found[str(file.relative_to(course))] = hashlib.sha256(file.read_bytes()).hexdigest()
    return found


def rows(path):
    with open(path, newline="") as stream:
        return {row["student_id"]: row for row in csv.DictReader(stream)}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The four sample students released, graded, given feedback, exported and reported by the CLI."""
    course = grading.new_course(tmp_path_factory.mktemp("workflow") / "course", REPO)
    shutil.copytree(REPO / "samples" / "submitted", course / "submitted")
    ok(course, "grade", "hw3", "--jobs", "2", "--quiet")
    for command in ("feedback", "export", "report"):
        ok(course, command, "hw3")
    return course


@pytest.fixture
def course(graded, tmp_path):
    copy = tmp_path / "course"
    shutil.copytree(graded, copy)
    return copy


@pytest.mark.parametrize("command", [
    ["grade", "hw3", "--jobs", "2", "--force"], ["feedback", "hw3"], ["export", "hw3"], ["report", "hw3"],
    ["status", "hw3"], ["release", "hw3"], ["remove", "hw3", "sample-blank"]])
def test_1_2_an_unreachable_database_touches_nothing(course, command):
    before = snapshot(course)
    refused(cli(course, *command, "--db", BAD_DB), "cannot open the gradebook", "Connection refused",
            "Check the --db URL")
    assert snapshot(course) == before


def test_3_a_new_gradebook_grades_everyone(course):
    other = f"sqlite:///{course / 'other.db'}"
    refused(cli(course, "grade", "hw3", "--db", other), "not in the gradebook", f"release hw3 --db {other}")
    ok(course, "release", "hw3", "--db", other)
    done = ok(course, "grade", "hw3", "--db", other, "--quiet")
    assert "Graded 4, failed 0;" in done.stdout
    assert {s: total for s, total in totals(course, other).items()} == EXPECTED_TOTALS
    assert "Graded 0, failed 0, skipped 4 already graded." in ok(course, "grade", "hw3", "--db", other).stdout


def totals(course, db_url=None):
    return {s: sum(score for score, _ in cells.values()) for s, cells in grading.cell_scores(course, db_url=db_url).items()}


def test_4_a_changed_submission_is_never_shown_with_its_old_grade(course, tmp_path):
    download = tmp_path / "download" / "sample-full-marks"
    download.mkdir(parents=True)
    shutil.copy(course / "submitted" / "sample-typical-mistakes" / "hw3" / "hw3.ipynb", download / "hw3.ipynb")
    import_done = cli(course, "import", "hw3", str(download.parent))
    assert import_done.returncode in (0, 1), import_done.stderr  # the import itself is test_import.py's
    assert (course / "submitted" / "sample-full-marks" / "hw3" / "hw3.ipynb").read_bytes() == \
        (download / "hw3.ipynb").read_bytes()
    ok(course, "export", "hw3")
    row = rows(course / "grades_by_exercise.csv")["sample-full-marks"]
    assert (row["status"], row["total"], row["ex05"]) == ("changed", "", "")  # no stale 95
    assert re.search(r"^sample-full-marks +changed +the submission changed since it was graded",
                     ok(course, "status", "hw3").stdout, re.M)
    done = ok(course, "grade", "hw3", "--quiet")
    assert "Graded 1, failed 0, skipped 3 already graded;" in done.stdout
    ok(course, "export", "hw3")
    row = rows(course / "grades_by_exercise.csv")["sample-full-marks"]
    assert (row["status"], row["total"]) == ("pending", "55")


@pytest.mark.parametrize("command", ["export", "report", "grade", "feedback", "status"])
def test_5_a_mistyped_assignment_overwrites_nothing(course, command):
    before = snapshot(course)
    refused(cli(course, command, "hw4"), "unknown assignment 'hw4'", "this course has hw3")
    assert snapshot(course) == before


@pytest.mark.parametrize("command", [["grade", "hw3", "--force"], ["feedback", "hw3"], ["release", "hw3"]])
def test_5_a_course_configuration_that_does_not_load_stops_every_command(course, command):
    """nbgrader itself logs such a file and goes on with stock settings (its own Execute, its own
    feedback): the kit refuses instead, naming the file, the error and the line."""
    config = course / "nbgrader_config.py"
    config.write_text(config.read_text() + "\nc.HTMLExporter.template_name = studenthtml.NO_SUCH_NAME\n")
    before = snapshot(course)
    refused(cli(course, *command), "nbgrader_config.py does not load", "AttributeError", "NO_SUCH_NAME",
            f"line {len(config.read_text().splitlines())}", "fix it")
    assert snapshot(course) == before


def test_6_an_unknown_student_leaves_no_phantom_and_a_student_can_be_removed(course):
    before = snapshot(course)
    refused(cli(course, "grade", "hw3", "--student", "nosuchstudent"), "no submission of hw3 for nosuchstudent",
            "sample-blank")
    assert snapshot(course) == before
    ok(course, "export", "hw3")
    assert "nosuchstudent" not in rows(course / "grades_by_exercise.csv")
    done = ok(course, "remove", "hw3", "sample-blank")
    assert "Removed sample-blank from hw3; moved submitted, autograded, feedback to archive/" in done.stdout
    ok(course, "export", "hw3")
    assert set(rows(course / "grades_by_exercise.csv")) == set(EXPECTED_TOTALS) - {"sample-blank"}
    archived = list((course / "archive").glob("*-removed/submitted/sample-blank/hw3/hw3.ipynb"))
    assert len(archived) == 1 and archived[0].read_bytes() == \
        (REPO / "samples" / "submitted" / "sample-blank" / "hw3" / "hw3.ipynb").read_bytes()
    refused(cli(course, "remove", "hw3", "sample-blank"), "no student sample-blank in hw3")


def test_9_steps_out_of_order_say_what_to_run(tmp_path):
    course = tmp_path / "course"  # as cloned: source and release committed, no gradebook yet
    for part in ("source", "release", "grader"):
        shutil.copytree(REPO / part, course / part)
    shutil.copy(REPO / "nbgrader_config.py", course)
    shutil.copytree(REPO / "samples" / "submitted", course / "submitted")
    before = snapshot(course)
    refused(cli(course, "grade", "hw3"), "hw3 is not in the gradebook", "run `python -m coursekit release hw3` first")
    refused(cli(course, "feedback", "hw3"), "run `python -m coursekit release hw3` first")
    assert snapshot(course) == before and not (course / "gradebook.db").exists()
    ok(course, "release", "hw3")
    refused(cli(course, "feedback", "hw3"), "no graded submission of hw3", "run `python -m coursekit grade hw3` first")


def test_10_not_graded_yet_is_never_a_zero(graded):
    table = rows(graded / "grades_by_exercise.csv")
    full = table["sample-full-marks"]
    assert (full["status"], full["written"], full["total"]) == ("pending", "not graded yet", "95")
    assert "grade it in the formgrader" in full["reason"]
    with open(graded / "grades_lms.csv", newline="") as stream:
        lms = {row["SIS Login ID"]: row["hw3"] for row in csv.DictReader(stream)}
    assert lms["sample-full-marks"] == "" and lms["sample-partial"] == "57"  # Canvas keeps what it has
    page = (graded / "report.html").read_text()
    assert "Weakest exercises" in page and "written (" not in page.split("Weakest exercises")[1][:200]
    assert "not graded yet" in page


def test_10_feedback_names_who_got_none(course):
    notebook = course / "submitted" / "sample-partial" / "hw3" / "hw3.ipynb"
    notebook.write_text("{ not JSON")
    grade = cli(course, "grade", "hw3", "--quiet")
    assert grade.returncode == 1 and "FAILED sample-partial: not a notebook (invalid JSON)" in grade.stdout
    done = ok(course, "feedback", "hw3")
    assert "no feedback sample-partial: failed: not a notebook (invalid JSON)" in done.stdout
    assert "note sample-full-marks: graded, but a hand-graded answer is not graded yet" in done.stdout


def test_10_a_new_term_archives_the_class_and_starts_clean(course):
    before = snapshot(course)
    done = ok(course, "new-term")
    assert "The course is clean" in done.stdout
    archive, = (course / "archive").glob("*-term")
    assert snapshot(archive) == before  # everything moved, byte for byte
    assert not (course / "submitted").exists() and not (course / "gradebook.db").exists()
    assert (course / "source" / "hw3" / "hw3.ipynb").is_file() and (course / "release" / "hw3").is_dir()
    ok(course, "release", "hw3")
    assert "No submissions of hw3 yet" in ok(course, "status", "hw3").stdout
