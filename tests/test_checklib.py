"""The check library (isograde/checklib.py): one module for every assignment's public tests and hidden
checks, the same methods on the student's side and the grader's, the tests' tolerances on both, and the
grader's own copy whatever a course or a student folder holds."""
import inspect
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat
import numpy as np
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from isograde import checklib, remoteside
from isograde.assignment import ENGINE_MODULES, Assignment
from isograde.grading import Limits, NotebookGrader, Timings
from isograde.remoteside import RemoteSide
from isograde.zygote import Zygote

REPO = Path(__file__).resolve().parents[1]


def public_methods(cls):
    return {name: inspect.signature(member) for name, member in inspect.getmembers(cls, inspect.isfunction)
            if not name.startswith("_")}


def test_the_grader_side_and_the_student_side_expose_the_same_methods():
    local, grader = public_methods(checklib.LocalSide), public_methods(RemoteSide)
    assert sorted(local) == sorted(grader) == ["calls", "fetch", "namespace", "new", "put", "replaced", "replay",
                                                "same", "seeded", "spy"]
    for name in local:
        assert str(local[name]) == str(grader[name]), name


def test_the_library_is_the_one_the_grader_loads_and_the_kit_ships():
    assert ENGINE_MODULES == {"checklib": str(REPO / "isograde" / "checklib.py")}
    from coursekit.workflow.release import shipped_modules
    assert shipped_modules() == {"checklib.py": str(REPO / "isograde" / "checklib.py")}


def test_the_library_needs_the_standard_library_and_numpy_only():
    program = ("import sys\nsys.path.insert(0, sys.argv[1])\nbefore = set(sys.modules)\nimport checklib\n"
               "roots = {m.split('.')[0] for m in set(sys.modules) - before}\n"
               "print(sorted(r for r in roots if r not in sys.stdlib_module_names and r not in ('numpy', 'checklib')))")
    shown = subprocess.run([sys.executable, "-c", program, str(REPO / "isograde")], capture_output=True, text=True,
                           check=True).stdout
    assert shown.strip() == "[]"


def stand_in(side, **tolerances):
    """A stand-in for g that answers g(array([1.0, 2.0])), built on the grader's side (what
    RemoteSide.replay makes: answered by the grader, compared by ``remoteside.matches``) or the student's."""
    calls = [((np.array([1.0, 2.0]),), "answer")]
    if side == "grader":
        replay = remoteside.Replay(1, "g", calls, **tolerances)
        return lambda value: replay.answer([value], {})[0]
    return checklib.LocalSide().replay(1, "g", calls, **tolerances)


@pytest.mark.parametrize("side", ["grader", "student"])
def test_a_stand_in_built_with_tolerances_matches_within_them_only(side):
    call = stand_in(side, atol=0.1, rtol=0.0)
    assert call(np.array([1.05, 2.0])) == "answer"  # within the test's atol
    with pytest.raises(AssertionError, match="g was called with unexpected arguments"):
        call(np.array([1.5, 2.0]))  # outside it
    with pytest.raises(AssertionError, match="g was called with unexpected arguments"):
        stand_in(side)(np.array([1.05, 2.0]))  # the library's own tolerances, ATOL and RTOL, are tighter
    assert stand_in(side)(np.array([1.0 + 5e-7, 2.0])) == "answer"


def test_the_grader_compares_with_the_librarys_tolerances_by_default():
    assert inspect.signature(remoteside.matches).parameters["atol"].default == checklib.ATOL
    assert inspect.signature(remoteside.matches).parameters["rtol"].default == checklib.RTOL
    assert remoteside.matches(np.array([1.0 + 5e-7]), np.array([1.0]))
    assert not remoteside.matches(np.array([1.0 + 5e-5]), np.array([1.0]))
    assert remoteside.matches(np.array([1.0 + 5e-5]), np.array([1.0]), atol=1e-4, rtol=0)


@pytest.fixture(scope="module")
def zygote():
    zygote = Zygote(sandboxed=True, secrets=[])
    yield zygote
    zygote.close()


def meta(grade_id, grade, solution):
    return {"nbgrader": {"grade": grade, "solution": solution, "grade_id": grade_id, "locked": grade,
                         "points": 1, "schema_version": 3}}


TEST_CELL = """import numpy as np
from checklib import run, student_side
side = student_side(f)
g = side.replay(1, "g", [((np.array([1.0, 2.0]),), 3.0)], **TOLERANCES)
with side.replaced(f, g=g):
    assert side.fetch(run(1, "f()", f)) == 3.0"""


def grade(zygote, student_call, tolerances, course_copy=None, student_copy=None):
    """Whether the test cell passes for a student's f calling g(student_call)."""
    root = Path(tempfile.mkdtemp())
    source, folder = root / "source" / "a", root / "autograded" / "s" / "a"
    source.mkdir(parents=True)
    folder.mkdir(parents=True)
    cells = [new_code_cell("import numpy as np\ndef g(x):\n    return 0", metadata=meta("given", False, False)),
             new_code_cell(f"def f():\n    return g(np.array({student_call}))", metadata=meta("answer", False, True)),
             new_code_cell(TEST_CELL.replace("**TOLERANCES", tolerances), metadata=meta("test", True, False))]
    nbformat.write(new_notebook(cells=cells), source / "n.ipynb")
    if course_copy is not None:
        (source / "checklib.py").write_text(course_copy)
    if student_copy is not None:
        (folder / "checklib.py").write_text(student_copy)
    assignment = Assignment(root, "a", "n")
    notebook = nbformat.from_dict(nbformat.reads(nbformat.writes(new_notebook(cells=cells)), as_version=4))
    NotebookGrader(assignment, zygote, str(folder), Limits(cell_timeout=20, check_timeout=20), Timings()) \
        .grade(notebook, None)
    outputs = notebook.cells[2].outputs
    return assignment, not any(o.output_type == "error" for o in outputs)


def test_the_tests_tolerances_reach_the_grader_through_a_sandboxed_worker(zygote):
    assert grade(zygote, "[1.05, 2.0]", "atol=0.1, rtol=0")[1]
    assert not grade(zygote, "[1.5, 2.0]", "atol=0.1, rtol=0")[1]
    assert not grade(zygote, "[1.05, 2.0]", "")[1]  # the library's tolerances: 0.05 is too far


FORGED = "def __getattr__(name):\n    return lambda *args, **kwargs: None\n"


def test_the_grader_loads_the_engines_library_never_a_course_or_student_copy(zygote):
    assignment, passed = grade(zygote, "[1.5, 2.0]", "atol=0.1, rtol=0", course_copy=FORGED, student_copy=FORGED)
    assert not passed  # a forged library beside the master or the submission changes nothing
    assert assignment.modules.load("checklib").__file__ == str(REPO / "isograde" / "checklib.py")
    assert hasattr(assignment.modules.load("checklib"), "LocalSide")
