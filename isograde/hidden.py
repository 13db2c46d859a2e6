"""What a master notebook's hidden tests import: ``from isograde.hidden import reference``.

In the grader, the engine answers this import itself (``isograde.assignment.AssignmentModules``):
``reference`` is the namespace of the master's solution and given cells, executed in the grader's
process, and the assignment's grader folder comes first on the checks' import path.

In the instructor's own kernel, running the master notebook top to bottom, this module stands in for
that: the notebook's own definitions are the reference, and ``grader/<assignment>/`` (found from the
notebook's folder ``source/<assignment>/``, or named by ``ISOGRADE_GRADER_FOLDER``) joins ``sys.path``.
"""
import os
import sys

reference = sys.modules["__main__"]

_folder = os.environ.get("ISOGRADE_GRADER_FOLDER") or os.path.join(
    os.getcwd(), os.pardir, os.pardir, "grader", os.path.basename(os.getcwd()))
if os.path.isdir(_folder) and os.path.abspath(_folder) not in sys.path:
    sys.path.insert(0, os.path.abspath(_folder))
