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
import functools
import inspect
import os
import random
import sys
import traceback
import types
import warnings

import numpy as np
from IPython.core.displayhook import DisplayHook
from traitlets import Type

from isograde import proxy
from isograde.exceptions import is_shadow_exception, raised_by_student
from isograde.worker.shell import CollectingDisplayHook, CollectingShell, new_shell

IPYTHON_NAMES = {"In", "Out", "get_ipython", "exit", "quit", "_ih", "_oh", "_dh", "_", "__", "___", "_i", "_ii",
                 "_iii", "__builtins__", "__name__", "__builtin__", "__doc__", "__spec__", "__loader__",
                 "__package__", "__warningregistry__"}
PREFETCHED_NAMES = 64
STUDENT_MARK = "[printed by the submitted code during this test]\n"


def ipython_name(name):
    return name in IPYTHON_NAMES or (name.startswith("_i") and name[2:].isdigit()) or \
        (name.startswith("_") and name[1:].isdigit())


class TestNamespace(dict):
    """The globals of a notebook's test cells (see the module's docstring). The dict itself holds
    what the tests bound; everything else is looked up by ``session.resolve``."""

    def __init__(self, session):
        super().__init__(__name__="__main__", __builtins__=session.builtins)
        self.session = session

    def __missing__(self, name):
        return self.session.resolve(name)

    def __setitem__(self, name, value):
        if not ipython_name(name) and self.session.belongs_to_student(value):
            self.session.bind(name, value)  # the student's own object, under the student's name
            dict.pop(self, name, None)
            return
        library_module = isinstance(value, types.ModuleType) and sys.modules.get(getattr(value, "__name__", "")) is value
        if not ipython_name(name) and (name in self.session.student_names or library_module):
            # a test's stand-in for a name of the student's, or a module a test imports: the student's
            # later code sees it, as in the kernel (a module holds nothing of the test's)
            self.session.bind(name, value)
        dict.__setitem__(self, name, value)

    def __delitem__(self, name):
        local = dict.__contains__(self, name)
        if local:
            dict.__delitem__(self, name)
        if ipython_name(name):
            return
        if name in self.session.student_names or not local:
            try:
                self.session.unbind(name)
            except KeyError:
                if not local:
                    raise


def _expand(command, names):
    """IPython's DollarFormatter ($name, {expression}) with ``names`` as a mapping of its own (IPython's
    copies it into a plain dict first)."""
    from IPython.utils.text import DollarFormatter
    formatter, parts = DollarFormatter(), []
    for literal, field, spec, conversion in formatter.parse(command):
        parts.append(literal or "")
        if field is not None:
            value = eval(":".join([field, spec]) if spec else field, {"__builtins__": builtins}, names)
            parts.append(formatter.format_field(formatter.convert_field(value, conversion), ""))
    return "".join(parts)


class _Expansion(dict):
    def __init__(self, namespace, local):
        super().__init__(local)
        self.namespace = namespace

    def __missing__(self, name):
        return self.namespace[name]


class GraderDisplayHook(CollectingDisplayHook):
    """A test cell's last value as its result, formatted here: a student's object shows as its type,
    never as text its own ``__repr__`` chose (that text would become nbgrader's partial credit)."""

    def compute_format_data(self, result):
        if proxy.is_handle(result):
            kind = type(result) if isinstance(result, proxy.Handle) else type
            return {"text/plain": f"<{kind.__module__}.{kind.__qualname__} object of the submitted code>"}, {}
        return DisplayHook.compute_format_data(self, result)


class GraderShell(CollectingShell):
    """The grader's one IPython shell: it runs the test cells of every notebook graded here."""

    session = None
    last_error = None

    displayhook_class = Type(GraderDisplayHook)

    def enable_matplotlib(self, gui=None):
        return gui, "agg"  # the grader draws nothing; figures are the student's business

    def enable_pylab(self, gui=None, import_all=True):
        return gui, "agg"

    def init_sys_modules(self):
        pass  # the grader's process keeps its own __main__ (as IPython's embedded shell does)

    def var_expand(self, cmd, depth=0, formatter=None):
        """``!echo {f(5)}``: expanded in the test's namespace, the student's names included (IPython's own
        expands in a copy of the namespace, which holds only what the test bound)."""
        frame = sys._getframe(depth + 1)
        names = _Expansion(self.user_ns, frame.f_locals if frame.f_locals is not self.user_ns else {})
        try:
            return _expand(cmd, names)
        except Exception:
            return cmd

    def use(self, namespace):
        """Make ``namespace`` the user namespace of the cells that follow."""
        self.user_module, self.user_ns = self.prepare_user_module(None, namespace)
        self.user_ns_hidden = {}
        self.init_user_ns()
        self.execution_count = 1

    def record_error(self, etype, value, tb):
        self.last_error = value
        name = getattr(etype, "__name__", "Error")
        if name in ("WorkerGone", "CheckTimeout"):  # the grader stopped the test: not the test's own error
            kind = getattr(value, "kind", "timeout")
            name = "CellTimeoutError" if kind == "timeout" else "WorkerDied"
            self.outputs.error(name, _text(value), [f"{name}: {_text(value)}"])
            return
        render = getattr(value, "_render_traceback_", None)
        if callable(render) and not raised_by_student(value):
            with contextlib.suppress(BaseException):
                lines = render()
                if isinstance(lines, list) and all(isinstance(line, str) for line in lines):
                    self.outputs.error(name, _text(value), lines)
                    return
        frames = [f for f in traceback.extract_tb(tb) if self.shown_frame(f.filename)] if tb else []
        lines = traceback.format_list(frames[-8:])
        if raised_by_student(value) and value.student_trace:
            lines.append("The submitted code raised it here:\n" + value.student_trace)
        lines.append(f"{name}: {_text(value)}")
        self.outputs.error(name, _text(value), lines)

    def shown_frame(self, filename):
        return filename.startswith("<ipython-input-") or filename.startswith("<test cell")


def _text(value, limit=2000):
    try:
        text = str(value)
    except BaseException:
        return "(an error whose message could not be read)"
    return text if len(text) <= limit else text[:limit] + f" [... {len(text) - limit} more characters]"


_SHELL = None


def _source_of_handles(original):
    """``inspect.getsource`` and friends, answering for the student's functions with their source."""
    def wrapped(target, *args, **kwargs):
        if proxy.is_handle(target):
            source = proxy._worker(target).request("source", target)
            if not isinstance(source, str):
                raise TypeError("the source of the student's object is not text")
            if original.__name__ == "getsourcelines":
                return source.splitlines(keepends=True), 0
            return source
        return original(target, *args, **kwargs)
    wrapped.__name__, wrapped.__doc__ = original.__name__, original.__doc__
    return wrapped


inspect.getsource = _source_of_handles(inspect.getsource)
inspect.getsourcelines = _source_of_handles(inspect.getsourcelines)


def grader_shell():
    global _SHELL
    if _SHELL is None:
        _SHELL = new_shell(GraderShell)
        # IPython's static transformations (magics, !cmd) are a function of the source alone, and the same
        # test cells run for every submission: each is transformed once
        manager = _SHELL.input_transformer_manager
        manager.transform_cell = functools.lru_cache(maxsize=1024)(manager.transform_cell)
    return _SHELL


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
