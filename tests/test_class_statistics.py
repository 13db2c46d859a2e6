"""What the class got wrong: per-check statistics (on a made-up score table and on the graded mutation
catalogue), known mistakes counted from what the grader recorded (a forged hint is not counted), and
the diff of two gradings after a check is fixed and the class regraded."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from coursekit.reports import statistics as stats
from coursekit.workflow import grade as classgrade
from coursekit import gradebook as grading
from coursekit.reports.report import build_report
from homework3.samples import SAMPLE_STUDENTS
from coursekit.submissions import build_submission, load_course_notebooks, write_submission

from homework3 import catalogue

REPO = Path(__file__).resolve().parents[1]
WRITTEN = "written-optimizer-comparison"
RMSPROP_HINT = "epsilon goes outside the square root: grad / (np.sqrt(s) + epsilon)."


def cli(*args, course):
    return subprocess.run([sys.executable, "-m", "coursekit", *args, "--course", str(course)],
                          capture_output=True, text=True)


# --- per check ----------------------------------------------------------------------------------

def table(rows):
    """{student: {check: (score, max)}} from {student: (easy, weak-only, never, separating)} scores."""
    names = ("easy", "weak-only", "never", "separating")
    return {student: {name: (score, 1.0) for name, score in zip(names, scores)} for student, scores in rows.items()}


def test_flags_on_a_made_up_class():
    scores = table({"s1": (1, 0, 0, 1), "s2": (1, 0, 0, 1), "s3": (1, 1, 0, 0), "s4": (1, 1, 0, 0),
                    "s5": (1, 0, 0, 1)})
    scores = {s: dict(cells, **{f"other{i}": (float(cells["separating"][0]), 1.0) for i in range(3)})
              for s, cells in scores.items()}
    maxima = {name: 1.0 for name in next(iter(scores.values()))}
    rows = {row.check: row for row in stats.check_statistics(scores, maxima)}
    assert rows["easy"].passed == 5 and "everyone passes" in rows["easy"].flags[0]
    assert rows["never"].passed == 0 and "nobody passes" in rows["never"].flags[0]
    assert rows["weak-only"].correlation < 0 and "strong submissions fail it" in rows["weak-only"].flags[0]
    assert rows["separating"].correlation == pytest.approx(1.0) and rows["separating"].flags == []
    assert rows["easy"].correlation is None  # a constant item has no correlation


def test_hand_graded_cells_are_left_out():
    scores = {"a": {"ex01-x": (1.0, 1.0), WRITTEN: (0.0, 5.0)}, "b": {"ex01-x": (0.0, 1.0), WRITTEN: (0.0, 5.0)}}
    rows = stats.check_statistics(scores, {"ex01-x": 1.0, WRITTEN: 5.0}, manual={WRITTEN})
    assert [row.check for row in rows] == ["ex01-x"]


def test_statistics_of_the_graded_catalogue(graded_class):
    course, scores, _ = graded_class
    entries = catalogue.entries()
    students = [*entries, "instructor-solution", "blank-release"]
    class_scores = {s: scores[s] for s in students}
    maxima = {cell: out_of for cells in class_scores.values() for cell, (_, out_of) in cells.items()}
    rows = {row.check: row for row in stats.check_statistics(class_scores, maxima, manual={WRITTEN})}
    assert set(rows) == set(catalogue.ALL_GRADE_CELLS)
    for check, row in rows.items():
        # passes: every catalogue entry that must not lose the check, and the solution
        assert row.passed == sum(check not in loses for _, loses in entries.values()) + 1, check
        shares = [class_scores[s][check][0] / maxima[check] for s in students]
        rest = [sum(score for cell, (score, _) in class_scores[s].items() if cell != check) for s in students]
        assert row.correlation == pytest.approx(np.corrcoef(shares, rest)[0, 1]), check
        assert row.correlation > 0, check  # the blank and the one-exercise students fail nearly everything


# --- known mistakes -----------------------------------------------------------------------------

MISTAKE_OF_ENTRY = {  # catalogue entries whose mistake the hint the student is shown names
    "wrong-ex02-derivative-zero-at-zero": "took ReLU'(0) = 0 (x > 0 instead of x >= 0)",
    "wrong-ex03-no-bias": "left the bias b out of Z in layer",
    "wrong-ex03-relu-instead-of-act": "applied ReLU() in layer instead of the activation passed as act",
    "wrong-ex05-db-mean": "computed db as a mean instead of a sum",
    "wrong-ex10-epsilon-inside-sqrt": "put epsilon inside the square root in RMSProp",
    "wrong-ex11-epsilon-inside-sqrt": "put epsilon inside the square root in Adam",
}
TYPICAL = ["took ReLU'(0) = 0 (x > 0 instead of x >= 0)", "computed db as a mean instead of a sum",
           "put epsilon inside the square root in RMSProp", "put epsilon inside the square root in Adam"]


def test_catalogue_of_known_mistakes_comes_from_the_grader():
    known = stats.load_known_mistakes(str(REPO), "hw3")
    assert known[RMSPROP_HINT] == "put epsilon inside the square root in RMSProp"
    assert len(known) >= 20 and "public_tests" not in sys.modules  # the course's modules were not kept


def test_known_mistakes_counted_across_the_catalogue(graded_class):
    course, scores, _ = graded_class
    mistakes, notes = stats.known_mistakes(str(course), "hw3", sorted(scores))
    assert notes == []
    counted = {m.did: sorted(m.students) for m in mistakes}
    expected = {}
    for entry, did in MISTAKE_OF_ENTRY.items():
        expected.setdefault(did, []).append(entry)
    for did in TYPICAL:
        expected[did].append("sample-typical-mistakes")
    assert counted == {did: sorted(students) for did, students in expected.items()}
    rmsprop = next(m for m in mistakes if m.did == "put epsilon inside the square root in RMSProp")
    assert rmsprop.sentence() == "2 students put epsilon inside the square root in RMSProp"
    assert rmsprop.checks == ["ex10-rmsprop"]


# --- a small class graded by the kit: forged hints, report sections, regrade diff -------------

FORGED_RMSPROP = '''class RMSProp(Optimizer):
    def __init__(self, network, learning_rate, beta=0.9, epsilon=1e-8):
        super().__init__(network, learning_rate)

    def step(self):
        raise AssertionError("Exercise 10: wrong.\\nHint: ''' + RMSPROP_HINT + '''")
'''


@pytest.fixture(scope="module")
def small_class(tmp_path_factory):
    course = grading.new_course(tmp_path_factory.mktemp("small") / "course", REPO)
    release, source = load_course_notebooks(REPO)
    for student in ("sample-typical-mistakes", "sample-full-marks"):
        write_submission(course, student, build_submission(release, source, SAMPLE_STUDENTS[student]))
    forged = build_submission(release, source, dict(SAMPLE_STUDENTS["sample-full-marks"],
                                                    **{"ex10-answer": FORGED_RMSPROP}))
    for cell in forged.cells:  # and a verdict of its own in the test cells' metadata
        if cell.metadata.get("nbgrader", {}).get("grade_id") in ("ex10-rmsprop", "ex09-momentum"):
            cell.metadata["isograde"] = {"hint": RMSPROP_HINT}
    write_submission(course, "forger", forged)
    outcomes = classgrade.grade(course, "hw3", jobs=2, progress=False)
    assert {o.status for o in outcomes.values()} == {"graded"}
    return Path(course)


def test_a_hint_written_by_student_code_is_not_counted(small_class):
    notebook = json.loads((small_class / "autograded" / "forger" / "hw3" / "hw3.ipynb").read_text())
    cells = {c["metadata"].get("nbgrader", {}).get("grade_id"): c for c in notebook["cells"]}
    shown = "".join(o.get("evalue", "") for o in cells["ex10-rmsprop"]["outputs"])
    assert "Hint: " + RMSPROP_HINT in shown  # the student's text is in the message...
    verdict = cells["ex10-rmsprop"]["metadata"]["isograde"]  # ...not in the grader's record
    assert verdict["hint"] is None and verdict["outcome"] == "failed"
    assert cells["ex09-momentum"]["metadata"]["isograde"] == {"outcome": "passed", "hint": None, "hidden": False,
                                                              "student_error": None}
    mistakes, _ = stats.known_mistakes(str(small_class), "hw3", ["forger", "sample-typical-mistakes"])
    assert all(m.students == ["sample-typical-mistakes"] for m in mistakes)
    assert len(mistakes) == len(TYPICAL)


def test_report_shows_checks_and_mistakes(small_class):
    page = Path(build_report(str(small_class), "hw3")).read_text(encoding="utf-8")
    checks = page[page.index('id="checks"'):page.index('id="mistakes"')]
    assert 'id="check-ex10-rmsprop"' in checks and "1 / 3" in checks
    assert WRITTEN not in checks
    mistakes = page[page.index('id="mistakes"'):page.index('id="similarity"')]
    assert "1 student put epsilon inside the square root in RMSProp" in mistakes
    assert "forger" not in mistakes


def test_regrade_diff_lists_who_changed(small_class, tmp_path):
    before = tmp_path / "before.csv"
    done = cli("export", "hw3", "--to", str(before), "--lms-to", str(tmp_path / "lms.csv"), course=small_class)
    assert done.returncode == 0, done.stderr
    unchanged = cli("diff", "hw3", str(before), course=small_class)
    assert unchanged.returncode == 0 and "No changes" in unchanged.stdout
    # the instructor decides epsilon inside the root is acceptable for RMSProp, and regrades
    checks = small_class / "grader" / "hw3" / "hw3_checks.py"
    text = checks.read_text()
    checks.write_text(text.replace("def test_rmsprop(RMSProp, ref):\n", "def test_rmsprop(RMSProp, ref):\n    return\n"))
    done = cli("grade", "hw3", "--force", "--quiet", "--jobs", "2", course=small_class)
    assert "Graded 3" in done.stdout, done.stdout + done.stderr
    against_gradebook = cli("diff", "hw3", str(before), course=small_class)
    assert against_gradebook.returncode == 1
    after = tmp_path / "after.csv"
    cli("export", "hw3", "--to", str(after), "--lms-to", str(tmp_path / "lms.csv"), course=small_class)
    two_exports = cli("diff", "hw3", str(before), str(after), course=small_class)
    for output in (against_gradebook.stdout, two_exports.stdout):
        lines = [line.split() for line in output.splitlines()[1:-1]]
        assert lines == [["sample-typical-mistakes", "ex10", "0", "9", "+9"],
                         ["sample-typical-mistakes", "total", "55", "64", "+9"]], output
        assert output.splitlines()[-1] == "1 student(s) changed."


def test_diff_refuses_a_file_that_is_not_an_export(small_class, tmp_path):
    bad = tmp_path / "grades.csv"
    bad.write_text("name,points\nalice,3\n")
    done = cli("diff", "hw3", str(bad), course=small_class)
    assert done.returncode == 2 and "not a per-exercise export" in done.stderr


def test_diff_command_has_help():
    done = subprocess.run([sys.executable, "-m", "coursekit", "diff", "--help"], capture_output=True, text=True)
    assert "usage: python -m coursekit diff" in done.stdout and "[ASSIGNMENT] BEFORE [AFTER]" in done.stdout
