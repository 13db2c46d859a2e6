"""Variants: with ``c.GradeInSandbox.variants``, the hidden checks that draw their inputs from
``checklib.variant(seed)`` draw other inputs for each attempt, decided by the submitted files, so that what one
attempt's feedback shows does not answer the next, and a regrade of the same files gives the same verdict."""
import os
import re
import shutil
import tempfile
from pathlib import Path

import nbformat
import numpy as np
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from homework3.samples import EXPECTED_TOTALS
from isograde import checklib
from isograde.assignment import Assignment
from isograde.grading import Limits, NotebookGrader, Timings
from isograde.variants import attempt_variant
from isograde.zygote import Zygote

INFO = {"student": "ana", "assignment": "a", "notebook": "n"}


def test_variant_is_the_seed_itself_outside_the_grader_and_another_number_per_attempt_in_it(monkeypatch):
    assert checklib.VARIANT is None and checklib.variant(7) == 7  # the instructor's kernel, stock nbgrader
    monkeypatch.setattr(checklib, "VARIANT", "first")
    first = [checklib.variant(seed) for seed in (7, 8)]
    assert first == [checklib.variant(7), checklib.variant(8)] and first[0] != first[1]
    assert all(0 <= seed < 2**31 for seed in first)
    monkeypatch.setattr(checklib, "VARIANT", "second")
    assert checklib.variant(7) not in (7, first[0])


def handed_in(folder, files):
    """``folder`` holding exactly ``files`` ({name: bytes}); returns it."""
    shutil.rmtree(folder, ignore_errors=True)
    for name, content in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(content)
    return folder


def test_an_attempts_variant_is_decided_by_every_file_handed_in_and_the_courses_key(tmp_path):
    files = {"n.ipynb": b'{"cells": []}', "timestamp.txt": b"2026-12-08 10:00:00 UTC"}
    variant = attempt_variant("key", INFO, handed_in(tmp_path / "a", files))
    assert variant == attempt_variant("key", INFO, handed_in(tmp_path / "b", files))  # a regrade of the same files
    others = {attempt_variant("key", INFO, handed_in(tmp_path / "c", dict(files, **{"n.ipynb": b'{"cells": [] }'}))),
              attempt_variant("key", INFO, handed_in(tmp_path / "d", dict(files, **{"timestamp.txt": b"10:05"}))),
              attempt_variant("key", INFO, handed_in(tmp_path / "e", dict(files, **{".answers.json": b"[1]"}))),
              attempt_variant("key", INFO, handed_in(tmp_path / "f", dict(files, **{"data/answers.json": b"[2]"}))),
              attempt_variant("other key", INFO, tmp_path / "a"),
              attempt_variant("key", dict(INFO, student="bo"), tmp_path / "a"),
              attempt_variant("key", INFO, None)}
    assert variant not in others and len(others) == 7
    (tmp_path / "g").mkdir()
    os.symlink("/etc/passwd", tmp_path / "g" / "n.ipynb")  # counted by what it names, never followed
    os.mkfifo(tmp_path / "g" / "timestamp.txt")  # and a pipe by its kind: nothing blocks
    assert attempt_variant("key", INFO, tmp_path / "g") not in others | {variant}


# A small assignment of its own: f doubles x; its hidden check draws x from checklib.variant and, failing,
# shows the expected values (as homework 3's checks do), which a student could copy into the next attempt.
CHECK = """import numpy as np
import checklib as cl
x = np.random.RandomState(cl.variant(5)).randn(3)
side = cl.student_side(f)
cl.check_array(1, "f(x)", side.fetch(cl.run(1, "f(x)", f, x)), 2 * x, "f doubles x.")"""


def meta(grade_id, grade, solution):
    return {"nbgrader": {"grade": grade, "solution": solution, "grade_id": grade_id, "locked": grade,
                         "points": 1, "schema_version": 3}}


def cells(answer):
    """The notebook's cells (with fixed ids: nbformat draws a random one for each new cell)."""
    made = [new_code_cell("import numpy as np", metadata=meta("given", False, False)),
            new_code_cell(answer, metadata=meta("answer", False, True)),
            new_code_cell(CHECK, metadata=meta("check", True, False))]
    for cell in made:
        cell.id = cell.metadata.nbgrader.grade_id
    return made


@pytest.fixture(scope="module")
def course():
    root = Path(tempfile.mkdtemp())
    (root / "source" / "a").mkdir(parents=True)
    nbformat.write(new_notebook(cells=cells("def f(x):\n    return 2 * x")), root / "source" / "a" / "n.ipynb")
    zygote = Zygote(sandboxed=True, secrets=[])
    yield root, Assignment(root, "a", "n"), zygote
    zygote.close()
    shutil.rmtree(root)


def check_output(course, answer, stamp=b"2026-12-08 10:00:00 UTC", variant=None):
    """The check cell's error text (empty: passed) for a submission whose answer cell is ``answer``, graded as
    GradeInSandbox grades it: the variant from the submitted bytes, unless ``variant`` is given."""
    root, assignment, zygote = course
    notebook = new_notebook(cells=cells(answer))
    submitted = nbformat.writes(notebook).encode()
    folder = root / "autograded" / "ana" / "a"
    folder.mkdir(parents=True, exist_ok=True)
    handed = handed_in(root / "submitted" / "ana" / "a", {"n.ipynb": submitted, "timestamp.txt": stamp})
    assignment.modules.load("checklib").VARIANT = variant or attempt_variant("key", INFO, handed)
    graded = nbformat.reads(submitted.decode(), as_version=4)
    NotebookGrader(assignment, zygote, str(folder), Limits(cell_timeout=20, check_timeout=20), Timings()) \
        .grade(graded, None)
    return "".join("\n".join(o.get("traceback", [])) for o in graded.cells[2].outputs if o.output_type == "error")


def shown_values(message, which):
    line = re.search(rf"{which}: \[([^\]]*)\]", re.sub(r"\x1b\[[0-9;]*m", "", message)).group(1)
    return [float(value) for value in line.replace(",", " ").split()]


def test_the_same_wrong_notebook_sent_twice_is_checked_on_other_inputs_and_a_regrade_repeats_each(course):
    wrong = "def f(x):\n    return x + 1"
    first, second = check_output(course, wrong), check_output(course, wrong, stamp=b"2026-12-08 10:05:00 UTC")
    assert "wrong values" in first and "wrong values" in second
    assert shown_values(first, "expected") != shown_values(second, "expected")
    assert check_output(course, wrong) == first


def test_a_notebook_that_hard_codes_what_the_last_feedback_showed_gains_nothing(course):
    wrong = "def f(x):\n    return x + 1"
    first = check_output(course, wrong)
    expected = shown_values(first, "expected")  # what the first attempt's feedback showed
    copied = f"import numpy as np\ndef f(x):\n    return np.array({expected!r})"
    root, assignment, zygote = course
    first_variant = attempt_variant("key", INFO, handed_in(root / "first", {
        "n.ipynb": nbformat.writes(new_notebook(cells=cells(wrong))).encode(), "timestamp.txt": b"2026-12-08 10:00:00 UTC"}))
    # the copied answer is right for the first attempt's inputs (the preview shows every value, to 8 digits) ...
    assert check_output(course, copied, variant=first_variant) == ""
    # ... but it is a notebook of its own, checked on inputs of its own
    assert "wrong values" in check_output(course, copied)
    assert check_output(course, "def f(x):\n    return 2 * x") == ""  # the right answer passes on any
    assert np.isfinite(expected).all()


# Homework 3 itself, through the kit's grade: its hidden checks draw every input through checklib.variant.
REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "samples" / "submitted" / "sample-typical-mistakes" / "hw3"


def graded_checks(course):
    """{grade id: the error a test cell ended with} of ana's autograded homework 3, and her score."""
    from nbgrader.api import Gradebook

    notebook = nbformat.read(course / "autograded" / "ana" / "hw3" / "hw3.ipynb", as_version=4)
    errors = {cell.metadata.nbgrader.grade_id: "\n".join(o.get("evalue", "") for o in cell.outputs
                                                          if o.output_type == "error")
              for cell in notebook.cells
              if cell.cell_type == "code" and cell.get("metadata", {}).get("nbgrader", {}).get("grade")}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        return {k: v for k, v in errors.items() if v}, gradebook.find_submission("hw3", "ana").score


def test_homework_3_sent_twice_unchanged_is_checked_on_other_inputs_for_the_same_score(tmp_path):
    from commands import ok
    from coursekit import gradebook as grading

    course = grading.new_course(tmp_path / "course", REPO)
    folder = course / "submitted" / "ana" / "hw3"
    folder.mkdir(parents=True)
    shutil.copy(SAMPLE / "hw3.ipynb", folder / "hw3.ipynb")
    attempts = {}
    for attempt, stamp in (("first", "2026-12-08 10:00:00.000000 UTC"), ("second", "2026-12-08 10:05:00.000000 UTC"),
                           ("first again", "2026-12-08 10:00:00.000000 UTC")):
        (folder / "timestamp.txt").write_text(stamp)
        ok(course, "grade", "hw3", "--force", "--quiet")
        attempts[attempt] = graded_checks(course)
    (first, first_score), (second, second_score) = attempts["first"], attempts["second"]
    assert first_score == second_score == EXPECTED_TOTALS["sample-typical-mistakes"]  # the same mistakes cost the same on any inputs
    assert first.keys() == second.keys() and first
    changed = [grade_id for grade_id in first if first[grade_id] != second[grade_id]]
    assert len(changed) >= len(first) // 2, (first, second)  # the values shown are other values
    assert attempts["first again"] == attempts["first"]  # a regrade of the first attempt repeats it
