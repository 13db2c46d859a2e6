"""What the grader holds of one assignment: its master notebook, the reference and the checks.

The master notebook (``source/<assignment>/<notebook>.ipynb``) is the one source of truth:

- its solution and given code cells, executed here in the grader's process, are the **reference**;
- its test cells (public tests, and hidden tests between ``### BEGIN HIDDEN TESTS`` and
  ``### END HIDDEN TESTS``) are the **checks**, executed here against the student's code;
- cells tagged ``skip-execution`` only illustrate (load data, train, plot): the grader runs them
  neither here nor in the student's worker (nbclient, and so nbgrader's Execute, skips them too).

Modules the checks import resolve first to the assignment's grader folder (``grader/<assignment>/``,
never released, never shown to the sandbox), then to its source folder (``public_tests.py``), then
as usual. ``from isograde.hidden import reference`` gives the checks the reference namespace.
"""
import ast
import builtins
import contextlib
import importlib.util
import io
import os
import sys
import types

import nbformat
import numpy as np

SKIP_TAG = "skip-execution"  # the tag Jupyter's own runner (nbclient, hence nbgrader's Execute) skips


class GraderSetupError(RuntimeError):
    """The assignment cannot be graded as it stands (a module the checks import is missing, the
    reference does not run): nobody gets a 0 for it, the message says what to fix."""


def nbgrader_of(cell):
    return cell.get("metadata", {}).get("nbgrader", {})


def is_test_cell(cell):
    meta = nbgrader_of(cell)
    return cell.get("cell_type") == "code" and bool(meta.get("grade")) and not meta.get("solution")


def is_skipped(cell, skipped_ids=()):
    return SKIP_TAG in cell.get("metadata", {}).get("tags", []) or nbgrader_of(cell).get("grade_id") in skipped_ids


def code_for_python(source):
    """IPython syntax (%magic, !cmd) as plain Python, as IPython itself would run it."""
    from IPython.core.inputtransformer2 import TransformerManager
    return TransformerManager().transform_cell(source)


class AssignmentModules:
    """Trusted copies of the modules the checks import, loaded from the grader's own folders."""

    def __init__(self, folders, reference):
        self.folders = [f for f in folders if os.path.isdir(f)]
        self.reference = reference
        self.loaded = {}
        self.builtins = dict(vars(builtins), __import__=self.import_)

    def find(self, name):
        for folder in self.folders:
            path = os.path.join(folder, name + ".py")
            if os.path.isfile(path):
                return path
        return None

    def import_(self, name, globals=None, locals=None, fromlist=(), level=0):
        if level == 0 and name == "isograde.hidden":
            module = self.loaded.get(name) or self._hidden_module()
            return module if fromlist else sys.modules["isograde"]
        top = name.split(".")[0]
        if level == 0 and (top in self.loaded or self.find(top)):
            return self.load(top)
        return builtins.__import__(name, globals, locals, fromlist, level)

    def _hidden_module(self):
        module = types.ModuleType("isograde.hidden")
        module.reference = self.reference
        self.loaded["isograde.hidden"] = module
        return module

    def load(self, name):
        if name not in self.loaded:
            path = self.find(name)
            module = types.ModuleType(name)
            module.__file__ = path
            module.__dict__["__builtins__"] = self.builtins
            self.loaded[name] = module
            with open(path, encoding="utf-8") as handle:
                exec(compile(handle.read(), path, "exec"), module.__dict__)
        return self.loaded[name]


class Assignment:
    """One master notebook of an assignment, ready to grade submissions of it."""

    def __init__(self, course_root, assignment, notebook, grader_folder="grader"):
        self.course_root = os.path.abspath(course_root)
        self.source_folder = os.path.join(self.course_root, "source", assignment)
        self.grader_folder = os.path.join(self.course_root, grader_folder, assignment)
        self.path = os.path.join(self.source_folder, notebook + ".ipynb")
        if not os.path.isfile(self.path):
            raise GraderSetupError(f"no master notebook {self.path}: is {assignment!r} an assignment of this course?")
        self.master = nbformat.read(self.path, as_version=4)
        self.tests = {nbgrader_of(c)["grade_id"]: c.source for c in self.master.cells if is_test_cell(c)}
        self.skipped_ids = {nbgrader_of(c).get("grade_id") for c in self.master.cells if is_skipped(c)} - {None}
        self._check_imports()
        self.reference_namespace = self._run_reference()
        self.student_names = {name for name in self.reference_namespace
                              if not name.startswith("_") and not isinstance(self.reference_namespace[name], types.ModuleType)}
        self.reference = types.SimpleNamespace(**{n: self.reference_namespace[n] for n in self.student_names})
        self.modules = AssignmentModules([self.grader_folder, self.source_folder], self.reference)

    def _check_imports(self):
        """Every module a test cell imports must be found before any student is graded."""
        for grade_id, source in self.tests.items():
            try:
                tree = ast.parse(code_for_python(source))
            except SyntaxError as error:
                raise GraderSetupError(f"test cell {grade_id} of {self.path} is not valid Python: {error}") from None
            for node in ast.walk(tree):
                names = ([alias.name for alias in node.names] if isinstance(node, ast.Import) else
                         [node.module] if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module else [])
                for name in names:
                    top = name.split(".")[0]
                    if top != "isograde" and not any(os.path.isfile(os.path.join(f, top + ".py"))
                                                     for f in (self.grader_folder, self.source_folder)) \
                            and importlib.util.find_spec(top) is None:
                        raise GraderSetupError(f"test cell {grade_id} imports {name}, which is neither in "
                                               f"{self.grader_folder} nor in {self.source_folder} nor installed")

    def secrets(self):
        """Paths whose mention inside the sandbox would reveal where the grader keeps its files."""
        return [self.course_root, self.grader_folder, self.source_folder]

    def _run_reference(self):
        """Execute the master's solution and given cells here, with the notebook's own folder as the
        working directory, silently and without disturbing numpy's global random state."""
        namespace = {"__name__": "__reference__", "__builtins__": builtins}
        state = np.random.get_state()
        cwd = os.getcwd()
        sys.path.insert(0, self.source_folder)
        try:
            os.chdir(self.source_folder)
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                for cell in self.master.cells:
                    if cell.cell_type == "code" and not is_test_cell(cell) and not is_skipped(cell):
                        exec(compile(code_for_python(cell.source), f"<master cell {nbgrader_of(cell).get('grade_id', '')}>",
                                     "exec"), namespace)
        finally:
            os.chdir(cwd)
            sys.path.remove(self.source_folder)
            np.random.set_state(state)
        return namespace


class StudentNamespace(dict):
    """The globals of a test cell run by the grader: the assignment's names (those the master's
    solution and given cells define) resolve to handles of the student's own objects; everything
    else resolves as in a fresh module."""

    def __init__(self, worker, names, builtins_dict):
        super().__init__(__builtins__=builtins_dict, __name__="__test__")
        self.worker, self.names = worker, names

    def __missing__(self, name):
        if name in self.names:
            handle = self.worker.lookup(name)
            if handle is not None:
                self[name] = handle
                return handle
        raise KeyError(name)
