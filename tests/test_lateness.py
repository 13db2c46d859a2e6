"""Late work (issue 20, item 2): `import` keeps each submission's time in nbgrader's timestamp.txt, the
due date is the gradebook's, nbgrader's late penalty (a LateSubmissionPlugin subclass set in
nbgrader_config.py) is taken by the real `grade` and shows in the gradebook, both export files and
`status`; a time or a setting that cannot be used is refused with one line, and nothing is lost."""
import csv
import datetime
import math
import shutil
import subprocess
import sys
import zipfile

import nbformat
import pytest
from nbgrader.api import Gradebook
from nbgrader.utils import parse_utc
from traitlets import TraitError

from coursekit import gradebook as grading
from coursekit import lateness
from coursekit.latepenalty import ShareOffPerPeriod
from coursekit.submissions import load_course_notebooks
from coursekit.workflow import grade as classgrade
from tests.test_import import REPO, run_import

SHARE, PERIOD_HOURS, GRACE_MINUTES = 0.2, 24, 30
POLICY = f"""
c.AssignLatePenalties.plugin_class = "coursekit.latepenalty.ShareOffPerPeriod"
c.ShareOffPerPeriod.share_per_period = {SHARE}
c.ShareOffPerPeriod.period_hours = {PERIOD_HOURS}
c.ShareOffPerPeriod.grace_minutes = {GRACE_MINUTES}
"""


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    return grading.new_course(tmp_path_factory.mktemp("template") / "course", REPO)


@pytest.fixture
def course(template, tmp_path):
    course = shutil.copytree(template, tmp_path / "course")
    with open(course / "nbgrader_config.py", "a") as stream:
        stream.write(POLICY)
    return course


def cli(course, *args):
    return subprocess.run([sys.executable, "-m", "coursekit", *args, "--course", str(course)],
                          capture_output=True, text=True)


def expected_share(seconds_late):
    """The policy above, worked out here: SHARE of the score per period begun after the grace."""
    after_grace = seconds_late - GRACE_MINUTES * 60
    return 0.0 if after_grace <= 0 else min(1.0, math.ceil(after_grace / (PERIOD_HOURS * 3600)) * SHARE)


def solution():
    """The master notebook with its solutions: it earns points, so a penalty has something to take."""
    return nbformat.writes(load_course_notebooks(REPO)[1]).encode()


def gradebook_rows(course):
    """{student: (raw score, late penalty, gradebook timestamp)}"""
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        found = {}
        for student in gradebook.students:
            submission = gradebook.find_submission("hw3", student.id)
            raw = sum(grade.score for notebook in submission.notebooks for grade in notebook.grades)
            found[student.id] = (raw, float(submission.late_submission_penalty or 0.0), submission.timestamp)
        return found


def mark_written_answers(course, score):
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        for student in gradebook.students:
            for notebook in gradebook.find_submission("hw3", student.id).notebooks:
                for grade in notebook.grades:
                    if grade.needs_manual_grade:
                        grade.manual_score, grade.needs_manual_grade = score, False
        gradebook.db.commit()


def csv_rows(path):
    with open(path, newline="", encoding="utf-8") as stream:
        return list(csv.DictReader(stream))


def test_a_late_submission_loses_the_configured_penalty_in_the_gradebook_the_exports_and_status(course, tmp_path):
    due = (lateness.utcnow() - datetime.timedelta(days=10)).replace(second=0, microsecond=0)
    done = cli(course, "release", "hw3", "--check", "--duedate", f"{due:%Y-%m-%d %H:%M} UTC")
    assert done.returncode == 0, done.stdout + done.stderr
    times = {"alice": due + datetime.timedelta(days=1, hours=2),  # two periods begun after the grace
             "bob": due - datetime.timedelta(hours=1),  # on time
             "carol": due + datetime.timedelta(minutes=20)}  # within the grace: late, no penalty
    download = tmp_path / "download"
    for student, when in times.items():
        (download / student / "hw3").mkdir(parents=True)
        (download / student / "hw3" / "hw3.ipynb").write_bytes(solution())
        (download / student / "hw3" / "timestamp.txt").write_text(lateness.nbgrader_text(when))
    done = run_import(course, download)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"alice: {lateness.shown_time(times['alice'])}, late by 1 d 2 h" in done.stdout
    # Canvas: LATE, and the time its zip gives the file (the latest the student can have submitted)
    times["dave"] = due + datetime.timedelta(days=3, hours=1)
    canvas = tmp_path / "canvas.zip"
    with zipfile.ZipFile(canvas, "w") as bundle:
        bundle.writestr(zipfile.ZipInfo("davedoe_LATE_77_901_hw3.ipynb", times["dave"].timetuple()[:6]), solution())
    done = run_import(course, canvas)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "LATE in Canvas" in done.stdout and "late by 3 d 1 h" in done.stdout
    assert (course / "submitted" / "davedoe" / "hw3" / "timestamp.txt").read_text() == \
        lateness.nbgrader_text(times["dave"])
    # a timestamp.txt put in submitted/ by hand that nbgrader would misread (+0100 as 100 seconds)
    (course / "submitted" / "erin" / "hw3").mkdir(parents=True)
    (course / "submitted" / "erin" / "hw3" / "hw3.ipynb").write_bytes(solution())
    (course / "submitted" / "erin" / "hw3" / "timestamp.txt").write_text(f"{due:%Y-%m-%d %H:%M:%S} +0100")

    outcomes = classgrade.grade(course, "hw3", jobs=2, progress=False)
    assert {s: o.status for s, o in outcomes.items()} == {
        "alice": "graded", "bob": "graded", "carol": "graded", "davedoe": "graded", "erin": "failed"}
    assert "nbgrader would read it as" in outcomes["erin"].reason
    times["davedoe"] = times.pop("dave")
    seconds = {student: max(0.0, (when - due).total_seconds()) for student, when in times.items()}
    mark_written_answers(course, 0.0)  # graded by hand, as in the formgrader: the rows are complete
    graded = gradebook_rows(course)
    for student, when in times.items():
        raw, penalty, timestamp = graded[student]
        assert raw > 0 and timestamp == when, (student, graded[student])
        assert penalty == pytest.approx(raw * expected_share(seconds[student])), student
    assert graded["alice"][1] > 0 and graded["davedoe"][1] > graded["alice"][1]  # the policy bites, and grows
    assert graded["bob"][1] == 0 and graded["carol"][1] == 0

    assert cli(course, "export", "hw3").returncode == 0
    export = {row["student_id"]: row for row in csv_rows(course / "grades_by_exercise.csv")}
    lms = {row["SIS Login ID"]: row for row in csv_rows(course / "grades_lms.csv")}
    for student, (raw, penalty, _) in graded.items():
        if student not in times:
            continue
        row = export[student]
        assert float(row["total"]) == pytest.approx(raw - penalty), student
        assert float(row["late_penalty"]) == pytest.approx(penalty) and float(row["seconds_late"]) == seconds[student]
        assert parse_utc(row["submitted_at"]) == times[student].replace(microsecond=0)
        assert row["status"] == "graded" and float(lms[student]["hw3"]) == pytest.approx(raw - penalty), student
    assert export["erin"]["status"] == "failed" and export["erin"]["total"] == ""

    status = cli(course, "status", "hw3")
    assert status.returncode == 0, status.stderr
    lines = {line.split()[0]: line for line in status.stdout.splitlines() if line.strip()}
    assert f"1 d 2 h, -{graded['alice'][1]:g}" in lines["alice"]
    assert "on time" in lines["bob"] and "20 min" in lines["carol"] and "time refused" in lines["erin"]
    assert "late penalty: 20% of the score per 24 h begun late after 30 min of grace" in status.stdout
    assert "3 late: alice, carol, davedoe." in status.stdout

    # the instructor decides alice was on time after all: without her timestamp.txt, her regrade is on time
    # (nbgrader alone would keep the gradebook's earlier time, and her penalty)
    (course / "submitted" / "alice" / "hw3" / "timestamp.txt").unlink()
    outcomes = classgrade.grade(course, "hw3", students=["alice"], progress=False)
    assert outcomes["alice"].status == "graded"
    raw, penalty, timestamp = gradebook_rows(course)["alice"]
    assert (penalty, timestamp) == (0.0, None) and raw == graded["alice"][0]


@pytest.mark.parametrize("duedate", ["tomorrow", "2024-03-01 17:00", "2024-02-30 17:00 UTC", "2024-03-01 17:00 Mars/Base"])
def test_a_due_date_that_is_not_a_time_with_a_zone_is_refused_and_nothing_changes(course, duedate):
    before = (course / "gradebook.db").read_bytes()
    done = cli(course, "release", "hw3", "--duedate", duedate)
    assert done.returncode == 2 and done.stderr.startswith("error: --duedate: ") and len(done.stderr.splitlines()) == 1
    assert (course / "gradebook.db").read_bytes() == before


def test_a_penalty_setting_nbgrader_cannot_use_stops_grade_before_anything_is_graded(course):
    with open(course / "nbgrader_config.py", "a") as stream:
        stream.write("c.ShareOffPerPeriod.share_per_period = 1.5\n")
    (course / "submitted" / "alice" / "hw3").mkdir(parents=True)
    (course / "submitted" / "alice" / "hw3" / "hw3.ipynb").write_bytes(solution())
    done = cli(course, "grade", "hw3", "--quiet")
    assert done.returncode == 2 and "share_per_period must be between 0 and 1" in done.stderr, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and not (course / "autograded").exists()


def test_an_unreadable_timestamp_refuses_its_notebook_and_keeps_the_earlier_submission(course, tmp_path):
    first = tmp_path / "first"
    (first / "alice" / "hw3").mkdir(parents=True)
    (first / "alice" / "hw3" / "hw3.ipynb").write_bytes(solution())
    when = lateness.utcnow().replace(microsecond=0) - datetime.timedelta(days=1)
    (first / "alice" / "hw3" / "timestamp.txt").write_text(lateness.nbgrader_text(when))
    assert run_import(course, first).returncode == 0
    kept = {p.name: p.read_bytes() for p in (course / "submitted" / "alice" / "hw3").iterdir()}
    for bad in ("10", "March", "2024-03-01 17:00:00 +0100", "2024-03-01 17:00:00 Nowhere/Town", "x" * 300,
                f"{when:%Y-%m-%d %H:%M:%S}\n{when:%Y-%m-%d %H:%M:%S}", "9999-01-01 00:00:00 UTC"):
        second = tmp_path / "second"
        shutil.rmtree(second, ignore_errors=True)
        (second / "alice" / "hw3").mkdir(parents=True)
        (second / "alice" / "hw3" / "hw3.ipynb").write_bytes(solution().replace(b'"cells"', b'"cells" ', 1))
        (second / "alice" / "hw3" / "timestamp.txt").write_text(bad)
        done = run_import(course, second)
        assert done.returncode == 1 and "timestamp.txt (alice/hw3/timestamp.txt) is refused" in done.stdout, bad
        assert {p.name: p.read_bytes() for p in (course / "submitted" / "alice" / "hw3").iterdir()} == kept, bad


@pytest.mark.parametrize("text", ["2024-03-01 17:00:00.000000 UTC", "2024-03-01T17:00:00+01:00", "2024-03-01 17:00",
                                  "2024-07-01 17:00:00 Europe/London", "2024-03-01 17:00:00 EST",
                                  "2024-03-01 17:00:00Z"])
def test_a_time_the_kit_accepts_is_the_time_nbgrader_reads_and_is_written_back_as_nbgrader_writes(text):
    value = lateness.time_from_bytes(text.encode())
    assert value == parse_utc(text)
    assert parse_utc(lateness.nbgrader_text(value)) == value


def test_the_penalty_plugin_follows_its_settings_and_refuses_nonsense():
    plugin = ShareOffPerPeriod(share_per_period=0.1, period_hours=12, grace_minutes=0, max_share=0.25)
    for hours_late in (0, 1, 12, 13, 30, 100):
        share = min(0.25, math.ceil(hours_late / 12) * 0.1)
        assert (plugin.late_submission_penalty("s", 40.0, hours_late * 3600) or 0.0) == pytest.approx(40 * share)
    for setting in (dict(share_per_period=-0.1), dict(max_share=2), dict(period_hours=0), dict(grace_minutes=-5)):
        with pytest.raises(TraitError):
            ShareOffPerPeriod(**setting)


@pytest.mark.parametrize("kind", ["folder", "zip", "tar"])
def test_a_time_beside_the_notebook_arrives_from_a_folder_a_zip_or_a_tar_and_a_stray_one_is_named(course, tmp_path,
                                                                                                    kind):
    when = lateness.utcnow().replace(microsecond=0) - datetime.timedelta(hours=5)
    source = tmp_path / "download"
    (source / "alice" / "hw3").mkdir(parents=True)
    (source / "alice" / "hw3" / "hw3.ipynb").write_bytes(solution())
    (source / "alice" / "hw3" / "timestamp.txt").write_text(f"{when:%Y-%m-%dT%H:%M:%S}+02:00")  # ISO, another zone
    (source / "timestamp.txt").write_text(lateness.nbgrader_text(when))  # beside no notebook: not used
    if kind != "folder":
        archive = tmp_path / f"download.{kind}"
        shutil.make_archive(str(archive.with_suffix("")), kind, source)
        source = archive
    done = run_import(course, source)
    assert done.returncode == 1 and "timestamp.txt: a timestamp.txt that is not in a student's folder" in done.stdout
    stamp = course / "submitted" / "alice" / "hw3" / "timestamp.txt"
    assert parse_utc(stamp.read_text()) == when - datetime.timedelta(hours=2)
    assert stamp.read_text() == lateness.nbgrader_text(when - datetime.timedelta(hours=2))  # nbgrader's own format
    first = stamp.stat().st_mtime_ns
    again = run_import(course, source)
    assert "timestamp.txt as before" in again.stdout and stamp.stat().st_mtime_ns == first  # not rewritten
