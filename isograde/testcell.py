"""Run a test cell in the grader as it would run in the student's kernel, with every verdict here.

The cell's code is the course's (from nbgrader's gradebook: hidden tests and AUTOTEST expansions
included). It runs in this process, in an IPython shell (magics, ``!cmd``, the last line's value as a
result, ``display``), in a namespace that is the student's, seen through handles:

- a name the test binds itself (an import, a helper, ``expected = ...``) stays in the grader: student
  code never sees the test's values and can never change them;
- any other name is the student's global, read when the cell reads it (``squares``, ``np``, a global
  holding 42), except the names the master notebook imports (``np`` is the grader's own numpy) and
  built-ins the master does not define (a student's ``len`` or ``isinstance`` never decides a check);
- binding a handle to a name (``squares = orig_squares``) and ``del squares`` act on the student's
  globals, as they would in the kernel.

``np.random.seed`` and ``random.seed`` called by the test also seed the student's process; student
code the test calls prints into the cell's outputs, marked as the student's.
"""
import ast
import builtins
import contextlib
import os
import random
import sys
import warnings

import numpy as np

from isograde import proxy
from isograde.exceptions import is_shadow_exception
from isograde.gradershell import TestNamespace, grader_shell, ipython_name

PREFETCHED_NAMES = 64
STUDENT_MARK = "[printed by the submitted code during this test]\n"


class TestSession:
    """The test cells of one notebook: their namespace and how its names reach the student's."""

    def __init__(self, assignment):
        self.assignment = assignment
        self.worker = None
        self.builtins = dict(vars(builtins), __import__=assignment.modules.import_)
        self.library_names = assignment.names.library_names()
        self.shadowable = assignment.names.defined & set(vars(builtins))
        self.student_names = set()  # the student's global names when the current test cell started
        self.prefetched = None      # (request number it is valid for, {name: ["found", value] | ["missing", None]})
        self.wanted_by_source = {}
        self.namespace = TestNamespace(self)

    # names ----------------------------------------------------------------------------------------
    def resolve(self, name):
        if name in self.library_names:
            return self.library_names[name]
        if name in self.builtins and name not in self.shadowable:
            raise KeyError(name)  # Python goes on to the built-ins
        if self.worker is None or not isinstance(name, str):
            raise KeyError(name)
        if self.prefetched is not None and self.prefetched[0] == self.worker.next_request:
            found = self.prefetched[1].get(name)  # read with the cell's start and nothing asked since
            if found is not None:
                if found[0] == "missing":
                    raise KeyError(name)
                return found[1]
        return self.worker.lookup(name)

    def _wanted(self, source):
        """The student's globals this cell reads before binding them itself, fetched with its start
        (one request instead of one per name; see ``resolve``). Worked out once per cell source."""
        if source not in self.wanted_by_source:
            self.wanted_by_source[source] = self._names_read(source)
        return self.wanted_by_source[source]

    def _names_read(self, source):
        try:
            tree = ast.parse(grader_shell().transform_cell(source))
        except Exception:
            return []
        read, bound = set(), set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Name):
                (read if isinstance(node.ctx, ast.Load) else bound).add(node.id)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                bound.add(node.name)
            elif isinstance(node, ast.alias):
                bound.add((node.asname or node.name).split(".")[0])
        return sorted(name for name in read - bound if name not in self.library_names and not ipython_name(name)
                      and (name not in self.builtins or name in self.shadowable))[:PREFETCHED_NAMES]

    def belongs_to_student(self, value):
        return self.worker is not None and (proxy.is_handle(value) or is_shadow_exception(value))

    def bind(self, name, value):
        try:
            self.worker.request("set_global", name, value)
        except Exception:  # a value that cannot travel (a test's own object), a module the worker lacks
            return
        self.student_names.add(name)

    def unbind(self, name):
        if self.worker is None:
            raise KeyError(name)
        try:
            self.worker.request("del_global", name)
        except NameError:
            raise KeyError(name) from None
        except KeyError:
            raise KeyError(name) from None

    # one cell -------------------------------------------------------------------------------------
    def run(self, source, folder):
        """The outputs of the test cell ``source`` (dicts), run with ``folder`` as working directory;
        the exception that ended it (or None) is ``shell.last_error``."""
        shell = grader_shell()
        if shell.user_ns is not self.namespace:
            shell.use(self.namespace)
        shell.last_error = None
        shell.stream_origin = None
        if self.worker is not None:
            self.worker.output_sink = self._student_outputs
            self.prefetched, wanted = None, self._wanted(source)
            started = self.worker.request("cell_start", wanted)
            names, values = started if isinstance(started, list) and len(started) == 2 else ([], {})
            self.student_names = {n for n in names if isinstance(n, str)} if isinstance(names, list) else set()
            if isinstance(values, dict):
                self.prefetched = (self.worker.next_request, {
                    name: values[name] for name in wanted
                    if isinstance(values.get(name), list) and len(values[name]) == 2})
        cwd = os.getcwd()
        state = np.random.get_state(), random.getstate()
        try:
            if folder and os.path.isdir(folder):
                os.chdir(folder)
            with self._seeding(), warnings.catch_warnings(), _no_relative_imports():
                _kernel_warning_filters()
                return shell.run(source)
        finally:
            os.chdir(cwd)
            np.random.set_state(state[0])
            random.setstate(state[1])
            if self.worker is not None:
                self.worker.output_sink = None

    def _student_outputs(self, outputs):
        shell = grader_shell()
        for output in outputs:
            if not isinstance(output, dict):
                continue
            kind = output.get("output_type")
            if kind == "stream" and output.get("name") in ("stdout", "stderr") and isinstance(output.get("text"), str):
                shell.outputs.stream(output["name"], output["text"], "student")
            elif kind == "display_data":
                data = {k: v for k, v in (output.get("data") or {}).items() if isinstance(k, str) and isinstance(v, str)}
                if data:
                    shell.outputs.rich("display_data", data, {})

    @contextlib.contextmanager
    def _seeding(self):
        """While a test runs, seeding numpy's or random's global generator seeds the student's too."""
        worker = self.worker
        originals = np.random.seed, random.seed

        def numpy_seed(seed=None):
            originals[0](seed)
            if worker is not None and seed is not None:
                worker.request("random_seed", "numpy", seed)

        def python_seed(a=None, version=2):
            originals[1](a, version)
            if worker is not None and isinstance(a, (int, float, str, bytes)):
                worker.request("random_seed", "random", a)

        np.random.seed, random.seed = numpy_seed, python_seed
        try:
            yield
        finally:
            np.random.seed, random.seed = originals


def _kernel_warning_filters():
    """Python's default warning filters, as a kernel has them (IPython shows DeprecationWarnings of the
    notebook's own code): a warning a test triggers is written to stderr as it would be in the kernel."""
    warnings.resetwarnings()
    warnings.simplefilter("default")
    for category in (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning):
        warnings.filterwarnings("ignore", category=category)
    warnings.filterwarnings("default", category=DeprecationWarning, module="__main__")


@contextlib.contextmanager
def _no_relative_imports():
    """The test runs in the student's folder: no import may search it (a submitted ``json.py`` must
    never run in the grader). The checks' own modules come from the course's grader and source folders
    (``AssignmentModules``)."""
    saved = list(sys.path)
    sys.path[:] = [entry for entry in sys.path if entry not in ("", ".")]
    try:
        yield
    finally:
        sys.path[:] = saved
