"""nbgrader's API in this process, with the course's configuration: a worker grades with it submission after
submission, and ``serve`` collects, grades, writes and releases feedback with it, warm from one student to the
next."""
import os
import sys

from coursekit import records as status_store
from coursekit.workflow.staging import STAGING

_API_CACHE = {}


_CONFIG_FILES = {}


def course_config(course_root, db_url=None):
    """A new traitlets Config of the course, as nbgrader's own commands load it: every ``nbgrader_config.py`` of
    Jupyter's configuration folders (the system's, then the user's: on a hub, the account's exchange), then the
    course's (each file read once per process); with the course's root and gradebook."""
    import copy

    from jupyter_core.paths import jupyter_config_path
    from traitlets.config import Config, PyFileConfigLoader

    os.environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")  # alembic
    config = Config()
    files = [os.path.join(folder, "nbgrader_config.py") for folder in reversed(jupyter_config_path())]
    for config_file in [*files, os.path.join(course_root, "nbgrader_config.py")]:
        if config_file not in _CONFIG_FILES:
            _CONFIG_FILES[config_file] = (PyFileConfigLoader(config_file).load_config() if os.path.isfile(config_file)
                                          else Config())
        config.merge(copy.deepcopy(_CONFIG_FILES[config_file]))
    config.CourseDirectory.root = course_root
    config.CourseDirectory.db_url = status_store.gradebook_url(course_root, db_url)
    return config


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
