"""Nothing a submission holds reaches the instructor, the other students or the machine (issue 19,
classes 2 and 3), through the real commands: the corpus of tests/hostile_files.py graded beside the four
sample students by `python -m coursekit grade`, then `status`, `export`, `report`, `feedback`; plain
`nbgrader autograde`; `import` of a folder, a zip and a tar; `nbgrader collect` from an exchange;
Gradescope's run_autograder. Each case fails alone with its reason or gains nothing; the honest students
keep their exact scores; no byte of grader/hw3/hw3_checks.py nor of /etc/shadow is in any output; every
command ends within its time limit and its processes' peak memory stays under a bound. As root, the
class is graded again as an unprivileged account (as the hub's instructor grades)."""
import csv
import glob
import io
import json
import os
import pwd
import re
import shutil
import signal
import stat
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from pathlib import Path

import markupsafe
import pytest

import hostile_files
from gradescope_image import autograder_zip, run_autograder  # noqa: F401  (a fixture)
from hostile_files import FILE_CASES
from coursekit import gradebook as grading
from homework3.samples import EXPECTED_TOTALS
from coursekit.submissions import load_course_notebooks

REPO = Path(__file__).resolve().parents[1]
CLI = ["-m", "coursekit"]
LIMITS = {"grade": 600, "status": 60, "export": 120, "report": 300, "feedback": 600, "import": 180,
          "autograde": 600, "collect": 120}  # seconds; the corpus takes a tenth of these on 2 cores
PEAK_MIB = 1536  # the largest process of any command (docs/benchmarks.md: the kit's grading peaks near 440 MiB)
# Runs a command and reports the peak resident memory of its largest (waited-for) descendant.
MEASURE = ("import resource, subprocess, sys\n"
           "done = subprocess.run(sys.argv[1:])\n"
           "print(f'PEAK_RSS_KIB {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}', file=sys.stderr)\n"
           "sys.exit(done.returncode)\n")
USER = "coursekit-nonroot"


class Run:
    """One command's result: returncode, stdout, stderr, seconds, peak_mib."""

    def __init__(self, returncode, stdout, stderr, seconds, peak_mib):
        self.returncode, self.stdout, self.stderr, self.seconds, self.peak_mib = \
            returncode, stdout, stderr, seconds, peak_mib


class Runner:
    """Runs commands in a course, as this user or (``user``) as an unprivileged account, each under a
    time limit (the whole process group is killed past it, and the test fails) and measured."""

    def __init__(self, python=sys.executable, user=None, env=None):
        self.python, self.user, self.extra_env = python, user, env or {}
        self.runs = []

    def __call__(self, course, *args, limit, module=CLI, cwd=None):
        command = [self.python, "-c", MEASURE, self.python, *module, *args]
        if module == CLI:
            command += ["--course", str(course)]
        env = dict(os.environ, PATH=os.path.dirname(self.python) + os.pathsep + os.environ["PATH"],
                   MPLBACKEND="Agg", **self.extra_env)
        if self.user:
            home = self.extra_env["HOME"]
            command = ["setpriv", f"--reuid={self.user}", f"--regid={self.user}", "--init-groups", *command]
            env = {key: value for key, value in env.items() if key in ("PATH", "LANG", "LC_ALL", "MPLBACKEND",
                                                                         "LD_LIBRARY_PATH", "HOME", "PYTHONPATH")}
            env["HOME"] = home
        started = time.monotonic()
        child = subprocess.Popen(command, cwd=cwd or course, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 text=True, start_new_session=True)
        try:
            stdout, stderr = child.communicate(timeout=limit)
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
            child.communicate()
            pytest.fail(f"`{' '.join(args)}` ran past its limit of {limit} s (killed)")
        seconds = time.monotonic() - started
        peak = re.findall(r"PEAK_RSS_KIB (\d+)", stderr)
        stderr = re.sub(r"PEAK_RSS_KIB \d+\n?", "", stderr)
        run = Run(child.returncode, stdout, stderr, seconds, int(peak[-1]) / 1024 if peak else None)
        self.runs.append((args[0], run))
        return run


def build_course(root, cases=FILE_CASES):
    course = Path(grading.new_course(root / "course", REPO))
    shutil.copytree(REPO / "samples" / "submitted", course / "submitted")
    release, source = load_course_notebooks(REPO)
    for name, (case, _) in cases.items():
        hostile_files.write_case(course, name, case, release, source)
    return course


def grade_the_class(course, run):
    """grade, status, export, report, feedback: {command: Run}."""
    done = {"grade": run(course, "grade", "hw3", "--jobs", "2", "--quiet", limit=LIMITS["grade"])}
    for command in ("status", "export", "report", "feedback"):
        done[command] = run(course, command, "hw3", limit=LIMITS[command])
    return done


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    course = build_course(tmp_path_factory.mktemp("hostile-files"))
    run = Runner()
    return course, grade_the_class(course, run), run


def shown_name(name, limit=200):
    """A name as the kit prints it in a terminal: undecodable bytes and control characters escaped."""
    text = name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    text = text if text.isprintable() else ascii(text)[1:-1].replace("\\\\x", "\\x")
    return text if len(text) <= limit else text[:limit - 1] + "…"


def copy_course(course, tmp_path):
    """A copy of a course, links, pipes and sockets as they are (cp -a; shutil cannot copy a pipe)."""
    copy = tmp_path / "course"
    subprocess.run(["cp", "-a", str(course), str(copy)], check=True)
    return copy


def rows(path):
    with open(path, newline="", encoding="utf-8") as stream:
        return {row["student_id"]: row for row in csv.DictReader(stream)}


def status_rows(text):
    """{student: (state, total, where it stands)} of `status`'s table."""
    lines = text.splitlines()
    # the columns: student, state (10), total (6), late by (when any submission has a time), where it stands
    state, where = lines[0].index("state"), lines[0].index("where it stands")
    found = {}
    for line in lines[2:]:
        if line.strip() and not line.startswith(" ") and len(line) > state:
            found[line[:state].strip()] = (line[state:state + 10].strip(), line[state + 12:state + 18].strip(),
                                           line[where:])
    return found


def check_outcomes(course, done, cases=FILE_CASES):
    """Every case ends as it must, in the grade summary, `status`, the export and the report."""
    assert done["grade"].returncode == 1, done["grade"].stdout + done["grade"].stderr
    for command in ("status", "export", "report"):
        assert done[command].returncode == 0, (command, done[command].stdout, done[command].stderr)
    table = status_rows(done["status"].stdout)
    export = rows(course / "grades_by_exercise.csv")
    report = (course / "report.html").read_text(encoding="utf-8")
    failed_section = report.split('id="failed"')[1].split('id="ungraded"')[0]
    for name, (_, (state, expected)) in cases.items():
        shown = shown_name(name, 200)  # as the terminal shows a name (escape codes escaped)
        if state == "left out":  # no student id can be this name: named by grade and status, in no file
            note = f"whose name is not UTF-8 text (rename each to the student's id): {expected}"
            assert note in done["grade"].stdout and note in done["status"].stdout, name
            assert shown not in table and name not in export, name
        elif state == "failed":
            assert f"FAILED {shown}: " in done["grade"].stdout, name
            assert table[shown][0] == "failed" and expected in table[shown][2], (name, table[shown])
            assert export[name]["status"] == "failed" and expected in export[name]["reason"], (name, export[name])
            assert export[name]["total"] == "", (name, export[name])  # never a 0
            # escaped as the report's templates escape (markupsafe)
            assert str(markupsafe.escape(name)) in failed_section and str(markupsafe.escape(expected)) in failed_section, name
            assert not (course / "autograded" / name).exists(), name  # nbgrader never copied it
        else:
            assert table[shown][0] == "pending" and float(table[shown][1]) == expected, (name, table[shown])
            assert float(export[name]["total"]) == expected, (name, export[name])
    for student, total in EXPECTED_TOTALS.items():  # the honest students beside them
        assert table[student][0] in ("graded", "pending") and float(table[student][1]) == total, (student, table[student])
        assert float(export[student]["total"]) == total


def output_files(course):
    """Every file the commands wrote: autograded/, feedback/, the CSV files, the report."""
    found = []
    for name in ("autograded", "feedback"):
        found += [p for p in (course / name).rglob("*") if p.is_file()]
    found += [course / name for name in ("grades_by_exercise.csv", "grades_lms.csv", "report.html", "similarity.csv")]
    return found


def check_nothing_leaked(course, done):
    markers = hostile_files.grader_markers(REPO) + hostile_files.shadow_markers()
    assert len(markers) > 50
    texts = {str(path): path.read_bytes().decode("utf-8", "replace") for path in output_files(course)}
    texts.update({f"stdout of {c}": r.stdout + r.stderr for c, r in done.items()})
    for where, text in texts.items():
        leaked = [marker for marker in markers if marker in text]
        assert not leaked, (where, leaked[:3])
    for path in output_files(course):  # nbgrader copies files with their own mode: no link, no pipe got there
        assert not hostile_files.is_special(path), path


def check_bounded(done):
    print(", ".join(f"{command} {run.seconds:.1f} s {run.peak_mib or 0:.0f} MiB" for command, run in done.items()))
    for command, run in done.items():
        assert run.seconds < LIMITS[command], (command, run.seconds)
        assert run.peak_mib is not None and run.peak_mib < PEAK_MIB, (command, run.peak_mib)


@pytest.mark.parametrize("name", sorted(FILE_CASES))
def test_each_case_fails_alone_with_its_reason_or_gains_nothing(graded, name):
    course, done, _ = graded
    check_outcomes(course, done, {name: FILE_CASES[name]})


def test_the_honest_students_keep_their_exact_scores(graded):
    course, done, _ = graded
    scores = grading.cell_scores(course)
    for student, total in EXPECTED_TOTALS.items():
        assert sum(score for score, _ in scores[student].values()) == total, student
    assert "Graded 6, failed" in done["grade"].stdout, done["grade"].stdout


def test_nothing_of_the_grader_reaches_any_output(graded):
    course, done, _ = graded
    check_nothing_leaked(course, done)
    # the probe ran and printed what a graded student's folder holds: its own files, nothing else
    probe = (course / "autograded" / "files-extra-regular-files" / "hw3" / "hw3.ipynb").read_text()
    assert "PROBE notes.txt my own notes" in probe


def test_the_class_run_finishes_in_bounded_time_and_memory(graded):
    _, done, _ = graded
    check_bounded(done)


def test_a_students_notes_html_does_not_stop_the_feedback_of_the_class(graded):
    course, done, _ = graded
    assert done["feedback"].returncode == 0, done["feedback"].stdout + done["feedback"].stderr
    assert "Wrote 6 feedback file(s)" in done["feedback"].stdout
    assert (course / "feedback" / "files-extra-notes-html" / "hw3" / "hw3.html").is_file()
    for student in EXPECTED_TOTALS:
        assert (course / "feedback" / student / "hw3" / "hw3.html").is_file()


def test_plain_nbgrader_autograde_refuses_the_same_folders(graded, tmp_path):
    """`nbgrader autograde` (and the formgrader's button) check each folder before copying it."""
    course = copy_course(graded[0], tmp_path)
    shutil.rmtree(course / "autograded")
    run = Runner()
    done = run(course, "autograde", "hw3", "--force", module=["-m", "nbgrader"], limit=LIMITS["autograde"])
    log = done.stdout + done.stderr
    for name, (_, (state, expected)) in FILE_CASES.items():
        if state == "failed" and not glob.glob(os.path.join(glob.escape(str(course)), "submitted", glob.escape(name),
                                                             "hw3", "*.ipynb")):
            assert not (course / "autograded" / name).exists(), name  # nbgrader finds no notebook: skipped
        elif state == "failed":
            assert re.search(rf"Refusing the submission of {re.escape(shown_name(name, 200))}: .*"
                             rf"{re.escape(expected)}", log), name
            assert not (course / "autograded" / name).exists(), name
    for student in EXPECTED_TOTALS:
        assert (course / "autograded" / student / "hw3" / "hw3.ipynb").is_file(), student
    check_nothing_leaked(course, {"autograde": done})
    check_bounded({"autograde": done})


def test_a_crashed_worker_is_failed_not_changed(graded, tmp_path, monkeypatch):
    """A worker that dies (or raises) gives no file hash: the submission must stand as failed."""
    from coursekit.workflow import grade as classgrade
    from coursekit import standing
    from coursekit import records as status

    course = copy_course(graded[0], tmp_path)
    shutil.copytree(course / "submitted" / "sample-partial", course / "submitted" / "crash-victim")
    monkeypatch.setattr(classgrade, "_run", lambda course_root, assignment, students, *rest: iter(
        [classgrade._failure(student, RuntimeError("the worker crashed")) for student in students]))
    classgrade.grade(course, "hw3", students=["crash-victim"], force=True, progress=False)
    now = standing.standings(course, "hw3")["crash-victim"]
    assert (now.state, now.reason) == ("failed", "grading worker failed: RuntimeError: the worker crashed")
    assert now.record["files_hash"] == status.submission_hash(course, "hw3", "crash-victim")
    # a record an earlier version wrote without a hash (never graded before) stands as failed too
    status.record(course, "hw3", "json-source-number", status.FAILED, "grading worker failed: killed", files_hash=None)
    now = standing.standings(course, "hw3")["json-source-number"]
    assert (now.state, now.reason) == ("failed", "grading worker failed: killed")


# ------------------------------------------------------------------ import


def _zip_member(bundle, name, content, mode):
    info = zipfile.ZipInfo(name)
    info.external_attr = mode << 16
    bundle.writestr(info, content)


def build_download(root, release, source):
    """A folder, a zip and a tar of uploads: one honest student in each and the hostile ones.
    Returns (folder, zip, tar, {path in the source: reason}, {student: bytes imported})."""
    honest = (REPO / "samples" / "submitted" / "sample-full-marks" / "hw3" / "hw3.ipynb").read_bytes()
    master = str(REPO / "source" / "hw3" / "hw3.ipynb")
    grader = str(REPO / "grader" / "hw3" / "hw3_checks.py")
    folder = root / "download"
    for student in ("anna", "deep", "meta", "srcnum", "pipe", "zero", "master", "big"):
        (folder / student).mkdir(parents=True)
    (folder / "anna" / "hw3.ipynb").write_bytes(honest)
    os.symlink(master, folder / "master" / "hw3.ipynb")
    os.symlink(grader, folder / "grader_hw3.ipynb")
    os.symlink("/dev/zero", folder / "zero" / "hw3.ipynb")
    os.mkfifo(folder / "pipe" / "hw3.ipynb")
    os.symlink(str(REPO / "source" / "hw3"), folder / "linked")  # a folder link: never entered
    with open(os.path.join(os.fsencode(folder), b"bad\xffname_hw3.ipynb"), "wb") as stream:
        stream.write(honest)  # a name that is not UTF-8 (it would break every line that prints it)
    hostile_files._sparse(folder / "big" / "hw3.ipynb", 200 * 1024 * 1024, b'{"cells": [], "x": "')
    deep = json.loads(honest)
    deep["metadata"]["deep"] = "__DEEP__"
    (folder / "deep" / "hw3.ipynb").write_text(json.dumps(deep).replace('"__DEEP__"', "[" * 5000 + "]" * 5000))
    meta = json.loads(honest)
    meta["metadata"] = ["not", "an", "object"]
    (folder / "meta" / "hw3.ipynb").write_text(json.dumps(meta))
    srcnum = json.loads(honest)
    next(c for c in srcnum["cells"] if c["cell_type"] == "code")["source"] = 5
    (folder / "srcnum" / "hw3.ipynb").write_text(json.dumps(srcnum))
    reasons = {"master/hw3.ipynb": f"a symbolic link (to {master})", "grader_hw3.ipynb": "a symbolic link (to",
               "zero/hw3.ipynb": "a symbolic link (to /dev/zero)", "pipe/hw3.ipynb": "a named pipe",
               "linked": "a symbolic link (to", "big/hw3.ipynb": "too large for a notebook",
               "deep/hw3.ipynb": "not a notebook (its JSON is nested too deeply)",
               "meta/hw3.ipynb": "not a notebook (JSON, but not a notebook",
               "bad\\xffname_hw3.ipynb": "has a name that is not UTF-8 text"}

    archive = root / "download.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as bundle:
        bundle.writestr("zanna_hw3.ipynb", honest)
        _zip_member(bundle, "zlink_hw3.ipynb", master, stat.S_IFLNK | 0o777)
        _zip_member(bundle, "zdev_hw3.ipynb", b"", stat.S_IFCHR | 0o644)
        with bundle.open("zbomb_hw3.ipynb", "w", force_zip64=True) as stream:  # 400 MB of spaces: ~400 kB here
            for _ in range(400):
                stream.write(b" " * (1024 * 1024))
    reasons.update({"zlink_hw3.ipynb": "a symbolic link in the archive", "zdev_hw3.ipynb": "a character device in the archive",
                    "zbomb_hw3.ipynb": "too large for a notebook"})

    tar = root / "download.tar.gz"
    with tarfile.open(tar, "w:gz") as bundle:
        info = tarfile.TarInfo("tanna_hw3.ipynb")
        info.size = len(honest)
        bundle.addfile(info, io.BytesIO(honest))
        for name, kind, target in (("tlink_hw3.ipynb", tarfile.SYMTYPE, master),
                                   ("thard_hw3.ipynb", tarfile.LNKTYPE, "tanna_hw3.ipynb"),
                                   ("tdev_hw3.ipynb", tarfile.CHRTYPE, ""), ("tfifo_hw3.ipynb", tarfile.FIFOTYPE, "")):
            info = tarfile.TarInfo(name)
            info.type, info.linkname = kind, target
            bundle.addfile(info)
    reasons.update({"tlink_hw3.ipynb": "a symbolic link in the archive", "thard_hw3.ipynb": "a hard link in the archive",
                    "tdev_hw3.ipynb": "a device, pipe or other special file", "tfifo_hw3.ipynb": "a device, pipe or other special file"})
    imported = {"anna": honest, "srcnum": (folder / "srcnum" / "hw3.ipynb").read_bytes(), "zanna": honest, "tanna": honest}
    return folder, archive, tar, reasons, imported


def test_import_refuses_links_devices_bombs_and_bad_json_and_imports_the_rest(tmp_path):
    course = Path(grading.new_course(tmp_path / "course", REPO))
    release, source = load_course_notebooks(REPO)
    folder, archive, tar, reasons, imported = build_download(tmp_path, release, source)
    run = Runner()
    done = {}
    for label, path in (("folder", folder), ("zip", archive), ("tar", tar)):
        done[label] = run(course, "import", "hw3", str(path), limit=LIMITS["import"])
        assert done[label].returncode == 1, (label, done[label].stdout, done[label].stderr)
    out = "\n".join(r.stdout for r in done.values())
    for path, reason in reasons.items():
        assert re.search(rf"^  {re.escape(path)}: .*{re.escape(reason)}", out, re.M), (path, reason, out)
    submitted = course / "submitted"
    found = {p.relative_to(submitted).parts[0]: p.read_bytes() for p in submitted.rglob("*") if p.is_file()}
    assert found == imported
    assert not [p for p in submitted.rglob("*") if hostile_files.is_special(p)]
    markers = hostile_files.grader_markers(REPO) + hostile_files.shadow_markers()
    assert not [m for m in markers if any(m in r.stdout + r.stderr for r in done.values())]
    for run_ in done.values():
        assert run_.seconds < LIMITS["import"] and run_.peak_mib < PEAK_MIB, (run_.seconds, run_.peak_mib)
    # the one imported with a malformed part fails alone when graded; the honest ones keep their 95
    grade = run(course, "grade", "hw3", "--jobs", "2", "--quiet", limit=LIMITS["grade"])
    assert re.search(r"FAILED srcnum: not a valid notebook: hw3.ipynb: cell \d+: its source is a number", grade.stdout), \
        grade.stdout
    totals = {s: sum(score for score, _ in cells.values()) for s, cells in grading.cell_scores(course).items()}
    assert {s: totals[s] for s in ("anna", "zanna", "tanna")} == {"anna": 95.0, "zanna": 95.0, "tanna": 95.0}
    report = run(course, "report", "hw3", limit=LIMITS["report"])
    assert report.returncode == 0, report.stderr


# ------------------------------------------------------------------ nbgrader collect


def test_nbgrader_collect_copies_regular_files_only_and_the_refused_fail_with_their_reason(tmp_path):
    course = Path(grading.new_course(tmp_path / "course", REPO))
    honest = REPO / "samples" / "submitted" / "sample-full-marks" / "hw3" / "hw3.ipynb"
    grader = REPO / "grader" / "hw3" / "hw3_checks.py"
    inbound = tmp_path / "exchange" / "hw3-optimization" / "inbound"
    inbound.mkdir(parents=True)
    early, late = "2025-01-01 10:00:00.000000 UTC", "2025-01-02 10:00:00.000000 UTC"

    def submission(student, stamp=early, notebook=True):
        folder = inbound / f"{student}+hw3+{stamp}+r{len(list(inbound.iterdir()))}"
        folder.mkdir()
        if notebook:
            shutil.copy(honest, folder / "hw3.ipynb")
        (folder / "timestamp.txt").write_text(stamp)
        return folder

    submission("alice")
    os.symlink(grader, submission("bob") / "notes.txt")
    os.mkfifo(submission("carol") / "notes.txt")
    os.symlink(grader.parent, submission("dave") / "more")
    os.symlink(grader.parent, inbound / f"frank+hw3+{early}+r9")  # the whole submission is a link
    hostile_files._sparse(submission("hank") / "data.bin", 40 * 1024 * 1024)
    secret = tmp_path / "instructor-only.py"  # a second name of a file the student could not read
    shutil.copy(grader, secret)
    os.link(secret, submission("ivy") / "notes.py")
    os.symlink(grader, submission("erin", early) / "notes.txt")
    submission("erin", late)  # a later, clean submission: that one counts
    (inbound / "gus+hw3+not-a-time+r1").mkdir()  # nbgrader's own collect stops for everyone here
    expected = {"bob": "notes.txt is a symbolic link", "carol": "notes.txt is a named pipe",
                "dave": "more is a symbolic link", "frank": f"frank+hw3+{early}+r9 is a symbolic link",
                "hank": "data.bin is larger than 32 MiB", "ivy": "notes.py is a hard link"}

    run = Runner()
    done = run(course, "collect", "hw3", f"--Exchange.root={tmp_path / 'exchange'}", module=["-m", "nbgrader"],
               limit=LIMITS["collect"])
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Skipping gus+hw3+not-a-time+r1" in done.stderr
    submitted = course / "submitted"
    assert sorted(p.name for p in submitted.iterdir()) == ["alice", "bob", "carol", "dave", "erin", "frank", "hank",
                                                           "ivy"]
    assert not [p for p in submitted.rglob("*") if hostile_files.is_special(p)]
    markers = hostile_files.grader_markers(REPO)
    assert not [p for p in submitted.rglob("*") if p.is_file() and any(m in p.read_text(errors="replace") for m in markers)]
    grade = run(course, "grade", "hw3", "--jobs", "2", "--quiet", limit=LIMITS["grade"])
    table = status_rows(run(course, "status", "hw3", limit=LIMITS["status"]).stdout)
    for student, reason in expected.items():
        assert table[student][0] == "failed" and table[student][2].startswith(f"refused when collected: {reason}"), \
            (student, table[student], grade.stdout)
    assert (table["alice"][:2], table["erin"][:2]) == (("pending", "95"), ("pending", "95"))
    check_bounded({"collect": done, "grade": grade})


@pytest.mark.skipif(os.getuid() != 0, reason="making folders owned by other accounts takes root")
def test_nbgrader_collect_leaves_a_submission_another_account_wrote_in_a_students_name(tmp_path):
    """daemon (a local account) hands in the blank notebook; later nobody writes a folder named for daemon with
    the full-marks one: nbgrader's own collect would take the later as daemon's, the kit's keeps daemon's own."""
    course = Path(grading.new_course(tmp_path / "course", REPO))
    samples = REPO / "samples" / "submitted"
    inbound = tmp_path / "exchange" / "hw3-optimization" / "inbound"
    inbound.mkdir(parents=True)
    for stamp, sample, owner in [("2025-01-01 10:00:00.000000 UTC", "sample-blank", "daemon"),
                                 ("2025-01-02 10:00:00.000000 UTC", "sample-full-marks", "nobody")]:
        folder = inbound / f"daemon+hw3+{stamp}+{owner}"
        folder.mkdir()
        shutil.copy(samples / sample / "hw3" / "hw3.ipynb", folder / "hw3.ipynb")
        (folder / "timestamp.txt").write_text(stamp)
        for path in (folder, folder / "hw3.ipynb", folder / "timestamp.txt"):
            os.chown(path, pwd.getpwnam(owner).pw_uid, -1)
    done = Runner()(course, "collect", "hw3", f"--Exchange.root={tmp_path / 'exchange'}", module=["-m", "nbgrader"],
                    limit=LIMITS["collect"])
    assert done.returncode == 0, done.stdout + done.stderr
    assert "belongs to the account nobody, not to daemon's" in done.stderr
    collected = course / "submitted" / "daemon" / "hw3" / "hw3.ipynb"
    assert collected.read_bytes() == (samples / "sample-blank" / "hw3" / "hw3.ipynb").read_bytes()


# ------------------------------------------------------------------ Gradescope


MASTER_IN_IMAGE = "/autograder/source/course/source/hw3/hw3.ipynb"


def _json_upload(change):
    def make(folder):
        notebook = json.loads((REPO / "samples" / "submitted" / "sample-full-marks" / "hw3" / "hw3.ipynb").read_text())
        (folder / "hw3.ipynb").write_text(change(notebook))
    return make


def _metadata_list(notebook):
    notebook["metadata"] = []
    return json.dumps(notebook)


def _nested(notebook):
    notebook["metadata"]["deep"] = "__DEEP__"
    return json.dumps(notebook).replace('"__DEEP__"', "[" * 5000 + "]" * 5000)


GRADESCOPE_CASES = {
    "notebook-link-to-master": (lambda f: os.symlink(MASTER_IN_IMAGE, f / "hw3.ipynb"),
                                f"hw3.ipynb is a symbolic link (to {MASTER_IN_IMAGE})"),
    "folder-link-to-master": (lambda f: os.symlink(os.path.dirname(MASTER_IN_IMAGE), f / "work"),
                              "work is a symbolic link"),
    "notebook-named-pipe": (lambda f: os.mkfifo(f / "hw3.ipynb"), "hw3.ipynb is a named pipe"),
    "huge-notebook": (lambda f: hostile_files._sparse(f / "hw3.ipynb", 200 * 1024 * 1024, b'{"cells": [], "x": "'),
                      "hw3.ipynb is larger than 20 MiB"),
    "metadata-list": (_json_upload(_metadata_list), "not a valid notebook: hw3.ipynb: its metadata is a list"),
    "nested-5000": (_json_upload(_nested), "nested more than 64 levels deep"),
}


@pytest.mark.parametrize("name", sorted(GRADESCOPE_CASES))
def test_gradescope_upload_that_is_not_a_plain_notebook_gets_0_with_its_reason(autograder_zip, tmp_path, name):
    make, words = GRADESCOPE_CASES[name]
    started = time.monotonic()
    result, done = run_autograder(autograder_zip, tmp_path, {}, make=make)
    assert done.returncode == 0, done.stderr
    assert result["score"] == 0, result
    (test,) = result["tests"]
    assert test["status"] == "failed" and test["max_score"] == 95 and words in test["output"], test["output"]
    assert not [m for m in hostile_files.grader_markers(REPO) if m in json.dumps(result)]
    assert time.monotonic() - started < 120


# ------------------------------------------------------------------ as an unprivileged account


def _reachable_by(user, path):
    done = subprocess.run(["setpriv", f"--reuid={user}", f"--regid={user}", "--init-groups", "test", "-x", str(path)])
    return done.returncode == 0


@pytest.fixture(scope="module")
def unprivileged(tmp_path_factory):
    """A system account (made here, removed at the end) and an environment it can run: this test's
    interpreter (bind-mounted read-only where the account cannot reach it, e.g. under /root) with a venv
    whose site-packages is this one's."""
    if os.geteuid() != 0:
        pytest.skip("not root: this whole module already ran as an unprivileged user")
    if not shutil.which("setpriv") or not shutil.which("useradd"):
        pytest.skip("setpriv or useradd is missing (util-linux, passwd)")
    root = tmp_path_factory.mktemp("unprivileged")
    os.chmod(root, 0o755)
    for parent in root.parents:  # the account must reach the course (pytest's own folders are 0700)
        if str(parent).startswith((tempfile.gettempdir() + "/", "/tmp/", "/var/tmp/")) and parent.stat().st_uid == 0:
            os.chmod(parent, parent.stat().st_mode | 0o711)
    created = False
    try:
        pwd.getpwnam(USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "--comment",
                        "coursekit test (tests/test_hostile_files.py)", USER], check=True)
        created = True
    mounts = []

    def reach(path, name, probe=None):
        """``path`` as the account can reach it: itself, or bind-mounted read-only under ``root`` (an
        interpreter under /root, a checkout in a folder only its owner may enter, as CI's clone is)."""
        if _reachable_by(USER, probe or path):
            return Path(path)
        target = root / name
        target.mkdir()
        subprocess.run(["mount", "--bind", str(path), str(target)], check=True)
        mounts.append(target)
        subprocess.run(["mount", "-o", "remount,bind,ro", str(target)], check=True)
        return target

    try:
        python_name = f"python{sys.version_info.major}.{sys.version_info.minor}"
        base = reach(sys.base_prefix, "python", Path(sys.base_prefix) / "bin" / python_name)
        environment = reach(sys.prefix, "environment", Path(sys.prefix) / "lib")
        checkout = reach(REPO, "checkout", REPO / "coursekit")
        venv = root / "venv"
        subprocess.run([str(base / "bin" / python_name), "-m", "venv", "--without-pip", str(venv)], check=True,
                       env=dict(os.environ, LD_LIBRARY_PATH=str(base / "lib")))
        site = venv / "lib" / python_name / "site-packages"
        shutil.rmtree(site)
        os.symlink(environment / "lib" / python_name / "site-packages", site)
        for folder in ("share", "etc"):
            if (environment / folder).is_dir():
                os.symlink(environment / folder, venv / folder)
        alembic = venv / "bin" / "alembic"
        alembic.write_text(f"#!{venv / 'bin' / 'python'}\nimport sys\nfrom alembic.config import main\nsys.exit(main())\n")
        alembic.chmod(0o755)
        home = root / "home"
        home.mkdir()
        course = build_course(root)
        subprocess.run(["chown", "-R", f"{USER}:", str(home), str(course)], check=True)
        run = Runner(python=str(venv / "bin" / "python"), user=USER,
                     env={"HOME": str(home), "LD_LIBRARY_PATH": str(base / "lib"),
                          "PYTHONPATH": str(checkout)})  # this checkout's kit, whichever the environment installed
        released = run(course, "release", "hw3", limit=300)
        assert released.returncode == 0, released.stdout + released.stderr
        yield course, grade_the_class(course, run), run
    finally:
        for target in reversed(mounts):
            subprocess.run(["umount", "-l", str(target)], check=False)
        if created:
            subprocess.run(["userdel", USER], check=False)


def test_as_an_unprivileged_account_the_same_guarantees_hold(unprivileged):
    course, done, run = unprivileged
    assert all(user_run.returncode in (0, 1) for _, user_run in run.runs), [(c, r.stderr) for c, r in run.runs]
    check_outcomes(course, done)
    check_nothing_leaked(course, done)
    check_bounded(done)
    assert "Wrote 6 feedback file(s)" in done["feedback"].stdout, done["feedback"].stderr
    scores = grading.cell_scores(course)
    for student, total in EXPECTED_TOTALS.items():
        assert sum(score for score, _ in scores[student].values()) == total, student


# ------------------------------------------------------------------ feedback: one student's page fails alone


def test_one_students_page_that_fails_its_check_is_left_out_alone(tmp_path):
    from coursekit import studenthtml
    from coursekit.workflow import feedback

    staging = ".coursekit-feedback-1"
    head = f"<head>{studenthtml.STATIC_PAGE_CSP_META}</head>"
    pages = {"good": f"<html>{head}<mjx-container>x</mjx-container></html>",
             "bad": f"<html>{head}<mjx-container>x</mjx-container><script src='x'></script></html>"}
    for student, page in pages.items():
        folder = tmp_path / staging / student / "hw3"
        folder.mkdir(parents=True)
        (folder / "hw3.html").write_text(page)
        (folder / "notes.html").write_text("<script src='x'></script>")  # the student's own file: not a page
    written, unwritten = feedback._promote_pages(str(tmp_path), staging, "hw3", ["good", "bad"], ["hw3.html"])
    assert [Path(p).relative_to(tmp_path) for p in written] == [Path("feedback/good/hw3/hw3.html")]
    assert unwritten == {"bad": "does not hold its Content-Security-Policy (or loads a script)"}
    assert (tmp_path / "feedback" / "good" / "hw3" / "notes.html").is_file()
    (tmp_path / staging / "good" / "hw3").mkdir(parents=True)  # no page for anyone: the class's problem
    with pytest.raises(feedback.NbgraderError, match="was not written by nbgrader"):
        feedback._promote_pages(str(tmp_path), staging, "hw3", ["good"], ["hw3.html"])


def test_nbgraders_log_names_the_students_whose_feedback_failed():
    from coursekit.workflow import feedback

    log = ("[GenerateFeedbackApp | ERROR] There was an error processing assignment: /c/autograded/bob/hw3\n"
           "Traceback (most recent call last):\n  ...\ncoursekit.feedback.MathsRenderError: feedback maths: MathJax "
           "took more than 120 s on one page\n"
           "[GenerateFeedbackApp | ERROR] There was an error processing assignment 'hw3' for student 'bob'\n")
    assert feedback._failed_students(log, ["alice", "bob"]) == {
        "bob": "nbgrader failed: MathsRenderError: feedback maths: MathJax took more than 120 s on one page"}
