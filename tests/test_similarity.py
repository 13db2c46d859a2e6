"""The similarity report: a class written by hand (tests/similarity_class.py) where ben copied ana and
disguised it, and five students solved the same exercises independently. Only the copied pair is
flagged; the CSV and the report's section show both answers with the shared regions marked."""
import csv
import os
import shutil
from pathlib import Path

import pytest

from coursekit import gradebook as grading
from coursekit.reports import similarity
from coursekit.reports.report import build_report
from coursekit.submissions import write_submission

import similarity_class

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """A course (source/ and release/ of the repository) whose submitted/ holds the hand-written class,
    two sample students and a notebook that is not JSON."""
    root = tmp_path_factory.mktemp("similar") / "course"
    for folder in ("source", "release", "grader"):
        shutil.copytree(REPO / folder, root / folder)
    shutil.copy(REPO / "nbgrader_config.py", root)
    for student, notebook in similarity_class.notebooks(REPO).items():
        write_submission(root, student, notebook)
    for sample in ("sample-full-marks", "sample-blank"):
        shutil.copytree(REPO / "samples" / "submitted" / sample, root / "submitted" / sample)
    (root / "submitted" / "broken" / "hw3").mkdir(parents=True)
    (root / "submitted" / "broken" / "hw3" / "hw3.ipynb").write_text('{"cells": [ oops')
    return root


@pytest.fixture(scope="module")
def result(course):
    return similarity.class_similarity(course)


def test_the_disguised_copy_is_flagged(result):
    flagged = [(p.first, p.second) for p in result.flagged]
    assert flagged == [similarity_class.COPIED_PAIR]
    pair = result.flagged[0]
    assert min(pair.similarity) >= result.threshold


def test_independent_solutions_are_not_flagged(result):
    independent = [p for p in result.pairs if (p.first, p.second) != similarity_class.COPIED_PAIR]
    compared = {name for p in independent for name in (p.first, p.second)}
    assert {"cara", "dev", "eli", "fay"} <= compared
    assert independent and all(not p.flagged(result.threshold, result.min_shared) for p in independent)
    # they do share something (answers to the same exercise), just not enough
    assert any(p.shared > 0 for p in independent if {p.first, p.second} <= {"cara", "dev", "eli", "fay"})


def test_disguises_do_not_lower_the_copy_below_independent_pairs(result):
    copied = result.flagged[0].score
    assert all(copied > 1.5 * p.score for p in result.pairs if p is not result.flagged[0])


def test_only_answer_cells_count_and_boilerplate_is_ignored(result):
    skipped = " ".join(result.skipped)
    # the release itself and the master's solution have no code of their own
    assert "sample-blank: not compared" in skipped and "sample-full-marks: not compared" in skipped
    assert "broken: hw3.ipynb not compared, the notebook cannot be read" in skipped
    for text in result.answers.values():
        assert "# --- ex01-answer" in text and "public_tests" not in text  # no test or given cell


def test_answer_cells_are_the_masters_solution_cells(course):
    (_, _, source), = similarity.assignment_notebooks(course, "hw3")[0]
    assert similarity.answer_ids(source) == [f"ex{n:02d}-answer" for n in range(1, 12)]  # no given cell, no test cell, no markdown


def test_boilerplate_is_what_keeps_independent_students_apart(course, result):
    """Without the skeleton and the expected solution as boilerplate, every pair looks alike."""
    notebooks, _ = similarity.assignment_notebooks(course, "hw3")
    documents, _ = similarity.class_answers(course, "hw3", notebooks)
    bare = similarity.compare({s: documents[s] for s in ("cara", "dev", "eli", "fay")}, "")
    assert all(p.flagged(result.threshold, result.min_shared) for p in bare.pairs)


def test_csv_lists_flagged_pairs_side_by_side_with_marks(course, result, tmp_path):
    path = similarity.write_csv(result, str(tmp_path / "similarity.csv"))
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert "reason to look, not a verdict" in rows[0][0] and f"{result.threshold:.2f}" in rows[0][0]
    header, body = rows[1], rows[2:]
    assert header[:2] == ["student_a", "student_b"] and "answers_a" in header and "answers_b" in header
    assert len(body) == 1
    record = dict(zip(header, body[0]))
    assert (record["student_a"], record["student_b"]) == similarity_class.COPIED_PAIR
    assert float(record["threshold"]) == result.threshold
    for side in ("answers_a", "answers_b"):
        assert record[side].count(similarity.MARK_START) >= 5
        assert record[side].count(similarity.MARK_START) == record[side].count(similarity.MARK_END)
    assert "_gaussian_block" in record["answers_a"] and "make_weights" in record["answers_b"]


def test_report_has_the_similarity_section(course):
    grading.nbgrader(course, "generate_assignment", "hw3", "--force")  # the report needs hw3 in a gradebook
    output = build_report(str(course), "hw3")
    page = Path(output).read_text(encoding="utf-8")
    section = page[page.index('id="similarity"'):]
    assert "reason to look, not a verdict" in section
    assert f"{similarity.THRESHOLD:.2f}" in section
    assert 'href="#pair-1">ana – ben' in section
    assert section.count("<mark>") >= 10
    assert "make_weights" in section and "_gaussian_block" in section
    assert os.path.isfile(Path(output).parent / "similarity.csv")
