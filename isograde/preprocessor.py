"""nbgrader's autograde step, with student code out of the grader's reach.

``GradeInSandbox`` takes the place of nbgrader's ``Execute`` in ``c.Autograde.autograde_preprocessors``
(see ``nbgrader_config.py``), so ``nbgrader autograde``, the formgrader's button and the kit's ``grade``
all grade the same way. It is a subclass of ``Execute``: nbgrader's own switches apply to it
(``--no-execute``, ``--Execute.timeout``, the notebook's kernelspec). nbgrader keeps everything else:
release, collect, sanitising (OverwriteCells restores the test cells), checksums, scores, gradebook,
feedback and export.

nbgrader builds a new preprocessor for every notebook; the sandboxed zygote and the assignment are kept
per process (module level), so a class pays their start once per grading process.
"""
import json
import os
import traceback

import jsonschema
import nbformat
from nbgrader.coursedir import CourseDirectory
from nbgrader.nbgraderformat import MetadataValidator, ValidationError
from nbgrader.nbgraderformat.common import BaseMetadataValidator, SchemaTooNewError, SchemaTooOldError
from nbgrader.api import BaseCell, Comment, Grade, Gradebook
from nbgrader.preprocessors import CheckCellMetadata, Execute, GetGrades, NbGraderPreprocessor, SaveAutoGrades
from traitlets import Bool, Float, Integer, Unicode

from isograde.assignment import Assignment
from isograde.files import read_regular
from isograde.grading import Limits, NotebookGrader, Timings
from isograde.variants import attempt_variant
from isograde.zygote import Zygote

_ASSIGNMENTS = {}
_ZYGOTES = {}
MAX_ZYGOTES = 2
_KERNELS = {}
TIMINGS = Timings()  # seconds per phase in this process, for benchmarks and the class report


class GradeInSandbox(Execute):
    """Run the student's cells in a sandboxed worker and the test cells in this process."""

    sandbox = Bool(True, help="Run student code in the bubblewrap sandbox. Turn off only for code you trust "
                              "(or where bubblewrap cannot run).").tag(config=True)
    cell_timeout = Float(None, allow_none=True,
                         help="Seconds a student's cell may run before it is stopped (costs that cell only). "
                              "Default: Execute.timeout, as nbgrader.").tag(config=True)
    check_timeout = Float(None, allow_none=True,
                          help="Seconds a test cell may take, the student's code it calls included. "
                               "Default: Execute.timeout, as nbgrader.").tag(config=True)
    submission_timeout = Float(900, help="Seconds all the cells of one notebook may take together, re-runs "
                                         "after a stopped cell included; cells left are not run.").tag(config=True)
    reference_timeout = Float(120, help="Seconds the master notebook's cells may take to build the reference "
                                        "(only when a test imports it).").tag(config=True)
    worker_memory = Integer(4 * 1024**3, help="Bytes of memory a worker and everything it holds may use, where "
                                              "the grader can make a memory cgroup (root).").tag(config=True)
    variants = Bool(False, help="Give each attempt inputs of its own in the hidden checks that draw them from "
                                "checklib.variant(seed): the variant is a digest of variant_key, the student, the "
                                "assignment and every file handed in (isograde/variants.py), so that another attempt "
                                "draws other inputs and a regrade of the same files the same ones. Off: every "
                                "attempt draws the checks' own seeds, as under stock nbgrader.").tag(config=True)
    variant_key = Unicode("", help="A secret of the course mixed into each attempt's variant (with variants on), "
                                   "so that nobody without it can tell which inputs a notebook will be checked "
                                   "with, even holding the checks' code.").tag(config=True)
    grader_folder = Unicode("grader", help="Folder of the course (beside source/) holding each assignment's "
                                           "grader-only helpers, grader/<assignment>/. Never released, "
                                           "never visible to student code.").tag(config=True)

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        coursedir = CourseDirectory(config=self.config)
        check_kernel(nb)
        assignment = self._assignment(coursedir, info)
        zygote = self._zygote(assignment)
        folder = resources.get("metadata", {}).get("path") or None
        submitted_folder = _submitted_folder(coursedir, info)
        submitted = _submitted_notebook(submitted_folder, info)
        variant = attempt_variant(self.variant_key, info, submitted_folder) if self.variants else None
        if variant is not None or "checklib" in assignment.modules.loaded:  # (a course without it loads nothing)
            assignment.modules.load("checklib").VARIANT = variant
        limits = Limits(cell_timeout=self._limit(self.cell_timeout), check_timeout=self._limit(self.check_timeout),
                        submission_timeout=self.submission_timeout,
                        environment={name: os.environ[name] for name in ("NBGRADER_EXECUTION", "NBGRADER_VALIDATING")
                                     if name in os.environ})
        grader = NotebookGrader(assignment, zygote, os.path.abspath(folder) if folder else None, limits, TIMINGS)
        grader.grade(nb, submitted)
        for problem in assignment.reference_problems[assignment.reported_problems:]:
            self.log.warning("The grader's reference is incomplete: %s (the checks that need it fail).", problem)
        assignment.reported_problems = len(assignment.reference_problems)
        nb.metadata["language_info"] = assignment.master.metadata.get("language_info", {"name": "python"})
        return nb, resources

    def _limit(self, value):
        if value is not None:
            return value
        return float(self.timeout) if self.timeout is not None and self.timeout > 0 else 1e9

    def _assignment(self, coursedir, info):
        root = coursedir.root
        path = os.path.join(root, "source", info["assignment"], info["notebook"] + ".ipynb")
        mtime = os.path.getmtime(path) if os.path.exists(path) else None
        key = (path, mtime, self.grader_folder, info.get("db_url"))
        if key not in _ASSIGNMENTS:
            while len(_ASSIGNMENTS) >= 16:
                _ASSIGNMENTS.pop(next(iter(_ASSIGNMENTS)))
            tests = _gradebook_tests(info)
            _ASSIGNMENTS[key] = Assignment(root, info["assignment"], info["notebook"], self.grader_folder,
                                           tests=tests, reference_timeout=self.reference_timeout)
        return _ASSIGNMENTS[key]

    def _zygote(self, assignment):
        key = (self.sandbox, tuple(assignment.secrets()), self.worker_memory)
        zygote = _ZYGOTES.pop(key, None)
        if zygote is None or not zygote.alive():
            with TIMINGS.phase("sandbox"):
                zygote = Zygote(sandboxed=self.sandbox, secrets=assignment.secrets(), memory=self.worker_memory)
        zygote.warm(assignment.given_sources)
        _ZYGOTES[key] = zygote  # the most recently used last
        while len(_ZYGOTES) > MAX_ZYGOTES:  # a long process (the formgrader) grading many courses keeps a few
            _ZYGOTES.pop(next(iter(_ZYGOTES))).close()
        return zygote


def check_kernel(nb):
    """Stock nbgrader starts the notebook's kernel and fails the notebook if there is no such kernel;
    the kit grades Python notebooks only, and fails the others the same way."""
    name = (nb.metadata.get("kernelspec") or {}).get("name") or "python3"
    name = "python3" if name == "python" else name
    if name not in _KERNELS:
        from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel
        try:
            _KERNELS[name] = KernelSpecManager().get_kernel_spec(name).language
        except NoSuchKernel:
            _KERNELS[name] = None
    language = _KERNELS[name]
    if language is None:
        from jupyter_client.kernelspec import NoSuchKernel
        raise NoSuchKernel(name)
    if language.lower() != "python":
        raise ValueError(f"the notebook's kernel {name!r} runs {language}: the kit's grader runs Python notebooks only")


def _gradebook_tests(info):
    """{grade_id: source} of the notebook's test cells as nbgrader's gradebook keeps them (what
    OverwriteCells restores; AUTOTEST lines expanded, hidden tests included), or None."""
    db_url = info.get("db_url")
    if not db_url:
        return None
    try:
        from nbgrader.api import Gradebook
        with Gradebook(db_url) as gradebook:
            notebook = gradebook.find_notebook(info["notebook"], info["assignment"])
            graded = {cell.name for cell in notebook.grade_cells}
            solutions = {cell.name for cell in notebook.solution_cells}
            return {cell.name: cell.source for cell in notebook.source_cells
                    if cell.name in graded and cell.name not in solutions and cell.cell_type == "code"}
    except Exception:
        return None


def _submitted_folder(coursedir, info):
    """submitted/<student>/<assignment>/, or None."""
    try:
        return coursedir.format_path(coursedir.submitted_directory, info["student"], info["assignment"])
    except (KeyError, TypeError, ValueError):
        return None


def _submitted_notebook(folder, info):
    """The notebook as the student submitted it (with its outputs), or None if it cannot be read."""
    try:
        content = read_regular(folder, info["notebook"] + ".ipynb", limit=64 * 1024 * 1024) if folder else None
        if content is None:  # never through a link
            return None
        return nbformat.from_dict(json.loads(content))  # only its outputs are used, filtered by type
    except (OSError, ValueError, KeyError, TypeError, RecursionError):
        return None


class _CachedSchemaValidation(BaseMetadataValidator):
    """nbgrader's cell validation, with the JSON schema compiled once: nbgrader calls
    ``jsonschema.validate``, which checks the schema itself again for every cell (~0.1 s a notebook)."""

    def validate_cell(self, cell):
        if "nbgrader" not in cell.metadata:
            return
        version = cell.metadata["nbgrader"].get("schema_version", 0)
        if version < self.schema_version:
            raise SchemaTooOldError(f"Outdated schema version: {version} (expected {self.schema_version})",
                                    version, self.schema_version)
        if version > self.schema_version:
            raise SchemaTooNewError(f"Schema version is too new: {version} (expected {self.schema_version})",
                                    version, self.schema_version)
        _schema_validator(self.schema).validate(cell.metadata["nbgrader"])


class _FastMetadataValidator(MetadataValidator, _CachedSchemaValidation):
    """nbgrader's MetadataValidator (v3 checks included) on the cached schema validation above."""


_VALIDATORS = {}


def _schema_validator(schema):
    key = json.dumps(schema, sort_keys=True)
    if key not in _VALIDATORS:
        _VALIDATORS[key] = jsonschema.validators.validator_for(schema)(schema)
    return _VALIDATORS[key]


class CheckCellMetadataOnce(CheckCellMetadata):
    """nbgrader's CheckCellMetadata, same checks and same errors, with the schema compiled once."""

    def preprocess(self, nb, resources):
        try:
            _FastMetadataValidator().validate_nb(nb)
        except ValidationError:
            self.log.error(traceback.format_exc())
            message = "Notebook failed to validate; the nbgrader metadata may be corrupted."
            self.log.error(message)
            raise ValidationError(message)
        return nb, resources


class SaveAutoGradesAtOnce(SaveAutoGrades):
    """nbgrader's SaveAutoGrades writing the same rows in one transaction: stock commits after each score and each
    comment (two disk syncs per grade cell, about 30 per homework 3 notebook). Each per-cell commit becomes a flush
    (the same statements, in the same order), and the notebook's scores are committed together at the end: all
    of them or, if grading the notebook fails midway, none."""

    def preprocess(self, nb, resources):
        self.notebook_id = resources["nbgrader"]["notebook"]
        self.assignment_id = resources["nbgrader"]["assignment"]
        self.student_id = resources["nbgrader"]["student"]
        self.db_url = resources["nbgrader"]["db_url"]
        self.gradebook = Gradebook(self.db_url)
        with self.gradebook:
            session = self.gradebook.db  # a session of this gradebook alone, closed (rolled back) on leaving
            session.commit, commit = session.flush, session.commit
            try:
                nb, resources = NbGraderPreprocessor.preprocess(self, nb, resources)
            finally:
                del session.commit
            commit()
        return nb, resources


class GetGradesAtOnce(GetGrades):
    """nbgrader's GetGrades (feedback: each cell's score, points and comment from the gradebook) reading a
    notebook's grades and comments in two queries: stock asks for each cell's grade, then its cell, one
    query at a time (about 80 per homework 3 notebook, a third of a feedback page's time). A cell the
    gradebook has no row for is asked for as stock asks, so it fails as stock fails (MissingEntry)."""

    def preprocess(self, nb, resources):
        # GetGrades.preprocess, with the grades and comments read before the cells are (one gradebook, opened once)
        self.notebook_id = resources["nbgrader"]["notebook"]
        self.assignment_id = resources["nbgrader"]["assignment"]
        self.student_id = resources["nbgrader"]["student"]
        self.db_url = resources["nbgrader"]["db_url"]
        self.gradebook = Gradebook(self.db_url)
        with self.gradebook:
            submitted = self.gradebook.find_submission_notebook(self.notebook_id, self.assignment_id, self.student_id)
            session = self.gradebook.db
            self._scores = {name: (score, points) for name, score, points in
                            session.query(BaseCell.name, Grade.score, Grade.max_score)
                            .join(BaseCell, Grade.cell_id == BaseCell.id).filter(Grade.notebook_id == submitted.id)}
            self._comments = dict(session.query(BaseCell.name, Comment.comment)
                                  .join(BaseCell, Comment.cell_id == BaseCell.id)
                                  .filter(Comment.notebook_id == submitted.id))
            nb, resources = NbGraderPreprocessor.preprocess(self, nb, resources)
            late_penalty = submitted.late_submission_penalty
            if late_penalty is None:
                late_penalty = 0
            else:
                self.log.warning("Late submission penalty: {}".format(late_penalty))
            resources["nbgrader"]["score"] = submitted.score - late_penalty
            resources["nbgrader"]["max_score"] = submitted.max_score
            resources["nbgrader"]["late_penalty"] = late_penalty
        return nb, resources

    def _get_comment(self, cell, resources):
        name = cell.metadata["nbgrader"]["grade_id"]
        if name not in self._comments:
            return super()._get_comment(cell, resources)
        cell.metadata.nbgrader["comment"] = self._comments[name]

    def _get_score(self, cell, resources):
        name = cell.metadata["nbgrader"]["grade_id"]
        if name not in self._scores:
            return super()._get_score(cell, resources)
        cell.metadata.nbgrader["score"], cell.metadata.nbgrader["points"] = self._scores[name]
