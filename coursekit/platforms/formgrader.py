"""The formgrader (nbgrader's instructor pages in the Jupyter server) serving a submission's files: under a policy
that runs no script of theirs (the pages it renders are studenthtml's)."""
import sys

# nbgrader's autograde copies every file a student submitted next to the notebook into autograded/, and the
# formgrader serves them at /formgrader/submissions/<id>/<file> on the Jupyter server's own origin, with the
# server's default policy: a student's evil.html opened there would run with the instructor's session.
# Jupyter's own /files/ handler confines HTML to a sandbox for that reason; these get the same, stricter.
SUBMISSION_FILES_CSP = "sandbox; default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; " \
                       "frame-ancestors 'self'"


def sandbox_submission_files():
    """Serve the files of a submission under ``SUBMISSION_FILES_CSP`` (no script, an origin of their own).

    Called from nbgrader_config.py, which the formgrader loads inside the Jupyter server (JupyterLab from
    ``coursekit lab``, the hub's instructor, or any server started in the course directory). It touches nbgrader's
    handler only where the formgrader is already loaded: the command-line tools import no server code."""
    handlers = sys.modules.get("nbgrader.server_extensions.formgrader.handlers")
    if handlers is not None:
        handlers.SubmissionFilesHandler.content_security_policy = property(lambda self: SUBMISSION_FILES_CSP)
    return handlers is not None
