"""The hostile-files corpus (issue 19, classes 2 and 3): submission folders that are not what they seem,
and notebooks whose JSON is not what a reader expects. Each case writes one student's
``submitted/<student>/hw3/`` (or, for ``IMPORT_CASES``, a student's folder of a download) and states the
outcome it must get: ``("graded", total)`` or ``("failed", text the reason holds)``.

Class 2, the folder: every case's notebook is the full-marks answer with ``LEAK_PROBE`` in its first
answer cell, which prints every file beside the notebook as the student's worker sees it. Were a link
followed, the target's bytes (``grader/hw3/hw3_checks.py``, ``/etc/shadow``) would be in that output, the
autograded notebook, the feedback page: the tests look for them in every output. Class 3, the JSON: a
notebook of the right name whose parts have the wrong types, nest thousands of levels deep, or hold text
no file can.
"""
import json
import os
import socket
import stat
from pathlib import Path

import nbformat

from homework3.samples import SAMPLE_STUDENTS
from coursekit.submissions import build_submission

FULL = SAMPLE_STUDENTS["sample-full-marks"]
GRADER_FILE = "../../../grader/hw3/hw3_checks.py"  # from submitted/<student>/hw3/ to the course's grader/
MASTER = "../../../source/hw3/hw3.ipynb"
SHADOW = "/etc/shadow"

LEAK_PROBE = """import os as _os
for _name in sorted(_os.listdir('.')):
    try:
        with open(_name, 'rb') as _stream:
            print('PROBE', _name, _stream.read(100000).decode('utf-8', 'replace'))
    except Exception as _error:
        print('PROBE', _name, type(_error).__name__)
"""


def probe_notebook(release, source, answers=FULL):
    """The full-marks submission with the leak probe run at the end of exercise 1's answer."""
    notebook = build_submission(release, source, answers)
    for cell in notebook.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "ex01-answer":
            cell.source = cell.source + "\n" + LEAK_PROBE
    return notebook


def _write_notebook(folder, release, source, name="hw3.ipynb"):
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(probe_notebook(release, source), folder / name)


def _beside(make):
    """The probe notebook, and ``make(folder)`` beside it."""
    def build(folder, release, source):
        _write_notebook(folder, release, source)
        make(folder)
    return build


def _link(name, target):
    return _beside(lambda folder: os.symlink(target, folder / name))


def _fifo(folder, name="notes.txt"):
    os.mkfifo(folder / name)


def _socket(folder):
    here = os.getcwd()
    os.chdir(folder)  # a socket's path is limited to ~107 bytes: bind by a short relative name
    try:
        server = socket.socket(socket.AF_UNIX)
        server.bind("notes.sock")
        server.close()
    finally:
        os.chdir(here)


def _sparse(path, size, prefix=b""):
    with open(path, "wb") as stream:
        stream.write(prefix)
        stream.truncate(size)


def _many(folder, count=600):
    for number in range(count):
        (folder / f"note-{number:04d}.txt").write_text("x")


def _deep_folders(folder, depth=10):
    path = folder
    for number in range(depth):
        path = path / f"d{number}"
    path.mkdir(parents=True)
    (path / "deep.txt").write_text("deep")


def _odd_name(name):
    def make(folder):
        with open(os.path.join(os.fsencode(folder), name if isinstance(name, bytes) else os.fsencode(name)),
                  "wb") as stream:
            stream.write(b"odd name")
    return _beside(make)


def _notebook_link(target):
    def build(folder, release, source):
        folder.mkdir(parents=True)
        os.symlink(target, folder / "hw3.ipynb")
    return build


def _folder_link(target):
    """submitted/<student>/hw3 itself is a link (to the grader's folder)."""
    def build(folder, release, source):
        folder.parent.mkdir(parents=True)
        os.symlink(target, folder)
    return build


def _student_link(target):
    """submitted/<student> is a link to a folder that has hw3/ in it (the grader's folder)."""
    def build(folder, release, source):
        os.symlink(target, folder.parent)
    return build


def _fifo_notebook(folder, release, source):
    folder.mkdir(parents=True)
    os.mkfifo(folder / "hw3.ipynb")


def _big_notebook(folder, release, source):
    """A notebook of 200 MB whose last part is one string (sparse on disk: it must never be read)."""
    folder.mkdir(parents=True)
    _sparse(folder / "hw3.ipynb", 200 * 1024 * 1024,
            b'{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [], "x": "')


def _extra_files(folder):
    (folder / "notes.txt").write_text("my own notes\n")
    (folder / "data").mkdir()
    (folder / "data" / "values.csv").write_text("1,2,3\n")


# ------------------------------------------------------------------ class 3: the JSON


def _json_case(change):
    """The full-marks notebook (as JSON, no probe needed) changed by ``change(dict)``; or raw text."""
    def build(folder, release, source):
        folder.mkdir(parents=True)
        notebook = json.loads(nbformat.writes(build_submission(release, source, FULL)))
        result = change(notebook)
        text = result if isinstance(result, (str, bytes)) else json.dumps(notebook)
        (folder / "hw3.ipynb").write_bytes(text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass"))
    return build


def _cell(notebook, grade_id):
    return next(c for c in notebook["cells"] if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id)


def _set(path_of, value):
    def change(notebook):
        target, key = path_of(notebook)
        target[key] = value
    return change


def _deep(levels):
    def change(notebook):
        notebook["metadata"]["deep"] = "__DEEP__"
        return json.dumps(notebook).replace('"__DEEP__"', "[" * levels + "]" * levels)
    return change


def _lone_surrogate(notebook):
    markdown = next(c for c in notebook["cells"] if c["cell_type"] == "markdown")
    markdown["source"] = "A lone surrogate: \ud800"
    return json.dumps(notebook)  # ensure_ascii: written as the escape \ud800


FILE_CASES = {
    # class 2: the submission folder
    "files-link-to-grader": (_link("notes.txt", GRADER_FILE), ("failed", "refused: notes.txt is a symbolic link")),
    "files-link-to-shadow": (_link("notes.txt", SHADOW), ("failed", "refused: notes.txt is a symbolic link (to /etc/shadow)")),
    "files-link-to-dev-zero": (_link("data.bin", "/dev/zero"), ("failed", "refused: data.bin is a symbolic link (to /dev/zero)")),
    "files-notebook-link-to-master": (_notebook_link(MASTER), ("failed", "refused: hw3.ipynb is a symbolic link")),
    "files-folder-link-to-grader": (_folder_link("../../grader/hw3"), ("failed", "is a symbolic link (to ../../grader/hw3)")),
    "files-student-link-to-grader": (_student_link("../grader"), ("failed", "is a symbolic link (to ../grader)")),
    "files-named-pipe": (_beside(_fifo), ("failed", "refused: notes.txt is a named pipe")),
    "files-notebook-named-pipe": (_fifo_notebook, ("failed", "refused: hw3.ipynb is a named pipe")),
    "files-socket": (_beside(_socket), ("failed", "refused: notes.sock is a socket")),
    "files-large-file": (_beside(lambda f: _sparse(f / "data.bin", 40 * 1024 * 1024)),
                         ("failed", "refused: data.bin is larger than 32 MiB")),
    "files-many-files": (_beside(_many), ("failed", "refused: the submission holds more than 500 files and folders")),
    "files-deep-folders": (_beside(_deep_folders), ("failed", "is nested more than 8 folders deep")),
    "files-name-escape": (_odd_name("notes\x1b[31m.txt"), ("failed", "has a name with control or invisible characters")),
    "files-name-not-utf8": (_odd_name(b"notes\xff.txt"), ("failed", "refused: notes\\xff.txt has a name that is not UTF-8 text")),
    "files-name-bidi": (_odd_name("notes\u202etxt.exe"), ("failed", "has a name with control or invisible characters")),
    # a student folder unpacked into submitted/ by hand whose name would garble the terminal
    "files-student-\x1b[2Jname": (_beside(lambda folder: None), ("failed", "has a name with control or invisible characters")),
    # a student folder whose name is not UTF-8: left out, and named, by grade and status
    os.fsdecode(b"files-student-\xffname"): (_beside(lambda folder: None), ("left out", "files-student-\\xffname")),
    # regular files beside the notebook are the student's own: graded, and the feedback of all is written
    "files-extra-notes-html": (_beside(lambda f: (f / "notes.html").write_text(
        '<html><script src="https://example.org/x.js"></script>my notes</html>')), ("graded", 95.0)),
    "files-extra-regular-files": (_beside(_extra_files), ("graded", 95.0)),
    # class 3: the JSON
    "json-huge-string": (_big_notebook, ("failed", "refused: hw3.ipynb is larger than 20 MiB")),
    "json-metadata-list": (_json_case(_set(lambda nb: (nb, "metadata"), [1, 2])),
                           ("failed", "not a valid notebook: hw3.ipynb: its metadata is a list")),
    "json-cell-metadata-list": (_json_case(_set(lambda nb: (_cell(nb, "ex03-layer"), "metadata"), ["x"])),
                                ("failed", "its metadata is a list, not an object")),
    "json-nbgrader-metadata-text": (_json_case(_set(lambda nb: (_cell(nb, "ex03-layer")["metadata"], "nbgrader"), "x")),
                                    ("failed", "its nbgrader metadata is text, not an object")),
    "json-grade-id-object": (_json_case(_set(lambda nb: (_cell(nb, "ex02-answer")["metadata"]["nbgrader"], "grade_id"),
                                             {"a": 1})), ("failed", "its nbgrader grade_id is an object")),
    "json-source-number": (_json_case(_set(lambda nb: (_cell(nb, "ex02-answer"), "source"), 5)),
                           ("failed", "its source is a number, not text")),
    "json-source-list-of-numbers": (_json_case(_set(lambda nb: (_cell(nb, "ex02-answer"), "source"), [1, 2])),
                                    ("failed", "its source is a list, not text")),
    "json-outputs-text": (_json_case(_set(lambda nb: (_cell(nb, "ex02-answer"), "outputs"), "none")),
                          ("failed", "its outputs are text, not a list")),
    "json-output-text-object": (_json_case(_set(lambda nb: (_cell(nb, "ex02-answer"), "outputs"),
                                                [{"output_type": "stream", "name": "stdout", "text": {"a": 1}}])),
                                ("failed", "output 0: its text is an object, not text")),
    "json-cells-object": (_json_case(_set(lambda nb: (nb, "cells"), {"0": {}})), ("failed", "its cells are an object")),
    "json-cell-text": (_json_case(lambda nb: nb["cells"].insert(0, "a cell")), ("failed", "cell 0: it is text")),
    "json-nbformat-text": (_json_case(_set(lambda nb: (nb, "nbformat"), "4")), ("failed", 'its nbformat is "4"')),
    "json-nested-5000": (_json_case(_deep(5000)), ("failed", "nested more than 64 levels deep")),
    "json-nested-200": (_json_case(_deep(200)), ("failed", "nested more than 64 levels deep")),
    "json-lone-surrogate": (_json_case(_lone_surrogate), ("failed", "not valid Unicode (a lone surrogate)")),
}


def write_case(course, student, case, release, source):
    """Write ``case`` as submitted/<student>/hw3/ of ``course``."""
    folder = Path(course) / "submitted" / student / "hw3"
    case(folder, release, source)
    return folder


def grader_markers(repo):
    """Lines of grader/hw3/hw3_checks.py that are code (no string literal a message could quote) and are
    nowhere in what students or the instructor's outputs legitimately hold: if any shows up in an output,
    a grader file got through."""
    repo = Path(repo)
    text = (repo / "grader" / "hw3" / "hw3_checks.py").read_text()
    public = "".join(path.read_text(errors="replace") for folder in ("release", "source", "samples")
                     for path in (repo / folder).rglob("*") if path.is_file())
    return sorted({line.strip() for line in text.splitlines()
                   if len(line.strip()) >= 30 and '"' not in line and "'" not in line
                   and not line.strip().startswith("#") and line.strip() not in public})


def shadow_markers():
    """Lines of /etc/shadow (when this user can read it), the other secret a link may name."""
    try:
        lines = Path(SHADOW).read_text().splitlines()
    except OSError:
        return []
    return [line for line in lines if len(line) >= 8]


def is_special(path):
    mode = os.lstat(path).st_mode
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))
