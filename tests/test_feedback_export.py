"""Feedback pages that open alone, offline, their maths typeset into them, and the grade export: one row per
student with per-exercise scores and grading status, and a Canvas import file. Three sample students
are graded by real nbgrader in a course of their own."""
import csv
import re
import shutil
from html import unescape
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

import browser

from coursekit import gradebook as grading
from coursekit import records as status
from coursekit.workflow.export import export_grades
from coursekit.workflow.feedback import generate_feedback
from coursekit.workflow.maths import MathsRenderError, render_maths
from homework3.samples import SAMPLE_STUDENTS
from coursekit.submissions import build_submission, load_course_notebooks, write_submission

GRADED_STUDENTS = ["sample-blank", "sample-full-marks", "sample-typical-mistakes"]
FULL_MARKS = {"ex01": 8, "ex02": 8, "ex03": 6, "ex04": 9, "ex05": 16, "ex06": 10, "ex07": 6, "ex08": 4,
              "ex09": 8, "ex10": 9, "ex11": 11, "written": 0}  # the written question waits for the instructor
# ReLU'(0) = 0 loses ex02's derivative test (4), db as a mean ex05 (16), epsilon inside the root ex10, ex11.
TYPICAL_MISTAKES = {**FULL_MARKS, "ex02": 4, "ex05": 0, "ex10": 0, "ex11": 0}
EXERCISES = sorted(FULL_MARKS)


@pytest.fixture(scope="module")
def course(tmp_path_factory, repo):
    """A course with three graded sample students (one without a recorded status), a student whose
    submission failed to grade (status only, no submission) and a student who submitted nothing."""
    course = grading.new_course(tmp_path_factory.mktemp("feedback_export") / "course", repo)
    release, source = load_course_notebooks(course)
    for student in GRADED_STUDENTS:
        write_submission(course, student, build_submission(release, source, SAMPLE_STUDENTS[student]))
    grading.autograde(course, GRADED_STUDENTS, jobs=2)
    assert set(grading.cell_scores(course)) == set(GRADED_STUDENTS)
    files = lambda student: status.submission_hash(course, "hw3", student)
    status.record(course, "hw3", "sample-full-marks", status.GRADED, seconds=4.0, files_hash=files("sample-full-marks"))
    status.record(course, "hw3", "sample-blank", status.GRADED, seconds=3.0,  # typical-mistakes: none recorded
                  files_hash=files("sample-blank"))
    status.record(course, "hw3", "broken-json", status.FAILED, reason="invalid JSON")
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        gradebook.add_student("broken-json", first_name="Ada", last_name="Lovelace", email="ada@example.org")
        gradebook.add_student("no-show", first_name="Bo", last_name="Absent")
    return course


@pytest.fixture(scope="module")
def exported(course):
    csv_path, lms_path = export_grades(course)
    with open(csv_path, newline="") as stream:
        rows = list(csv.DictReader(stream))
    with open(lms_path, newline="") as stream:
        lms = list(csv.reader(stream))
    return Path(csv_path), Path(lms_path), rows, lms


@pytest.fixture(scope="module")
def feedback(course):
    return [Path(page) for page in generate_feedback(course)[0]]


def test_export_has_one_row_per_student_with_status_and_exercise_columns(course, exported):
    csv_path, lms_path, rows, _ = exported
    assert (csv_path, lms_path) == (course / "grades_by_exercise.csv", course / "grades_lms.csv")
    assert list(rows[0]) == ["assignment", "student_id", "last_name", "first_name", "email", "lms_user_id",
                             "status", "reason", "total", "max_score", "submitted_at", "due", "seconds_late",
                             "late_penalty", *EXERCISES]
    # the two who answered the written question wait for the instructor: "pending", not graded
    assert [(r["student_id"], r["status"]) for r in rows] == [
        ("broken-json", "failed"), ("no-show", "missing"), ("sample-blank", "graded"),
        ("sample-full-marks", "pending"), ("sample-typical-mistakes", "pending")]
    assert all(r["assignment"] == "hw3" and r["max_score"] == "100" for r in rows)


def test_export_scores_each_exercise(exported):
    rows = {r["student_id"]: r for r in exported[2]}
    for student, expected in (("sample-full-marks", FULL_MARKS), ("sample-typical-mistakes", TYPICAL_MISTAKES),
                              ("sample-blank", dict.fromkeys(EXERCISES, 0))):
        row = rows[student]
        pending = row["status"] == "pending"
        assert row["written"] == ("not graded yet" if pending else "0"), student  # never a 0 while pending
        assert {ex: float(row[ex]) for ex in EXERCISES if ex != "written"} == \
            {ex: points for ex, points in expected.items() if ex != "written"}, student
        assert float(row["total"]) == sum(expected.values()), student
    assert rows["sample-typical-mistakes"]["total"] == "55"
    assert rows["sample-blank"]["total"] == "0"  # a real zero is written as 0 ...


def test_export_leaves_failed_and_missing_students_without_scores(exported):
    rows = {r["student_id"]: r for r in exported[2]}
    failed = rows["broken-json"]
    assert (failed["reason"], failed["last_name"], failed["first_name"], failed["email"]) == \
        ("invalid JSON", "Lovelace", "Ada", "ada@example.org")
    for student in ("broken-json", "no-show"):  # ... but no score at all is never written as 0
        assert rows[student]["total"] == "" and all(rows[student][ex] == "" for ex in EXERCISES), student


def test_lms_file_is_a_canvas_gradebook_import(exported):
    lms = exported[3]
    assert lms[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "hw3"]
    assert lms[1] == ["    Points Possible", "", "", "", "", "100"]
    grades = {row[3]: (row[0], row[5]) for row in lms[2:]}
    assert grades == {"broken-json": ("Lovelace, Ada", ""), "no-show": ("Absent, Bo", ""),
                      "sample-blank": ("sample-blank", "0"),  # not fully graded: empty, Canvas changes nothing
                      "sample-full-marks": ("sample-full-marks", ""),
                      "sample-typical-mistakes": ("sample-typical-mistakes", "")}


MAX_PAGE_BYTES = 1_000_000  # what an LMS upload or an e-mail takes without complaint


def visible_text(html):
    text = re.sub(r"<(script|style|svg)\b.*?</\1>", " ", html, flags=re.S | re.I)
    return unescape(re.sub(r"<[^>]+>", " ", text))


def test_feedback_pages_hold_their_maths_rendered_and_load_nothing(course, feedback):
    assert feedback == [course / "feedback" / s / "hw3" / "hw3.html" for s in GRADED_STUDENTS]
    assert not (course / "feedback" / "mathjax").exists()
    for page in feedback:
        html = page.read_text()
        assert page.stat().st_size < MAX_PAGE_BYTES, (page, page.stat().st_size)
        assert not re.search(r"<script\b", html, re.I), page  # no MathJax, no script at all
        # nothing loaded from elsewhere: no stylesheet link, and every src is inline data (links are links)
        assert not re.search(r"<link\b", html, re.I), page
        assert [ref for ref in re.findall(r"\bsrc=\"([^\"]*)\"", html) if not ref.startswith("data:")] == [], page
        assert len(re.findall(r"<mjx-container\b", html)) > 40, page
        text = visible_text(html)
        assert "$" not in text and "\\mathcal" not in text and "^{[\\ell" not in text, page
        assert "<g data-mml-node=\"merror\"" not in html, page  # every formula typeset without a TeX error
    print(f"feedback page sizes: {[p.stat().st_size for p in feedback]} bytes")


def test_feedback_shows_failing_tests_as_the_notebook_does(course, feedback):
    text = visible_text((course / "feedback" / "sample-typical-mistakes" / "hw3" / "hw3.html").read_text())
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    start = lines.index(next(line for line in lines if line.startswith("Exercise 5: grads['db2']")))
    assert lines[start + 4].startswith("Hint: db is a sum over the samples, not a mean")
    assert "hw3_checks" not in text and "AssertionError" not in text and "Traceback" not in text


def test_the_graded_notebook_shows_a_failing_test_as_the_students_notebook_does(course):
    """The grader writes a failure's own rendering (public_tests' ExerciseFailed) as the error's traceback: the
    formgrader shows the message and hint, as JupyterLab did, not "AssertionError: ..."."""
    graded = nbformat.read(course / "autograded" / "sample-typical-mistakes" / "hw3" / "hw3.ipynb", as_version=4)
    [cell] = [c for c in graded.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "ex05-back-propagation"]
    [error] = [o for o in cell.outputs if o.output_type == "error"]
    assert error.ename == "ExerciseFailed" and error.traceback == error.evalue.splitlines()  # as the kernel names it
    assert error.traceback[0].startswith("Exercise 5: grads['db2']") and error.traceback[-1].startswith("Hint: ")


def test_the_rubric_is_in_every_graded_notebook_and_in_no_feedback(course, feedback):
    """The formgrader shows a student's autograded notebook: the rubric is there, in the question's cell, above
    the answer it grades; the student's feedback does not have it."""
    for student, page in zip(GRADED_STUDENTS, feedback):
        graded = nbformat.read(course / "autograded" / student / "hw3" / "hw3.ipynb", as_version=4)
        ids = [c.metadata.get("nbgrader", {}).get("grade_id") for c in graded.cells]
        question = graded.cells[ids.index("written-question-text")]
        assert ids.index("written-question-text") + 1 == ids.index("written-optimizer-comparison")
        assert "**Rubric for the grader** (5 points" in question.source, student
        text = page.read_text()
        assert "Rubric for the grader" not in text and "MARK SCHEME" not in text and "first to fall below 0.01" in text


def test_feedback_for_one_student_writes_that_page_only(course, feedback):
    others = {page: page.stat().st_mtime_ns for page in feedback}
    pages, _ = generate_feedback(course, student="sample-blank")
    assert pages == [str(course / "feedback" / "sample-blank" / "hw3" / "hw3.html")]
    assert {page: page.stat().st_mtime_ns for page in feedback if page != Path(pages[0])} == \
        {page: mtime for page, mtime in others.items() if page != Path(pages[0])}


def test_a_feedback_page_missing_mathjax_says_what_to_install(tmp_path):
    with pytest.raises(MathsRenderError, match=r"MathJax is not installed in .*: run `npm ci`"):
        render_maths("<p>$x$</p>", node_modules=str(tmp_path / "node_modules"))
    with pytest.raises(MathsRenderError, match=r"Node.js \('no-such-node'\) is not installed: apt-get install nodejs"):
        render_maths("<p>$x$</p>", node="no-such-node")


@pytest.mark.skipif(browser.missing_browser() is not None, reason=str(browser.missing_browser()))
def test_a_feedback_page_copied_alone_renders_its_maths_offline(feedback, tmp_path):
    """One page in an empty folder, as a student receives it, in headless Chromium with the network off."""
    alone = tmp_path / "alone" / "hw3.html"
    alone.parent.mkdir()
    shutil.copy(feedback[GRADED_STUDENTS.index("sample-typical-mistakes")], alone)
    assert alone.stat().st_size < MAX_PAGE_BYTES
    driver = browser.new_browser(tmp_path / "profile")
    try:
        driver.set_network_conditions(offline=True, latency=0, download_throughput=0, upload_throughput=0)
        driver.get(alone.as_uri())
        formulas = driver.execute_script("""
            return Array.from(document.querySelectorAll('mjx-container > svg')).map(svg => {
                const box = svg.getBoundingClientRect();
                return [box.width, box.height, svg.querySelectorAll('use, path').length];});""")
        text = driver.execute_script("return document.body.innerText")
        loaded = driver.execute_script("return performance.getEntriesByType('resource').map(r => r.name)")
        browser.screenshot(driver, "feedback-page-alone-offline")
    finally:
        driver.quit()
    assert len(formulas) > 40 and all(width > 0 and height > 0 and glyphs > 0 for width, height, glyphs in formulas)
    assert "$" not in text and "\\frac" not in text and "Exercise 5: grads['db2']" in text
    assert loaded == []  # the page asked for no other file
