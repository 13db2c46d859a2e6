"""Grade on submit (``serve``): students submit through nbgrader's exchange (``nbgrader submit``, each with their own
cache, as on a hub), the kit grades and releases feedback to each alone, and ``nbgrader fetch_feedback`` gives each
student their own page. A second attempt gets its own grade and page; a serve that dies midway loses nothing and
grades nothing twice."""
import csv
import json
import os
import pwd
import re
import shutil
import signal
import subprocess
import sys
import time
from html import unescape

import pytest

from commands import ok
from coursekit import gradebook as grading
from coursekit import records as status
from coursekit.workflow import grade as classgrade
from coursekit.workflow import serve

SAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "samples", "submitted")
NBGRADER = [sys.executable, "-m", "nbgrader"]


@pytest.fixture()
def course(tmp_path, repo):
    course = grading.new_course(tmp_path / "course", repo)
    exchange = tmp_path / "exchange"
    exchange.mkdir()
    os.chmod(exchange, 0o1777)
    with open(course / "nbgrader_config.py", "a") as config:
        config.write(f"\nc.Exchange.root = {str(exchange)!r}\n")
    done = subprocess.run([*NBGRADER, "release_assignment", "hw3"], cwd=course, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    return course


def student_command(course, student, *args):
    """An nbgrader exchange command as ``student`` would run it, in their own folder with their own cache."""
    home = course.parent / student
    (home / "cache").mkdir(parents=True, exist_ok=True)
    exchange = course.parent / "exchange"
    done = subprocess.run([*NBGRADER, *args, f"--student={student}", f"--Exchange.root={exchange}",
                           f"--Exchange.cache={home / 'cache'}", "--CourseDirectory.course_id=hw3-optimization"],
                          cwd=home, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    return home


def submit(course, student, sample):
    home = course.parent / student
    if not (home / "hw3").is_dir():
        student_command(course, student, "fetch_assignment", "hw3")
    shutil.copy(os.path.join(SAMPLES, sample, "hw3", "hw3.ipynb"), home / "hw3" / "hw3.ipynb")
    student_command(course, student, "submit", "hw3")


def fetched_pages(course, student):
    """{submission time: the score the student's fetched feedback page shows, or the page's text if none}."""
    home = student_command(course, student, "fetch_feedback", "hw3")
    pages = {}
    for page in sorted((home / "hw3" / "feedback").glob("*/hw3.html")):
        text = " ".join(unescape(re.sub(r"<[^>]+>", " ", page.read_text())).split())
        score = re.search(r"Score:\s*([\d.]+)", text)
        pages[page.parent.name] = float(score.group(1)) if score else text
    return pages


def fetched_texts(course, student):
    """The visible text of each feedback page the student fetched, oldest submission first."""
    home = student_command(course, student, "fetch_feedback", "hw3")
    return [" ".join(unescape(re.sub(r"<[^>]+>", " ", page.read_text())).split())
            for page in sorted((home / "hw3" / "feedback").glob("*/hw3.html"))]


def configure(course, *lines):
    with open(course / "nbgrader_config.py", "a") as config:
        config.write("\n".join(lines) + "\n")


def test_each_submission_is_graded_and_only_its_student_gets_the_feedback(course):
    submit(course, "alice", "sample-full-marks")
    submit(course, "bob", "sample-typical-mistakes")
    done = ok(course, "serve", "--once")
    assert re.search(r"^alice hw3: graded 95, feedback released \([\d.]+ s after submitting\)$", done.stdout, re.M), \
        done.stdout
    assert re.search(r"^bob hw3: graded 55, feedback released", done.stdout, re.M), done.stdout
    assert list(fetched_pages(course, "alice").values()) == [95.0]
    assert list(fetched_pages(course, "bob").values()) == [55.0]
    assert set(status.load(course, "hw3")) == {"alice", "bob"}
    assert ok(course, "serve", "--once").stdout == ""  # nothing new: nothing served, nothing graded again


def test_a_second_attempt_gets_its_own_grade_and_page(course):
    submit(course, "bob", "sample-typical-mistakes")
    ok(course, "serve", "--once")
    time.sleep(1)  # nbgrader's submission times are to the microsecond; two attempts, two times
    submit(course, "bob", "sample-full-marks")
    done = ok(course, "serve", "--once")
    assert done.stdout.startswith("bob hw3: graded 95, feedback released"), done.stdout
    assert sorted(fetched_pages(course, "bob").values()) == [55.0, 95.0]
    assert grading.cell_scores(course)["bob"] and sum(s for s, _ in grading.cell_scores(course)["bob"].values()) == 95


def test_with_the_best_attempt_counting_a_worse_later_attempt_keeps_the_better_grade(course):
    configure(course, "c.GradeOnSubmit.per_assignment = {'hw3': {'counted_attempt': 'best'}}")
    for sample in ("sample-full-marks", "sample-typical-mistakes"):
        submit(course, "bob", sample)
        done = ok(course, "serve", "--once")
        time.sleep(1)
    assert re.match(r"bob hw3: graded 55, feedback released; the best attempt counts: the one submitted \S+ \S+ UTC \(95\)",
                    done.stdout), done.stdout
    assert sorted(fetched_pages(course, "bob").values()) == [55.0, 95.0]  # each page is its own attempt's
    assert sum(s for s, _ in grading.cell_scores(course)["bob"].values()) == 55  # nbgrader's gradebook: the last
    table = ok(course, "status", "hw3").stdout
    assert re.search(r"^bob\s+pending\s+95\s+no due date\s+2\s+.*the best attempt counts", table, re.M), table
    ok(course, "export", "hw3")
    with open(course / "grades_by_exercise.csv", newline="") as stream:
        row = next(row for row in csv.DictReader(stream) if row["student_id"] == "bob")
    assert float(row["total"]) == 95 and "the best attempt counts" in row["reason"]
    ok(course, "report", "hw3")
    assert re.search(r"<td class=\"num\">2</td><td>the best attempt counts", (course / "report.html").read_text())


def test_a_policy_for_one_assignment_names_only_settings_that_exist(course):
    configure(course, "c.GradeOnSubmit.per_assignment = {'hw3': {'attempt': 3}}")
    submit(course, "bob", "sample-blank")
    done = subprocess.run([sys.executable, "-m", "coursekit", "serve", "--once"], cwd=course, capture_output=True,
                          text=True)
    assert done.returncode == 1 and "per_assignment['hw3'] sets attempt: not a setting of GradeOnSubmit" in done.stderr, \
        done.stdout + done.stderr


def test_a_serve_that_fails_after_grading_resumes_without_grading_again(course, monkeypatch):
    submit(course, "carol", "sample-typical-mistakes")
    graded = []
    real_grade_one = classgrade.grade_one
    monkeypatch.setattr(classgrade, "grade_one", lambda *args, **kw: graded.append(args[2]) or real_grade_one(*args, **kw))
    monkeypatch.setattr(serve.Server, "_give_feedback", lambda *args: (_ for _ in ()).throw(OSError("disk full")))
    with pytest.raises(OSError):
        serve.Server(course).once()
    assert graded == ["carol"] and not (course / serve.LEDGER).exists()  # graded, not served
    monkeypatch.undo()
    monkeypatch.setattr(classgrade, "grade_one", lambda *args, **kw: graded.append(args[2]) or real_grade_one(*args, **kw))
    served = serve.Server(course).once()
    assert [(s.submission.student, s.outcome) for s in served] == [("carol", "graded 55, feedback released")]
    assert graded == ["carol"]  # the grade of the same files was kept
    assert list(fetched_pages(course, "carol").values()) == [55.0]


def test_a_serve_killed_while_grading_serves_everyone_once_after_a_restart(course):
    for student in ("dan", "erin", "fay"):
        submit(course, student, "sample-typical-mistakes")
    process = subprocess.Popen([sys.executable, "-m", "coursekit", "serve", "--course", str(course)],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        deadline = time.monotonic() + 120
        while not list(course.glob(".coursekit-autograded-*")) and time.monotonic() < deadline:
            time.sleep(0.02)  # grading has begun: a staging folder of the serving process
        assert list(course.glob(".coursekit-autograded-*")), "serve did not start grading"
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    served_before = json.loads((course / serve.LEDGER).read_text()) if (course / serve.LEDGER).exists() else {}
    assert len(served_before) < 3  # killed midway
    done = ok(course, "serve", "--once")
    ledger = json.loads((course / serve.LEDGER).read_text())
    assert sorted(entry["student"] for entry in ledger.values()) == ["dan", "erin", "fay"]
    assert all(entry["outcome"] == "graded 55, feedback released" for entry in ledger.values()), ledger
    assert len(done.stdout.splitlines()) == 3 - len(served_before)
    for student in ("dan", "erin", "fay"):
        assert list(fetched_pages(course, student).values()) == [55.0]
    assert not list(course.glob(".coursekit-autograded-*"))  # the dead process's staging folder is gone


def test_the_inbound_folder_names_nbgrader_would_not_collect_are_left_alone(tmp_path):
    for name in ["alice+hw3+2026-12-07 10:00:00.000001 UTC+abc", "bob+hw3+2026-12-07 10:00:01 UTC",
                 "me+hw3+garbage", "..+hw3+2026-12-07 10:00:00 UTC", "x+other+2026-12-07 10:00:00 UTC", "stray"]:
        (tmp_path / name).mkdir()
    found = serve.inbound_submissions(str(tmp_path), ["hw3"])
    assert [(s.student, s.timestamp.second) for s in found] == [("alice", 0), ("bob", 1)]


@pytest.mark.skipif(os.getuid() != 0, reason="making folders owned by other accounts takes root")
def test_a_folder_written_in_another_students_name_is_not_served(tmp_path):
    """On a hub every student may write to the inbound folder: one hands in as another (daemon and bin are two
    local accounts of any Debian; nobody plays the forger). Only the account a name names, or the collecting
    account, may write under that name; a name that is no local account cannot be checked."""
    stamp = "2026-12-07 10:00:0{} UTC+r"
    owners = {"daemon+hw3+" + stamp.format(1): "nobody", "bin+hw3+" + stamp.format(2): "bin",
              "daemon+hw3+" + stamp.format(3): "root", "no-such-account+hw3+" + stamp.format(4): "nobody"}
    for name, owner in owners.items():
        (tmp_path / name).mkdir()
        os.chown(tmp_path / name, pwd.getpwnam(owner).pw_uid, -1)
    heard = {}
    found = serve.inbound_submissions(str(tmp_path), ["hw3"], heard.__setitem__)
    assert [(s.student, s.timestamp.second) for s in found] == [("bin", 2), ("daemon", 3), ("no-such-account", 4)]
    assert heard == {"daemon+hw3+" + stamp.format(1): "nobody"}


def test_an_attempt_beyond_the_limit_is_refused_with_a_page_that_says_why(course):
    configure(course, "c.GradeOnSubmit.attempts = 2")
    for sample in ("sample-typical-mistakes", "sample-full-marks", "sample-blank"):
        submit(course, "bob", sample)
        done = ok(course, "serve", "--once")
        time.sleep(1)
    assert done.stdout.startswith("bob hw3: not graded: you have used your 2 attempts at hw3; your last graded "
                                  "attempt counts ("), done.stdout
    pages = list(fetched_pages(course, "bob").values())
    assert pages[:2] == [55.0, 95.0] and "this submission was not graded" in pages[2] and "2 attempts" in pages[2]
    assert sum(score for score, _ in grading.cell_scores(course)["bob"].values()) == 95  # the blank was not collected
    table = ok(course, "status", "hw3").stdout
    assert re.search(r"^bob\s+pending\s+95\s+no due date\s+2, 1 not graded\s", table, re.M), table


def test_a_submission_sent_during_the_wait_is_refused_and_says_when_to_send_again(course):
    configure(course, "c.GradeOnSubmit.cooldown = 3600")
    submit(course, "carol", "sample-typical-mistakes")
    ok(course, "serve", "--once")
    time.sleep(1)
    submit(course, "carol", "sample-full-marks")
    done = ok(course, "serve", "--once")
    assert re.match(r"carol hw3: not graded: sent before the 3600 s wait after your last graded attempt ended; "
                    r"submit again after \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(", done.stdout), done.stdout
    assert sum(score for score, _ in grading.cell_scores(course)["carol"].values()) == 55


HIDDEN_HINT = "Hint: epsilon goes outside the square root"  # a hidden check of RMSProp the typical mistake fails


def test_before_the_due_date_a_hidden_failure_shows_its_verdict_only_and_after_it_its_hint(course):
    submit(course, "bob", "sample-typical-mistakes")
    ok(course, "serve", "--once")
    before = fetched_texts(course, "bob")[0]
    assert "A hidden test failed." in before and HIDDEN_HINT not in before
    ok(course, "release", "hw3", "--duedate", "2020-01-01 00:00 UTC")  # the due date has passed
    time.sleep(1)
    submit(course, "bob", "sample-typical-mistakes")
    ok(course, "serve", "--once")
    after = fetched_texts(course, "bob")[1]
    assert "A hidden test failed." in after and HIDDEN_HINT in after
