"""Notebooks for the fidelity fixtures: master notebooks written as lists of cells, and submissions built
from a release by filling its answer cells by grade id (nbformat, no committed student notebooks)."""
import copy
import re

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

SOLUTION = "<the master's solution>"  # an answer: the master notebook's solution, markers removed
SKIP_TAG = "skip-execution"
_SOLUTION_REGION = re.compile(r"^[ \t]*### BEGIN SOLUTION\n(.*?)^[ \t]*### END SOLUTION\n?", re.M | re.S)
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


def _meta(grade_id, *, grade, solution, locked, points=None):
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3, "solution": solution,
            "task": False}
    if points is not None:
        meta["points"] = points
    return {"nbgrader": meta}


def given(source, grade_id=None, tags=()):
    """Code the instructor gives (locked when it has an id)."""
    cell = new_code_cell(source)
    if grade_id:
        cell.metadata.update(_meta(grade_id, grade=False, solution=False, locked=True))
    if tags:
        cell.metadata["tags"] = list(tags)
    return cell


def answer(grade_id, source):
    """An autograded answer cell (solution region between ### BEGIN/END SOLUTION)."""
    cell = new_code_cell(source)
    cell.metadata.update(_meta(grade_id, grade=False, solution=True, locked=False))
    return cell


def test(grade_id, source, points=1, tags=()):
    """A test cell (autograder tests, locked)."""
    cell = new_code_cell(source)
    cell.metadata.update(_meta(grade_id, grade=True, solution=False, locked=True, points=points))
    if tags:
        cell.metadata["tags"] = list(tags)
    return cell


def manual_code(grade_id, source, points):
    """A manually graded code answer."""
    cell = new_code_cell(source)
    cell.metadata.update(_meta(grade_id, grade=True, solution=True, locked=False, points=points))
    return cell


def manual_text(grade_id, source, points):
    """A manually graded written answer."""
    cell = new_markdown_cell(source)
    cell.metadata.update(_meta(grade_id, grade=True, solution=True, locked=False, points=points))
    return cell


def text(source):
    return new_markdown_cell(source)


def notebook(cells):
    nb = new_notebook(cells=list(cells))
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    nb.metadata["language_info"] = {"name": "python"}
    return nb


def grade_id(cell):
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def is_solution(cell):
    return bool(cell.get("metadata", {}).get("nbgrader", {}).get("solution"))


def is_test(cell):
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return cell.cell_type == "code" and bool(meta.get("grade")) and not meta.get("solution")


def solved_answers(source_notebook):
    """The master's answer cells with the solution markers removed, by grade id."""
    return {grade_id(c): _SOLUTION_REGION.sub(lambda m: m.group(1), c.source)
            for c in source_notebook.cells if is_solution(c)}


def fill(release, source, answers=None, default=None, edit=None):
    """A copy of the release notebook with its answer cells (by grade id) set to ``answers[id]``:
    ``SOLUTION``, code (a string), or a function of the solution's code. Answer cells not named get
    ``default`` (None: the release's stub). ``edit(notebook)`` may then change anything else (tags,
    deleted cells), as a student can."""
    answers = dict(answers or {})
    solutions = solved_answers(source)
    unknown = sorted(set(answers) - set(solutions))
    if unknown:
        raise KeyError(f"no answer cells {unknown}; the answer cells are {sorted(solutions)}")
    nb = copy.deepcopy(release)
    for cell in nb.cells:
        gid = grade_id(cell)
        if not is_solution(cell):
            continue
        choice = answers.get(gid, default)
        if choice is None:
            continue
        if choice == SOLUTION:
            cell.source = solutions[gid]
        elif callable(choice):
            cell.source = choice(solutions[gid])
        else:
            cell.source = choice
    if edit is not None:
        edit(nb)
    return nb


def tag_tests(tag=SKIP_TAG, ids=None):
    """An ``edit`` that adds ``tag`` to the test cells (those named in ``ids``, or all)."""
    def edit(nb):
        for cell in nb.cells:
            tags = cell.metadata.setdefault("tags", [])
            if is_test(cell) and (ids is None or grade_id(cell) in ids) and tag not in tags:
                tags.append(tag)
            if not tags:
                del cell.metadata["tags"]
    return edit


def delete_cells(*ids):
    """An ``edit`` that deletes the cells with these grade ids."""
    def edit(nb):
        nb.cells = [c for c in nb.cells if grade_id(c) not in ids]
    return edit


def replace_test_source(ids, source):
    """An ``edit`` that overwrites the code of these test cells (nbgrader restores locked ones)."""
    def edit(nb):
        for cell in nb.cells:
            if grade_id(cell) in ids:
                cell.source = source
    return edit


def chain(*edits):
    def edit(nb):
        for one in edits:
            one(nb)
    return edit


def read(path):
    return nbformat.read(str(path), as_version=4)
