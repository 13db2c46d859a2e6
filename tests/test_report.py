"""The class report (coursekit.reports.report): a real course in which four students are autograded by nbgrader
(the solution, the blank release, the typical mistakes, a single ex05 mistake) and one broken notebook
is recorded as failed; the report's page is checked against the numbers these give."""
import html
import re
import shutil
import sqlite3

import markupsafe
import pytest
from nbgrader.api import Gradebook

from coursekit import gradebook as grading
from coursekit import records as status
from coursekit.preflight import InputError
from coursekit.reports.classdata import collect, normalise_message
from coursekit.reports.report import build_report
from homework3.samples import ALL_ANSWERS, SAMPLE_STUDENTS
from coursekit.submissions import SOLUTION, build_submission, load_course_notebooks, write_submission

from conftest import REPO

MISTAKES = SAMPLE_STUDENTS["sample-typical-mistakes"]
DB_MEAN = MISTAKES["ex05-answer"]  # db as a mean over the samples instead of a sum
EVIL_REASON = 'invalid JSON: Expecting value: line 1 column 1 (char 0) <script>alert("x")</script>'
DB2_MESSAGE = "Exercise 5: grads['db2'] has the right shape (3, 1) but wrong values (N of M entries differ)."
# Autograded totals (the 5-point written question is not graded yet): solution 95, blank 0, typical
# mistakes 55, only the ex05 mistake 95 - 16 = 79.
GRADED_TOTALS = {"alice-solution": 95.0, "bob-blank": 0.0, "carol-mistakes": 55.0, "dave-db-mean": 79.0}


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    course = grading.new_course(tmp_path_factory.mktemp("report") / "course", REPO)
    release, source = load_course_notebooks(REPO)
    write_submission(course, "alice-solution", source)
    write_submission(course, "bob-blank", release)
    write_submission(course, "carol-mistakes", build_submission(release, source, MISTAKES))
    only_db = {answer: SOLUTION for answer in ALL_ANSWERS} | {"ex05-answer": DB_MEAN}
    write_submission(course, "dave-db-mean", build_submission(release, source, only_db))
    broken = course / "submitted" / "erin-broken" / "hw3"
    broken.mkdir(parents=True)
    (broken / "hw3.ipynb").write_text("{ this is not JSON")
    grading.autograde(course, [*GRADED_TOTALS, "erin-broken"])
    # nbgrader records a submission it fails on once it has copied it, with 0 points; the course's
    # config now refuses this one before that (coursekit.studentfiles), so it is recorded here as nbgrader would
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        gradebook.update_or_create_student("erin-broken")
        gradebook.update_or_create_submission("hw3", "erin-broken")

    # The kit's statuses; bob-blank has none (graded by plain nbgrader), frank never reached nbgrader.
    for student, seconds in (("alice-solution", 4.25), ("carol-mistakes", 5.5), ("dave-db-mean", 3.75)):
        status.record(course, "hw3", student, status.GRADED, seconds=seconds,
                      files_hash=status.submission_hash(course, "hw3", student))
    status.record(course, "hw3", "erin-broken", status.FAILED, EVIL_REASON, seconds=0.5,
                  files_hash=status.submission_hash(course, "hw3", "erin-broken"))
    status.record(course, "hw3", "frank-timeout", status.FAILED, "timeout: the kernel died", seconds=61.0)
    # An unreadable notebook next to a good one is skipped with a note.
    (course / "autograded" / "alice-solution" / "hw3" / "scratch.ipynb").write_text("{ not a notebook")
    return course


@pytest.fixture(scope="module")
def page(course):
    path = build_report(course)
    assert path == str(course / "report.html")
    return (course / "report.html").read_text(encoding="utf-8")


def exercise_row(page, exercise):
    row = re.search(rf'<tr id="exercise-{exercise}"[^>]*>(.*?)</tr>', page, re.S)
    assert row, f"no table row for {exercise}"
    return re.findall(r"<td[^>]*>(.*?)</td>", row.group(1)), row.group(0)


def summary(page, label):
    return html.unescape(re.search(rf'id="summary-{label}">(.*?)</td>', page).group(1))


def test_summary_counts_failed_submissions_apart(course, page):
    # nbgrader recorded the broken notebook as a submission with 0 points: the report must not count it.
    assert "erin-broken" in grading.cell_scores(course)
    assert summary(page, "submissions") == "6"
    assert summary(page, "graded") == "4"
    assert summary(page, "failed") == "2"
    assert summary(page, "mean-total-score") == "57.2 / 100"   # (95 + 0 + 55 + 79) / 4 = 57.25
    assert summary(page, "median-total-score") == "67.0 / 100"
    data = collect(course)
    assert sorted(data["totals"]) == sorted(GRADED_TOTALS.values())
    assert {s["student"]: s["total"] for s in data["graded"]} == GRADED_TOTALS


def test_exercise_table_has_the_class_means_and_marks_the_weakest(page):
    expected = {  # exercise: (max, mean points, mean %, % full marks) over alice, bob, carol, dave
        "ex01": ("8", "6.00", "75.0", "75.0"),
        "ex02": ("8", "5.00", "62.5", "50.0"),    # carol loses 4 of 8 (ReLU'(0))
        "ex05": ("16", "4.00", "25.0", "25.0"),   # carol and dave lose all 16
        "ex10": ("9", "4.50", "50.0", "50.0"),
        "ex11": ("11", "5.50", "50.0", "50.0"),
    }
    for exercise, values in expected.items():
        cells, _ = exercise_row(page, exercise)
        assert tuple(cells[1:5]) == values and cells[5] == "", exercise
    # the written answer of alice and carol waits for the instructor: counted apart, not as 0
    cells, _ = exercise_row(page, "written")
    assert cells[5] == "2" and cells[2:4] == ["0.00", "0.0"]  # bob's unchanged blank answer is a real 0
    assert len(re.findall(r'<tr id="exercise-ex\d\d"', page)) == 11
    # weakest: ex05, then ex11 and ex10 (50 %, ex11 loses more points), marked and listed first
    for exercise in ("ex05", "ex11", "ex10"):
        assert 'class="weak"' in exercise_row(page, exercise)[1]
    for exercise in ("ex01", "ex02", "ex03"):
        assert 'class="weak"' not in exercise_row(page, exercise)[1]
    order = re.findall(r'<tr id="exercise-(ex\d\d)"', page)
    assert order[:3] == ["ex05", "ex11", "ex10"] and order[3] == "ex02"
    assert "Weakest exercises: <strong>ex05 (25%), ex11 (50%), ex10 (50%)</strong>" in page


def test_failure_messages_are_grouped_per_exercise(page):
    section = re.search(r'<h3 id="messages-ex05">.*?</table>', page, re.S).group(0)
    rows = {html.unescape(message): int(count) for count, message in
            re.findall(r'<tr><td class="num">(\d+)</td><td>(.*?)</td>', section)}
    assert rows[DB2_MESSAGE] == 2           # carol and dave, same mistake, one group
    assert rows["Exercise 5: back_propagation(Y, parameters, caches, act_derivative) raised "
                "NotImplementedError: replace the `raise NotImplementedError()` line with your code."] == 1
    assert "grads[&#39;db2&#39;]" in section   # escaped in the page (the templates' escaping, markupsafe's)
    assert sum(rows.values()) == 3           # nothing from erin-broken's 0-point "submission"
    ex02 = html.unescape(re.search(r'<h3 id="messages-ex02">.*?</table>', page, re.S).group(0))
    assert "ReLU().derivative(matrix) has the right shape (2, 3) but wrong values (N of M entries differ)." in ex02


def test_failed_submissions_with_reasons_and_grading_times(page):
    failed = re.search(r'<table class="failed">.*?</table>', page, re.S).group(0)
    assert "erin-broken" in failed and "frank-timeout" in failed
    assert "timeout: the kernel died" in failed
    assert str(markupsafe.escape(EVIL_REASON)) in failed and "<script>" not in failed
    times = re.search(r'<table class="times">.*?</table>', page, re.S).group(0)
    assert re.search(r"<td>carol-mistakes</td><td>graded</td><td class=\"num\">5.50</td>", times)
    assert re.search(r"<td>bob-blank</td><td>graded \(no status\)</td><td class=\"num\">unknown</td>", times)
    assert re.search(r"<td>frank-timeout</td><td>failed</td><td class=\"num\">61.00</td>", times)
    assert "scratch.ipynb: not a readable notebook" in page


def test_page_is_self_contained_and_escaped(page):
    assert page.count('<img alt="') == 3 and page.count('src="data:image/png;base64,') == 3
    assert "<script" not in page                          # neither ours nor a student's
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", page, re.I)
    assert not re.search(r"<link\b|@import|url\(", page, re.I)


def test_missing_notebooks_and_status_file_are_noted(course, tmp_path):
    copy = tmp_path / "course"
    shutil.copytree(course, copy, ignore=shutil.ignore_patterns("submitted", "source", "release", "report.html"))
    shutil.rmtree(copy / "autograded" / "dave-db-mean")
    with sqlite3.connect(copy / "gradebook.db") as database:  # a gradebook graded by plain nbgrader
        database.execute(f"DROP TABLE {status.TABLE}")
    page = open(build_report(copy, output=str(tmp_path / "out.html")), encoding="utf-8").read()
    assert "no autograded notebook for dave-db-mean" in page
    # without the kit's records every submission nbgrader autograded counts as graded; the broken
    # notebook (a submission without grades) and frank (no submission) are not counted at all
    assert summary(page, "graded") == "4" and summary(page, "failed") == "0"
    assert re.search(r"<td>alice-solution</td><td>graded \(no status\)</td>", page)
    assert not (copy / "report.html").exists()


def test_empty_class(tmp_path):
    course = grading.new_course(tmp_path / "course", REPO)  # released, nobody submitted yet
    page = open(build_report(course), encoding="utf-8").read()
    assert summary(page, "submissions") == "0" and summary(page, "mean-total-score") == "– / 100"
    assert "nothing to show" in page


def test_a_course_without_gradebook_is_refused_and_left_alone(tmp_path):
    shutil.copytree(REPO / "source", tmp_path / "source")
    with pytest.raises(InputError, match="hw3 is not in the gradebook .*run `python -m coursekit release hw3`"):
        build_report(tmp_path)
    assert not (tmp_path / "gradebook.db").exists() and not (tmp_path / "report.html").exists()


def test_normalise_message_groups_identical_mistakes():
    first = "Exercise 3: Z has the right shape (4, 2) but wrong values (3 of 8 entries differ).\n  expected: ..."
    second = "Exercise 3: Z has the right shape (4, 2) but wrong values (5 of 8 entries differ).\n  expected: ..."
    assert normalise_message(first) == normalise_message(second)
    assert normalise_message("Exercise 4: A contains NaN or inf: [nan, 1.5].") == "Exercise 4: A contains NaN or inf."
    assert (normalise_message("Exercise 1: initialize_dnn_parameters([5, 4, 3]) raised KeyError: 'W1'")
            == "Exercise 1: initialize_dnn_parameters([5, 4, 3]) raised KeyError: 'W1'")
