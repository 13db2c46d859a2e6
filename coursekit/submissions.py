"""Build synthetic student submissions from the release notebook.

A submission starts as the release notebook (every answer a stub); ``answers`` then fills chosen
answer cells, by grade id, with the instructor's solution (``SOLUTION``) or with other code. This is
how the sample students of the demo and the mutation catalogue of the tests are made.
"""
import os
import re

import nbformat

SOLUTION = "solution"
_SOLUTION_REGION = re.compile(r"^[ \t]*### BEGIN SOLUTION\n(.*?)^[ \t]*### END SOLUTION\n?", re.M | re.S)


def grade_id(cell):
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def solved_answers(source_notebook):
    """The instructor's answer cells (code, and markdown for written answers) with the solution
    markers removed, by grade id."""
    answers = {}
    for cell in source_notebook.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("solution"):
            answers[meta["grade_id"]] = _SOLUTION_REGION.sub(lambda m: m.group(1), cell.source)
    return answers


def mutate(code, replacements):
    """Apply (old, new) text replacements to solution code; each ``old`` must occur exactly once, so
    that a catalogue entry cannot silently stop changing anything when the notebook is edited."""
    for old, new in replacements:
        count = code.count(old)
        if count != 1:
            raise ValueError(f"expected exactly one occurrence of {old!r} in the answer, found {count}:\n{code}")
        code = code.replace(old, new)
    return code


def build_submission(release_notebook, source_notebook, answers):
    """A copy of the release notebook whose answer cells named in ``answers`` hold the given code.

    ``answers`` maps an answer cell's grade id to ``SOLUTION``, to a list of (old, new) replacements
    applied to the solution, or to complete replacement code (a string).
    """
    solutions = solved_answers(source_notebook)
    unknown = sorted(set(answers) - set(solutions))
    if unknown:
        raise KeyError(f"no answer cells named {unknown}; answer cells are {sorted(solutions)}")
    notebook = nbformat.reads(nbformat.writes(release_notebook), as_version=4)
    for cell in notebook.cells:
        answer = answers.get(grade_id(cell))
        if answer is None:
            continue
        if answer == SOLUTION:
            cell.source = solutions[grade_id(cell)]
        elif isinstance(answer, str):
            cell.source = answer
        else:
            cell.source = mutate(solutions[grade_id(cell)], answer)
    return notebook


def _only_notebook(course_root, assignment):
    names = sorted(n for n in os.listdir(os.path.join(course_root, "source", assignment)) if n.endswith(".ipynb"))
    if len(names) != 1:
        raise ValueError(f"source/{assignment}/ holds {len(names)} notebooks ({', '.join(names)}): name one")
    return names[0]


def write_submission(course_root, student, notebook, assignment=None, notebook_name=None):
    """Write ``notebook`` as ``student``'s submission in ``course_root``/submitted/; ``assignment`` and
    ``notebook_name`` default to the course's only assignment and its only notebook (then ``course_root``
    must be a course: it has source/)."""
    from coursekit.preflight import the_assignment

    assignment = the_assignment(course_root, assignment)
    notebook_name = notebook_name or _only_notebook(course_root, assignment)
    folder = os.path.join(course_root, "submitted", student, assignment)
    os.makedirs(folder, exist_ok=True)
    nbformat.write(notebook, os.path.join(folder, notebook_name))
    return folder


def load_course_notebooks(course_root, assignment=None, notebook_name=None):
    """(release notebook, source notebook) of an assignment (default: the course's only one) and one of its
    notebooks (default: its only one)."""
    from coursekit.preflight import the_assignment

    assignment = the_assignment(course_root, assignment)
    notebook_name = notebook_name or _only_notebook(course_root, assignment)
    read = lambda kind: nbformat.read(os.path.join(course_root, kind, assignment, notebook_name), as_version=4)
    return read("release"), read("source")
