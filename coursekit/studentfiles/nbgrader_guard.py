"""nbgrader's own autograde, made to check each submission folder before it copies it."""
import os

from .folders import refusal_of, scan_submission
from .notebooks import notebook_refusal
from .reading import name_problem, shown


# ---------------------------------------------------------------------------------------------
# nbgrader's own autograde
# ---------------------------------------------------------------------------------------------


class UnsafeSubmission(RuntimeError):
    """nbgrader's autograde is about to copy a submission the kit refuses."""


def guard_nbgrader_autograde():
    """Make nbgrader's Autograde check each submission folder before it copies it.

    nbgrader copies submitted/<student>/<assignment>/ into autograded/ with shutil (following links,
    reading pipes and devices) in ``init_assignment``, before any preprocessor runs, and has no setting
    for the converter class (AutogradeApp builds ``Autograde`` by name). So the course's
    nbgrader_config.py calls this: ``Autograde.init_destination``, the first step nbgrader takes for
    each submission, refuses a folder ``submission_refusal`` refuses. nbgrader then logs the reason,
    fails that submission alone (removing its partial output) and goes on with the others. The
    notebooks are checked as ``grade`` checks them (``notebook_refusal``), so a malformed one fails with
    its reason rather than with nbgrader's traceback. Idempotent."""
    from nbgrader.converters.autograde import Autograde

    original = Autograde.init_destination
    if getattr(original, "_coursekit_guard", False):
        return

    def init_destination(self, assignment_id, student_id):
        excluded = self.coursedir.student_id_exclude.split(",") if self.coursedir.student_id_exclude else []
        if student_id not in excluded:
            submitted = os.path.dirname(os.path.dirname(os.path.normpath(
                self._format_source(assignment_id, student_id))))  # <course>/submitted/<student>/<assignment>
            refusal = _refusal_for_nbgrader(os.path.dirname(submitted), os.path.basename(submitted), student_id,
                                            assignment_id, [os.path.basename(path) for path in self.notebooks])
            if refusal:
                self.log.error("Refusing the submission of %s: %s", shown(student_id, 200), refusal)
                raise UnsafeSubmission(refusal)
        return original(self, assignment_id, student_id)

    init_destination._coursekit_guard = True
    Autograde.init_destination = init_destination


def _refusal_for_nbgrader(course_root, submitted, student, assignment, notebooks):
    """The folder's refusal, else the first notebook's (``grade``'s check, for nbgrader's own autograde)."""
    problem = name_problem(student)
    if problem:
        return f"refused: the folder {submitted}/{shown(student)} {problem}"
    listing, handle = scan_submission(course_root, student, assignment, submitted)
    try:
        refusal = refusal_of(listing)
        if refusal or handle is None:
            return refusal
        for name in notebooks:
            refusal = notebook_refusal(name, handle)
            if refusal:
                return refusal
        return None
    finally:
        if handle is not None:
            os.close(handle)
