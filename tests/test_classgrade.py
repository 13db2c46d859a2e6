"""The class grading tool: release, grade (statuses, broken submissions, resume), CLI help,
and the same on a course made by `nbgrader quickstart`."""
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import nbformat
import pytest

from coursekit.workflow import grade as classgrade
from coursekit import gradebook as grading
from coursekit.workflow import release
from coursekit import records as status
from coursekit.exercises import layout
from homework3.samples import EXPECTED_TOTALS, SAMPLE_STUDENTS
from coursekit.submissions import build_submission, load_course_notebooks, write_submission

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLI = [sys.executable, "-m", "coursekit"]


def cli(*args, check=True, **kwargs):
    done = subprocess.run([*CLI, *args], capture_output=True, text=True, **kwargs)
    if check:
        assert done.returncode == 0, done.stdout + done.stderr
    return done


def write_raw(course, student, name, content):
    folder = course / "submitted" / student / "hw3"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(content)


@pytest.fixture(scope="module")
def broken_class(tmp_path_factory):
    """One honest student and one submission of each broken kind, graded once with a 20 s cell limit
    (long enough for the honest notebook's slowest cell on a busy 2-core machine)."""
    course = grading.new_course(tmp_path_factory.mktemp("broken") / "course", REPO)
    release_nb, source_nb = load_course_notebooks(REPO)
    write_submission(course, "honest", build_submission(release_nb, source_nb, SAMPLE_STUDENTS["sample-full-marks"]))
    write_raw(course, "invalid-json", "hw3.ipynb", b'{"cells": [ oops')
    write_raw(course, "empty-file", "hw3.ipynb", b"")
    write_raw(course, "missing-notebook", "notes.txt", b"I forgot to upload it")
    write_raw(course, "wrong-name", "homework3.ipynb", nbformat.writes(release_nb).encode())
    write_raw(course, "binary", "hw3.ipynb", bytes(range(256)))
    loops = {
        "ignores-interrupt": "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass\n",
        "plain-loop": "while True:\n    pass\n",
        "kernel-exit": "import os\nos._exit(1)\n",
    }
    for student, code in loops.items():
        answers = dict(SAMPLE_STUDENTS["sample-full-marks"], **{"ex01-answer": code})
        write_submission(course, student, build_submission(release_nb, source_nb, answers))
    outcomes = classgrade.grade(course, "hw3", jobs=2, timeout=20, progress=False)
    return course, outcomes


EXPECTED_FAILURES = {
    "invalid-json": "not a notebook (invalid JSON)",
    "empty-file": "not a notebook: hw3.ipynb is an empty file",
    "missing-notebook": "missing notebook: hw3.ipynb is not in the submission",
    "wrong-name": "wrong file name: found homework3.ipynb, expected hw3.ipynb",
    "binary": "not a notebook",
}
# Runaway code costs its own cell only: the grader kills the worker, a fresh one runs the rest
STOPPED_CELLS = ("plain-loop", "ignores-interrupt", "kernel-exit")


def test_every_submission_ends_with_a_status(broken_class):
    course, outcomes = broken_class
    recorded = status.load(course, "hw3")
    assert set(outcomes) == set(recorded) == set(EXPECTED_FAILURES) | {"honest", *STOPPED_CELLS}
    for student, prefix in EXPECTED_FAILURES.items():
        assert recorded[student]["status"] == "failed", student
        assert recorded[student]["reason"].startswith(prefix), (student, recorded[student]["reason"])


def test_a_broken_submission_does_not_stop_or_change_the_others(broken_class):
    course, outcomes = broken_class
    scores = grading.cell_scores(course)
    assert outcomes["honest"].status == "graded" and outcomes["honest"].reason == ""
    assert sum(s for s, _ in scores["honest"].values()) == EXPECTED_TOTALS["sample-full-marks"]


@pytest.mark.parametrize("student", STOPPED_CELLS)
def test_a_runaway_cell_is_stopped_and_the_rest_is_graded(broken_class, student):
    course, outcomes = broken_class
    assert outcomes[student].status == "graded"
    assert "stopped at the time limit or ended the worker: hw3.ipynb cell" in outcomes[student].reason
    assert "(ex01-answer)" in outcomes[student].reason
    exercises = grading.exercise_scores(grading.cell_scores(course)[student], layout(course, "hw3"))
    assert exercises["ex01"] == (0.0, 8.0) and exercises["ex11"] == (11.0, 11.0)
    assert sum(score for score, _ in exercises.values()) == EXPECTED_TOTALS["sample-full-marks"] - 8


def test_a_new_run_skips_graded_submissions_and_retries_failed_ones(broken_class):
    course, _ = broken_class
    todo, done = classgrade.plan(course, "hw3")
    assert set(done) == {"honest", *STOPPED_CELLS}
    assert set(todo) == set(EXPECTED_FAILURES)
    assert classgrade.plan(course, "hw3", force=True)[1] == []
    again = classgrade.grade(course, "hw3", students=["invalid-json", "honest"], jobs=1, progress=False)
    assert set(again) == {"invalid-json"} and again["invalid-json"].status == "failed"


def test_an_interrupted_run_resumes_where_it_stopped(tmp_path):
    course = grading.new_course(tmp_path / "course", REPO)
    release_nb, source_nb = load_course_notebooks(REPO)
    students = [f"student-{n}" for n in range(4)]
    for n, student in enumerate(students):
        notebook = build_submission(release_nb, source_nb, SAMPLE_STUDENTS["sample-partial"])
        if n:  # every submission after the first takes 4 s more: the interrupt lands while one is graded
            answer = next(c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("solution")
                          and c.cell_type == "code")
            answer.source += "\nimport time as _pause\n_pause.sleep(4)\n"
        write_submission(course, student, notebook)
    # Ctrl-C as a terminal delivers it, also when this suite runs in the background (a shell starts a
    # background job with SIGINT ignored, and Python then leaves it ignored)
    run = subprocess.Popen([*CLI, "grade", "hw3", "--course", str(course), "--jobs", "1", "--quiet"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.time() + 120
    while time.time() < deadline and not status.load(course, "hw3"):
        time.sleep(0.2)
    run.send_signal(signal.SIGINT)
    out, err = run.communicate(timeout=60)
    first = status.load(course, "hw3")
    assert 1 <= len(first) < len(students), (out, err)
    assert "run the same command again to resume" in err
    second = cli("grade", "hw3", "--course", str(course), "--jobs", "2", "--quiet")
    assert f"Graded {len(students) - len(first)}, failed 0, skipped {len(first)} already graded" in second.stdout
    totals = {s: sum(v for v, _ in cells.values()) for s, cells in grading.cell_scores(course).items()}
    assert totals == {s: EXPECTED_TOTALS["sample-partial"] for s in students}


def test_release_check_accepts_the_repository_and_refuses_leaks(tmp_path):
    release.release(REPO, "hw3", check_only=True, log=lambda message: None)
    for item in ("source", "release"):
        shutil.copytree(os.path.join(REPO, item), tmp_path / item)
    shutil.copy(os.path.join(REPO, "nbgrader_config.py"), tmp_path)
    notebook = nbformat.read(tmp_path / "release" / "hw3" / "hw3.ipynb", as_version=4)
    notebook.cells[3].source += "\n### BEGIN SOLUTION\nx = 1\n### END SOLUTION"
    nbformat.write(notebook, tmp_path / "release" / "hw3" / "hw3.ipynb")
    with pytest.raises(release.ReleaseError) as error:
        release.release(tmp_path, "hw3", check_only=True, log=lambda message: None)
    assert "leak: hw3.ipynb, cell 3: BEGIN SOLUTION" in str(error.value)
    assert "out of sync with source/: hw3.ipynb" in str(error.value)
    done = cli("release", "hw3", "--course", str(tmp_path), "--check", check=False)
    assert done.returncode == 2 and "not fit to hand out" in done.stderr


@pytest.mark.parametrize("command", ["release", "import", "grade", "feedback", "export", "report", "status", "remove",
                                     "new-term", "gradescope", "diff", "lab"])
def test_every_subcommand_has_help(command):
    done = cli(command, "--help")
    assert "usage: python -m coursekit " + command in done.stdout and "--course" in done.stdout


@pytest.mark.parametrize("command", ["demo", "samples", "kill-matrix"])
def test_homework_3s_own_commands_have_help(command):
    done = subprocess.run([sys.executable, "-m", "homework3", command, "--help"], capture_output=True, text=True)
    assert done.returncode == 0 and "usage: python -m homework3 " + command in done.stdout


def test_works_on_a_course_made_by_nbgrader_quickstart(tmp_path):
    grading.nbgrader(tmp_path, "quickstart", "course101")
    course = tmp_path / "course101"
    cli("release", "ps1", "--course", str(course))
    shutil.copytree(course / "release" / "ps1", course / "submitted" / "bitdiddle" / "ps1")
    broken = course / "submitted" / "hacker" / "ps1"
    shutil.copytree(course / "release" / "ps1", broken)
    (broken / "problem1.ipynb").write_text("{ not json")
    done = cli("grade", "ps1", "--course", str(course), "--jobs", "2", "--quiet", check=False)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Graded 1, failed 1" in done.stdout
    assert "FAILED hacker: not a notebook (invalid JSON): problem1.ipynb" in done.stdout
    recorded = status.load(course, "ps1")  # in the course's gradebook
    assert (recorded["bitdiddle"]["status"], recorded["hacker"]["status"]) == ("graded", "failed")
    assert not (course / "grading_status.json").exists()


def test_an_assignment_the_engine_cannot_set_up_stops_the_class_with_one_line(tmp_path):
    """A test cell importing a module that is nowhere (the grader folder missing, say): one line, exit 2,
    nothing graded, rather than every submission failing alike."""
    course = grading.new_course(tmp_path / "course", REPO)
    shutil.rmtree(course / "grader")
    done = cli("grade", "hw3", "--course", str(course), check=False)
    assert done.returncode == 2, done.stdout + done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "imports hw3_checks" in lines[0] and "Nothing was graded" in lines[0]
    assert not (course / "autograded").exists()
