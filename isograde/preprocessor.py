"""nbgrader's autograde step, with student code out of the grader's reach.

``GradeInSandbox`` takes the place of nbgrader's ``Execute`` in ``c.Autograde.autograde_preprocessors``
(see ``nbgrader_config.py``), so ``nbgrader autograde``, the formgrader's button and the kit's ``grade``
all grade the same way. nbgrader keeps everything else: release, collect, sanitising (OverwriteCells
restores the test cells), checksums, scores, gradebook, feedback and export.

nbgrader builds a new preprocessor for every notebook; the sandboxed zygote and the assignment's
reference are kept per process (module level), so a class pays their start once per grading process.
"""
import json
import os
import traceback

import jsonschema
import nbformat
from nbconvert.preprocessors import Preprocessor
from nbgrader.coursedir import CourseDirectory
from nbgrader.nbgraderformat import MetadataValidator, ValidationError
from nbgrader.nbgraderformat.common import BaseMetadataValidator, SchemaTooNewError, SchemaTooOldError
from nbgrader.preprocessors import CheckCellMetadata
from traitlets import Bool, Float, Unicode

from isograde.assignment import Assignment
from isograde.grading import NotebookGrader, Timings
from isograde.remote import Zygote

MAX_SUPPORT_FILES_BYTES = 64 * 1024 * 1024
_ASSIGNMENTS = {}
_ZYGOTES = {}
TIMINGS = Timings()  # seconds per phase in this process, for benchmarks and the class report


class GradeInSandbox(Preprocessor):
    """Run the student's cells in a sandboxed worker and the master's checks in this process."""

    enabled = Bool(True).tag(config=True)
    sandbox = Bool(True, help="Run student code in the bubblewrap sandbox. Turn off only for code you trust "
                              "(or where bubblewrap cannot run).").tag(config=True)
    cell_timeout = Float(60, help="Seconds a student's cell may run before it is stopped (costs that cell only).").tag(config=True)
    check_timeout = Float(30, help="Seconds the checks of one test cell may take, student code included.").tag(config=True)
    grader_folder = Unicode("grader", help="Folder of the course (beside source/) holding each assignment's "
                                           "grader-only helpers, grader/<assignment>/. Never released, "
                                           "never visible to student code.").tag(config=True)

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        coursedir = CourseDirectory(config=self.config)
        assignment = self._assignment(coursedir.root, info["assignment"], info["notebook"])
        zygote = self._zygote(assignment)
        files = _support_files(resources.get("metadata", {}).get("path"))
        submitted = _submitted_notebook(coursedir, info)
        grader = NotebookGrader(assignment, zygote, files, self.cell_timeout, self.check_timeout, TIMINGS)
        grader.grade(nb, submitted)
        nb.metadata["language_info"] = assignment.master.metadata.get("language_info", {"name": "python"})
        return nb, resources

    def _assignment(self, root, name, notebook):
        path = os.path.join(root, "source", name, notebook + ".ipynb")
        key = (path, os.path.getmtime(path) if os.path.exists(path) else None, self.grader_folder)
        if key not in _ASSIGNMENTS:
            _ASSIGNMENTS[key] = Assignment(root, name, notebook, self.grader_folder)
        return _ASSIGNMENTS[key]

    def _zygote(self, assignment):
        key = (self.sandbox, tuple(assignment.secrets()))
        zygote = _ZYGOTES.get(key)
        if zygote is None or not zygote.alive():
            with TIMINGS.phase("sandbox"):
                zygote = _ZYGOTES[key] = Zygote(sandboxed=self.sandbox, secrets=assignment.secrets())
        return zygote


def _support_files(folder):
    """The files nbgrader put beside the notebook (public tests, data), sent into the worker."""
    files, total = {}, 0
    if not folder or not os.path.isdir(folder):
        return files
    for name in sorted(os.listdir(folder)):
        path = os.path.join(folder, name)
        if name.endswith(".ipynb") or name.startswith(".") or not os.path.isfile(path):
            continue
        total += os.path.getsize(path)
        if total > MAX_SUPPORT_FILES_BYTES:
            break
        with open(path, "rb") as handle:
            files[name] = handle.read()
    return files


def _submitted_notebook(coursedir, info):
    """The notebook as the student submitted it (with its outputs), or None if it cannot be read."""
    try:
        folder = coursedir.format_path(coursedir.submitted_directory, info["student"], info["assignment"])
        with open(os.path.join(folder, info["notebook"] + ".ipynb"), encoding="utf-8") as handle:
            return nbformat.from_dict(json.load(handle))  # only its outputs are used, filtered by type
    except (OSError, ValueError, json.JSONDecodeError, KeyError, TypeError):
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
