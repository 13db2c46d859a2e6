"""Faithful grading (issue 18): real nbgrader assignments graded by stock nbgrader and by the kit in the
same test; every grade cell must agree, but for the justified differences listed in ``JUSTIFIED``.

Each course is graded once per session (one ``nbgrader generate_assignment`` and one ``nbgrader autograde``
per configuration, the two configurations side by side: ``harness.grade_both``); its table (cells compared,
agreeing, differing with both scores and the error behind) is printed and written to
``tests/artifacts/fidelity-<course>.txt``. Run alone: ``pytest tests/fidelity`` (or ``-m fidelity``).

The per-idiom tests check both directions on the ``idioms`` assignment: the right answer gets full points
and the wrong one none, first from stock nbgrader (so the fixture itself is checked), then from the kit.
"""
import os
from pathlib import Path

import pytest

import courses
import harness
import idioms_course

ARTIFACTS = Path(os.environ.get("HW3_ARTIFACTS") or Path(__file__).resolve().parents[1] / "artifacts")
ANY = "*"

# (course, student, notebook or ANY, grade cell or ANY: every cell whose id starts with "test_"):
# (what the kit must give, why).
# ("as", student) means: what stock gives that other student for the same cell.
JUSTIFIED = {
    ("idioms", "tricky", "1-idioms", "test_equality"):
        (0.0, "primes_below returns an object whose __eq__ always returns True: stock nbgrader passes "
              "`assert primes_below(10) == [2, 3, 5, 7]` (nbgrader issue #1379); a grader that compares in its "
              "own process must not let a student's object decide equality."),
    ("quickstart", "qs-always-equal", "problem1", "correct_squares"):
        (0.0, "squares returns a list subclass whose __eq__ always returns True: stock passes the equality "
              "asserts (nbgrader issue #1379), the kit must not."),
    ("idioms", "cheat-skip-tag", ANY, ANY):
        (("as", "blank"), "the student tagged every test cell skip-execution in the submitted notebook: stock "
                          "nbgrader's Execute skips them and gives full points for no output; the kit decides "
                          "what runs from the master notebook, so the blank answers get what blank answers get."),
}


def _sandbox_missing():
    try:
        from isograde.sandbox import SandboxUnavailable, check_available
    except ImportError:  # the engine is being rewritten: let the tests say what fails
        return None
    try:
        check_available()
    except SandboxUnavailable as error:
        return str(error)
    return None


pytestmark = [pytest.mark.fidelity,
              pytest.mark.skipif(_sandbox_missing() is not None, reason=f"the kit's sandbox: {_sandbox_missing()}")]

_GRADED = {}


@pytest.fixture(scope="session")
def graded(tmp_path_factory):
    """course name -> harness.Comparison, graded once per session."""
    def get(name):
        if name not in _GRADED:
            comparison = harness.grade_both(courses.COURSES[name](), tmp_path_factory.mktemp(f"fidelity-{name}"))
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            (ARTIFACTS / f"fidelity-{name}.txt").write_text(comparison.table() + "\n")
            print("\n" + comparison.table())
            _GRADED[name] = comparison
        return _GRADED[name]
    return get


def justified(course, key, comparison):
    """(the kit's required score, reason) of a listed difference, or None."""
    student, notebook, cell = key
    for (c, s, n, g), (kit, reason) in JUSTIFIED.items():
        if c == course and s == student and n in (notebook, ANY) and (g == cell or (g == ANY and cell.startswith("test_"))):
            if isinstance(kit, tuple):
                kit = comparison.cells.get((kit[1], notebook, cell), (None,))[0]
            return kit, reason
    return None


@pytest.mark.parametrize("course", list(courses.COURSES))
def test_grades_agree(graded, course):
    """Every grade cell of every submission: the kit's score is stock nbgrader's, but for the listed,
    justified differences, where the kit's score is the one listed. nbgrader fails the same submissions."""
    comparison = graded(course)
    assert comparison.cells, f"nothing was graded:\n{comparison.table()}"
    unexpected, unmet = [], []
    for key, (stock, kit, top) in sorted(comparison.cells.items()):
        listed = justified(course, key, comparison)
        if listed is not None:
            if kit != listed[0]:
                unmet.append(f"{'/'.join(key)}: stock {stock}, kit {kit}, the kit must give {listed[0]} "
                             f"(justified: {listed[1][:80]}...) {comparison.why(key)}")
        elif stock != kit:
            unexpected.append(f"{'/'.join(key)}: stock {stock}, kit {kit} (max {top}) {comparison.why(key)}")
    failed_only = {mode: sorted(comparison.failed[mode] - comparison.failed[other])
                   for mode, other in (("stock", "kit"), ("kit", "stock"))}
    problems = unexpected + unmet + [f"nbgrader failed the submission of {s} with the {mode} configuration only: "
                                     f"{comparison.failures[mode].get(s, '')}"
                                     for mode, students in failed_only.items() for s in students]
    assert not problems, (f"{len(problems)} difference(s) with stock nbgrader:\n  " + "\n  ".join(problems[:60])
                          + ("\n  ..." if len(problems) > 60 else "") + "\n\n" + comparison.table())


def _score(comparison, student, cell):
    found = [(key, value) for key, value in comparison.cells.items() if key[0] == student and key[2] == cell]
    assert len(found) == 1, f"no single grade cell {cell} for {student}: {found}"
    return found[0][1]


def _expected(cell, submission, top):
    exceptions = idioms_course.RIGHT_EXCEPTIONS if submission == "right" else idioms_course.WRONG_EXCEPTIONS
    expected = exceptions.get(cell, top if submission == "right" else 0.0)
    return harness.MANUAL if expected == "manual" else expected


@pytest.mark.parametrize("submission", ["right", "wrong"])
@pytest.mark.parametrize("idiom", list(idioms_course.IDIOMS))
def test_idiom(graded, idiom, submission):
    """One idiom, one direction: the right answer passes, the wrong one fails, with stock and with the kit."""
    what, cells = idioms_course.IDIOMS[idiom]
    comparison = graded("idioms")
    stock_wrong, kit_wrong = [], []
    for cell in cells:
        stock, kit, top = _score(comparison, submission, cell)
        expected = _expected(cell, submission, top)
        if stock != expected:
            stock_wrong.append(f"{cell}: stock {stock}, expected {expected}")
        if kit != expected:
            kit_wrong.append(f"{cell}: kit {kit}, expected {expected} "
                             f"{comparison.why((submission, _notebook(comparison, cell), cell))}")
    assert not stock_wrong, f"the fixture is wrong: stock nbgrader does not grade {what!r} as expected: {stock_wrong}"
    assert not kit_wrong, f"the kit grades {what!r} ({submission} answer) unlike stock nbgrader: {kit_wrong}"


def _notebook(comparison, cell):
    return next(key[1] for key in comparison.cells if key[2] == cell)


@pytest.mark.parametrize("case", [c[0] for c in idioms_course.CASES])
def test_idiom_case(graded, case):
    """Further cases of the idioms assignment: stderr, an always-equal object, tags set by the student, blank."""
    _, what, student, cells, stock_gives, kit_gives = next(c for c in idioms_course.CASES if c[0] == case)
    comparison = graded("idioms")
    for cell in cells:
        stock, kit, top = _score(comparison, student, cell)
        want_stock = harness.MANUAL if stock_gives == "manual" else (stock_gives if stock_gives != 1.0 else top)
        want_kit = harness.MANUAL if kit_gives == "manual" else (kit_gives if kit_gives != 1.0 else top)
        if cell in ("plot_manual", "written_manual") and student == "blank":
            want_stock = want_kit = 0.0
        assert stock == want_stock, f"the fixture is wrong: {what}: {student}/{cell}: stock {stock}, expected {want_stock}"
        assert kit == want_kit, (f"{what}: {student}/{cell}: kit {kit}, must be {want_kit} "
                                 f"{comparison.why((student, _notebook(comparison, cell), cell))}")
