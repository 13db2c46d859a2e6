"""What the grader holds of one assignment: its test cells, the names its master notebook defines, and
the reference (built only if a test asks for it).

- The **test cells** are the course's: nbgrader's gradebook keeps each test cell's source as
  ``nbgrader generate_assignment`` saw it (hidden tests and AUTOTEST expansions included): the same
  source nbgrader's OverwriteCells restores. Without a gradebook, the master's test cells.
- The master notebook (``source/<assignment>/<notebook>.ipynb``) is read, not run, for the names its
  solution and given cells bind (``MasterNames``).
- The **reference** (``from isograde.hidden import reference`` in a hidden test) is the namespace of
  the master's solution and given cells executed here: built the first time a test imports it, cell
  by cell, each within a time limit; a cell that fails is named by the checks that need its names.
- Cells tagged ``skip-execution`` only illustrate: neither the student's worker nor the reference
  runs them (nbclient, and so nbgrader's Execute, skips them too).

Modules the checks import resolve first to the engine's own modules that the kit ships with each
release (``checklib``: the engine's ``isograde/checklib.py``, never a copy in a course folder), then to
the assignment's grader folder (``grader/<assignment>/``, never released, never shown to the sandbox),
then to its source folder, then as usual (never the student's folder).
"""
import ast
import builtins
import contextlib
import functools
import importlib.util
import os
import sys
import types

import nbformat

SKIP_TAG = "skip-execution"  # the tag Jupyter's own runner (nbclient, hence nbgrader's Execute) skips
# The engine's modules that the kit ships into each release (coursekit/workflow/release.py), by the name
# tests import them as: the grader loads these files, whatever copy a course or student folder holds.
ENGINE_MODULES = {"checklib": os.path.join(os.path.dirname(os.path.abspath(__file__)), "checklib.py")}


class GraderSetupError(RuntimeError):
    """The assignment cannot be graded as it stands (a module the checks import is missing): nobody
    gets a 0 for it, the message says what to fix."""


def nbgrader_of(cell):
    meta = cell.get("metadata", {}) if isinstance(cell, dict) else {}
    found = meta.get("nbgrader", {}) if isinstance(meta, dict) else {}
    return found if isinstance(found, dict) else {}


def is_test_cell(cell):
    meta = nbgrader_of(cell)
    return cell.get("cell_type") == "code" and bool(meta.get("grade")) and not meta.get("solution")


def is_skipped(cell, skipped_ids=()):
    tags = cell.get("metadata", {}).get("tags", [])
    return (isinstance(tags, list) and SKIP_TAG in tags) or nbgrader_of(cell).get("grade_id") in skipped_ids


def code_for_python(source):
    """IPython syntax (%magic, !cmd) as plain Python, as IPython itself would run it."""
    from IPython.core.inputtransformer2 import TransformerManager
    return TransformerManager().transform_cell(source)


def hidden_lines(source, begin="BEGIN HIDDEN TESTS", end="END HIDDEN TESTS"):
    """Line numbers (from 1) of a test cell's hidden region (nbgrader's delimiters)."""
    hidden, inside = set(), False
    for number, line in enumerate(source.splitlines(), start=1):
        if begin in line:
            inside = True
        if inside:
            hidden.add(number)
        if end in line:
            inside = False
    return hidden


class MasterNames:
    """What the master's solution and given cells bind at the top level, read from their code."""

    def __init__(self, cells):
        self.defined, self.imports, self.roots = set(), {}, {"numpy"}
        self._library_names = None
        for cell in cells:
            try:
                tree = ast.parse(code_for_python(cell.source))
            except SyntaxError:
                continue
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    self.roots.update(alias.name.split(".")[0] for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    self.roots.add(node.module.split(".")[0])
            if not is_test_cell(cell):
                self._top_level(tree.body)

    def _top_level(self, statements):
        for node in statements:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                self.defined.add(node.name)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    bound = alias.asname or alias.name.split(".")[0]
                    self.defined.add(bound)
                    self.imports[bound] = (alias.name if alias.asname else alias.name.split(".")[0], None)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                for alias in node.names:
                    if alias.name != "*":
                        self.defined.add(alias.asname or alias.name)
                        self.imports[alias.asname or alias.name] = (node.module, alias.name)
            elif isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.For, ast.With)):
                targets = (node.targets if isinstance(node, ast.Assign) else [node.target] if not isinstance(node, ast.With)
                           else [item.optional_vars for item in node.items if item.optional_vars is not None])
                for target in targets:
                    self.defined.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
            if isinstance(node, (ast.If, ast.For, ast.While, ast.With, ast.Try)):
                for block in ("body", "orelse", "finalbody"):
                    self._top_level(getattr(node, block, []) or [])
                for handler in getattr(node, "handlers", []) or []:
                    self._top_level(handler.body)

    def library_names(self):
        """{name: the grader's own module or object} for the names the master binds by import (those
        that import here; the rest are read from the student's process). Worked out once per master:
        a name whose import fails searches the whole path again on every try."""
        if self._library_names is None:
            self._library_names = self._import_library_names()
        return dict(self._library_names)

    def _import_library_names(self):
        found = {}
        for name, (module_name, attribute) in self.imports.items():
            try:
                module = importlib.import_module(module_name)
                found[name] = module if attribute is None else getattr(module, attribute)
            except Exception:
                continue
            if attribute is not None and isinstance(found[name], types.ModuleType) is False \
                    and getattr(found[name], "__module__", "") == "__main__":
                del found[name]
        return found


class AssignmentModules:
    """Trusted copies of the modules the checks import, loaded from the engine (``ENGINE_MODULES``) and
    the grader's own folders; one copy per assignment, apart from ``sys.modules``."""

    def __init__(self, folders, reference):
        self.folders = [f for f in folders if os.path.isdir(f)]
        self.reference = reference  # a callable: built on first use
        self.loaded = {}
        self.builtins = dict(vars(builtins), __import__=self.import_)

    def find(self, name):
        if name in ENGINE_MODULES:
            return ENGINE_MODULES[name]
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
        module.reference = self.reference()
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

    def __init__(self, course_root, assignment, notebook, grader_folder="grader", tests=None, reference_timeout=120):
        self.course_root = os.path.abspath(course_root)
        self.name, self.notebook = assignment, notebook
        self.source_folder = os.path.join(self.course_root, "source", assignment)
        self.grader_folder = os.path.join(self.course_root, grader_folder, assignment)
        self.path = os.path.join(self.source_folder, notebook + ".ipynb")
        self.reference_timeout = reference_timeout
        self.master = nbformat.read(self.path, as_version=4) if os.path.isfile(self.path) else nbformat.v4.new_notebook()
        if tests is None:
            tests = {nbgrader_of(c)["grade_id"]: c.source for c in self.master.cells if is_test_cell(c)}
        self.tests = tests
        self.skipped_ids = {nbgrader_of(c).get("grade_id") for c in self.master.cells if is_skipped(c)} - {None}
        self.names = MasterNames([c for c in self.master.cells if c.cell_type == "code" and not is_skipped(c)])
        self.names.roots |= self._test_roots()
        self._reference = None
        self.reference_problems, self.reported_problems = [], 0
        self.modules = AssignmentModules([self.grader_folder, self.source_folder], self.reference)
        self._check_imports()

    def _test_roots(self):
        roots = set()
        for source in self.tests.values():
            with contextlib.suppress(SyntaxError):
                for node in ast.walk(ast.parse(code_for_python(source))):
                    if isinstance(node, ast.Import):
                        roots.update(alias.name.split(".")[0] for alias in node.names)
                    elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                        roots.add(node.module.split(".")[0])
        return roots - {"isograde"}

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
                    if top != "isograde" and top not in ENGINE_MODULES \
                            and not any(os.path.isfile(os.path.join(f, top + ".py"))
                                        for f in (self.grader_folder, self.source_folder)) \
                            and importlib.util.find_spec(top) is None:
                        raise GraderSetupError(f"test cell {grade_id} imports {name}, which is neither in "
                                               f"{self.grader_folder} nor in {self.source_folder} nor installed")

    @functools.cached_property
    def given_sources(self):
        """The sources of the master's given code cells: neither solution nor test cells, nothing nbgrader
        would clear. Every student receives them as they are, so the worker may hold them (the zygote
        prepares them once for all submissions); never a solution or a test."""
        markers = ("BEGIN SOLUTION", "BEGIN HIDDEN", "BEGIN MARK SCHEME")
        return tuple(c.source for c in self.master.cells if c.cell_type == "code" and not nbgrader_of(c).get("solution")
                and not nbgrader_of(c).get("grade") and not any(m in c.source for m in markers))

    def secrets(self):
        """Paths whose mention inside the sandbox would reveal where the grader keeps its files."""
        return [self.course_root, self.grader_folder, self.source_folder]

    def source_files(self):
        """Names of the files the assignment ships beside its notebooks (they keep the instructor's
        version for the checks, whatever student code writes)."""
        found = set()
        for folder, _, files in os.walk(self.source_folder):
            for name in files:
                found.add(os.path.relpath(os.path.join(folder, name), self.source_folder))
        return found

    # the reference ---------------------------------------------------------------------------------
    def reference(self):
        if self._reference is None:
            self._reference = self._build_reference()
        return self._reference

    def _build_reference(self):
        from isograde.reference import build_reference
        reference, problems = build_reference(self.master.cells, self.source_folder, self.reference_timeout)
        self.reference_problems.extend(problems)
        return reference
