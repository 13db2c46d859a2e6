"""What a master notebook's hidden tests import: ``from isograde.hidden import reference``.

In the grader, the engine answers this import itself (``isograde.assignment.AssignmentModules``):
``reference`` is the namespace of the master's solution and given cells, executed in the grader's
process, and the assignment's grader folder comes first on the checks' import path.

In the instructor's own kernel, running the master notebook top to bottom, this module stands in for
that: the notebook's own definitions are the reference, and ``grader/<assignment>/`` (found above the
notebook's folder, or named by ``ISOGRADE_GRADER_FOLDER``) joins ``sys.path``. Stock nbgrader, which
runs the hidden tests in the student's kernel, finds it the same way; the kit's grader never does that.
"""
import os
import sys

reference = sys.modules["__main__"]



def _grader_folder():
    """grader/<assignment>/ of the course this notebook runs in: the kernel's folder is
    source/<assignment>/ (the instructor) or autograded/<student>/<assignment>/ (stock nbgrader)."""
    if os.environ.get("ISOGRADE_GRADER_FOLDER"):
        return os.environ["ISOGRADE_GRADER_FOLDER"]
    here = os.path.abspath(os.getcwd())
    assignment, folder = os.path.basename(here), here
    while os.path.dirname(folder) != folder:
        folder = os.path.dirname(folder)
        candidate = os.path.join(folder, "grader", assignment)
        if os.path.isdir(candidate):
            return candidate
    return None


_folder = _grader_folder()
if _folder and os.path.abspath(_folder) not in sys.path:
    sys.path.insert(0, os.path.abspath(_folder))
