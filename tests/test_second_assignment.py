"""Any assignment, every assignment (issue 20, item 1): one course holds homework 3 and a second, small
assignment written for these tests ("warmup", tests/second_assignment.py: two notebooks, an AUTOTEST cell,
nbgrader's default grade ids, an exercise grouping in the master's cell metadata, a written answer). Both go
through the real commands (release, import, grade, feedback, export, report, status, diff, the Gradescope
zip); no command takes homework 3 as a default; the columns are those the master notebook declares."""
import csv
import hashlib
import html
import json
import re
import shutil
from pathlib import Path

import nbformat
import pytest

from commands import cli, ok, refused

import second_assignment as warmup
from coursekit.exercises import layout
from coursekit.workflow.export import FIELDS
from homework3.samples import EXPECTED_TOTALS

REPO = Path(__file__).resolve().parents[1]
HW3_STUDENT, HW3_SAMPLE = "ann", "sample-partial"  # ann also hands in homework 3: sample-partial's notebook
HW3_COLUMNS = [f"ex{n:02d}" for n in range(1, 12)] + ["written"]


def snapshot(course):
    """{relative path: sha256} of every file of the course but the sources."""
    return {str(p.relative_to(course)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(course.rglob("*")) if p.is_file() and "__pycache__" not in p.parts}


def export_rows(path):
    with open(path, newline="", encoding="utf-8") as stream:
        reader = csv.DictReader(stream)
        return reader.fieldnames, {(row["assignment"], row["student_id"]): row for row in reader}


def write_download(folder, release_folder):
    """An LMS-like folder: <student>/<notebook> for every warmup student."""
    for student, answers in warmup.STUDENTS.items():
        for name, notebook in warmup.submission(release_folder, answers).items():
            (folder / student).mkdir(parents=True, exist_ok=True)
            nbformat.write(notebook, folder / student / name)
    return folder


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """The course with both assignments released, imported, graded, given feedback, exported and reported
    by the command line, with no assignment named where the command covers the course."""
    root = warmup.make_course(tmp_path_factory.mktemp("two") / "course", REPO)
    ok(root, "release", warmup.ASSIGNMENT)
    ok(root, "release", "hw3")
    download = write_download(tmp_path_factory.mktemp("download"), root / "release" / warmup.ASSIGNMENT)
    ok(root, "import", warmup.ASSIGNMENT, str(download))
    hw3_download = tmp_path_factory.mktemp("hw3-download")
    (hw3_download / HW3_STUDENT).mkdir()
    shutil.copy(REPO / "samples" / "submitted" / HW3_SAMPLE / "hw3" / "hw3.ipynb", hw3_download / HW3_STUDENT)
    ok(root, "import", "hw3", str(hw3_download))
    for assignment in (warmup.ASSIGNMENT, "hw3"):
        ok(root, "grade", assignment, "--jobs", "2", "--quiet")
        ok(root, "feedback", assignment)
    ok(root, "export")
    ok(root, "report")
    return root


@pytest.fixture
def copy(course, tmp_path):
    shutil.copytree(course, tmp_path / "course")
    return tmp_path / "course"


def test_an_autotest_assignment_is_released_and_checked(course):
    numbers = (course / "release" / warmup.ASSIGNMENT / "numbers.ipynb").read_text()
    assert "AUTOTEST" not in numbers and "hashlib.sha256" in numbers  # expanded by nbgrader from autotests.yml
    assert "BEGIN SOLUTION" not in numbers and "mean([1, 2])" not in numbers
    # the engine's check library, which the hidden tests use, is handed out with the assignment
    assert (course / "release" / warmup.ASSIGNMENT / "checklib.py").read_bytes() == \
        (REPO / "isograde" / "checklib.py").read_bytes()
    for name in warmup.NOTEBOOKS:  # the grouping is the instructor's: not handed out
        released = nbformat.read(course / "release" / warmup.ASSIGNMENT / name, as_version=4)
        assert not any("coursekit" in cell.metadata for cell in released.cells)
    done = ok(course, "release", warmup.ASSIGNMENT, "--check")
    assert "in sync with source/warmup/" in done.stdout


def test_release_check_sees_an_autotest_release_out_of_sync(copy):
    yml = copy / "autotests.yml"
    yml.write_text(yml.read_text().replace('"{{snippet}} does not give the expected value"',
                                           '"{{snippet}} is wrong"'))
    done = cli(copy, "release", warmup.ASSIGNMENT, "--check")  # the release's problems, one per line
    assert done.returncode == 2 and done.stderr.startswith("error: release/warmup/ is not fit to hand out:")
    assert done.stderr.strip().splitlines()[1:] == ["  out of sync with source/: numbers.ipynb"]


@pytest.mark.parametrize("command", [["release"], ["import", "somewhere"], ["grade"], ["feedback"], ["gradescope"],
                                     ["remove", "cy"], ["diff", "grades_by_exercise.csv"]])
def test_no_assignment_is_a_default_when_the_course_has_two(copy, command):
    before = snapshot(copy)
    refused(cli(copy, *command), "this course has 2 assignments (hw3, warmup): name one")
    assert snapshot(copy) == before


def test_an_unknown_assignment_is_refused(copy):
    before = snapshot(copy)
    refused(cli(copy, "grade", "hw4"), "unknown assignment 'hw4'", "hw3, warmup")
    refused(cli(copy, "export", "hw4"), "hw4")
    assert snapshot(copy) == before


def test_columns_are_those_the_master_notebook_declares(course):
    columns = layout(course, warmup.ASSIGNMENT)
    assert columns.columns == warmup.COLUMNS
    assert columns.column_of(warmup.PUBLIC_CELL) == columns.column_of("mean-hidden") == "Exercise 1"
    assert columns.column_of(warmup.COUNT_CELL) == warmup.COUNT_CELL  # no exercise declared: its own column
    assert columns.manual_columns == {"Written answer"}
    assert columns.totals({c.grade_id: (0.0, c.points) for c in columns.cells}) == {
        column: (0.0, points) for column, points in warmup.MAXIMA.items()}
    assert layout(course, "hw3").columns == HW3_COLUMNS


def test_export_of_the_course_has_each_assignments_columns(course):
    header, rows = export_rows(course / "grades_by_exercise.csv")
    assert header[:len(FIELDS)] == FIELDS
    extra = header[len(FIELDS):]
    assert sorted(extra) == sorted(warmup.COLUMNS + HW3_COLUMNS)
    assert [c for c in extra if c in warmup.COLUMNS] == warmup.COLUMNS  # the master's order
    assert [c for c in extra if c in HW3_COLUMNS] == HW3_COLUMNS
    for student, expected in warmup.EXPECTED.items():
        row = rows[warmup.ASSIGNMENT, student]
        assert {c: float(row[c]) for c in expected} == expected, student
        assert row["total"] == format(sum(expected.values()), "g") and row["max_score"] == "10"
        assert all(row[c] == "" for c in HW3_COLUMNS)
    assert rows[warmup.ASSIGNMENT, "ann"]["Written answer"] == "not graded yet"
    assert rows[warmup.ASSIGNMENT, "ann"]["status"] == "pending"
    hw3 = rows["hw3", HW3_STUDENT]
    assert float(hw3["total"]) == EXPECTED_TOTALS[HW3_SAMPLE] and hw3["max_score"] == "100"
    assert sum(float(hw3[c]) for c in HW3_COLUMNS) == EXPECTED_TOTALS[HW3_SAMPLE]
    assert all(hw3[c] == "" for c in warmup.COLUMNS)
    assert rows["hw3", "ben"]["status"] == "missing"


def test_lms_file_has_one_column_per_assignment(course):
    with open(course / "grades_lms.csv", newline="") as stream:
        table = list(csv.reader(stream))
    header, points = table[0], table[1]
    assert set(header[-2:]) == {"hw3", warmup.ASSIGNMENT}
    maxima = dict(zip(header, points))
    assert (maxima["hw3"], maxima[warmup.ASSIGNMENT]) == ("100", "10")
    by_student = {row[0]: dict(zip(header, row)) for row in table[2:]}
    assert by_student["ben"][warmup.ASSIGNMENT] == "5" and by_student["ben"]["hw3"] == ""
    assert by_student["ann"]["hw3"] == "57"
    assert by_student["ann"][warmup.ASSIGNMENT] == ""  # pending: no total handed to the LMS yet


def test_export_of_one_assignment_has_only_its_columns(copy, tmp_path):
    ok(copy, "export", warmup.ASSIGNMENT, "--to", str(tmp_path / "w.csv"), "--lms-to", str(tmp_path / "l.csv"))
    header, rows = export_rows(tmp_path / "w.csv")
    assert header == FIELDS + warmup.COLUMNS
    assert {assignment for assignment, _ in rows} == {warmup.ASSIGNMENT}


def test_report_of_the_course_has_both_assignments(course):
    page = (course / "report.html").read_text(encoding="utf-8")
    for assignment in ("hw3", warmup.ASSIGNMENT):
        assert f'<h2 id="assignment-{assignment}" class="assignment">' in page
        assert f'id="{assignment}-exercises"' in page  # each assignment's sections, their anchors prefixed
    rows = dict(re.findall(r'<tr id="warmup-exercise-([^"]+)"[^>]*><td>([^<]*)</td>', page))
    assert sorted(rows.values()) == sorted(warmup.COLUMNS)
    assert all(re.fullmatch(r"[A-Za-z0-9_.-]+", anchor) for anchor in rows)  # valid ids, spaces or not
    exercise_1 = re.search(r'<tr id="warmup-exercise-Exercise-1"[^>]*>(.*?)</tr>', page).group(1)
    cells = re.findall(r"<td[^>]*>(.*?)</td>", exercise_1)
    assert cells[1:4] == ["3", "1.67", "55.6"]  # ann 3, ben 2, cy 0
    assert len(re.findall(r'<tr id="hw3-exercise-ex\d\d"', page)) == 11
    students = re.search(r'<table class="students">.*?</table>', page, re.S).group(0)
    ann = re.search(r"<tr><td>ann</td>(.*?)</tr>", students).group(1)
    assert re.findall(r"<td[^>]*>(.*?)</td>", ann) == ["57", "8 (+ not graded yet)"]
    assert (course / "similarity-warmup.csv").is_file() and (course / "similarity-hw3.csv").is_file()


def test_report_of_one_assignment_is_its_page(copy):
    ok(copy, "report", warmup.ASSIGNMENT)
    page = (copy / "report.html").read_text(encoding="utf-8")
    assert "Assignment warmup: class report" in page and "ex05" not in page


def test_status_covers_every_assignment(course):
    out = ok(course, "status").stdout
    warmup_part, hw3_part = out.split("warmup\n======\n")[1], out.split("hw3\n===\n")[1]
    assert re.search(r"^ann +pending +8 +not graded yet: explain-split", warmup_part, re.M)
    assert re.search(r"^ben +graded +5 ", warmup_part, re.M)
    assert re.search(r"^ann +graded +57 ", hw3_part, re.M)
    one = ok(course, "status", "hw3", "--student", "ann").stdout
    assert "warmup" not in one and re.search(r"^ann +graded +57", one, re.M)


def test_feedback_of_both_notebooks_without_hidden_tests(course):
    hidden = "abs(mean([0.1] * 10) - 0.1)"  # only in the hidden part of mean's test (ben fails before it)
    assert hidden in (course / "autograded" / "ben" / warmup.ASSIGNMENT / "numbers.ipynb").read_text()
    for student in warmup.STUDENTS:
        for name in warmup.NOTEBOOKS:
            page = (course / "feedback" / student / warmup.ASSIGNMENT / name.replace(".ipynb", ".html")).read_text()
            text = html.unescape(re.sub(r"<[^>]+>", "", page))  # the code without its highlighting
            if name == "numbers.ipynb":
                assert "assert mean([2, 4]) == 3" in text, student  # the visible part of the same cell
            assert hidden not in text and "BEGIN HIDDEN TESTS" not in text, (student, name)
    assert (course / "feedback" / HW3_STUDENT / "hw3" / "hw3.html").is_file()


def test_removing_a_student_from_one_assignment_keeps_the_other(copy):
    export = str(copy / "grades_by_exercise.csv")
    done = cli(copy, "diff", warmup.ASSIGNMENT, export)
    assert done.returncode == 0 and "No change" in done.stdout, done.stdout + done.stderr
    ok(copy, "remove", warmup.ASSIGNMENT, HW3_STUDENT)
    done = cli(copy, "diff", warmup.ASSIGNMENT, export)
    assert done.returncode == 1 and re.search(rf"^ *{HW3_STUDENT}\b", done.stdout, re.M), done.stdout + done.stderr
    assert not (copy / "submitted" / HW3_STUDENT / warmup.ASSIGNMENT).exists()
    assert re.search(rf"^{HW3_STUDENT} +graded +57 ", ok(copy, "status", "hw3").stdout, re.M)
    assert cli(copy, "diff", "hw3", export).returncode == 0  # homework 3's grades as exported


# --- Gradescope ------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def warmup_zip(course, tmp_path_factory):
    output = tmp_path_factory.mktemp("zip") / "autograder.zip"
    ok(course, "gradescope", warmup.ASSIGNMENT, "--output", str(output))
    return output


def test_gradescope_zip_grades_the_second_assignment_as_the_kit_does(course, warmup_zip, tmp_path):
    from gradescope_image import run_autograder

    settings = json.loads(__import__("zipfile").ZipFile(warmup_zip).read("autograder_settings.json"))
    assert (settings["assignment"], settings["notebooks"]) == (warmup.ASSIGNMENT, list(warmup.NOTEBOOKS))
    files = {name: (course / "submitted" / "ben" / warmup.ASSIGNMENT / name).read_bytes() for name in warmup.NOTEBOOKS}
    result, done = run_autograder(warmup_zip, tmp_path, files)
    assert done.returncode == 0, done.stderr
    by_cell = {test["extra_data"]["grade_id"]: test for test in result["tests"]}
    assert set(by_cell) == {c.grade_id for c in layout(course, warmup.ASSIGNMENT).cells}
    assert by_cell[warmup.PUBLIC_CELL]["score"] == 2 and by_cell["mean-hidden"]["score"] == 0
    assert by_cell[warmup.AUTOTEST_CELL]["score"] == 3 and by_cell[warmup.COUNT_CELL]["score"] == 0
    assert by_cell[warmup.WRITTEN_CELL]["extra_data"]["manual"] is True
    assert by_cell[warmup.PUBLIC_CELL]["name"] == f"Exercise 1 [{warmup.PUBLIC_CELL}]"  # the master's grouping
    assert result["score"] == 5


# --- the hub: named after the instructor's course id ------------------------------------------------------

def test_the_hub_names_its_accounts_and_folders_after_the_course_id(tmp_path):
    from coursekit.platforms.hublayout import HubError, HubLayout

    course = tmp_path / "course"
    course.mkdir()
    config = course / "nbgrader_config.py"
    config.write_text(f"c = get_config()\nc.CourseDirectory.course_id = {warmup.COURSE_ID!r}\n")
    layout = HubLayout(tmp_path / "state", course)
    assert layout.instructor == f"{warmup.COURSE_ID}-instructor"
    assert layout.students == [f"{warmup.COURSE_ID}-student1", f"{warmup.COURSE_ID}-student2"]
    assert layout.course_dir == layout.home(layout.instructor) / warmup.COURSE_ID
    assert HubLayout(tmp_path / "state", course, prefix="x-").instructor == "x-instructor"
    config.write_text("c = get_config()\nc.CourseDirectory.course_id = '../Stats 101'\n")
    with pytest.raises(HubError, match="use letters, digits"):
        HubLayout(tmp_path / "state", course)


# --- the grouping as declared, without a gradebook --------------------------------------------------------

def test_a_grouping_that_is_not_a_name_falls_back_to_the_grade_id(tmp_path):
    notebook = warmup.numbers()
    for cell in notebook.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id == warmup.PUBLIC_CELL:
            cell.metadata["coursekit"] = {"exercise": 1}  # not a name
        elif grade_id == "mean-hidden":
            cell.metadata["coursekit"] = {"exercise": "  "}
        elif grade_id == warmup.AUTOTEST_CELL:
            cell.metadata["coursekit"] = "Exercise 2"  # not a mapping
    (tmp_path / "source" / "a").mkdir(parents=True)
    nbformat.write(notebook, tmp_path / "source" / "a" / "numbers.ipynb")
    nbformat.write(warmup.words(), tmp_path / "source" / "a" / "words.ipynb")
    found = layout(tmp_path, "a", db_url=f"sqlite:///{tmp_path / 'none.db'}")  # no gradebook: the master's
    assert found.columns == [warmup.PUBLIC_CELL, "mean-hidden", warmup.AUTOTEST_CELL, warmup.COUNT_CELL,
                             "Written answer"]
    assert found.points == {warmup.PUBLIC_CELL: 2, "mean-hidden": 1, warmup.AUTOTEST_CELL: 3, warmup.COUNT_CELL: 2,
                            warmup.WRITTEN_CELL: 2}
    assert found.manual == {warmup.WRITTEN_CELL}
    assert not (tmp_path / "none.db").exists()  # reading the layout creates no gradebook
