"""The reference: the master notebook's solution and given cells, executed in the grader's process for the
hidden tests that import it (``from isograde.hidden import reference``). Built the first time a test asks,
cell by cell within a time limit; a cell that fails is named by the checks that need what it should have
defined (``ReferenceUnavailable``), the others are unaffected."""
import builtins
import contextlib
import io
import os
import sys
import time
import types
import warnings

import numpy as np

from isograde.assignment import MasterNames, code_for_python, is_skipped, is_test_cell, nbgrader_of
from isograde.deadline import TimeLimitReached, interrupt_after


class ReferenceUnavailable(Exception):
    """A check needs a name of the reference that a master cell did not define (it failed or ran past
    its time limit)."""


class Reference(types.SimpleNamespace):
    """The master's namespace as the checks see it. A name a failed master cell should have defined
    raises ReferenceUnavailable, which names the cell."""

    def __getattr__(self, name):
        missing = object.__getattribute__(self, "__dict__").get("_missing", {})
        if name in missing:
            raise ReferenceUnavailable(f"the grader's reference has no {name!r}: {missing[name]}. Fix the master "
                                       "notebook and grade again.")
        raise AttributeError(name)


def build_reference(cells, source_folder, timeout):
    """The master's solution and given cells executed here, cell by cell within ``timeout`` seconds in
    all, with the notebook's folder as working directory, silently, without disturbing numpy's global
    random state: (the reference, [what went wrong, one line per master cell that failed]). A cell that
    fails is recorded and the next cells still run."""
    namespace = {"__name__": "__reference__", "__builtins__": builtins, "get_ipython": ReferenceShell}
    missing, problems = {}, []
    state = np.random.get_state()
    cwd = os.getcwd()
    sys.path.insert(0, source_folder)
    started = time.monotonic()
    try:
        os.chdir(source_folder)
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()), \
                warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for index, cell in enumerate(cells):
                if cell.cell_type != "code" or is_test_cell(cell) or is_skipped(cell):
                    continue
                label = nbgrader_of(cell).get("grade_id") or f"number {index + 1}"
                remaining = timeout - (time.monotonic() - started)
                problem = _run_master_cell(cell.source, namespace, label, remaining)
                if problem:
                    problems.append(f"master cell {label}: {problem}")
                    for name in MasterNames([cell]).defined:
                        missing.setdefault(name, f"master cell {label} {problem}")
    finally:
        os.chdir(cwd)
        with contextlib.suppress(ValueError):
            sys.path.remove(source_folder)
        np.random.set_state(state)
    names = {n: v for n, v in namespace.items() if not n.startswith("_") and not isinstance(v, types.ModuleType)}
    reference = Reference(**names)
    object.__setattr__(reference, "_missing", {n: why for n, why in missing.items() if n not in names})
    return reference, problems


class ReferenceShell:
    """``get_ipython()`` while the reference is built: magics of the master run as plain code in the
    reference's namespace; shell commands and GUI settings do nothing in the grader."""

    def __init__(self):
        self.namespace = sys._getframe(1).f_globals

    def run_line_magic(self, name, line, _stack_depth=1):
        if name in ("time", "timeit", "capture", "prun"):
            exec(compile(line.split(" ", 1)[-1] if line.startswith("-") else line, "<magic>", "exec"), self.namespace)

    def run_cell_magic(self, name, line, cell):
        if name in ("time", "timeit", "capture", "prun"):
            exec(compile(cell, "<magic>", "exec"), self.namespace)

    def system(self, command):
        return None

    def getoutput(self, command, split=True, depth=0):
        return []

    def __getattr__(self, name):
        return lambda *args, **kwargs: None


def _run_master_cell(source, namespace, label, seconds):
    """None, or what went wrong (an exception, or running past ``seconds``)."""
    if seconds <= 0:
        return "did not run: the reference's time limit was used up by earlier cells"
    try:
        code = compile(code_for_python(source), f"<master cell {label}>", "exec")
    except SyntaxError as error:
        return f"is not valid Python ({error})"
    with interrupt_after(seconds, TimeLimitReached):
        try:
            exec(code, namespace)
        except TimeLimitReached:
            return f"ran past the reference's time limit ({seconds:.0f} s left)"
        except BaseException as error:  # SystemExit too: the reference is built regardless
            return f"raised {type(error).__name__}: {str(error)[:200]}"
    return None
