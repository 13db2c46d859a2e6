"""`python -m coursekit import`: Canvas downloads (re-uploads, LATE, user ids, name clashes), plain folders
and zips, every file not imported named with its reason, checks before touching, nothing rewritten
that did not change."""
import csv
import datetime
import os
import shutil
import subprocess
import sys
import zipfile

import nbformat
import pytest
from nbgrader.api import Gradebook

from coursekit.workflow import grade as classgrade
from coursekit import gradebook as grading
from coursekit.submissions import load_course_notebooks

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BAD_DB = "postgresql://nobody@127.0.0.1:1/x"


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    return grading.new_course(tmp_path_factory.mktemp("template") / "course", REPO)


@pytest.fixture
def course(template, tmp_path):
    return shutil.copytree(template, tmp_path / "course")


def notebook(marker):
    """The release notebook, told apart by ``marker`` in its metadata."""
    release = load_course_notebooks(REPO)[0]
    release.metadata["marker"] = marker
    return nbformat.writes(release).encode()


def make_zip(path, members):
    with zipfile.ZipFile(path, "w") as bundle:
        for name, content in members.items():
            bundle.writestr(name, content)
    return path


def run_import(course, source, *extra):
    return subprocess.run([sys.executable, "-m", "coursekit", "import", "hw3", str(source), "--course", str(course),
                           *extra], capture_output=True, text=True)


def submitted(course):
    """{path under submitted/: (bytes, mtime_ns)}"""
    root = course / "submitted"
    return {str(p.relative_to(root)): (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(root.rglob("*"))
            if p.is_file()} if root.is_dir() else {}


def contents(course):
    return {path: content for path, (content, _) in submitted(course).items()}


def lms_user_ids(course):
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        return {student.id: student.lms_user_id for student in gradebook.students}


CANVAS = {  # what Canvas's "Download Submissions" gives: <nameslug>_[LATE_]<userid>_<fileid>_<name>
    "smithbob_1001_5001_hw3.ipynb": notebook("bob first"),
    "smithbob_1001_5002_hw3-1.ipynb": notebook("bob re-upload"),
    "jonesann_LATE_1002_5003_hw3.ipynb": notebook("ann late"),
    "submissions/leeeve_1003_5004_hw3.ipynb": notebook("eve 1003"),
    "submissions/leeeve_1004_5005_hw3.ipynb": notebook("eve 1004"),
    "brokenjoe_1005_5006_hw3.ipynb": b'{"cells": [ oops',
    "kimsue_1006_5007_homework3.ipynb": notebook("sue misnamed"),
    "parkjin_1008_10002_hw3.ipynb": notebook("jin later"),  # same name twice: the later file id wins
    "parkjin_1008_9001_hw3.ipynb": notebook("jin earlier"),
}


def test_canvas_download_later_uploads_win_users_keep_their_ids_and_the_rest_is_named(course, tmp_path):
    archive = make_zip(tmp_path / "submissions.zip", CANVAS)
    done = run_import(course, archive)
    assert done.returncode == 1, done.stdout + done.stderr
    out = done.stdout
    assert "smithbob/hw3.ipynb <- smithbob_1001_5002_hw3-1.ipynb (LMS user 1001, new)" in out
    assert "jonesann/hw3.ipynb <- jonesann_LATE_1002_5003_hw3.ipynb (LMS user 1002, LATE, new)" in out
    assert "leeeve-1003/hw3.ipynb <- submissions/leeeve_1003_5004_hw3.ipynb (LMS user 1003, new)" in out
    assert "leeeve-1004 <- leeeve (LMS user 1004): the name leeeve is also LMS user 1003 in this download" in out
    assert "smithbob_1001_5001_hw3.ipynb: superseded by a later upload: smithbob_1001_5002_hw3-1.ipynb" in out
    assert "brokenjoe_1005_5006_hw3.ipynb: not a notebook (invalid JSON)" in out
    assert ("kimsue_1006_5007_homework3.ipynb: not a notebook of the assignment: homework3.ipynb "
            "(expected hw3.ipynb)") in out
    assert "parkjin_1008_9001_hw3.ipynb: superseded by a later upload: parkjin_1008_10002_hw3.ipynb" in out
    assert "Not imported: 4 file(s):" in out
    with zipfile.ZipFile(archive) as bundle:  # LATE in Canvas: the time of its file, in nbgrader's timestamp.txt
        late_time = datetime.datetime(*bundle.getinfo("jonesann_LATE_1002_5003_hw3.ipynb").date_time)
    assert contents(course) == {
        "smithbob/hw3/hw3.ipynb": CANVAS["smithbob_1001_5002_hw3-1.ipynb"],
        "jonesann/hw3/hw3.ipynb": CANVAS["jonesann_LATE_1002_5003_hw3.ipynb"],
        "jonesann/hw3/timestamp.txt": late_time.strftime("%Y-%m-%d %H:%M:%S.%f UTC").encode(),
        "leeeve-1003/hw3/hw3.ipynb": CANVAS["submissions/leeeve_1003_5004_hw3.ipynb"],
        "leeeve-1004/hw3/hw3.ipynb": CANVAS["submissions/leeeve_1004_5005_hw3.ipynb"],
        "parkjin/hw3/hw3.ipynb": CANVAS["parkjin_1008_10002_hw3.ipynb"],
    }
    assert lms_user_ids(course) == {"smithbob": "1001", "jonesann": "1002", "leeeve-1003": "1003",
                                    "leeeve-1004": "1004", "parkjin": "1008"}

    first = submitted(course)
    again = run_import(course, archive)
    assert again.returncode == 1 and again.stdout.count("unchanged") == 5, again.stdout
    assert submitted(course) == first  # same bytes, same mtimes: nothing rewritten

    later = make_zip(tmp_path / "later.zip", {  # the next download: users keep their ids; a changed file replaces
        "leeeve_1003_5010_hw3-2.ipynb": notebook("eve 1003 again"),
        "smithbob_1007_5011_hw3.ipynb": notebook("another bob"),
        "smithbob_1001_5002_hw3-1.ipynb": CANVAS["smithbob_1001_5002_hw3-1.ipynb"],
    })
    done = run_import(course, later)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "leeeve-1003/hw3.ipynb <- leeeve_1003_5010_hw3-2.ipynb (LMS user 1003, replaced)" in done.stdout
    assert "smithbob-1007 <- smithbob (LMS user 1007): the name smithbob is also LMS user 1001 (student smithbob)" \
        in done.stdout
    assert "smithbob/hw3.ipynb <- smithbob_1001_5002_hw3-1.ipynb (LMS user 1001, unchanged)" in done.stdout
    now = submitted(course)
    assert now["leeeve-1003/hw3/hw3.ipynb"][0] == notebook("eve 1003 again")
    assert now["smithbob-1007/hw3/hw3.ipynb"][0] == notebook("another bob")
    for path in ("smithbob/hw3/hw3.ipynb", "jonesann/hw3/hw3.ipynb", "leeeve-1004/hw3/hw3.ipynb",
                 "parkjin/hw3/hw3.ipynb"):
        assert now[path] == first[path], path
    assert lms_user_ids(course)["leeeve-1003"] == "1003" and lms_user_ids(course)["smithbob-1007"] == "1007"
    assert not [p for p in (course / "submitted").rglob("*.partial")]


def test_folders_and_zips_of_plain_names_are_placed_graded_and_exported_with_the_canvas_id(course, tmp_path):
    release_nb = notebook("plain")
    download = tmp_path / "download"
    (download / "alice").mkdir(parents=True)
    (download / "alice" / "hw3.ipynb").write_bytes(release_nb)
    (download / "bob_hw3.ipynb").write_bytes(release_nb)
    (download / "carol_41_9913_hw3.ipynb").write_bytes(release_nb)
    (download / "readme.txt").write_text("not a submission")
    archive = tmp_path / "lms.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        for path in download.rglob("*"):
            if path.is_file():
                bundle.write(path, path.relative_to(tmp_path))  # nested: download/alice/hw3.ipynb
    expected = {f"{s}/hw3/hw3.ipynb": release_nb for s in ("alice", "bob", "carol")}
    for source, shown in ((download, "readme.txt"), (archive, "download/readme.txt")):
        shutil.rmtree(course / "submitted", ignore_errors=True)
        done = run_import(course, source)
        assert done.returncode == 1, done.stdout + done.stderr
        assert f"{shown}: not a notebook of the assignment: readme.txt (expected hw3.ipynb)" in done.stdout
        assert "Not imported: 1 file(s):" in done.stdout and "Imported 3 notebook(s)" in done.stdout
        assert contents(course) == expected
    assert lms_user_ids(course) == {"alice": None, "bob": None, "carol": "41"}
    missing = run_import(course, tmp_path / "missing.zip")
    assert missing.returncode == 2 and "does not exist" in missing.stderr

    outcomes = classgrade.grade(course, "hw3", jobs=2, progress=False)
    assert {s: o.status for s, o in outcomes.items()} == {"alice": "graded", "bob": "graded", "carol": "graded"}
    subprocess.run([sys.executable, "-m", "coursekit", "export", "hw3", "--course", str(course)], check=True,
                   capture_output=True)
    with open(course / "grades_lms.csv", newline="") as stream:
        ids = {row["SIS Login ID"]: row["ID"] for row in csv.DictReader(stream) if row["SIS Login ID"]}
    assert ids == {"alice": "", "bob": "", "carol": "41"}


def test_an_empty_zip_or_a_folder_without_notebooks_is_an_error_that_changes_nothing(course, tmp_path):
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "readme.txt").write_text("no notebooks here")
    for source in (make_zip(tmp_path / "empty.zip", {}), tmp_path / "notes"):
        done = run_import(course, source)
        assert done.returncode == 2, done.stdout + done.stderr
        assert done.stderr.count("\n") == 1 and "holds no notebook (.ipynb): expected a folder" in done.stderr
        assert not (course / "submitted").exists()


@pytest.mark.parametrize("db", [BAD_DB, "nosuchdatabase://x"])
def test_an_unreachable_database_stops_the_import_before_anything_is_copied(course, tmp_path, db):
    first = make_zip(tmp_path / "first.zip", {"smithbob_1001_5001_hw3.ipynb": notebook("first")})
    assert run_import(course, first).returncode == 0
    before = submitted(course)
    changed = make_zip(tmp_path / "changed.zip", {"smithbob_1001_5002_hw3.ipynb": notebook("changed"),
                                                  "newone_1002_5003_hw3.ipynb": notebook("new")})
    done = run_import(course, changed, "--db", db)
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert done.stderr.startswith("error: cannot open the gradebook") and "Check the --db URL" in done.stderr
    assert submitted(course) == before


def test_unsafe_unreadable_empty_and_ambiguous_files_are_reported_and_nothing_lands_outside(course, tmp_path):
    good = notebook("good")
    archive = tmp_path / "odd.zip"
    members = {"a/../../hw3.ipynb": good, "../../x/../hw3.ipynb": good, "emptyone_hw3.ipynb": b"",
               "dave/hw3.ipynb": notebook("dave one"), "dave_hw3.ipynb": notebook("dave two"),
               "fay/hw3.ipynb": notebook("fay first"), "fay/hw3-1.ipynb": notebook("fay second"),
               "crc_hw3.ipynb": notebook("to be corrupted"), "hw3.ipynb": good, "erin_hw3.ipynb": good,
               "gus_1_2_hw3.zip": b"PK", "hal_7_1_hw3.ipynb": good, "hal_8_2_hw3.ipynb": b"{"}
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_STORED) as bundle:
        for name, content in members.items():
            bundle.writestr(name, content)
    data = bytearray(archive.read_bytes())
    spot = data.index(b"to be corrupted")
    data[spot] ^= 0xFF
    archive.write_bytes(bytes(data))
    outside_before = sorted(str(p) for p in tmp_path.rglob("*") if "course" not in p.parts)

    done = run_import(course, archive)
    assert done.returncode == 1, done.stdout + done.stderr
    out = done.stdout
    assert "a/../../hw3.ipynb: '..' cannot be a student id" in out
    assert "../../x/../hw3.ipynb: '..' cannot be a student id" in out
    assert "emptyone_hw3.ipynb: empty file" in out
    assert "crc_hw3.ipynb: unreadable (Bad CRC-32" in out
    assert "hw3.ipynb: no student in its name or folder" in out
    assert "gus_1_2_hw3.zip: an archive inside the download: unpack it" in out
    assert "dave/hw3.ipynb: dave's hw3.ipynb also comes as dave_hw3.ipynb, and nothing tells which is later" in out
    assert "dave_hw3.ipynb: dave's hw3.ipynb also comes as dave/hw3.ipynb" in out
    assert "fay/hw3.ipynb: superseded by a later upload: fay/hw3-1.ipynb" in out
    assert "hal-7 <- hal (LMS user 7): the name hal is also LMS user 8 in this download" in out
    assert "hal-8 <-" not in out and "hal_8_2_hw3.ipynb: not a notebook (invalid JSON)" in out
    assert contents(course) == {"erin/hw3/hw3.ipynb": good, "fay/hw3/hw3.ipynb": notebook("fay second"),
                                "hal-7/hw3/hw3.ipynb": good}
    assert sorted(str(p) for p in tmp_path.rglob("*") if "course" not in p.parts) == outside_before


def test_canvas_user_ids_are_kept_in_a_postgresql_gradebook(course, tmp_path):
    from postgres_server import PostgresServer

    archive = make_zip(tmp_path / "submissions.zip", {"smithbob_1001_5001_hw3.ipynb": notebook("bob"),
                                                       "leeeve_1003_5004_hw3.ipynb": notebook("eve 1003"),
                                                       "leeeve_1004_5005_hw3.ipynb": notebook("eve 1004")})
    with PostgresServer() as server:
        url = server.create_database("gradebook")
        for _ in range(2):  # the second import finds the same students by their user ids
            done = run_import(course, archive, "--db", url)
            assert done.returncode == 0, done.stdout + done.stderr
            with Gradebook(url) as gradebook:
                ids = {student.id: student.lms_user_id for student in gradebook.students}
            assert ids == {"smithbob": "1001", "leeeve-1003": "1003", "leeeve-1004": "1004"}
    assert "smithbob/hw3.ipynb <- smithbob_1001_5001_hw3.ipynb (LMS user 1001, unchanged)" in done.stdout
    assert lms_user_ids(course) == {}  # the course's SQLite gradebook was not used
