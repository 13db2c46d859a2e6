"""Class grading at scale, against real services: parallel workers writing to a real PostgreSQL
gradebook (a throw-away server, see postgres_server.py), and grading on a real local Dask cluster."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from coursekit.workflow import grade as classgrade
from coursekit import gradebook as grading
from coursekit import records as status
from homework3.samples import EXPECTED_TOTALS, SAMPLE_STUDENTS
from coursekit.submissions import build_submission, load_course_notebooks, write_submission

from postgres_server import PostgresServer, PostgresUnavailable

REPO = Path(__file__).resolve().parents[1]
# The installed SQLAlchemy (2.1) maps a bare ``postgresql://`` URL to psycopg 3; the kit pins psycopg2.
DRIVER = "postgresql+psycopg2"


def total(cells):
    return sum(score for score, _ in cells.values())


@pytest.fixture(scope="session")
def template_course(tmp_path_factory):
    """A fresh course made once (nbgrader's start-up is slow): assignment generated, SQLite gradebook."""
    return grading.new_course(tmp_path_factory.mktemp("template") / "course", REPO)


def make_class(template, folder, students):
    """A copy of the template course with one submission per student: ``students`` maps a name to the
    sample student whose answers it hands in."""
    course = folder / "course"
    shutil.copytree(template, course)
    release, source = load_course_notebooks(course)
    for name, sample in students.items():
        write_submission(course, name, build_submission(release, source, SAMPLE_STUDENTS[sample]))
    return course


# -- PostgreSQL -------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def postgres_server():
    """A real PostgreSQL server for this test session (see postgres_server.py). It is stopped
    (pg_ctl stop -m fast) and its folder deleted afterwards, whatever happened in the tests."""
    try:
        server, problem = PostgresServer(), None
    except PostgresUnavailable as error:
        server, problem = None, str(error)
    if problem:  # CI installs the Debian package (.ci/run): a missing server is an error, not a skip
        pytest.fail(problem, pytrace=False)
    with server:
        yield server


@pytest.fixture(scope="session")
def postgres_url(postgres_server):
    """The SQLAlchemy URL of an empty database ``gradebook`` made for this session."""
    return postgres_server.create_database("gradebook").replace("postgresql://", f"{DRIVER}://", 1)


PG_CLASS = {**{name: name for name in SAMPLE_STUDENTS},
            "copy-full-marks-1": "sample-full-marks", "copy-full-marks-2": "sample-full-marks"}
PG_EXPECTED = {name: EXPECTED_TOTALS[sample] for name, sample in PG_CLASS.items()}


@pytest.fixture(scope="module")
def postgres_class(tmp_path_factory, postgres_url, template_course):
    """Six submissions graded by two worker processes into the PostgreSQL gradebook.
    Returns (course, outcomes, the SQLite gradebook's (mtime, size) before grading)."""
    course = make_class(template_course, tmp_path_factory.mktemp("pg"), PG_CLASS)
    grading.nbgrader(course, "generate_assignment", "hw3", "--force", f"--CourseDirectory.db_url={postgres_url}")
    sqlite = os.stat(course / "gradebook.db")
    outcomes = classgrade.grade(course, "hw3", jobs=2, db_url=postgres_url, progress=False)
    return course, outcomes, (sqlite.st_mtime_ns, sqlite.st_size)


def test_parallel_grading_into_postgres_loses_nothing(postgres_class, postgres_url):
    course, outcomes, _ = postgres_class
    assert {s: (o.status, o.reason) for s, o in outcomes.items()} == {s: ("graded", "") for s in PG_CLASS}
    scores = grading.cell_scores(course, db_url=postgres_url)
    assert {s: total(cells) for s, cells in scores.items()} == PG_EXPECTED
    assert all(sum(m for _, m in cells.values()) == 100 for cells in scores.values())


def test_postgres_grades_do_not_touch_the_sqlite_gradebook(postgres_class):
    course, _, before = postgres_class
    after = os.stat(course / "gradebook.db")
    assert (after.st_mtime_ns, after.st_size) == before
    assert grading.cell_scores(course) == {}  # no student, no submission in the course's SQLite gradebook


def test_cli_regrades_the_class_into_postgres(postgres_class, postgres_url):
    course, _, _ = postgres_class
    env = dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"])
    done = subprocess.run([sys.executable, "-m", "coursekit", "grade", "hw3", "--course", str(course),
                           "--db", postgres_url, "--jobs", "2", "--quiet", "--force"],
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"Graded {len(PG_CLASS)}, failed 0" in done.stdout, done.stdout
    scores = grading.cell_scores(course, db_url=postgres_url)
    assert {s: total(cells) for s, cells in scores.items()} == PG_EXPECTED  # regraded, not duplicated


def test_postgres_logged_no_error_while_workers_graded(postgres_class, postgres_server):
    """Two workers creating students and submissions at once: no deadlock, no duplicate key, no
    serialization failure anywhere in the server's log (nbgrader would not always say)."""
    assert postgres_server.log_problems() == []


# -- Dask -------------------------------------------------------------------------------------------

DASK_CLASS = {name: name for name in SAMPLE_STUDENTS}
BROKEN = "broken-json"


@pytest.fixture(scope="module")
def dask_class(tmp_path_factory, template_course):
    """The four sample students and one notebook that is not JSON, graded on a local Dask cluster of
    two worker processes (the course's SQLite gradebook). Returns (course, outcomes, the scheduler's
    task stream during grading, the workers' addresses)."""
    from distributed import Client, LocalCluster, get_task_stream

    course = make_class(template_course, tmp_path_factory.mktemp("dask"), DASK_CLASS)
    broken = course / "submitted" / BROKEN / "hw3"
    broken.mkdir(parents=True)
    (broken / "hw3.ipynb").write_text('{"cells": [{"cell_type": "code", "source": "x = 1"\n')  # cut short
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                      host="127.0.0.1") as cluster, Client(cluster) as client:
        workers = set(client.scheduler_info()["workers"])
        with get_task_stream(client) as stream:  # the scheduler records every task, whichever client sent it
            outcomes = classgrade.grade(course, "hw3", scheduler=cluster.scheduler_address, progress=False)
    return course, outcomes, stream.data, workers


def test_dask_cluster_grades_the_class(dask_class):
    course, outcomes, _, _ = dask_class
    assert {s: outcomes[s].status for s in DASK_CLASS} == {s: "graded" for s in DASK_CLASS}
    scores = grading.cell_scores(course)
    assert {s: total(cells) for s, cells in scores.items()} == {s: EXPECTED_TOTALS[s] for s in DASK_CLASS}


def test_the_tasks_ran_on_the_cluster_workers(dask_class):
    _, _, tasks, workers = dask_class
    assert len(workers) == 2
    graded = {}
    for task in tasks:
        key = task["key"] if isinstance(task["key"], str) else str(task["key"])
        assert key.startswith("coursekit-grade-hw3-"), key
        graded[key[len("coursekit-grade-hw3-"):].rsplit("-", 1)[0]] = task["worker"]
    assert set(graded) == set(DASK_CLASS) | {BROKEN}  # one task per submission, all seen by the scheduler
    assert set(graded.values()) <= workers
    assert all(task["status"] == "OK" for task in tasks), tasks


def test_a_broken_submission_fails_alone_on_dask(dask_class):
    course, outcomes, _, _ = dask_class
    assert set(outcomes) == set(DASK_CLASS) | {BROKEN}
    assert outcomes[BROKEN].status == "failed"
    assert outcomes[BROKEN].reason.startswith("not a notebook (invalid JSON): hw3.ipynb"), outcomes[BROKEN].reason
    assert [s for s, o in outcomes.items() if o.status != "graded"] == [BROKEN]
    recorded = status.load(course, "hw3")[BROKEN]
    assert (recorded["status"], recorded["reason"]) == ("failed", outcomes[BROKEN].reason)
