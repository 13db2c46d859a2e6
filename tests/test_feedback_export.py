"""Feedback pages that render their maths offline (local MathJax), and the grade export: one row per
student with per-exercise scores and grading status, and a Canvas import file. Three sample students
are graded by real nbgrader in a course of their own."""
import csv
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from nbgrader.api import Gradebook

from hw3kit import grading, status
from hw3kit.export import export_grades
from hw3kit.feedback import MATHJAX_URL, generate_feedback
from hw3kit.samples import SAMPLE_STUDENTS
from hw3kit.submissions import build_submission, load_course_notebooks, write_submission

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
                             "status", "reason", "total", "max_score", *EXERCISES]
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


def test_feedback_pages_load_mathjax_from_the_local_copy(course, feedback):
    assert feedback == [course / "feedback" / s / "hw3" / "hw3.html" for s in GRADED_STUDENTS]
    mathjax = course / "feedback" / "mathjax"
    for page in feedback:
        html = page.read_text()
        scripts = re.findall(r"<script[^>]*\bsrc=\"([^\"]*)\"", html)
        assert scripts == [MATHJAX_URL], page
        assert (page.parent / MATHJAX_URL.split("?")[0]).resolve() == (mathjax / "MathJax.js").resolve()
        assert "cdnjs" not in html and not re.search(r"<(script|link)[^>]*\b(src|href)=\"(https?:)?//", html)
        assert "$n_x$" in html and "W^{[\\ell]}_{ij}\\sim \\mathcal{N}" in html  # TeX left to MathJax
    config = MATHJAX_URL.split("config=")[1].split(",")
    for name in config:
        assert (mathjax / "config" / f"{name}.js").is_file(), name
    assert (mathjax / "jax" / "output" / "HTML-CSS" / "fonts" / "STIX-Web" / "fontdata.js").is_file()
    assert list((mathjax / "fonts" / "HTML-CSS" / "STIX-Web" / "woff").glob("*.woff"))
    size = sum(f.stat().st_size for f in mathjax.rglob("*") if f.is_file())
    assert 1e6 < size < 4e6, f"MathJax copy is {size / 1e6:.1f} MB"


def test_feedback_for_one_student_reuses_the_mathjax_copy(course, feedback):
    html = (course / "feedback" / "sample-typical-mistakes" / "hw3" / "hw3.html").read_text()
    assert "a sum over the samples (not a mean)" in html and "hw3_checks" not in html  # ShortTracebacks
    mathjax_js = course / "feedback" / "mathjax" / "MathJax.js"
    before = mathjax_js.stat().st_mtime_ns
    pages, _ = generate_feedback(course, student="sample-blank")
    assert pages == [str(course / "feedback" / "sample-blank" / "hw3" / "hw3.html")]
    assert mathjax_js.stat().st_mtime_ns == before


@pytest.mark.skipif(not shutil.which("chromium"), reason="needs a headless chromium")
def test_feedback_maths_renders_in_a_browser_without_network(feedback):
    page = feedback[GRADED_STUDENTS.index("sample-full-marks")]
    dom = subprocess.run(
        ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--proxy-server=127.0.0.1:9",
         "--host-resolver-rules=MAP * ~NOTFOUND", "--virtual-time-budget=10000", "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120).stdout
    formulas = set(re.findall(r'<script type="math/tex[^"]*" id="(MathJax-Element-\d+)"', dom))
    rendered = set(re.findall(r'id="(MathJax-Element-\d+)-Frame"', dom))
    assert len(formulas) > 20 and formulas == rendered
    assert 'class="MathJax_Error"' not in dom and "STIXMathJax" in dom
