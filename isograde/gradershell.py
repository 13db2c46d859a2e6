"""The IPython shell test cells run in, in the grader: a test's own names kept in its namespace, every other name
read from the student's globals when the cell reads it, magics and shell commands as in the kernel, and
``inspect.getsource`` answering for the student's functions (see testcell for how a test cell runs)."""
import builtins
import contextlib
import functools
import inspect
import sys
import traceback
import types

from IPython.core.displayhook import DisplayHook
from traitlets import Type

from isograde import proxy
from isograde.exceptions import raised_by_student
from isograde.worker.shell import CollectingDisplayHook, CollectingShell, new_shell

IPYTHON_NAMES = {"In", "Out", "get_ipython", "exit", "quit", "_ih", "_oh", "_dh", "_", "__", "___", "_i", "_ii",
                 "_iii", "__builtins__", "__name__", "__builtin__", "__doc__", "__spec__", "__loader__",
                 "__package__", "__warningregistry__"}


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
