"""nbgrader's API in this process, with the course's configuration: a worker grades with it submission after
submission, and ``serve`` collects, grades, writes and releases feedback with it, warm from one student to the
next."""
import os

from coursekit.courseconfig import course_config
from coursekit.workflow.staging import STAGING

_API_CACHE = {}


def course_api(course_root, timeout, db_url, sandboxed=True):
    """One NbGraderAPI per worker process and setting, with the course's nbgrader_config.py loaded."""
    key = (course_root, timeout, db_url, sandboxed)
    if key not in _API_CACHE:
        from nbgrader.apps import NbGraderAPI
        from nbgrader.coursedir import CourseDirectory

        config = course_config(course_root, db_url)
        config.CourseDirectory.autograded_directory = STAGING.format(step="autograded", pid=os.getpid())
        if timeout:
            config.GradeInSandbox.cell_timeout = float(timeout)
        if not sandboxed:
            config.GradeInSandbox.sandbox = False
        coursedir = CourseDirectory(config=config)
        _API_CACHE[key] = NbGraderAPI(coursedir, config=config)
    return _API_CACHE[key]
