"""nbgrader settings of the Homework 3 course kit. This folder is the course directory."""
import os

from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import (AssignLatePenalties, CheckCellMetadata, ClearHiddenTests, ClearOutput,
                                    ClearSolutions, ComputeChecksums, DeduplicateIds, IgnorePattern,
                                    IncludeHeaderFooter, InstantiateTests, LimitOutput, LockCells, OverwriteCells,
                                    OverwriteKernelspec, SaveCells)
from nbconvert.preprocessors import ClearMetadataPreprocessor

from isograde.preprocessor import CheckCellMetadataOnce, GetGradesAtOnce, GradeInSandbox, SaveAutoGradesAtOnce

from coursekit.workflow.feedbackpage import FeedbackHTMLExporter, ShortTracebacks
from coursekit.workflow.markscheme import ClearMarkSchemeOfLockedCells
from coursekit.exercises import ClearExerciseMetadata
from coursekit import studenthtml
from coursekit.platforms.formgrader import sandbox_submission_files
from coursekit.studentfiles import guard_nbgrader_autograde

c = get_config()  # noqa: F821 (provided by nbgrader when it loads this file)

c.CourseDirectory.course_id = "hw3-optimization"
c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))

# nbgrader's release pipeline, with its ClearMarkScheme swapped for one that also clears the rubric of a written
# answer from the locked cell that asks the question (coursekit/workflow/markscheme.py): the formgrader shows the rubric
# above the answer it grades; the release and the feedback do not. The master notebook's grouping of grade cells
# into exercises (cell metadata "coursekit": {"exercise": ...}; coursekit/exercises.py) stays out of the release too.
c.GenerateAssignment.preprocessors = [IncludeHeaderFooter, InstantiateTests, LockCells, ClearSolutions, ClearOutput,
                                      CheckCellMetadata, ComputeChecksums, SaveCells, ClearHiddenTests,
                                      ClearMarkSchemeOfLockedCells, ClearExerciseMetadata, ComputeChecksums,
                                      CheckCellMetadata]

# Grading runs student code in a sandboxed worker and every check in the grader's own process
# (isograde): GradeInSandbox takes the place of nbgrader's Execute; the rest of nbgrader's
# pipeline (scores, gradebook, feedback) stays as it is.
# nbgrader's sanitize list, with its CheckCellMetadata swapped for the same checks on a schema compiled
# once (nbgrader recompiles it for every cell: ~0.1 s per notebook).
c.Autograde.sanitize_preprocessors = [ClearOutput, DeduplicateIds, OverwriteKernelspec, OverwriteCells,
                                      CheckCellMetadataOnce]
# nbgrader's default autograde list ends with a second CheckCellMetadata; the sanitize pass has already validated
# every cell's metadata and GradeInSandbox changes outputs only, so it is left out (~0.1 s per notebook).
# SaveAutoGradesAtOnce is nbgrader's SaveAutoGrades committing a notebook's scores and comments together (stock
# commits after each cell: about 30 disk syncs per notebook).
c.Autograde.autograde_preprocessors = [GradeInSandbox, IgnorePattern, ClearMetadataPreprocessor, LimitOutput,
                                       SaveAutoGradesAtOnce, AssignLatePenalties]
# nbconvert validates the whole notebook against the nbformat schema after every preprocessor of a pass (six to
# eleven times per notebook); with its own setting it validates once, after the last: a notebook a preprocessor
# left invalid still fails (~0.04 s per submission).
c.NotebookExporter.optimistic_validation = True
# As in stock nbgrader, anything a test cell writes to stderr costs its points, warnings included. Homework 3's
# hidden checks give a correct network inputs large enough that numpy warns (overflow in the given Sigmoid's
# exp): numpy's RuntimeWarnings are not mistakes, so nbgrader's IgnorePattern drops them before scoring.
c.IgnorePattern.enabled = True
c.IgnorePattern.pattern = r"RuntimeWarning"
# A student's cell that runs longer than this is stopped; grading goes on without it.
c.GradeInSandbox.cell_timeout = 60
# The checks of one test cell, the student's code they call included, may take this long.
c.GradeInSandbox.check_timeout = 30
# Each attempt draws its own inputs in the hidden checks (grader/hw3/hw3_checks.py passes every seed through
# checklib.variant), decided by every file handed in: what one attempt's feedback shows does not answer the next,
# a regrade of the same files draws the same. Set a secret of your own (kept out of release/) as the key.
c.GradeInSandbox.variants = True
c.GradeInSandbox.variant_key = ""

# A submission folder holds regular files only (no link, pipe or device; sizes, counts and names capped:
# coursekit/studentfiles/). nbgrader's autograde copies it with shutil, following links, before any
# preprocessor runs, and has no setting for its converter class: this makes Autograde check each folder
# first and fail a refused one alone, with its reason (`python -m coursekit grade` checks it too, earlier).
guard_nbgrader_autograde()
# nbgrader's collect, copying from the exchange without following what a student put there (links, pipes,
# odd folder names): a refused submission arrives in submitted/ as its reason (coursekit/workflow/exchange.py).
c.ExchangeFactory.collect = "coursekit.workflow.exchange.SafeExchangeCollect"

# Late work: autograde's AssignLatePenalties (above) asks nbgrader's LateSubmissionPlugin for each late notebook's
# penalty; a submission is late when its submitted/<student>/<assignment>/timestamp.txt (kept by `import`) is past the
# gradebook's due date (`python -m coursekit release ASSIGNMENT --duedate '2024-03-01 17:00 Europe/London'`). The
# course keeps nbgrader's default, no penalty; `status` and the export show who is late by how much either way.
# For 10% of the score per day begun late after an hour's grace (coursekit/latepenalty.py):
# c.AssignLatePenalties.plugin_class = "coursekit.latepenalty.ShareOffPerPeriod"
# c.ShareOffPerPeriod.share_per_period = 0.10
# c.ShareOffPerPeriod.period_hours = 24
# c.ShareOffPerPeriod.grace_minutes = 60
# or, nbgrader's own: c.LateSubmissionPlugin.penalty_method = "zero"

# A deleted or edited test cell is restored from the master notebook and graded.
c.OverwriteCells.add_missing_cells = True

# Feedback shows students their scores and the messages of failing tests, but neither the hidden
# tests' code nor the grader's reference code (nbgrader shows both by default: its issue #917), nor the rubric.
c.GenerateFeedback.preprocessors = [GetGradesAtOnce, ClearHiddenTests, ClearMarkSchemeOfLockedCells, ShortTracebacks,
                                    CSSHTMLHeaderPreprocessor]
# Each feedback page is one file that opens alone, offline: this exporter typesets its maths into it (MathJax
# under Node.js, at generation time) instead of loading MathJax from a CDN, as nbgrader's template does.
c.GenerateFeedback.exporter_class = FeedbackHTMLExporter

# Nothing a submission holds runs in the instructor's or a student's browser (coursekit/studenthtml.py). The
# formgrader renders each autograded notebook with an nbconvert HTMLExporter made from this configuration,
# and so does feedback (FeedbackHTMLExporter is one): student markdown and outputs are cleaned by nh3 when the
# page is rendered (the notebook on disk stays as submitted, so nbgrader's checksums are untouched), only
# outputs a page can show safely are kept, and the formgrader's page carries a Content-Security-Policy under
# which only its own scripts run (the kit's formgrade template, which extends nbgrader's).
c.HTMLExporter.preprocessors = [studenthtml.SafeNotebook]
c.HTMLExporter.filters = {"markdown2html": studenthtml.markdown2html, "clean_html": studenthtml.clean_html}
c.HTMLExporter.sanitize_html = True  # nbconvert's templates then clean HTML outputs and leave out JavaScript
c.HTMLExporter.template_name = studenthtml.FORMGRADE_TEMPLATE
c.HTMLExporter.extra_template_basedirs = [studenthtml.TEMPLATES, studenthtml.NBGRADER_TEMPLATES]
c.HTMLExporter.extra_template_paths = [studenthtml.NBGRADER_TEMPLATES]  # the kit's template extends nbgrader's
c.FeedbackHTMLExporter.template_name = "feedback"  # nbgrader's feedback template, as before
# Files a student submitted beside the notebook, which the formgrader serves on the server's own origin, open
# in a sandbox without script (in the Jupyter server, where the formgrader loads this file).
sandbox_submission_files()
