"""The Gradescope autograder, for real: `python -m coursekit gradescope hw3` builds autograder.zip; its
run_autograder runs inside bubblewrap with a temporary folder mounted at /autograder (as on
Gradescope: source/, submission/, results/) and an empty /tmp, and its results.json must give each
sample student the scores of the kit's own `grade`. The zip's setup.sh is not run: this test's virtual
environment is mounted (read-only) at /autograder/venv, where setup.sh builds it, and at its own path
(its scripts name it), wherever the checkout lives, /tmp included; run_autograder gets the system's
PATH only. The engine's own sandbox (bubblewrap too) runs nested inside the outer one."""
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest

from coursekit.workflow import grade as classgrade
from coursekit import gradebook as grading
from homework3.samples import EXPECTED_TOTALS, SAMPLE_STUDENTS
from coursekit.submissions import build_submission, load_course_notebooks
from gradescope_image import autograder_zip, run_autograder  # noqa: F401  (autograder_zip: a fixture)

REPO = Path(__file__).resolve().parents[1]
TEST_FIELDS = ("name", "score", "max_score", "status", "output", "visibility")
WRITTEN = "written-optimizer-comparison"


@pytest.fixture(scope="module")
def kit_scores(tmp_path_factory):
    """The kit's own `grade` of the sample students: {student: {grade cell: score}}."""
    course = grading.new_course(tmp_path_factory.mktemp("kit") / "course", REPO)
    for student in SAMPLE_STUDENTS:
        shutil.copytree(REPO / "samples" / "submitted" / student, course / "submitted" / student)
    outcomes = classgrade.grade(course, "hw3", jobs=2, progress=False)
    assert {o.status for o in outcomes.values()} == {"graded"}, outcomes
    return {student: {cell: score for cell, (score, _) in cells.items()}
            for student, cells in grading.cell_scores(course).items()}


def test_zip_follows_gradescope_layout(autograder_zip):
    with zipfile.ZipFile(autograder_zip) as archive:
        names = set(archive.namelist())
        modes = {info.filename: info.external_attr >> 16 for info in archive.infolist()}
        requirements = archive.read("requirements.txt").decode()
    assert {"setup.sh", "run_autograder", "requirements.txt", "course/nbgrader_config.py",
            "course/source/hw3/hw3.ipynb", "course/grader/hw3/hw3_checks.py", "course/gradebook.db",
            "coursekit/platforms/gradescope.py", "isograde/preprocessor.py", "isograde/worker/runtime.py"} <= names
    assert modes["run_autograder"] & 0o111 and modes["setup.sh"] & 0o111
    assert "nbgrader==0.9.6" in requirements.splitlines() and "tensorflow" not in requirements
    assert not any(name.startswith(("submitted/", "autograded/")) for name in names)


@pytest.mark.parametrize("student", sorted(SAMPLE_STUDENTS))
def test_sample_student_scores_match_the_kits_grade(autograder_zip, kit_scores, tmp_path, student):
    notebook = (REPO / "samples" / "submitted" / student / "hw3" / "hw3.ipynb").read_bytes()
    result, done = run_autograder(autograder_zip, tmp_path, {"hw3.ipynb": notebook})
    assert isinstance(result["execution_time"], (int, float)) and result["execution_time"] > 0
    tests = result["tests"]
    for test in tests:
        manual = test["extra_data"].get("manual")
        assert set(TEST_FIELDS) - ({"status"} if manual else set()) <= set(test), test
        assert test["visibility"] == "visible"
    by_cell = {test["extra_data"]["grade_id"]: test for test in tests}
    expected = kit_scores[student]
    assert set(by_cell) == set(expected)
    for cell, score in expected.items():
        if cell == WRITTEN:
            continue
        assert by_cell[cell]["score"] == pytest.approx(score), (cell, by_cell[cell])
        assert by_cell[cell]["status"] == ("passed" if score == by_cell[cell]["max_score"] else "failed")
        assert by_cell[cell]["name"].startswith("Exercise ") and cell in by_cell[cell]["name"]
    assert result["score"] == pytest.approx(EXPECTED_TOTALS[student])
    assert sum(t["max_score"] for t in tests) == 95
    written = by_cell[WRITTEN]
    assert "status" not in written and written["max_score"] == 0 and "by hand" in written["output"]
    assert written["extra_data"] == {"grade_id": WRITTEN, "manual": True, "points": 5.0}


def test_failing_check_shows_the_graders_message_and_hint(autograder_zip, tmp_path):
    notebook = (REPO / "samples" / "submitted" / "sample-typical-mistakes" / "hw3" / "hw3.ipynb").read_bytes()
    result, _ = run_autograder(autograder_zip, tmp_path, {"hw3.ipynb": notebook})
    rmsprop = next(t for t in result["tests"] if t["extra_data"]["grade_id"] == "ex10-rmsprop")
    assert rmsprop["status"] == "failed"
    assert "Hint: epsilon goes outside the square root" in rmsprop["output"]


def not_gradable(result, words):
    assert isinstance(result["execution_time"], (int, float))
    assert result["score"] == 0
    (test,) = result["tests"]
    assert set(TEST_FIELDS) <= set(test)
    assert test["visibility"] == "visible" and test["status"] == "failed" and test["max_score"] == 95
    assert words in test["output"], test["output"]


def test_invalid_json_is_reported_not_crashed(autograder_zip, tmp_path):
    result, done = run_autograder(autograder_zip, tmp_path, {"hw3.ipynb": b'{"cells": [ oops'})
    assert done.returncode == 0, done.stderr
    not_gradable(result, "not a notebook (invalid JSON)")


def test_wrong_name_is_reported(autograder_zip, tmp_path):
    release, _ = load_course_notebooks(REPO)
    result, _ = run_autograder(autograder_zip, tmp_path, {"homework3.ipynb": nbformat.writes(release).encode()})
    not_gradable(result, "wrong file name: found homework3.ipynb, expected hw3.ipynb")


def test_notebook_in_a_folder_of_the_upload_is_graded(autograder_zip, tmp_path):
    notebook = (REPO / "samples" / "submitted" / "sample-partial" / "hw3" / "hw3.ipynb").read_bytes()
    result, _ = run_autograder(autograder_zip, tmp_path, {"my-work/hw3.ipynb": notebook})
    assert result["score"] == pytest.approx(EXPECTED_TOTALS["sample-partial"])


def test_run_past_the_time_limit_is_a_visible_timeout(autograder_zip, tmp_path):
    release, source = load_course_notebooks(REPO)
    answers = dict(SAMPLE_STUDENTS["sample-full-marks"], **{"ex01-answer": "while True:\n    pass\n"})
    notebook = nbformat.writes(build_submission(release, source, answers)).encode()
    result, done = run_autograder(autograder_zip, tmp_path, {"hw3.ipynb": notebook}, settings={"time_limit": 8})
    assert done.returncode == 0
    not_gradable(result, "timeout: grading took longer than the autograder's limit of 8 s")


def test_a_container_where_the_sandbox_cannot_start_is_reported(autograder_zip, tmp_path):
    """Without CAP_SYS_ADMIN (Docker's default set) bubblewrap cannot make its namespaces as root: the
    upload is reported as not graded, never graded unsandboxed."""
    notebook = (REPO / "samples" / "submitted" / "sample-full-marks" / "hw3" / "hw3.ipynb").read_bytes()
    result, done = run_autograder(autograder_zip, tmp_path, {"hw3.ipynb": notebook}, outer=["--cap-drop", "ALL"])
    assert done.returncode == 0
    not_gradable(result, "the autograder cannot sandbox student code in this image")


def test_an_image_where_setup_did_not_build_the_venv_is_reported(autograder_zip, tmp_path):
    """No /autograder/venv (setup.sh did not run, or failed and removed it): run_autograder runs no other
    Python (whose packages would not be the pinned ones) and says so in results.json, and fails."""
    notebook = (REPO / "samples" / "submitted" / "sample-full-marks" / "hw3" / "hw3.ipynb").read_bytes()
    result, done = run_autograder(autograder_zip, tmp_path, {"hw3.ipynb": notebook}, venv=None)
    assert done.returncode != 0
    assert "/autograder/venv/bin/python is missing" in done.stderr
    not_gradable(result, "The autograder's environment was not built")
    assert result["tests"][0]["output"] == result["output"] == (
        "The autograder's environment was not built: /autograder/venv/bin/python is missing (setup.sh did not "
        "run, or failed: see the autograder's build output). Your submission was not graded; tell your instructor.")


def test_a_python_that_ends_without_a_result_is_reported(autograder_zip, tmp_path):
    broken = tmp_path / "broken-venv"
    (broken / "bin").mkdir(parents=True)
    (broken / "bin" / "python").write_text("#!/bin/sh\nexit 3\n")
    os.chmod(broken / "bin" / "python", 0o755)
    result, done = run_autograder(autograder_zip, tmp_path, {"hw3.ipynb": b"{}"}, venv=broken)
    assert done.returncode != 0
    not_gradable(result, "The autograder itself failed: its Python ended (exit 3) without writing a result.")


def test_gradescope_command_has_help():
    done = subprocess.run([sys.executable, "-m", "coursekit", "gradescope", "--help"], capture_output=True, text=True)
    assert "usage: python -m coursekit gradescope" in done.stdout and "--time-limit" in done.stdout
