"""Autograding through real nbgrader: the solution, the blank release, the sample students, the
mutation catalogue (kill matrix), feedback and the demo command."""
import re
import shutil

import nbformat
import pytest

from homework3 import catalogue
from coursekit import gradebook as grading
from homework3 import killmatrix
from homework3.samples import EXPECTED_TOTALS, SAMPLE_STUDENTS, write_samples


def total(cells):
    return sum(score for score, _ in cells.values())


def test_instructor_solution_scores_all_automatic_points_and_blank_release_0(graded_class):
    _, scores, _ = graded_class
    solution = scores["instructor-solution"]
    assert total(solution) == 95 and sum(m for _, m in solution.values()) == 100
    assert solution["written-optimizer-comparison"] == (0.0, 5.0)  # waits for the instructor's grade
    assert all(score == out_of for name, (score, out_of) in solution.items() if name.startswith("ex"))
    assert total(scores["blank-release"]) == 0


@pytest.mark.parametrize("student", sorted(SAMPLE_STUDENTS))
def test_sample_students_score_what_the_readme_says(graded_class, repo, student):
    _, scores, _ = graded_class
    assert total(scores[student]) == EXPECTED_TOTALS[student]
    readme = (repo / "README.md").read_text()
    assert re.search(rf"`{student}`[^\n]*\b{EXPECTED_TOTALS[student]:g}\b", readme), \
        f"README does not state {student}'s score {EXPECTED_TOTALS[student]:g}"


def test_committed_samples_match_the_release(repo, tmp_path):
    shutil.copytree(repo / "release", tmp_path / "release")
    shutil.copytree(repo / "source", tmp_path / "source")
    write_samples(tmp_path)
    for student in SAMPLE_STUDENTS:
        path = f"samples/submitted/{student}/hw3/hw3.ipynb"
        assert (tmp_path / path).read_text() == (repo / path).read_text(), f"{path}: run `python -m homework3 samples`"


@pytest.mark.parametrize("name", sorted(catalogue.entries()))
def test_catalogue_entry_loses_exactly_its_own_points(graded_class, name):
    _, scores, _ = graded_class
    entry = {name: catalogue.entries()[name]}
    table, missed, false_fails = killmatrix.verdicts(entry, scores, catalogue.ALL_GRADE_CELLS)
    assert (missed, false_fails) == (0, 0), killmatrix.format_matrix(table, catalogue.ALL_GRADE_CELLS)


def test_catalogue_size():
    names = list(catalogue.entries())
    assert sum(n.startswith("wrong-") for n in names) >= 30
    assert sum(n.startswith("right-") for n in names) >= 6
    assert sum(n.startswith("only-") for n in names) == 11
    per_exercise = {}
    for name in names:
        if name.startswith("wrong-"):
            per_exercise[name[6:10]] = per_exercise.get(name[6:10], 0) + 1
    assert len(per_exercise) == 11 and min(per_exercise.values()) >= 2


def test_a_correct_sigmoid_warning_costs_nothing_and_names_no_grader_file(graded_class):
    """exp overflows in a correct Sigmoid on the hidden test's large biases: in the student's worker
    (whose output during checks is not kept) and in the grader's reference (whose warnings are not
    written); the cell passes and its outputs name no file."""
    course, scores, _ = graded_class
    notebook = nbformat.read(course / "autograded" / "sample-full-marks" / "hw3" / "hw3.ipynb", as_version=4)
    cell = next(c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "ex03-layer")
    printed = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
    assert printed.startswith("Exercise 3: all public tests passed.")
    assert "Warning" not in printed and ".py" not in printed and str(course) not in printed
    assert [o.output_type for o in cell.outputs] == ["stream"] and cell.outputs[0].name == "stdout"
    assert scores["sample-full-marks"]["ex03-layer"] == (6.0, 6.0)


def test_feedback_shows_messages_but_not_hidden_tests(graded_class):
    course, _, _ = graded_class
    grading.nbgrader(course, "generate_feedback", "hw3", "--force",
                     "--CourseDirectory.student_id=sample-typical-mistakes")
    html = (course / "feedback" / "sample-typical-mistakes" / "hw3" / "hw3.html").read_text()
    assert "Exercise 5: grads[&#39;db2&#39;] has the right shape" in html or "Exercise 5: grads['db2']" in html
    assert "db is a sum over the samples, not a mean" in html  # the public test names the mistake
    for secret in ("BEGIN HIDDEN TESTS", "hw3_checks", "isograde", "adam_mistakes", "finite_difference_gradients"):
        assert secret not in html


def test_demo_command_grades_the_samples_end_to_end(repo, tmp_path):
    for item in ("source", "grader", "release", "samples"):
        shutil.copytree(repo / item, tmp_path / item)
    shutil.copy(repo / "nbgrader_config.py", tmp_path)
    from homework3.demo import run_demo
    lines = []
    scores = run_demo(tmp_path, log=lines.append)
    assert {s: total(c) for s, c in scores.items()} == EXPECTED_TOTALS
    assert (tmp_path / "grades.csv").read_text().count("\n") == 1 + len(SAMPLE_STUDENTS)
    assert all((tmp_path / "feedback" / s / "hw3" / "hw3.html").is_file() for s in SAMPLE_STUDENTS)
    table = "\n".join(lines)
    assert re.search(r"sample-typical-mistakes\s+8\s+4\s+6\s+9\s+0\s+10\s+6\s+4\s+8\s+0\s+0\s+-\s+55", table)  # written: not graded yet, not 0
