"""An nbgrader assignment of our own, ``idioms``: each idiom a grading engine must handle as stock nbgrader
does, in small answer and test cells, plus the submissions that are right and wrong for each.

Four notebooks, so that an engine that cannot grade one kind of cell at all fails one notebook, not all:
``1-idioms`` (most idioms), ``2-values`` (plain values of every kind), ``3-autotest`` (AUTOTEST and HASHED
AUTOTEST cells, expanded at release by nbgrader's InstantiateTests from ``autotests.yml`` at the course
root, which runs every cell of that notebook in a kernel, so it holds nothing that must not run there), and
``4-ipython`` (IPython syntax in given and test cells, a plot graded by hand).

``IDIOMS`` names the test cells of each idiom; ``EXPECTED`` says what stock nbgrader gives the right and
the wrong submission on each of them (checked against stock in the tests, so the fixture itself is
verified), and the equivalence test asks the kit for the same.
"""
from pathlib import Path

import builder as b

ASSIGNMENT = "idioms"
DATA_TXT = "3\n1\n4\n1\n5\n"

# ---------------------------------------------------------------------------------------------------
# The master notebook: idioms.ipynb
# ---------------------------------------------------------------------------------------------------

SETUP = """\
import os
import numpy as np
FLAG = "initial"
"""

IPYTHON_SETUP = """\
import numpy as np
%matplotlib inline
import matplotlib.pyplot as plt
"""

CELL_MAGIC = """\
%%time
warm_up = sum(range(1000))
"""

SHELL = "!ls\n"

SKIPPED_GIVEN = """\
# Students run this long computation themselves; Jupyter's runner (and so nbgrader) skips it.
FLAG = "ran"
"""

ANS_EXCEPTIONS = '''\
class NegativeInputError(ValueError):
    """Raised for a negative input."""


def safe_sqrt(x):
    """The square root of x; NegativeInputError (a ValueError) when x < 0."""
    ### BEGIN SOLUTION
    if x < 0:
        raise NegativeInputError(f"negative input: {x}")
    return x ** 0.5
    ### END SOLUTION
'''

TEST_EXC_TRY = '''\
"""safe_sqrt raises ValueError for a negative number (caught by type)"""
try:
    safe_sqrt(-1)
except ValueError:
    pass
else:
    raise AssertionError("safe_sqrt(-1) did not raise ValueError")
assert safe_sqrt(4) == 2
'''

TEST_EXC_PYTEST = '''\
import pytest
with pytest.raises(ValueError, match="negative"):
    safe_sqrt(-9)
'''

TEST_EXC_ISINSTANCE = '''\
try:
    safe_sqrt(-2)
except Exception as e:
    error = e
else:
    error = None
assert isinstance(error, ValueError), f"expected a ValueError, got {error!r}"
assert isinstance(error, NegativeInputError)
assert type(error).__name__ == "NegativeInputError"
'''

TEST_EXC_SUBCLASS = '''\
assert issubclass(NegativeInputError, ValueError)
try:
    safe_sqrt(-3)
except NegativeInputError as e:
    assert "negative" in str(e)
else:
    raise AssertionError("no NegativeInputError")
'''

ANS_REBINDING = '''\
def area(side):
    """The area of a square."""
    ### BEGIN SOLUTION
    return side * side
    ### END SOLUTION


def total_area(sides):
    """The total area of squares of these sides: it must call area()."""
    ### BEGIN SOLUTION
    return sum(area(s) for s in sides)
    ### END SOLUTION
'''

TEST_DEL = '''\
"""total_area relies on area (nbgrader's own "uses squares" idiom)"""
orig_area = area
del area
try:
    total_area([1, 2])
except NameError:
    pass
else:
    raise AssertionError("total_area does not use area")
finally:
    area = orig_area
'''

TEST_RESTORED = '''\
assert area(3) == 9
assert total_area([1, 2, 3]) == 14
'''

TEST_REBIND = '''\
orig_area = area
try:
    area = lambda side: 1
    assert total_area([5, 6, 7]) == 3, "total_area should call area once per side"
finally:
    area = orig_area
assert total_area([2]) == 4
'''

ANS_FILES = '''\
def read_numbers(path):
    """The integers of a text file, one per line."""
    ### BEGIN SOLUTION
    with open(path) as handle:
        return [int(line) for line in handle if line.strip()]
    ### END SOLUTION


def write_total(numbers, path):
    """Write the sum of numbers to the file path."""
    ### BEGIN SOLUTION
    with open(path, "w") as handle:
        handle.write(str(sum(numbers)))
    ### END SOLUTION

### BEGIN SOLUTION
write_total(read_numbers("data.txt"), "total.txt")
### END SOLUTION
'''

TEST_DATA_FILE = '''\
"""data.txt ships with the assignment"""
with open("data.txt") as handle:
    expected = [int(line) for line in handle if line.strip()]
assert read_numbers("data.txt") == expected
'''

TEST_WRITTEN_FILE = '''\
"""the student's code wrote total.txt in an earlier cell, and writes other.txt now"""
with open("total.txt") as handle:
    assert handle.read().strip() == "14"
write_total([1, 2], "other.txt")
with open("other.txt") as handle:
    assert handle.read().strip() == "3"
'''

ANS_MODULES = '''\
### BEGIN SOLUTION
import math
### END SOLUTION


def hypot(a, b):
    """The hypotenuse of a right triangle."""
    ### BEGIN SOLUTION
    return math.sqrt(a * a + b * b)
    ### END SOLUTION


def unit_vector(v):
    """v scaled to length 1, as a numpy array."""
    ### BEGIN SOLUTION
    v = np.asarray(v, dtype=float)
    return v / np.linalg.norm(v)
    ### END SOLUTION
'''

TEST_MODULE_NP = '''\
"""np: imported by the given setup cell"""
assert np.allclose(unit_vector([3, 4]), np.array([0.6, 0.8]))
'''

TEST_MODULE_MATH = '''\
"""math: imported by the student's own answer cell"""
assert math.isclose(hypot(3, 4), 5.0)
'''

TEST_MODULE_OS = '''\
"""os: imported by the given setup cell"""
assert os.path.isfile("data.txt")
assert hypot(len(os.path.join("a", "b")), 4) == 5
'''

# (kind, the right value's code, the wrong value's code, the check of a value `v`)
VALUES = [
    ("int", "42", "42.0", "v == 42 and type(v) is int"),
    ("float", "0.1 + 0.2", "0.3", "v == 0.1 + 0.2 and type(v) is float"),
    ("bool", "True", "1", "v is True"),
    ("none", "None", "'None'", "v is None"),
    ("str", "'h\\u00e9llo'", "'hello'", "v == 'h\\u00e9llo' and type(v) is str"),
    ("bytes", "b'\\x00\\xff'", "'\\x00\\xff'", "v == b'\\x00\\xff' and type(v) is bytes"),
    ("list", "[1, 'two', 3.0, [4]]", "(1, 'two', 3.0, [4])", "v == [1, 'two', 3.0, [4]] and type(v) is list and type(v[3]) is list"),
    ("tuple", "(1, ('nested',), None)", "[1, ['nested'], None]", "v == (1, ('nested',), None) and type(v) is tuple"),
    ("dict", "{'a': 1, 2: 'b', (3, 4): [5]}", "{'a': 1, 2: 'b', (3, 4): [6]}", "v == {'a': 1, 2: 'b', (3, 4): [5]} and type(v) is dict"),
    ("set", "{1, 2, 3}", "[1, 2, 3]", "v == {1, 2, 3} and type(v) is set"),
    ("frozenset", "frozenset({'x', 'y'})", "{'x', 'y'}", "v == frozenset({'x', 'y'}) and type(v) is frozenset"),
    ("complex", "1 + 2j", "1 + 3j", "v == 1 + 2j and type(v) is complex"),
    ("np_float32", "np.float32(1.5)", "1.5", "v == 1.5 and type(v) is np.float32"),
    ("np_int64", "np.int64(7)", "7", "v == 7 and type(v) is np.int64"),
    ("np_bool", "np.bool_(True)", "True", "bool(v) and type(v) is np.bool_"),
    ("array_float", "np.linspace(0, 1, 5)", "[0.0, 0.25, 0.5, 0.75, 1.0]",
     "isinstance(v, np.ndarray) and v.dtype == np.float64 and np.array_equal(v, np.linspace(0, 1, 5))"),
    ("array_int", "np.arange(6, dtype=np.int32).reshape(2, 3)", "np.arange(6).reshape(3, 2)",
     "isinstance(v, np.ndarray) and v.dtype == np.int32 and v.shape == (2, 3) and v.sum() == 15"),
    ("array_str", "np.array(['a', 'bc'])", "np.array([b'a', b'bc'])",
     "isinstance(v, np.ndarray) and v.dtype.kind == 'U' and list(v) == ['a', 'bc']"),
    ("array_bool", "np.array([True, False])", "np.array([1, 0])",
     "isinstance(v, np.ndarray) and v.dtype == np.bool_ and v.tolist() == [True, False]"),
    ("fraction", "Fraction(1, 3)", "1 / 3", "v == Fraction(1, 3) and type(v) is Fraction"),
    ("decimal", "Decimal('0.1')", "0.1", "v == Decimal('0.1') and type(v) is Decimal"),
    ("datetime", "datetime.datetime(2024, 2, 29, 12, 30)", "datetime.datetime(2024, 2, 28, 12, 30)",
     "v == datetime.datetime(2024, 2, 29, 12, 30) and type(v) is datetime.datetime"),
    ("date", "datetime.date(2024, 2, 29)", "datetime.datetime(2024, 2, 29)",
     "v == datetime.date(2024, 2, 29) and type(v) is datetime.date"),
    ("time", "datetime.time(23, 59, 1)", "datetime.time(23, 59)", "v == datetime.time(23, 59, 1) and type(v) is datetime.time"),
    ("timedelta", "datetime.timedelta(days=1, seconds=5)", "datetime.timedelta(days=1)",
     "v == datetime.timedelta(days=1, seconds=5) and type(v) is datetime.timedelta"),
]

VALUES_IMPORTS = "from fractions import Fraction\nfrom decimal import Decimal\nimport datetime\n"


def _values_answer(which):
    lines = [f"v_{kind} = {right if which == 'right' else wrong}" for kind, right, wrong, _ in VALUES]
    return VALUES_IMPORTS + "\n".join(lines) + "\n"


ANS_VALUES = (VALUES_IMPORTS + "\n### BEGIN SOLUTION\n" + _values_answer("right")[len(VALUES_IMPORTS):]
              + "### END SOLUTION\n\n\ndef get_value(kind):\n    return globals()['v_' + kind]\n")


def _values_test(kind, check):
    return (f'"""a {kind} held in a student global, and returned by student code"""\n{VALUES_IMPORTS}'
            f"v = v_{kind}\nassert {check}, repr(v)\n"
            f"v = get_value({kind!r})\nassert {check}, repr(v)\n")


ANS_IPYTHON = '''\
def triple(x):
    ### BEGIN SOLUTION
    return 3 * x
    ### END SOLUTION
'''

TEST_LINE_MAGIC = '''\
%time result = triple(14)
assert result == 42
'''

TEST_CELL_MAGIC = '''\
%%time
assert triple(2) == 6
'''

TEST_SHELL = '''\
!echo checking
lines = !echo {triple(5)}
assert lines == ["15"], lines
'''

ANS_CALLBACKS = '''\
def apply_n(f, x, n):
    """f applied n times to x."""
    ### BEGIN SOLUTION
    for _ in range(n):
        x = f(x)
    return x
    ### END SOLUTION


def sort_by(items, key):
    ### BEGIN SOLUTION
    return sorted(items, key=key)
    ### END SOLUTION
'''

TEST_CALLBACK_LAMBDA = '''\
assert apply_n(lambda v: v + 3, 1, 4) == 13
assert sort_by([3, 1, 2], key=lambda v: -v) == [3, 2, 1]
'''

TEST_CALLBACK_DEF = '''\
calls = []
def record(v):
    calls.append(v)
    return v * 2
assert apply_n(record, 1, 3) == 8
assert calls == [1, 2, 4]
assert sort_by(["ccc", "a", "bb"], key=len) == ["a", "bb", "ccc"]
'''

ANS_RANDOM = '''\
import random


def noisy(n):
    """n samples of the standard normal distribution from numpy's global generator."""
    ### BEGIN SOLUTION
    return np.random.randn(n)
    ### END SOLUTION


def dice():
    """A roll of a die (random's global generator)."""
    ### BEGIN SOLUTION
    return random.randint(1, 6)
    ### END SOLUTION
'''

TEST_NP_SEED = '''\
np.random.seed(3)
got = noisy(4)
np.random.seed(3)
assert np.allclose(got, np.random.randn(4))
'''

TEST_RANDOM_SEED = '''\
import random
random.seed(11)
rolls = [dice() for _ in range(8)]
random.seed(11)
assert rolls == [random.randint(1, 6) for _ in range(8)], rolls
'''

ANS_SOURCE = '''\
def count_vowels(text):
    """The number of vowels of text, counted with a loop (not str.count)."""
    ### BEGIN SOLUTION
    total = 0
    for letter in text.lower():
        if letter in "aeiou":
            total += 1
    return total
    ### END SOLUTION
'''

TEST_GETSOURCE = '''\
import inspect
source = inspect.getsource(count_vowels)
assert "for " in source, "count_vowels should use a loop"
assert ".count(" not in source, "count_vowels should not call str.count"
assert count_vowels("Banana") == 3
'''

ANS_ENV = '''\
def grading_mode():
    """What nbgrader says it is doing (NBGRADER_EXECUTION), or None."""
    ### BEGIN SOLUTION
    return os.environ.get("NBGRADER_EXECUTION")
    ### END SOLUTION

### BEGIN SOLUTION
ITERATIONS = 10 if os.environ.get("NBGRADER_EXECUTION") else 10 ** 6
### END SOLUTION
'''

TEST_ENV = '''\
assert grading_mode() == "autograde", grading_mode()
assert ITERATIONS == 10
'''

ANS_PARTIAL = '''\
def fizz(n):
    ### BEGIN SOLUTION
    if n % 15 == 0:
        return "FizzBuzz"
    if n % 3 == 0:
        return "Fizz"
    if n % 5 == 0:
        return "Buzz"
    return str(n)
    ### END SOLUTION
'''

TEST_PARTIAL = '''\
"""partial credit: the cell's last expression is the score"""
score = 0
for n, expected in [(3, "Fizz"), (5, "Buzz"), (15, "FizzBuzz")]:
    try:
        if fizz(n) == expected:
            score += 1
    except Exception:
        pass
score
'''

ANS_PRINTS = '''\
def chatty_sum(values):
    """The sum of values; it says what it does."""
    ### BEGIN SOLUTION
    print("adding", len(values), "values")
    return sum(values)
    ### END SOLUTION
'''

TEST_PRINTS = '''\
assert chatty_sum([1, 2, 3]) == 6
print("checked chatty_sum")
'''

PLOT_SOLUTION = '''\
### BEGIN SOLUTION
x = np.linspace(0, 1, 20)
plt.plot(x, x ** 2)
plt.title("x squared")
plt.show()
### END SOLUTION
'''

ANS_OBJECTS = '''\
class Account:
    ### BEGIN SOLUTION
    def __init__(self, owner, balance=0):
        self.owner = owner
        self.balance = balance
        self.history = []

    def deposit(self, amount):
        if amount <= 0:
            raise ValueError("amount must be positive")
        self.balance += amount
        self.history.append(amount)
        return self.balance

    def __repr__(self):
        return f"Account({self.owner!r}, {self.balance})"
    ### END SOLUTION

### BEGIN SOLUTION
my_account = Account("ada", 10)
### END SOLUTION
'''

TEST_OBJECT_ATTRS = '''\
acct = Account("bob")
assert acct.owner == "bob" and acct.balance == 0
assert acct.deposit(5) == 5
assert acct.history == [5]
assert isinstance(acct, Account)
assert type(acct).__name__ == "Account"
assert repr(acct) == "Account('bob', 5)"
'''

TEST_OBJECT_GLOBAL = '''\
assert isinstance(my_account, Account)
assert my_account.balance == 10
my_account.deposit(1)
assert my_account.balance == 11
assert my_account.history == [1]
'''

TEST_OBJECT_SETATTR = '''\
acct = Account("cy", 1)
acct.balance = 100
assert acct.deposit(1) == 101
try:
    acct.deposit(-1)
except ValueError:
    pass
else:
    raise AssertionError("a negative deposit was accepted")
'''

ANS_SKIP = '''\
def flag():
    """The value of the global FLAG."""
    ### BEGIN SOLUTION
    return FLAG
    ### END SOLUTION
'''

TEST_SKIP = '''\
"""the given cell tagged skip-execution (FLAG = "ran") did not run"""
assert flag() == "initial", flag()
'''

TEST_SKIPPED_BY_MASTER = '''\
"""tagged skip-execution in the master: Jupyter's runner never runs it, so stock nbgrader gives it full points"""
assert flag() == "never checked"
'''

ANS_EQUALITY = '''\
def primes_below(n):
    ### BEGIN SOLUTION
    return [p for p in range(2, n) if all(p % d for d in range(2, p))]
    ### END SOLUTION
'''

TEST_EQUALITY = '''\
assert primes_below(10) == [2, 3, 5, 7]
'''


def idioms_notebook():
    """The idioms without IPython syntax or plain values (those have notebooks of their own, so that an
    engine that cannot grade one of them fails that notebook only)."""
    cells = [
        b.text("# Idioms of nbgrader test cells\nA fixture of the kit's fidelity tests (tests/fidelity)."),
        b.given(SETUP, "setup"),
        b.given(SKIPPED_GIVEN, "given-skipped", tags=[b.SKIP_TAG]),
        b.text("## Exceptions caught by type"),
        b.answer("ans_exceptions", ANS_EXCEPTIONS),
        b.test("test_exc_try", TEST_EXC_TRY),
        b.test("test_exc_pytest_raises", TEST_EXC_PYTEST),
        b.test("test_exc_isinstance", TEST_EXC_ISINSTANCE),
        b.test("test_exc_subclass", TEST_EXC_SUBCLASS),
        b.text("## del and rebinding of a student's function"),
        b.answer("ans_rebinding", ANS_REBINDING),
        b.test("test_del_uses_area", TEST_DEL),
        b.test("test_del_restored", TEST_RESTORED),
        b.test("test_rebind", TEST_REBIND),
        b.text("## Files: shipped with the assignment, written by the student"),
        b.answer("ans_files", ANS_FILES),
        b.test("test_data_file", TEST_DATA_FILE),
        b.test("test_written_file", TEST_WRITTEN_FILE),
        b.text("## Modules imported by earlier cells"),
        b.answer("ans_modules", ANS_MODULES),
        b.test("test_module_np", TEST_MODULE_NP),
        b.test("test_module_math", TEST_MODULE_MATH),
        b.test("test_module_os", TEST_MODULE_OS),
        b.text("## Functions of the test passed to the student's code"),
        b.answer("ans_callbacks", ANS_CALLBACKS),
        b.test("test_callback_lambda", TEST_CALLBACK_LAMBDA),
        b.test("test_callback_def", TEST_CALLBACK_DEF),
        b.text("## Seeds set by the test"),
        b.answer("ans_random", ANS_RANDOM),
        b.test("test_np_seed", TEST_NP_SEED),
        b.test("test_random_seed", TEST_RANDOM_SEED),
        b.text("## The source of the student's function"),
        b.answer("ans_source", ANS_SOURCE),
        b.test("test_getsource", TEST_GETSOURCE),
        b.text("## NBGRADER_EXECUTION"),
        b.answer("ans_env", ANS_ENV),
        b.test("test_nbgrader_execution", TEST_ENV),
        b.text("## Partial credit"),
        b.answer("ans_partial", ANS_PARTIAL),
        b.test("test_partial_credit", TEST_PARTIAL, points=3),
        b.text("## Prints of the student's code during a test"),
        b.answer("ans_prints", ANS_PRINTS),
        b.test("test_prints", TEST_PRINTS),
        b.text("## Objects of the student's classes"),
        b.answer("ans_objects", ANS_OBJECTS),
        b.test("test_object_attrs", TEST_OBJECT_ATTRS),
        b.test("test_object_global", TEST_OBJECT_GLOBAL),
        b.test("test_object_setattr", TEST_OBJECT_SETATTR),
        b.text("## Cells tagged skip-execution"),
        b.answer("ans_skip", ANS_SKIP),
        b.test("test_skip_execution", TEST_SKIP),
        b.test("test_skipped_by_master", TEST_SKIPPED_BY_MASTER, tags=[b.SKIP_TAG]),
        b.text("## Equality"),
        b.answer("ans_equality", ANS_EQUALITY),
        b.test("test_equality", TEST_EQUALITY),
    ]
    return b.notebook(cells)


def values_notebook():
    return b.notebook([
        b.text("# Plain values held in student globals and returned by student code"),
        b.given("import numpy as np\n", "values-setup"),
        b.answer("ans_values", ANS_VALUES),
        *[b.test(f"test_value_{kind}", _values_test(kind, check)) for kind, _, _, check in VALUES],
    ])


def ipython_notebook():
    return b.notebook([
        b.text("# IPython syntax in given and test cells; a plot graded by hand"),
        b.given(IPYTHON_SETUP, "ipython-setup"),
        b.given(CELL_MAGIC, "given-cell-magic"),
        b.given(SHELL, "given-shell"),
        b.answer("ans_ipython", ANS_IPYTHON),
        b.test("test_line_magic", TEST_LINE_MAGIC),
        b.test("test_cell_magic", TEST_CELL_MAGIC),
        b.test("test_shell", TEST_SHELL),
        b.text("## A plot, graded by hand"),
        b.manual_code("plot_manual", PLOT_SOLUTION, points=2),
        b.manual_text("written_manual", "### BEGIN SOLUTION\nThe curve is a parabola.\n### END SOLUTION", points=1),
    ])


# ---------------------------------------------------------------------------------------------------
# autotest.ipynb
# ---------------------------------------------------------------------------------------------------

ANS_AUTOTEST = '''\
def word_lengths(words):
    ### BEGIN SOLUTION
    return [len(w) for w in words]
    ### END SOLUTION


def digit_set(number):
    """The set of the digits of number (ints: the AUTOTEST of a set compares its str)."""
    ### BEGIN SOLUTION
    return {int(d) for d in str(number)}
    ### END SOLUTION


def stats(values):
    """A dict: count, total and mean (a float) of values."""
    ### BEGIN SOLUTION
    return {"count": len(values), "total": sum(values), "mean": sum(values) / len(values)}
    ### END SOLUTION
'''


def autotest_notebook():
    return b.notebook([
        b.text("# AUTOTEST cells\nExpanded at release from autotests.yml (nbgrader's InstantiateTests)."),
        b.answer("ans_autotest", ANS_AUTOTEST),
        b.test("test_autotest", '"""AUTOTEST"""\n### AUTOTEST word_lengths(["a", "bb", "ccc"]); digit_set(30303)\n'),
        b.test("test_autotest_float", '### AUTOTEST stats([1, 2])["mean"]\n'),
        b.test("test_hashed_autotest", '"""HASHED AUTOTEST"""\n### HASHED AUTOTEST stats([1, 2, 3])\n'
                                       '### HASHED AUTOTEST word_lengths([])\n'),
    ])


WRONG_AUTOTEST = '''\
def word_lengths(words):
    return [len(w) + 1 for w in words]


def digit_set(number):
    return sorted({int(d) for d in str(number)})


def stats(values):
    return {"count": len(values), "total": sum(values), "mean": sum(values) // len(values)}
'''

# ---------------------------------------------------------------------------------------------------
# Submissions
# ---------------------------------------------------------------------------------------------------

WRONG = {
    "ans_exceptions": '''\
class NegativeInputError(Exception):
    """Not a ValueError."""


def safe_sqrt(x):
    if x < 0:
        raise NegativeInputError(f"negative input: {x}")
    return x ** 0.5
''',
    "ans_rebinding": '''\
def area(side):
    return side * 2


def total_area(sides):
    return sum(s * s for s in sides)
''',
    "ans_files": '''\
def read_numbers(path):
    with open(path) as handle:
        return [line.strip() for line in handle if line.strip()]


def write_total(numbers, path):
    with open(path, "w") as handle:
        handle.write(str(len(numbers)))

write_total([3, 1, 4, 1, 5], "total.txt")
''',
    "ans_modules": '''\
import math


def hypot(a, b):
    return a + b


def unit_vector(v):
    return np.asarray(v, dtype=float)
''',
    "ans_values": _values_answer("wrong") + "\n\ndef get_value(kind):\n    return globals()['v_' + kind]\n",
    "ans_ipython": "def triple(x):\n    return x + 3\n",
    "ans_callbacks": '''\
def apply_n(f, x, n):
    for _ in range(n - 1):
        x = f(x)
    return x


def sort_by(items, key):
    return sorted(items)
''',
    "ans_random": '''\
import random


def noisy(n):
    return np.random.default_rng().standard_normal(n)


def dice():
    return random.Random().randint(1, 6)
''',
    "ans_source": '''\
def count_vowels(text):
    return sum(text.lower().count(v) for v in "aeiou")
''',
    "ans_env": '''\
def grading_mode():
    return "validate"

ITERATIONS = 10 ** 6
''',
    "ans_partial": '''\
def fizz(n):
    if n % 3 == 0:
        return "Fizz"
    if n % 5 == 0:
        return "Buzz"
    return str(n)
''',
    "ans_prints": '''\
def chatty_sum(values):
    print("adding", len(values), "values")
    return sum(values) + 1
''',
    "plot_manual": "plt.plot([1, 2], [3])  # raises: x and y differ in length\n",
    "written_manual": "A line.",
    "ans_objects": '''\
class Account:
    def __init__(self, owner, balance=0):
        self.owner = owner
        self.balance = balance
        self.history = []

    def deposit(self, amount):
        self.balance += amount
        return self.balance

my_account = Account("ada", 0)
''',
    "ans_skip": 'def flag():\n    return "ran"\n',
    "ans_equality": "def primes_below(n):\n    return [p for p in range(1, n) if p % 2]\n",
    "ans_autotest": WRONG_AUTOTEST,
}


def erroring(solution):
    """The solution with a ZeroDivisionError at the top of each function body, and at the top level."""
    lines = []
    for line in solution.splitlines():
        lines.append(line)
        stripped = line.strip()
        if stripped.startswith("def ") and stripped.endswith(":"):
            indent = line[:len(line) - len(line.lstrip())] + "    "
            lines.append(f"{indent}1 / 0")
    return "1 / 0 if False else None\n" + "\n".join(lines) + "\nundefined_name_raises_here\n"


ALWAYS_EQUAL = '''\
class AlwaysEqual:
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    __hash__ = object.__hash__


def primes_below(n):
    return AlwaysEqual()
'''

NOISY_PRINTS = '''\
import sys


def chatty_sum(values):
    print("adding", len(values), "values")
    print("debug: on stderr", file=sys.stderr)
    return sum(values)
'''

FIRST_HALF = ["ans_exceptions", "ans_rebinding", "ans_files", "ans_modules", "ans_values", "ans_ipython",
              "ans_callbacks", "ans_autotest"]


def submissions(release, source):
    """{student: {notebook name: notebook}} built from the release (and the master) of each notebook."""
    names = sorted(release)

    def every(**options):
        return {name: b.fill(release[name], source[name], **options) for name in names}

    def answers_in(name, table):
        ids = set(b.solved_answers(source[name]))
        return {k: v for k, v in table.items() if k in ids}

    out = {
        "right": every(default=b.SOLUTION),
        "blank": every(),
        "wrong": {n: b.fill(release[n], source[n], answers_in(n, WRONG)) for n in names},
        "erroring": {n: b.fill(release[n], source[n], {k: erroring for k in answers_in(n, WRONG)
                                                       if k not in ("written_manual",)}) for n in names},
        "partial": {n: b.fill(release[n], source[n], {k: b.SOLUTION for k in answers_in(n, dict.fromkeys(FIRST_HALF))})
                    for n in names},
        # right, but for a function that also prints to stderr and one whose result equals anything
        "tricky": {n: b.fill(release[n], source[n], answers_in(n, {"ans_prints": NOISY_PRINTS, "ans_equality": ALWAYS_EQUAL}),
                             default=b.SOLUTION) for n in names},
        # the blank release with every test cell tagged skip-execution by the student
        "cheat-skip-tag": every(edit=b.tag_tests()),
    }
    return out


# nbgrader grades a submission's notebooks in this (sorted) order and stops at the first it cannot grade:
# the IPython one, the likeliest to stop an engine, comes last.
NOTEBOOKS = {"1-idioms": idioms_notebook, "2-values": values_notebook, "3-autotest": autotest_notebook,
             "4-ipython": ipython_notebook}


def write_source(folder):
    """source/idioms/ of a course: both master notebooks and the data file."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    import nbformat
    for name, make in NOTEBOOKS.items():
        nbformat.write(make(), str(folder / f"{name}.ipynb"))
    (folder / "data.txt").write_text(DATA_TXT)


# ---------------------------------------------------------------------------------------------------
# What each idiom's cells must give the right and the wrong submission (as stock nbgrader does)
# ---------------------------------------------------------------------------------------------------

# slug: (the idiom, its test cells)
IDIOMS = {
    "except-valueerror": ("exception caught by type (try/except ValueError)", ["test_exc_try"]),
    "pytest-raises": ("exception caught by pytest.raises", ["test_exc_pytest_raises"]),
    "except-isinstance": ("exception checked with isinstance and its type's name", ["test_exc_isinstance"]),
    "exception-subclass": ("student exception class, subclass of ValueError", ["test_exc_subclass"]),
    "del-function": ("del f ... finally f = orig (nbgrader's 'uses squares')", ["test_del_uses_area", "test_del_restored"]),
    "rebind-function": ("rebinding a student function to a test double", ["test_rebind"]),
    "autotest": ("AUTOTEST", ["test_autotest", "test_autotest_float"]),
    "hashed-autotest": ("HASHED AUTOTEST", ["test_hashed_autotest"]),
    "data-file": ("data file shipped with the assignment, read by the test", ["test_data_file"]),
    "written-file": ("file written by the student's code, read by the test", ["test_written_file"]),
    "module-of-given-cell": ("modules imported by a given cell (np, os)", ["test_module_np", "test_module_os"]),
    "module-of-student-cell": ("module imported by the student's cell (math)", ["test_module_math"]),
    **{f"value-{kind.replace('_', '-')}": (f"plain value: {kind}", [f"test_value_{kind}"]) for kind, _, _, _ in VALUES},
    "line-magic": ("IPython line magic (%time) in a test; %matplotlib inline in a given cell", ["test_line_magic"]),
    "cell-magic": ("IPython cell magic (%%time) in a test", ["test_cell_magic"]),
    "shell": ("shell escapes (!echo, x = !cmd) in a test", ["test_shell"]),
    "lambda-argument": ("lambda of the test passed to student code", ["test_callback_lambda"]),
    "function-argument": ("function of the test (a closure) passed to student code", ["test_callback_def"]),
    "np-random-seed": ("np.random.seed in the test seeds the student's code", ["test_np_seed"]),
    "random-seed": ("random.seed in the test seeds the student's code", ["test_random_seed"]),
    "getsource": ("inspect.getsource of a student function", ["test_getsource"]),
    "nbgrader-execution": ("NBGRADER_EXECUTION visible to student code", ["test_nbgrader_execution"]),
    "partial-credit": ("partial credit (the cell's last expression a number)", ["test_partial_credit"]),
    "prints": ("student code prints during a test", ["test_prints"]),
    "objects": ("student objects: attributes, methods, isinstance, type name, setattr", ["test_object_attrs", "test_object_setattr"]),
    "object-global": ("student object held in a global", ["test_object_global"]),
    "skip-execution": ("given cell tagged skip-execution is not run", ["test_skip_execution"]),
    "skip-execution-test": ("test cell tagged skip-execution in the master: never run, full points", ["test_skipped_by_master"]),
    "plot-manual": ("plot in a manually graded cell (answered: left to the grader)", ["plot_manual", "written_manual"]),
    "equality": ("equality of a returned list", ["test_equality"]),
}

# What stock nbgrader gives each idiom's cells: the right submission full points and the wrong one 0, but
# where said here.
RIGHT_EXCEPTIONS = {"plot_manual": "manual", "written_manual": "manual"}
WRONG_EXCEPTIONS = {"test_partial_credit": 2.0, "test_skipped_by_master": 1.0, "plot_manual": "manual",
                    "written_manual": "manual"}

# Further cases, beyond right and wrong: (slug, what, student, cells, what stock gives, what the kit must give)
CASES = [
    ("stderr-during-test", "student code writing to stderr during a test: 0 points (nbgrader scores any stderr 0)",
     "tricky", ["test_prints"], 0.0, 0.0),
    ("always-equal", "an object whose __eq__ always returns True: stock passes it, the kit must give 0 (justified)",
     "tricky", ["test_equality"], 1.0, 0.0),
    ("skip-tag-by-student", "test cells the student tagged skip-execution: stock gives full points, the kit must "
     "grade them (justified)", "cheat-skip-tag", ["test_exc_try", "test_value_int", "test_autotest"], 1.0, 0.0),
    ("blank-release", "the release as handed out: no points", "blank",
     ["test_exc_try", "test_del_uses_area", "test_value_int", "test_autotest", "test_line_magic", "test_partial_credit",
      "plot_manual", "written_manual"], 0.0, 0.0),
]
