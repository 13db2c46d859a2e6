"""The course's configuration as nbgrader's own commands load it, for the kit's commands and settings."""
import os
import sys

from coursekit import records as status_store

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
