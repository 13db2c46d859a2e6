"""The page a student fetches for a submission that ``serve`` did not grade (the instructor's limit on attempts, or
the wait between them): put where nbgrader's ``release_feedback`` puts a page and named as it names one, so that
the student's "Fetch Feedback" shows why, as it shows feedback."""
import os

import jinja2
from nbgrader.utils import notebook_hash

import coursekit
from coursekit.atomic import atomic_file
from coursekit.studenthtml import STATIC_PAGE_CSP_META
from coursekit.studentfiles import Refused, open_folder, read_regular
from coursekit.workflow.submissioncheck import source_notebooks

SECRET = "submission_secret.txt"  # nbgrader's submit writes it into the submission; fetch_feedback hashes it


def release_refusal(inbound, submission, reason, course_root):
    """One page per notebook of the assignment, in the exchange's feedback folder; returns their paths (none
    when the submission holds no secret that nbgrader would hash: a submission of an nbgrader before 0.8)."""
    secret = _secret(inbound, submission.folder)
    if secret is None:
        return []
    outbound = os.path.join(os.path.dirname(inbound), "feedback")
    if not os.path.isdir(outbound):
        os.makedirs(outbound)
        os.chmod(outbound, 0o711)  # as nbgrader's release_feedback: students open their page by its hash only
    page = jinja2.Environment(loader=jinja2.FileSystemLoader(coursekit.TEMPLATES), autoescape=True).get_template(
        "refused_submission.html.j2").render(policy=STATIC_PAGE_CSP_META, assignment=submission.assignment,
                                             reason=reason, submitted=f"{submission.timestamp:%Y-%m-%d %H:%M:%S}")
    written = []
    for notebook in source_notebooks(course_root, submission.assignment):
        path = os.path.join(outbound, notebook_hash(secret=secret, notebook_id=os.path.splitext(notebook)[0]) + ".html")
        with atomic_file(path) as stream:
            stream.write(page)
        written.append(path)
    return written


def _secret(inbound, folder):
    """The submission's secret, read from the student's folder without following anything in it."""
    try:
        inbound_fd = os.open(inbound, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        folder_fd = open_folder(folder, inbound_fd)
        try:
            content = read_regular(SECRET, folder_fd, limit=4096, hard_links=False)
        finally:
            os.close(folder_fd)
    except (OSError, Refused):
        return None
    finally:
        os.close(inbound_fd)
    try:
        return content.decode("ascii").strip() or None
    except (AttributeError, UnicodeDecodeError):
        return None
