"""nbgrader settings of the Homework 3 course kit. This folder is the course directory."""
import os

from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import ClearHiddenTests, GetGrades

from hw3kit.feedback import FeedbackHTMLExporter, ShortTracebacks

c = get_config()  # noqa: F821 (provided by nbgrader when it loads this file)

c.CourseDirectory.course_id = "hw3-optimization"
c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))

# A student's cell that runs longer than this is interrupted; grading goes on with the next cell.
c.Execute.timeout = 60
# nbgrader scores a test cell 0 if anything is written to stderr. A correct Sigmoid on large inputs
# makes numpy print an overflow RuntimeWarning there, so the grading kernel prints warnings on stdout.
c.Execute.extra_arguments = [
    "--HistoryManager.hist_file=:memory:",
    "--IPKernelApp.exec_lines=import sys, warnings; warnings.showwarning = "
    "lambda message, category, filename, lineno, file=None, line=None: "
    "sys.stdout.write(warnings.formatwarning(message, category, filename, lineno, line))",
]

# A deleted or edited test cell is restored from the master notebook and graded.
c.OverwriteCells.add_missing_cells = True

# Feedback shows students their scores and the messages of failing tests, but neither the hidden
# tests' code nor the grader's reference code (nbgrader shows both by default: its issue #917).
c.GenerateFeedback.preprocessors = [GetGrades, ClearHiddenTests, ShortTracebacks, CSSHTMLHeaderPreprocessor]
# nbgrader's feedback template ignores HTMLExporter.mathjax_url (it always writes the CDN address); this
# exporter honours it, so `hw3kit.feedback.generate_feedback` can point the pages at a local MathJax copy.
c.GenerateFeedback.exporter_class = FeedbackHTMLExporter
