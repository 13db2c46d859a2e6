"""The gradebook's submission time, kept equal to the one the student's files give (timestamp.txt)."""


def sync_submission_time(course_root, assignment, student, url):
    """Make the gradebook's submission time that of submitted/<student>/<assignment>/timestamp.txt, for
    nbgrader's late penalty; returns why the submission cannot be graded, or None.

    nbgrader's autograde sets the time from timestamp.txt when there is one, but keeps the gradebook's
    earlier time when there is none (a re-import without a time would stay late), and stops on a time it
    cannot read: the time is checked here (``coursekit.lateness``), and cleared when there is none."""
    from nbgrader.api import MissingEntry
    from sqlalchemy.exc import SQLAlchemyError

    from coursekit import lateness

    value, problem = lateness.read_submitted_time(course_root, student, assignment)
    if problem:
        return f"refused: {problem} (fix or remove submitted/{student}/{assignment}/{lateness.TIMESTAMP})"
    if value is None:
        for fresh in (False, True):  # a database replaced since this process opened it: open it anew, once
            gradebook = _gradebook(url, fresh)
            try:
                submission = gradebook.find_submission(assignment, student)
                if submission.timestamp is not None:
                    submission.timestamp = None
                    gradebook.db.commit()
                break
            except MissingEntry:
                break
            except SQLAlchemyError:
                if fresh:
                    raise
            finally:
                gradebook.db.remove()  # the session ends: no lock kept on the database
                gradebook.engine.dispose()  # nor a connection to a file that may be replaced
    return None


_GRADEBOOKS = {}


def _gradebook(url, fresh=False):
    """One nbgrader Gradebook per process and database: opening one checks every table (a tenth of a
    submission's own bookkeeping when done per submission)."""
    from nbgrader.api import Gradebook

    if fresh or url not in _GRADEBOOKS:
        _GRADEBOOKS[url] = Gradebook(url)
    return _GRADEBOOKS[url]
