"""Faults in the middle of grading a class, with real processes (issue 10): a grading worker killed
with SIGKILL, the PostgreSQL server restarted, the disk full while feedback is written. Each run ends
with every submission either graded with its right total or failed with its reason; the earlier
results stay in place; a second run completes the class, with one submission per student."""
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from coursekit import gradebook as grading
from coursekit import records as status
from homework3.samples import EXPECTED_TOTALS

from postgres_server import PostgresServer
from test_workflow import REPO, cli, ok, snapshot

CLASS = {f"{sample}-{n}": sample for sample in EXPECTED_TOTALS for n in (1, 2)}  # 8 submissions


def make_class(folder):
    course = grading.new_course(folder / "course", REPO)
    for student, sample in CLASS.items():
        shutil.copytree(REPO / "samples" / "submitted" / sample, course / "submitted" / student)
    return course


def start_grading(course, *args):
    return subprocess.Popen([sys.executable, "-m", "coursekit", "grade", "hw3", "--jobs", "2", "--force", "--quiet",
                             "--course", str(course), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def wait_for_first_outcome(course, db_url=None, timeout=240):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if status.load(course, "hw3", db_url):
                return
        except Exception:  # the gradebook being created
            pass
        time.sleep(0.2)
    pytest.fail("no submission was graded in time")


def check_every_submission(course, db_url=None, complete=False):
    """Each submission is graded with its right total or failed with a reason (``complete``: graded)."""
    records = status.load(course, "hw3", db_url)
    scores = grading.cell_scores(course, db_url=db_url)
    assert set(records) == set(CLASS)
    for student, sample in CLASS.items():
        record = records[student]
        if record["status"] == status.GRADED:
            assert sum(score for score, _ in scores[student].values()) == EXPECTED_TOTALS[sample], student
        else:
            assert not complete and record["reason"], (student, record)
    return records


def submissions_per_student(engine_url):
    engine = create_engine(engine_url)
    with engine.connect() as connection:
        counts = connection.execute(text("SELECT student_id, COUNT(*) FROM submitted_assignment "
                                         "GROUP BY student_id")).all()
    engine.dispose()
    return dict(counts)


def pool_workers(pid):
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(c) for c in children if "resource_tracker" not in Path(f"/proc/{c}/cmdline").read_text()]


def test_a_killed_grading_worker_costs_no_grade(tmp_path):
    course = make_class(tmp_path)
    run = start_grading(course)
    wait_for_first_outcome(course)
    victims = pool_workers(run.pid)
    assert victims, "no grading worker found"
    os.kill(victims[0], signal.SIGKILL)
    out, err = run.communicate(timeout=600)
    assert run.returncode in (0, 1), out + err
    check_every_submission(course)
    again = ok(course, "grade", "hw3", "--jobs", "2", "--quiet")
    assert "failed 0" in again.stdout
    check_every_submission(course, complete=True)
    assert submissions_per_student(f"sqlite:///{course / 'gradebook.db'}") == dict.fromkeys(CLASS, 1)
    assert not list(course.glob(".coursekit-*")) and not list((course / "autograded").glob("*/*.old-*"))


def test_a_postgresql_restart_mid_run_costs_no_grade(tmp_path):
    with PostgresServer() as server:
        url = server.create_database("faults").replace("postgresql://", "postgresql+psycopg2://", 1)
        course = make_class(tmp_path)
        ok(course, "release", "hw3", "--db", url)
        run = start_grading(course, "--db", url)
        wait_for_first_outcome(course, url)
        server.restart()
        out, err = run.communicate(timeout=600)
        assert run.returncode in (0, 1), out + err
        assert "Traceback" not in err
        check_every_submission(course, url)
        again = ok(course, "grade", "hw3", "--jobs", "2", "--db", url, "--quiet")
        assert "failed 0" in again.stdout, again.stdout
        check_every_submission(course, url, complete=True)
        assert submissions_per_student(url) == dict.fromkeys(CLASS, 1)
        status._ENGINES.pop(url).dispose()


@pytest.fixture
def small_disk(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root (CI runs as root)")
    mount = tmp_path / "disk"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=48m", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(folder):
    """Write a file until the disk is full; returns it."""
    filler = folder / "filler"
    with open(filler, "wb") as stream:
        try:
            while True:
                stream.write(b"\0" * (1 << 20))
                stream.flush()
        except OSError:
            pass
    return filler


def test_a_full_disk_while_writing_feedback_keeps_the_old_feedback(small_disk, tmp_path):
    course = small_disk / "course"
    shutil.copytree(make_class(tmp_path), course)
    ok(course, "grade", "hw3", "--jobs", "2", "--quiet")
    ok(course, "feedback", "hw3")
    before = snapshot(course)
    filler = fill(small_disk)
    done = cli(course, "feedback", "hw3")
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stderr.strip().splitlines() == [
        "error: the disk is full: free some space and run feedback again (the earlier feedback is unchanged)."]
    filler.unlink()
    assert snapshot(course) == before
    assert not list(course.glob(".coursekit-*"))
    again = ok(course, "feedback", "hw3")
    assert f"Wrote {len(CLASS)} feedback file(s)" in again.stdout
