"""A second, small assignment written for the tests, "warmup", and a course that holds it beside homework 3.

Two notebooks (nbgrader supports several per assignment):

* ``numbers.ipynb``: Exercise 1, ``mean`` (a public test whose grade id is nbgrader's default style and a test
  with hidden checks that use the engine's check library, ``checklib``, shipped with every release, grouped as
  "Exercise 1", 2 + 1 points); Exercise 2, ``clip`` (one test cell of AUTOTEST
  and HASHED AUTOTEST directives, expanded by nbgrader's release from autotests.yml, grouped as "Exercise 2",
  3 points).
* ``words.ipynb``: ``count_words`` with a test cell that declares no exercise (so its column is its grade id,
  again nbgrader's default style: the fallback), 2 points; and a written answer graded by hand, grouped as
  "Written answer", 2 points.

Its columns are therefore "Exercise 1", "Exercise 2", COUNT_CELL and "Written answer" (8 points graded
automatically, 2 by hand). ``STUDENTS`` are three submissions with known scores.
"""
import shutil
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

ASSIGNMENT = "warmup"
NOTEBOOKS = ("numbers.ipynb", "words.ipynb")
COURSE_ID = "kit-test-course"
PUBLIC_CELL = "cell-3f9a1c2b7d4e5f60"  # nbgrader's default id style: the public test of mean
AUTOTEST_CELL = "cell-8e21d0aa4b7c9f13"
COUNT_CELL = "cell-5b0c6e1f2a9d8e47"  # no exercise declared: a column of its own, named by this id
WRITTEN_CELL = "explain-split"
COLUMNS = ["Exercise 1", "Exercise 2", COUNT_CELL, "Written answer"]
MAXIMA = {"Exercise 1": 3, "Exercise 2": 3, COUNT_CELL: 2, "Written answer": 2}
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}

# nbgrader's AUTOTEST templates (its documented format), written for this course: a type check and a value check
AUTOTESTS_YML = """\
python3:
    setup: "import hashlib"
    hash: 'hashlib.sha256(({{snippet}}).encode("utf-8") + b"{{salt}}").hexdigest()'
    dispatch: "type({{snippet}})"
    normalize: "str({{snippet}})"
    check: 'assert {{snippet}} == \"\"\"{{value}}\"\"\", \"\"\"{{message}}\"\"\"'
    success: "print('Every automatic check passed.')"
    templates:
        default:
            - test: "type({{snippet}})"
              fail: "{{snippet}} does not give a value of the expected type"
            - test: "{{snippet}}"
              fail: "{{snippet}} does not give the expected value"
        float:
            - test: "type({{snippet}})"
              fail: "{{snippet}} should be a float"
            - test: "round({{snippet}}, 6)"
              fail: "{{snippet}} does not give the expected value (to 6 decimals)"
"""


def _cell(kind, source, grade_id, *, grade=False, solution=False, locked=False, points=None, exercise=None):
    cell = new_code_cell(source) if kind == "code" else new_markdown_cell(source)
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3, "solution": solution,
            "task": False}
    if points is not None:
        meta["points"] = points
    cell.metadata["nbgrader"] = meta
    if exercise:
        cell.metadata["coursekit"] = {"exercise": exercise}
    return cell


def _notebook(cells):
    notebook = new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = dict(KERNELSPEC)
    notebook.metadata["language_info"] = {"name": "python"}
    return notebook


def numbers():
    return _notebook([
        new_markdown_cell("# Warm-up, part 1: numbers\n\nExercise 1: write `mean(values)`, the arithmetic mean of a "
                          "non-empty list.\n\nExercise 2: write `clip(x, low, high)`, `x` limited to `[low, high]`."),
        _cell("code", 'def mean(values):\n    """The arithmetic mean of a non-empty list of numbers."""\n'
                      "    ### BEGIN SOLUTION\n    return sum(values) / len(values)\n    ### END SOLUTION",
              "mean-answer", solution=True),
        _cell("code", "assert mean([1, 2, 3]) == 2\nassert mean([5]) == 5\nprint('mean: public tests passed')",
              PUBLIC_CELL, grade=True, locked=True, points=2, exercise="Exercise 1"),
        _cell("code", "assert mean([2, 4]) == 3\n### BEGIN HIDDEN TESTS\nimport checklib\n"
                      "checklib.check_array(1, 'mean([1, 2])', checklib.run(1, 'mean([1, 2])', mean, [1, 2]), 1.5, "
                      "'add the values, then divide by how many there are')\n"
                      "assert abs(mean([0.1] * 10) - 0.1) < 1e-12\n### END HIDDEN TESTS",
              "mean-hidden", grade=True, locked=True, points=1, exercise="Exercise 1"),
        _cell("code", 'def clip(x, low, high):\n    """x, or the nearer bound when it is outside [low, high]."""\n'
                      "    ### BEGIN SOLUTION\n    return max(low, min(x, high))\n    ### END SOLUTION",
              "clip-answer", solution=True),
        _cell("code", "### AUTOTEST clip(5, 0, 3); clip(-2, 0, 3)\n### HASHED AUTOTEST clip(1.5, 0, 3)",
              AUTOTEST_CELL, grade=True, locked=True, points=3, exercise="Exercise 2"),
    ])


def words():
    return _notebook([
        new_markdown_cell("# Warm-up, part 2: words\n\nWrite `count_words(text)`: how many words `text` holds, "
                          "words being separated by any white space."),
        _cell("code", "def count_words(text):\n    ### BEGIN SOLUTION\n    return len(text.split())\n"
                      "    ### END SOLUTION", "count-answer", solution=True),
        _cell("code", 'assert count_words("to be  or not to be") == 6\nassert count_words("") == 0\n'
                      'assert count_words(" tab\\tand\\nnewline ") == 3', COUNT_CELL, grade=True, locked=True, points=2),
        _cell("markdown", "Why does `text.split()` count words better than `text.split(' ')`?", "explain-question",
              locked=True),
        _cell("markdown", "YOUR ANSWER HERE", WRITTEN_CELL, grade=True, solution=True, points=2,
              exercise="Written answer"),
    ])


def write_assignment(course):
    """source/warmup/ (both master notebooks) and the course's autotests.yml."""
    folder = Path(course) / "source" / ASSIGNMENT
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(numbers(), folder / "numbers.ipynb")
    nbformat.write(words(), folder / "words.ipynb")
    (Path(course) / "autotests.yml").write_text(AUTOTESTS_YML)


def make_course(destination, repo):
    """A course with homework 3 (source, grader, its committed release) and warmup (source only), whose
    nbgrader_config.py is the repository's with its own course id, and the repository's requirements.txt."""
    destination = Path(destination)
    for part in ("source", "grader", "release"):
        shutil.copytree(Path(repo) / part, destination / part,
                        ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
    shutil.copy(Path(repo) / "requirements.txt", destination)  # the Gradescope autograder installs it
    config = (Path(repo) / "nbgrader_config.py").read_text()
    (destination / "nbgrader_config.py").write_text(config + f"\nc.CourseDirectory.course_id = {COURSE_ID!r}\n")
    write_assignment(destination)
    return destination


# --- submissions -------------------------------------------------------------------------------------------

def _answer(notebook, grade_id, source):
    [cell] = [c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id]
    cell.source = source


def submission(release_folder, answers):
    """{notebook name: the release's notebook with ``answers`` ({grade id: source}) in its answer cells}."""
    notebooks = {}
    for name in NOTEBOOKS:
        notebook = nbformat.read(Path(release_folder) / name, as_version=4)
        for grade_id, source in answers.items():
            if any(c.metadata.get("nbgrader", {}).get("grade_id") == grade_id for c in notebook.cells):
                _answer(notebook, grade_id, source)
        notebooks[name] = notebook
    return notebooks


RIGHT = {
    "mean-answer": "def mean(values):\n    return sum(values) / len(values)",
    "clip-answer": "def clip(x, low, high):\n    if x < low:\n        return low\n    return min(x, high)",
    "count-answer": "def count_words(text):\n    return len(text.split())",
    WRITTEN_CELL: "`split()` without an argument splits on runs of any white space and drops empty strings, "
                  "so two spaces or a tab do not make an empty word.",
}
STUDENTS = {
    # everything right; the written answer waits for the instructor
    "ann": RIGHT,
    # floor division: passes the public tests of mean, fails its hidden check (1 point); split(" ") counts an
    # empty string in "" and the double space (2 points); no written answer
    "ben": {**RIGHT, "mean-answer": "def mean(values):\n    return sum(values) // len(values)",
            "count-answer": "def count_words(text):\n    return len(text.split(' '))", WRITTEN_CELL: "YOUR ANSWER HERE"},
    "cy": {},  # the release as handed out
}
# autograded points per column (the written answer of ann: not graded yet)
EXPECTED = {
    "ann": {"Exercise 1": 3, "Exercise 2": 3, COUNT_CELL: 2},
    "ben": {"Exercise 1": 2, "Exercise 2": 3, COUNT_CELL: 0, "Written answer": 0},
    "cy": {"Exercise 1": 0, "Exercise 2": 0, COUNT_CELL: 0, "Written answer": 0},
}
