"""coursekit: the tooling of an nbgrader course (workflow commands, reports, platforms) on top of the
isograde grading engine. ``TEMPLATES`` and ``KIT`` locate its own files."""
import os

PACKAGE = os.path.dirname(os.path.abspath(__file__))
TEMPLATES = os.path.join(PACKAGE, "templates")
KIT = os.path.dirname(PACKAGE)  # the checkout (or installation) holding coursekit/, isograde/, node_modules/
