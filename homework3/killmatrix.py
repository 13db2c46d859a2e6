"""Grade the mutation catalogue (homework3/catalogue.py) through real nbgrader and print its kill matrix.

Each catalogue entry is a submission and the list of grade cells it must lose. A *missed mistake* is
a grade cell that should score 0 but scored points; a *false fail* is a grade cell that should score
full points but did not. Both must be 0 for the hidden tests to be exact and fair.
"""
import os
import tempfile
import time

from coursekit import gradebook as grading
from coursekit.submissions import build_submission, load_course_notebooks, write_submission
from homework3 import catalogue
from homework3.samples import ASSIGNMENT, NOTEBOOK


def write_catalogue(course_root, destination, entries):
    release, source = load_course_notebooks(course_root, ASSIGNMENT, NOTEBOOK)
    for name, (answers, _) in entries.items():
        write_submission(destination, name, build_submission(release, source, answers), ASSIGNMENT, NOTEBOOK)


def verdicts(entries, scores, grade_cells):
    """{name: {cell: (score, max, expected_zero, ok)}} and the counts of missed mistakes and false fails."""
    table, missed, false_fails = {}, 0, 0
    for name, (_, loses) in entries.items():
        row = {}
        for cell in grade_cells:
            score, max_score = scores.get(name, {}).get(cell, (0.0, None))
            should_lose = cell in loses
            ok = (score == 0) if should_lose else (max_score is not None and score == max_score)
            missed += should_lose and not ok
            false_fails += (not should_lose) and not ok
            row[cell] = (score, max_score, should_lose, ok)
        table[name] = row
    return table, missed, false_fails


def format_matrix(table, grade_cells):
    short = [cell.split("-", 1)[0] + ("b" if cell in ("ex02-relu-derivative", "ex06-network-backward") else "")
             for cell in grade_cells]
    width = max(len(name) for name in table)
    lines = [f"{'submission':<{width}} " + " ".join(f"{s:>5}" for s in short)]
    for name, row in table.items():
        cells = []
        for cell in grade_cells:
            score, _, should_lose, ok = row[cell]
            mark = "" if ok else ("!MISS" if should_lose else "!FAIL")
            cells.append(f"{mark or format(score, 'g'):>5}")
        lines.append(f"{name:<{width}} " + " ".join(cells))
    return "\n".join(lines)


def main(course_root, jobs=2):
    entries = catalogue.entries()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="hw3-kill-matrix-") as workdir:
        course = grading.new_course(os.path.join(workdir, "course"), course_root, ASSIGNMENT)
        write_catalogue(course_root, course, entries)
        grading.autograde(course, entries, jobs=jobs, assignment=ASSIGNMENT)
        scores = grading.cell_scores(course, ASSIGNMENT)
    table, missed, false_fails = verdicts(entries, scores, catalogue.ALL_GRADE_CELLS)
    print(format_matrix(table, catalogue.ALL_GRADE_CELLS))
    print(f"\n{len(entries)} submissions ({sum(n.startswith('wrong-') for n in entries)} wrong, "
          f"{sum(n.startswith('right-') for n in entries)} right in other styles, "
          f"{sum(n.startswith('only-') for n in entries)} one exercise only), graded in "
          f"{time.perf_counter() - started:.0f} s with {jobs} nbgrader processes.")
    print(f"Missed mistakes: {missed}. False fails: {false_fails}.")
    return 0 if missed == 0 and false_fails == 0 else 1
