"""Test cells written for stock nbgrader mean the same in the kit's engine: one idiom per case, each in
both directions (a right answer passes, a wrong one fails), graded by the engine end to end (student
cells in the sandboxed worker, the test cell in the grader). The equivalence with stock nbgrader
itself, on whole assignments, is tests/fidelity/; the justified differences are listed in docs/engine.md.
"""
import base64
import tempfile
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output

from isograde.assignment import Assignment
from isograde.grading import Limits, NotebookGrader, Timings
from isograde.testcell import STUDENT_MARK
from isograde.zygote import Zygote


def _meta(grade_id, grade, solution, points=1):
    return {"nbgrader": {"grade": grade, "solution": solution, "grade_id": grade_id, "locked": False,
                         "points": points, "schema_version": 3}}


def given(source, grade_id=None, tags=()):
    metadata = {"tags": list(tags)} if tags else {}
    if grade_id:
        metadata.update(_meta(grade_id, False, False))
        metadata["nbgrader"]["locked"] = True
    return new_code_cell(source, metadata=metadata)


def answer(source, grade_id="answer"):
    return new_code_cell(source, metadata=_meta(grade_id, False, True))


def check_cell(source, grade_id="test"):
    return new_code_cell(source, metadata=_meta(grade_id, True, False))


@pytest.fixture(scope="module")
def zygote():
    zygote = Zygote(sandboxed=True, secrets=[])
    yield zygote
    zygote.close()


def grade(zygote, cells, files=None, master=None, environment=None, submitted=None, reference_timeout=120,
          limits=None):
    """The graded notebook: ``cells`` are the student's notebook; ``master`` the course's (default: the
    same cells); ``files`` {name: text} beside the notebook (shipped with the assignment)."""
    root = Path(tempfile.mkdtemp())
    source = root / "source" / "a"
    source.mkdir(parents=True)
    nbformat.write(new_notebook(cells=master or cells), source / "n.ipynb")
    folder = root / "autograded" / "s" / "a"
    folder.mkdir(parents=True)
    for name, text in (files or {}).items():
        (source / name).write_text(text)
        (folder / name).write_text(text)
    assignment = Assignment(root, "a", "n", reference_timeout=reference_timeout)
    limits = limits or Limits(cell_timeout=20, check_timeout=20, environment=environment or {})
    notebook = nbformat.from_dict(nbformat.reads(nbformat.writes(new_notebook(cells=cells)), as_version=4))
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs = []
    NotebookGrader(assignment, zygote, str(folder), limits, Timings()).grade(notebook, submitted)
    notebook.folder = folder
    return notebook


def outputs_of(notebook, grade_id):
    return next(c.outputs for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def passes(notebook, grade_id="test"):
    """nbgrader's rule (utils.determine_grade): an error or a stderr output is 0 points."""
    return not any(o.output_type == "error" or (o.output_type == "stream" and o.name == "stderr")
                   for o in outputs_of(notebook, grade_id))


# (given code, right answer, wrong answer, test cell): each idiom graded twice ---------------------
IDIOMS = {
    "except-builtin-type": (
        "", "def f(x):\n    if x < 0:\n        raise ValueError('negative')\n    return x",
        "def f(x):\n    if x < 0:\n        raise TypeError('negative')\n    return x",
        "try:\n    f(-1)\nexcept ValueError:\n    pass\nelse:\n    raise AssertionError('did not raise')"),
    "pytest-raises": (
        "", "def f(x):\n    if x < 0:\n        raise ValueError('negative')\n    return x",
        "def f(x):\n    return x",
        "import pytest\nwith pytest.raises(ValueError, match='negative'):\n    f(-1)"),
    "exception-isinstance-and-message": (
        "", "def f(x):\n    raise KeyError(x)", "def f(x):\n    raise IndexError(x)",
        "try:\n    f('k')\nexcept Exception as error:\n    assert isinstance(error, KeyError) and error.args == ('k',)"),
    "student-exception-subclass": (
        "", "class NegativeError(ValueError):\n    pass\ndef f(x):\n    raise NegativeError('no')",
        "class NegativeError(Exception):\n    pass\ndef f(x):\n    raise NegativeError('no')",
        "try:\n    f(-1)\nexcept ValueError as error:\n    assert type(error).__name__ == 'NegativeError'"),
    "exception-class-of-the-notebook": (
        "class InvalidInput(Exception):\n    pass", "def f(x):\n    raise InvalidInput(x)", "def f(x):\n    raise ValueError(x)",
        "try:\n    f(1)\nexcept InvalidInput:\n    pass\nelse:\n    raise AssertionError"),
    "numpy-exception": (
        "import numpy as np", "def inverse(m):\n    return np.linalg.inv(m)", "def inverse(m):\n    return m",
        "try:\n    inverse(np.zeros((2, 2)))\nexcept np.linalg.LinAlgError:\n    pass\nelse:\n    raise AssertionError"),
    "uses-another-function": (
        "def squares(n):\n    return [i ** 2 for i in range(1, n + 1)]",
        "def sum_of_squares(n):\n    return sum(squares(n))",
        "def sum_of_squares(n):\n    return sum(i ** 2 for i in range(1, n + 1))",
        "orig_squares = squares\ndel squares\ntry:\n    sum_of_squares(1)\nexcept NameError:\n    pass\nelse:\n"
        "    raise AssertionError('sum_of_squares does not use squares')\nfinally:\n    squares = orig_squares\n"
        "assert sum_of_squares(3) == 14"),
    "rebind-a-dependency": (
        "def squares(n):\n    return [i ** 2 for i in range(1, n + 1)]",
        "def sum_of_squares(n):\n    return sum(squares(n))",
        "def sum_of_squares(n):\n    return sum(i ** 2 for i in range(1, n + 1))",
        "orig = squares\nsquares = lambda n: [1] * n\ntry:\n    assert sum_of_squares(4) == 4\nfinally:\n    squares = orig"),
    "modules-of-earlier-cells": (
        "import numpy as np\nimport os\nimport math", "def norm(v):\n    return math.sqrt(sum(x * x for x in v))",
        "def norm(v):\n    return sum(v)",
        "assert np.isclose(norm([3, 4]), 5) and math.isclose(norm([6, 8]), 10) and os.path.sep == '/'"),
    "module-imported-by-the-student": (
        "", "from collections import Counter\ndef tally(s):\n    return Counter(s)",
        "from collections import Counter\ndef tally(s):\n    return dict(Counter(s))",
        "assert type(tally('aab')) is Counter and tally('aab') == Counter('aab')"),
    "global-number": ("", "answer = 42", "answer = 41", "assert answer == 42"),
    # a global read again after student code changed it (names a cell reads come with its start)
    "global-changed-by-a-call": ("", "count = 0\ndef bump():\n    global count\n    count += 1",
                                 "count = 0\ndef bump():\n    pass",
                                 "assert count == 0\nbump()\nassert count == 1"),
    "global-defined-by-a-call": ("", "def setup():\n    global ready\n    ready = True",
                                 "def setup():\n    ready = True", "setup()\nassert ready"),
    "set-and-frozenset": ("", "def f():\n    return {1, 2}, frozenset({3})", "def f():\n    return [1, 2], {3}",
                          "s, fs = f()\nassert s == {1, 2} and type(fs) is frozenset and fs == frozenset({3})"),
    "fraction-and-decimal": ("", "from fractions import Fraction\nfrom decimal import Decimal\n"
                                 "def f():\n    return Fraction(1, 3), Decimal('1.10')",
                             "def f():\n    return 1 / 3, 1.1",
                             "from fractions import Fraction\nfrom decimal import Decimal\n"
                             "a, b = f()\nassert a == Fraction(1, 3) and type(b) is Decimal and b == Decimal('1.10')"),
    "numpy-scalar-keeps-its-type": ("import numpy as np", "def f():\n    return int(np.int64(3))",
                                    "def f():\n    return np.int64(3)",
                                    "assert type(f()) is int, 'not int: cast your value with int()'"),
    "numpy-scalar-type-checked": ("import numpy as np", "def f():\n    return np.float32(1.5)",
                                  "def f():\n    return 1.5",
                                  "assert type(f()) is np.float32 and f() == 1.5"),
    "string-array-complex-bytes": ("import numpy as np", "def f():\n    return np.array(['a', 'b']), 1 + 2j, b'xy'",
                                   "def f():\n    return ['a', 'b'], 1, 'xy'",
                                   "a, c, b = f()\nassert a.dtype.kind == 'U' and list(a) == ['a', 'b'] "
                                   "and c == 1 + 2j and b == b'xy'"),
    "dates-and-times": ("import datetime", "def f():\n    return datetime.date(2024, 2, 29), datetime.timedelta(hours=1)",
                        "def f():\n    return '2024-02-29', 3600",
                        "d, t = f()\nassert d == datetime.date(2024, 2, 29) and t.total_seconds() == 3600"),
    "big-int-and-tuple-keys": ("", "def f():\n    return 2 ** 100, {(1, 2): 'x'}", "def f():\n    return 2 ** 64, {}",
                               "big, d = f()\nassert big == 1267650600228229401496703205376 and d[(1, 2)] == 'x'"),
    "named-tuple": ("from collections import namedtuple\nPoint = namedtuple('Point', 'x y')",
                    "def f():\n    return Point(1, 2)", "def f():\n    return (2, 1)",
                    "p = f()\nassert p.x == 1 and p == (1, 2) and type(p).__name__ == 'Point'"),
    "in-place-mutation": ("", "def add_one(items):\n    items.append(1)", "def add_one(items):\n    items = items + [1]",
                          "x = []\nadd_one(x)\nassert x == [1]"),
    "array-updated-in-place": ("import numpy as np", "def scale(a):\n    a *= 2", "def scale(a):\n    a = a * 2",
                               "a = np.ones(3)\nscale(a)\nassert (a == 2).all()"),
    "lambda-into-student-code": ("", "def apply(f, x):\n    return f(x)", "def apply(f, x):\n    return x",
                                 "assert apply(lambda v: v + 1, 2) == 3"),
    "test-function-raising-into-student-code": (
        "", "def safe(f):\n    try:\n        return f()\n    except ValueError:\n        return 'caught'",
        "def safe(f):\n    try:\n        return f()\n    except TypeError:\n        return 'caught'",
        "def bad():\n    raise ValueError('x')\nassert safe(bad) == 'caught'"),
    "numpy-seed-in-the-test": ("import numpy as np", "def draw():\n    return np.random.rand()",
                               "def draw():\n    return np.random.randn()",
                               "np.random.seed(0)\nexpected = np.random.rand()\nnp.random.seed(0)\nassert draw() == expected"),
    "random-seed-in-the-test": ("import random", "def pick():\n    return random.random()",
                                "def pick():\n    return random.uniform(1, 2)",
                                "random.seed(3)\nexpected = random.random()\nrandom.seed(3)\nassert pick() == expected"),
    "inspect-getsource": ("", "def total(xs):\n    return sum(xs)",
                          "def total(xs):\n    t = 0\n    for x in xs:\n        t += x\n    return t",
                          "import inspect\nassert 'for ' not in inspect.getsource(total), 'use sum(), not a loop'\n"
                          "assert total([1, 2]) == 3"),
    "signature": ("", "def f(a, b=2):\n    return a + b", "def f(a, c=2):\n    return a + c",
                  "import inspect\nassert list(inspect.signature(f).parameters) == ['a', 'b']"),
    "nbgrader-execution-variable": ("import os", "def mode():\n    return os.environ.get('NBGRADER_EXECUTION')",
                                    "def mode():\n    return 'validate'", "assert mode() == 'autograde'"),
    "student-class-objects": (
        "", "class Account:\n    def __init__(self, balance):\n        self.balance = balance\n"
            "    def deposit(self, amount):\n        self.balance += amount",
        "class Account:\n    def __init__(self, balance):\n        self.balance = balance\n"
        "    def deposit(self, amount):\n        pass",
        "a = Account(10)\na.deposit(5)\nassert a.balance == 15 and isinstance(a, Account)\n"
        "assert type(a).__name__ == 'Account' and str(type(a)) == \"<class '__main__.Account'>\""),
    "student-subclass-isinstance": (
        "class Shape:\n    pass", "class Square(Shape):\n    def area(self):\n        return 4",
        "class Square:\n    def area(self):\n        return 4",
        "assert isinstance(Square(), Shape) and issubclass(Square, Shape)"),
    "dataclass-equality": (
        "from dataclasses import dataclass\n@dataclass\nclass P:\n    x: int",
        "def make(x):\n    return P(x)", "def make(x):\n    return P(x + 1)", "assert make(1) == P(1)"),
    "generator": ("", "def gen(n):\n    yield from range(n)", "def gen(n):\n    yield from range(n + 1)",
                  "assert list(gen(3)) == [0, 1, 2]"),
    "len-iter-contains": ("", "def f():\n    return {'a': [1, 2]}", "def f():\n    return {'a': [1]}",
                          "d = f()\nassert len(d['a']) == 2 and 2 in d['a'] and sorted(d) == ['a']"),
    "docstring": ("", "def f():\n    '''Does f.'''", "def f():\n    pass", "assert f.__doc__ and 'f' in f.__doc__"),
    "line-magic-in-the-test": ("", "def f():\n    return 1", "def f():\n    return 2", "%time value = f()\nassert value == 1"),
    "cell-magic-in-the-test": ("", "def f():\n    return 1", "def f():\n    return 2", "%%time\nassert f() == 1"),
    "shell-command-in-the-test": ("", "def f():\n    return 1", "def f():\n    return 2", "!echo checking\nassert f() == 1"),
    "matplotlib-inline-in-a-given-cell": ("%matplotlib inline\nimport matplotlib.pyplot as plt",
                                          "def f():\n    return 1", "def f():\n    return 2", "assert f() == 1"),
    "builtin-named-exercise": ("", "def max(a, b):\n    return a if a > b else b", "def max(a, b):\n    return a",
                               "assert max(1, 2) == 2 and max(3, 2) == 3"),
    "context-manager": ("", "class Box:\n    def __enter__(self):\n        return 5\n    def __exit__(self, *a):\n        return False",
                        "class Box:\n    def __enter__(self):\n        return 4\n    def __exit__(self, *a):\n        return False",
                        "with Box() as value:\n    assert value == 5"),
}


@pytest.mark.parametrize("right", [True, False], ids=["right", "wrong"])
@pytest.mark.parametrize("idiom", sorted(IDIOMS))
def test_idiom(zygote, idiom, right):
    given_code, right_code, wrong_code, test = IDIOMS[idiom]
    cells = ([given(given_code)] if given_code else []) + [answer(right_code if right else wrong_code), check_cell(test)]
    master = ([given(given_code)] if given_code else []) + [answer(right_code), check_cell(test)]
    notebook = grade(zygote, cells, master=master, environment={"NBGRADER_EXECUTION": "autograde"})
    assert passes(notebook) is right, outputs_of(notebook, "test")


def test_a_data_file_shipped_with_the_assignment_is_read_by_the_test(zygote):
    cells = [answer("def count(path):\n    return len(open(path).read().split())"),
             check_cell("with open('data.txt') as f:\n    assert len(f.read().splitlines()) == 2\n"
                       "assert count('data.txt') == 4")]
    assert passes(grade(zygote, cells, files={"data.txt": "a b\nc d\n"}))
    assert not passes(grade(zygote, cells, files={"data.txt": "a b\nc d e\n"}))


def test_a_file_the_student_writes_is_read_by_the_test_and_kept(zygote):
    cells = [answer("def save(n):\n    with open('out.txt', 'w') as f:\n        f.write(str(n))"),
             check_cell("save(7)\nassert open('out.txt').read() == '7'")]
    notebook = grade(zygote, cells)
    assert passes(notebook) and (notebook.folder / "out.txt").read_text() == "7"
    wrong = [answer("def save(n):\n    pass"), cells[1]]
    assert not passes(grade(zygote, wrong, master=cells))


def test_a_file_the_test_writes_is_read_by_the_student(zygote):
    cells = [answer("def lines(path):\n    return open(path).read().count('\\n')"),
             check_cell("with open('input.txt', 'w') as f:\n    f.write('1\\n2\\n3\\n')\nassert lines('input.txt') == 3")]
    assert passes(grade(zygote, cells))


def test_student_code_cannot_change_a_file_the_assignment_ships(zygote):
    cells = [answer("open('data.txt', 'w').write('forged')"),
             check_cell("assert open('data.txt').read() == 'real'")]
    notebook = grade(zygote, cells, files={"data.txt": "real"})
    assert passes(notebook) and (notebook.folder / "data.txt").read_text() == "real"


def test_a_module_shipped_with_the_assignment_imports_in_student_code(zygote):
    cells = [answer("import helpers\ndef f():\n    return helpers.VALUE"), check_cell("assert f() == 3")]
    assert passes(grade(zygote, cells, files={"helpers.py": "VALUE = 3\n"}))


def test_the_last_value_of_a_test_is_nbgraders_partial_credit(zygote):
    notebook = grade(zygote, [answer("x = 1"), check_cell("0.5")])
    result = [o for o in outputs_of(notebook, "test") if o.output_type == "execute_result"]
    assert result and result[0].data["text/plain"] == "0.5"


def test_a_student_object_as_the_last_value_never_chooses_the_partial_credit(zygote):
    cells = [answer("class Sneaky:\n    def __repr__(self):\n        return '1'\ndef f():\n    return Sneaky()"),
             check_cell("f()")]
    result = [o for o in outputs_of(grade(zygote, cells), "test") if o.output_type == "execute_result"]
    assert result and result[0].data["text/plain"] != "1" and "Sneaky" in result[0].data["text/plain"]


def test_what_student_code_prints_during_a_test_is_shown_and_marked(zygote):
    cells = [answer("def f():\n    print('debugging', 42)\n    return 1"), check_cell("print('checking')\nassert f() == 1")]
    outputs = outputs_of(grade(zygote, cells), "test")
    texts = [o.text for o in outputs if o.output_type == "stream"]
    assert texts[0] == "checking\n" and texts[1] == STUDENT_MARK + "debugging 42\n"


def test_a_cells_last_value_and_its_figures_are_outputs_as_in_a_kernel(zygote):
    cells = [answer("import matplotlib.pyplot as plt\nplt.plot([1, 2, 3])\nplt.show()\n6 * 7", "plot")]
    cells[0].metadata["nbgrader"]["grade"] = True  # a manually graded code answer
    outputs = outputs_of(grade(zygote, cells), "plot")
    kinds = [o.output_type for o in outputs]
    assert "display_data" in kinds and "execute_result" in kinds
    image = next(o for o in outputs if o.output_type == "display_data").data["image/png"]
    assert base64.b64decode(image).startswith(b"\x89PNG")
    assert next(o for o in outputs if o.output_type == "execute_result").data["text/plain"] == "42"


def test_a_skipped_cell_keeps_the_students_text_and_image_as_submitted(zygote):
    png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
    skipped = given("train()", "comparison", tags=["skip-execution"])
    submitted = nbformat.from_dict(nbformat.reads(nbformat.writes(new_notebook(cells=[skipped])), as_version=4))
    submitted.cells[0].outputs = [new_output("stream", name="stdout", text=["loss 0.1\n", "loss 0.01\n"]),
                                  new_output("display_data", data={"image/png": png})]
    outputs = outputs_of(grade(zygote, [skipped], submitted=submitted), "comparison")
    assert "loss 0.1\nloss 0.01\n" in "".join(o.get("text", "") for o in outputs)
    assert any(o.output_type == "display_data" and o.data.get("image/png") == png for o in outputs)


def test_an_object_equal_to_everything_fails_where_stock_nbgrader_passes_it(zygote):
    """A justified difference: comparisons with the student's objects are decided by the grader."""
    cells = [answer("class Liar:\n    def __eq__(self, other):\n        return True\n    __hash__ = object.__hash__\n"
                    "def squares(n):\n    return Liar()"),
             check_cell("assert squares(3) == [1, 4, 9]")]
    assert not passes(grade(zygote, cells))


def test_a_students_builtin_never_decides_a_check(zygote):
    """Names of built-ins the master notebook does not define are the grader's own in a test."""
    cells = [answer("def isinstance(*args):\n    return True\ndef f():\n    return 'text'"),
             check_cell("assert isinstance(f(), int)")]
    assert not passes(grade(zygote, cells, master=[answer("def f():\n    return 1"), cells[1]]))


def test_a_master_with_unanswered_solutions_grades_like_stock(zygote):
    """Stock nbgrader never runs the master at autograde; the kit runs it only for a test that imports
    the reference, so a master mid-edit grades the same."""
    master = [answer("def f():\n    raise NotImplementedError()"), check_cell("assert f() == 1")]
    cells = [answer("def f():\n    return 1"), master[1]]
    assert passes(grade(zygote, cells, master=master))


def test_a_master_cell_that_fails_costs_only_the_checks_that_need_it(zygote):
    hidden = "from isograde.hidden import reference\nassert f() == reference.{}()"
    master = [answer("def f():\n    return 1", "f-answer"), given("while True:\n    pass", "slow"),
              given("def g():\n    return 2", "g-given"),
              check_cell(hidden.format("f"), "needs-f"), check_cell("assert g() == 2", "plain")]
    master[1].source = "while True:\n    pass\ndef h():\n    return 0"
    cells = [answer("def f():\n    return 1", "f-answer"), given("def h():\n    return 0", "slow"),
             given("def g():\n    return 2", "g-given"), master[3], master[4]]
    notebook = grade(zygote, cells, master=master, reference_timeout=3)
    assert passes(notebook, "needs-f") and passes(notebook, "plain")
    uses_h = [answer("def f():\n    return 0", "f-answer"), check_cell(hidden.format("h"), "needs-h")]
    notebook = grade(zygote, uses_h, master=master[:2] + [check_cell(hidden.format("h"), "needs-h")],
                     reference_timeout=2)
    error = next(o for o in outputs_of(notebook, "needs-h") if o.output_type == "error")
    assert error.ename == "ReferenceUnavailable" and "master cell slow" in error.evalue
    assert "time limit" in error.evalue


def test_a_warning_in_student_code_scores_the_test_as_stock_does(zygote):
    """A warning printed to stderr costs the cell, as in stock nbgrader, also when an earlier cell showed it."""
    student = [answer("import warnings\ndef f():\n    warnings.warn('slow')\n    return 1"), given("f()"),
               check_cell("assert f() == 1")]
    assert not passes(grade(zygote, student))
    quiet = [answer("def f():\n    return 1"), given("f()"), student[2]]
    assert passes(grade(zygote, quiet, master=student))


def test_shell_escapes_expand_the_students_names(zygote):
    cells = [answer("def triple(x):\n    return 3 * x"),
             check_cell("lines = !echo {triple(5)}\nassert lines == ['15'], lines")]
    assert passes(grade(zygote, cells))
    assert not passes(grade(zygote, [answer("def triple(x):\n    return x"), cells[1]], master=cells))


def test_a_test_cell_the_master_skips_is_not_run_whatever_the_students_tags(zygote):
    skipped = check_cell("raise AssertionError('never run')", "skipped")
    skipped.metadata["tags"] = ["skip-execution"]
    plain = check_cell("assert f() == 1", "plain")
    master = [answer("def f():\n    return 1"), skipped, plain]
    tagged = nbformat.from_dict(nbformat.reads(nbformat.writes(new_notebook(cells=[plain])), as_version=4)).cells[0]
    tagged.metadata["tags"] = ["skip-execution"]  # a student's tag on a test cell changes nothing
    notebook = grade(zygote, [answer("def f():\n    return 2"), skipped, tagged], master=master)
    assert outputs_of(notebook, "skipped") == [] and not passes(notebook, "plain")
