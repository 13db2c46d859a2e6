"""The courses of the equivalence suite, each a ``harness.Course``:

- ``nbgrader_docs_ps1``: nbgrader's documentation course ``ps1`` (courses/nbgrader_docs, copied from
  nbgrader 0.9.6; BSD licence beside it) with its two example students, bitdiddle and hacker, as submitted;
- ``nbgrader_docs_ps1_autotest``: the same course's ``ps1_autotest`` (AUTOTEST and HASHED AUTOTEST cells,
  ``autotests.yml`` at the course root), with bitdiddle's and hacker's answers and our own submissions;
- ``quickstart``: the course ``nbgrader quickstart`` makes with the installed nbgrader (its config too),
  with our own submissions: right, blank, wrong in several ways, erroring, partially answered...;
- ``idioms``: our own assignment, one cell per idiom (idioms_course.py).
"""
import atexit
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import builder as b
import harness
import idioms_course

HERE = Path(__file__).resolve().parent
DOCS = HERE / "courses" / "nbgrader_docs"

# ---------------------------------------------------------------------------------------------------
# answers to ps1 (problem1: squares, sum_of_squares, sum_of_squares_application, the equation; problem2:
# part-a, part-b), by grade id, for ps1 and ps1_autotest
# ---------------------------------------------------------------------------------------------------

OFF_BY_ONE = '''\
def squares(n):
    if n < 1:
        raise ValueError("n must be greater than or equal to 1")
    return [i ** 2 for i in range(n)]
'''

NO_ERROR = '''\
def squares(n):
    return [i ** 2 for i in range(1, n + 1)]
'''

WRONG_EXCEPTION = '''\
def squares(n):
    if n < 1:
        raise TypeError("n must be greater than or equal to 1")
    return [i ** 2 for i in range(1, n + 1)]
'''

CUSTOM_EXCEPTION = '''\
class TooSmall(ValueError):
    pass


def squares(n):
    """Compute the squares of numbers from 1 to n."""
    if n < 1:
        raise TooSmall(n)
    squares = []
    for i in range(1, n + 1):
        squares.append(i * i)
    return squares
'''

REIMPLEMENTS = '''\
def sum_of_squares(n):
    return sum(i * i for i in range(1, n + 1))
'''

ERRORING = '''\
def squares(n):
    if n < 1:
        raise ValueError("n must be greater than or equal to 1")
    return [square_of(i) for i in range(1, n + 1)]
'''

SYNTAX_ERROR = '''\
def squares(n)
    return [i ** 2 for i in range(1, n + 1)]
'''

NUMPY_ARRAY = '''\
import numpy as np


def squares(n):
    if n < 1:
        raise ValueError("n must be greater than or equal to 1")
    return np.arange(1, n + 1) ** 2
'''

STDERR = '''\
import sys


def sum_of_squares(n):
    print("computing", n, file=sys.stderr)
    return sum(squares(n))
'''

WARNING = '''\
import warnings


def squares(n):
    if n < 1:
        raise ValueError("n must be greater than or equal to 1")
    warnings.warn("squares is slow")
    return [i ** 2 for i in range(1, n + 1)]
'''

WRONG_DICTIONARY = "my_dictionary = {'one': 1, 'two': 2, 'three': 4}\n"
ALWAYS_EQUAL_SQUARES = '''\
class Anything(list):
    def __eq__(self, other):
        return True


def squares(n):
    if n < 1:
        raise ValueError("n must be greater than or equal to 1")
    return Anything()
'''

PS1_SUBMISSIONS = {
    # student: (answers, options)
    "qs-right": ({}, {"default": b.SOLUTION}),
    "qs-blank": ({}, {}),
    "qs-off-by-one": ({"squares": OFF_BY_ONE, "sum_of_squares": b.SOLUTION}, {}),
    "qs-no-error": ({"squares": NO_ERROR}, {"default": b.SOLUTION}),
    "qs-wrong-exception": ({"squares": WRONG_EXCEPTION}, {"default": b.SOLUTION}),
    "qs-custom-exception": ({"squares": CUSTOM_EXCEPTION}, {"default": b.SOLUTION}),
    "qs-reimplements": ({"sum_of_squares": REIMPLEMENTS}, {"default": b.SOLUTION}),
    "qs-erroring": ({"squares": ERRORING}, {"default": b.SOLUTION}),
    "qs-syntax-error": ({"squares": SYNTAX_ERROR}, {"default": b.SOLUTION}),
    "qs-partial": ({"squares": b.SOLUTION, "sum_of_squares_equation": b.SOLUTION}, {}),
    "qs-numpy-array": ({"squares": NUMPY_ARRAY}, {"default": b.SOLUTION}),
    "qs-stderr": ({"sum_of_squares": STDERR}, {"default": b.SOLUTION}),
    "qs-warning": ({"squares": WARNING}, {"default": b.SOLUTION}),
    "qs-always-equal": ({"squares": ALWAYS_EQUAL_SQUARES}, {"default": b.SOLUTION}),
    # a test cell deleted (add_missing_cells restores it) / a test cell emptied (restored: it is locked)
    "qs-deleted-test": ({}, {"default": b.SOLUTION, "edit": b.delete_cells("correct_squares")}),
    "qs-edited-test": ({"squares": OFF_BY_ONE},
                       {"default": b.SOLUTION, "edit": b.replace_test_source({"correct_squares"}, "pass\n")}),
    # ps1_autotest only
    "qs-wrong-dictionary": ({"cell-d3df8cd59fd0eb74": WRONG_DICTIONARY}, {"default": b.SOLUTION}),
}


def _ps1_submissions(students, extra=None):
    def build(release, source):
        out = {}
        for student, (answers, options) in students.items():
            files = {}
            for name in release:
                ids = set(b.solved_answers(source[name]))
                mine = {k: v for k, v in answers.items() if k in ids}
                files[name] = b.fill(release[name], source[name], mine, **options)
            out[student] = files
        for student, answers_by_notebook in (extra or {}).items():
            out[student] = {name: b.fill(release[name], source[name],
                                         {k: v for k, v in answers_by_notebook.get(name, {}).items()
                                          if k in b.solved_answers(source[name])})
                            for name in release}
        return out
    return build


def _answers_of(folder):
    """{notebook: {grade id: source}} of the answer cells of a submitted assignment folder."""
    return {path.stem: {b.grade_id(c): c.source for c in b.read(path).cells if b.is_solution(c)}
            for path in sorted(Path(folder).glob("*.ipynb"))}


def _copy_docs(root, *assignments, autotests=False):
    (root / "source").mkdir()
    shutil.copy(DOCS / "source" / "header.ipynb", root / "source" / "header.ipynb")
    for assignment in assignments:
        shutil.copytree(DOCS / "source" / assignment, root / "source" / assignment)
    if autotests:
        shutil.copy(DOCS / "autotests.yml", root / "autotests.yml")


HEADER = 'c.IncludeHeaderFooter.header = "source/header.ipynb"\n'


def nbgrader_docs_ps1():
    return harness.Course("nbgrader_docs_ps1", "ps1", make=lambda root: _copy_docs(root, "ps1"),
                          config=HEADER, submitted=DOCS / "submitted")


def nbgrader_docs_ps1_autotest():
    examples = {f"docs-{student}": _answers_of(DOCS / "submitted" / student / "ps1") for student in ("bitdiddle", "hacker")}
    own = {k: v for k, v in PS1_SUBMISSIONS.items()
           if k in ("qs-right", "qs-blank", "qs-off-by-one", "qs-no-error", "qs-reimplements", "qs-erroring",
                    "qs-wrong-dictionary", "qs-always-equal")}
    return harness.Course("nbgrader_docs_ps1_autotest", "ps1_autotest",
                          make=lambda root: _copy_docs(root, "ps1_autotest", autotests=True),
                          config=HEADER, submissions=_ps1_submissions(own, examples))


_QUICKSTART = {}


def _quickstart():
    """(source folder, config text) of ``nbgrader quickstart``'s course, made once per process."""
    if "course" not in _QUICKSTART:
        folder = Path(tempfile.mkdtemp(prefix="fidelity-quickstart-"))
        atexit.register(shutil.rmtree, folder, True)
        env = dict(__import__("os").environ)
        env["PATH"] = str(Path(sys.executable).parent) + ":" + env.get("PATH", "")
        subprocess.run([sys.executable, "-m", "nbgrader", "quickstart", "course101"], cwd=folder, env=env,
                       check=True, capture_output=True, timeout=300)
        course = folder / "course101"
        config = (course / "nbgrader_config.py").read_text().replace("c = get_config()", "", 1)
        _QUICKSTART["course"] = (course / "source", config)
    return _QUICKSTART["course"]


def quickstart():
    source, config = _quickstart()
    students = {k: v for k, v in PS1_SUBMISSIONS.items() if k != "qs-wrong-dictionary"}
    return harness.Course("quickstart", "ps1", make=lambda root: shutil.copytree(source, root / "source"),
                          config=config, submissions=_ps1_submissions(students))


def idioms():
    def make(root):
        idioms_course.write_source(root / "source" / idioms_course.ASSIGNMENT)
        shutil.copy(DOCS / "autotests.yml", root / "autotests.yml")  # nbgrader's own (BSD licence in DOCS)
    return harness.Course("idioms", idioms_course.ASSIGNMENT, make=make, submissions=idioms_course.submissions)


COURSES = {"nbgrader_docs_ps1": nbgrader_docs_ps1, "nbgrader_docs_ps1_autotest": nbgrader_docs_ps1_autotest,
           "quickstart": quickstart, "idioms": idioms}
