"""The cheat corpus (tests/cheats.py) graded through the kit's real grade command, sandboxed.

Every cheat sits on a blank notebook, so it must score 0; its feedback page must hold no line of the
grader's files (the master's hidden tests, grader/hw3/, the engine) and no variable of the grader's
environment; and grading it must leave the other students alone.
"""
import os
import re
from pathlib import Path

import nbformat
import pytest

import cheats
from coursekit.workflow import grade as classgrade
from coursekit import gradebook as grading
from coursekit import records as status
from coursekit.workflow.feedback import generate_feedback
from coursekit.submissions import build_submission, load_course_notebooks, write_submission

REPO = Path(__file__).resolve().parents[1]
CASES = cheats.cases(REPO)
HONEST = {"honest-full": "sample-full-marks"}


def grader_lines(course):
    """Distinctive lines of what the grader holds and the student must never see: its checks, the
    master's hidden tests and solutions, the engine; less what the release shows anyway."""
    texts = [(course / "grader" / "hw3" / "hw3_checks.py").read_text()]
    master = nbformat.read(course / "source" / "hw3" / "hw3.ipynb", as_version=4)
    for cell in master.cells:
        texts += re.findall(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", cell.source, re.S)
        texts += re.findall(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", cell.source, re.S)
    for module in ("assignment.py", "grading.py", "remote.py", "preprocessor.py"):
        texts.append((REPO / "isograde" / module).read_text())
    released = (nbformat.writes(nbformat.read(course / "release" / "hw3" / "hw3.ipynb", as_version=4))
                + (course / "release" / "hw3" / "public_tests.py").read_text())
    lines = {line.strip() for text in texts for line in text.splitlines()}
    lines = {line for line in lines if line not in released and line.replace("'", "\\'") not in released}
    return {line for line in lines if len(line) >= 30 and not line.startswith(("#", '"""'))}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    from homework3.samples import SAMPLE_STUDENTS

    course = grading.new_course(tmp_path_factory.mktemp("cheats") / "course", REPO)
    release, source = load_course_notebooks(course)
    for name, (build, _) in CASES.items():
        write_submission(course, name, build(release, source))
    write_submission(course, "honest-full", build_submission(release, source, SAMPLE_STUDENTS["sample-full-marks"]))
    os.environ[cheats.SECRET_NAME] = cheats.SECRET
    try:
        outcomes = classgrade.grade(course, "hw3", jobs=2, timeout=30, progress=False)  # a walk of / takes a while on a loaded machine
    finally:
        del os.environ[cheats.SECRET_NAME]
    generate_feedback(course, "hw3")
    return {"course": course, "outcomes": outcomes, "scores": grading.cell_scores(course)}


@pytest.mark.parametrize("name", sorted(CASES))
def test_every_cheat_on_a_blank_notebook_scores_zero(graded, name):
    recorded = status.load(graded["course"], "hw3")[name]
    if recorded["status"] == status.FAILED:
        assert recorded["reason"], name
    else:
        cells = graded["scores"][name]
        assert sum(score for score, _ in cells.values()) == 0.0, (name, cells)


def test_an_honest_student_graded_beside_the_cheats_keeps_full_marks(graded):
    assert sum(score for score, _ in graded["scores"]["honest-full"].values()) == 95.0


def outputs_text(course, name):
    """Everything the autograded notebook shows beside the sources: printed text, errors, data."""
    path = course / "autograded" / name / "hw3" / "hw3.ipynb"
    if not path.exists():
        return ""
    notebook = nbformat.read(path, as_version=4)
    return "\n".join(nbformat.writes(nbformat.from_dict({"o": c.get("outputs", [])})) for c in notebook.cells)


@pytest.mark.parametrize("name", sorted(CASES))
def test_no_page_of_a_cheat_holds_a_grader_line_or_the_grader_environment(graded, name):
    course = graded["course"]
    feedback = course / "feedback" / name / "hw3" / "hw3.html"
    if status.load(course, "hw3")[name]["status"] == status.GRADED:
        assert feedback.exists(), name
    feedback_text = feedback.read_text(errors="replace") if feedback.exists() else ""
    submitted = (course / "submitted" / name / "hw3" / "hw3.ipynb").read_text()
    outputs = outputs_text(course, name)
    for text in (outputs, feedback_text):
        assert cheats.SECRET not in text
        leaked = [line for line in grader_lines(course) if line in text and line not in submitted]
        assert leaked == [], (name, leaked[:5])
    # the paths a cheat tried and failed to open: "BLOCKED <path> <XxxError>", the path possibly with spaces
    # (a checkout in a folder named so), never past the end of its line (\n, JSON-escaped in these outputs)
    attempts = re.sub(r"BLOCKED [^\\\n]+? \w+Error\b", "", outputs)
    assert str(course) not in attempts and "/grader/" not in attempts, name


def test_the_cheats_that_look_around_found_nothing_of_the_grader(graded):
    course = graded["course"]
    walked = outputs_text(course, "read-walk-filesystem")
    assert "FOUND FILES: []" in walked
    known = outputs_text(course, "read-known-paths")
    assert known.count("BLOCKED") == 9
    imports = outputs_text(course, "read-import-reference")
    assert "IMPORTED" not in imports
    environment = outputs_text(course, "print-environment")
    assert "ISOGRADE_SANDBOXED" in environment and cheats.SECRET_NAME not in environment
