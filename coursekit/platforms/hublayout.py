"""Where the course's hub demo keeps its files and how its accounts are named (``coursekit.platforms.hub``)."""
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from coursekit.errors import InputError


REPO = Path(__file__).resolve().parents[2]
MATHJAX_MODULES = REPO / "node_modules"  # `make` installs MathJax there (package.json): feedback maths
HUB_FILES = REPO / "hub"  # jupyterhub_config.py, and package.json + package-lock.json of the proxy
ACCOUNT_MARK = "coursekit hub demo"  # the GECOS field of the accounts the demo creates: only those are removed
COURSE_CONTENT = ("source", "grader", "release", "nbgrader_config.py", "autotests.yml")  # those the course has
MAX_ACCOUNT_NAME = 32  # useradd's limit on a name (Debian)
# The users' environment is requirements.txt without what only the kit's own tests use.
TEST_ONLY_PACKAGES = ("tensorflow", "pytest", "pytest-xdist", "selenium")
SYSTEM_PYTHON = "/usr/bin/python3"
FORMGRADER_EXTENSION = "nbgrader.server_extensions.formgrader"
INSTRUCTOR_ONLY_LAB_PLUGINS = ("@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment")
QUIET_LAB = {  # no news or update check: the hub has no internet, and nothing pops up over the page
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false",
                                                                       "checkForUpdates": False},
}


class HubError(InputError):
    """The hub cannot be set up or started here; the message says why and what to do."""


@dataclass
class HubLayout:
    """Where the demo keeps everything, and the names of its accounts."""

    state: Path
    course: Path  # the course to serve (this repository by default)
    prefix: str = None  # of the accounts' names (default: from the course id, account_prefix)
    student_count: int = 2
    cache: Path = None  # the installed proxy and users' environment, kept by --clean (default: state)

    def __post_init__(self):
        self.state, self.course = Path(self.state).absolute(), Path(self.course).absolute()
        self.cache = Path(self.cache).absolute() if self.cache else self.state
        if self.prefix is None:
            self.prefix = account_prefix(self.course_id)

    @cached_property
    def course_id(self):
        return course_id(self.course)

    run_dir = property(lambda self: self.state / "run")  # hub database, cookie secret, password hashes: root only
    home_dir = property(lambda self: self.state / "home")
    exchange = property(lambda self: self.state / "exchange")
    proxy_dir = property(lambda self: self.cache / "proxy")
    env_dir = property(lambda self: self.cache / "env")  # the users' Python environment
    password_file = property(lambda self: self.run_dir / "passwords.json")
    instructor = property(lambda self: f"{self.prefix}instructor")
    students = property(lambda self: [f"{self.prefix}student{n}" for n in range(1, self.student_count + 1)])
    users = property(lambda self: [self.instructor, *self.students])
    course_dir = property(lambda self: self.home(self.instructor) / self.course_id)  # the instructor's copy

    def home(self, user):
        return self.home_dir / user


def course_id(course):
    from traitlets.config.loader import load_pyconfig_files

    config = load_pyconfig_files(["nbgrader_config.py"], str(course))
    name = config.CourseDirectory.get("course_id", "")
    if not name:
        raise HubError(f"{course}/nbgrader_config.py sets no c.CourseDirectory.course_id: the exchange needs one.")
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", name):
        raise HubError(f"the course id {name!r} of {course}/nbgrader_config.py names the exchange's folder and the "
                       "instructor's course folder: use letters, digits, '.', '_' and '-' only.")
    return name


def account_prefix(course):
    """The demo accounts' prefix from the course id: ``<course id>-``, lower case, other characters than
    letters, digits and '-' made '-', short enough for useradd (``<prefix>instructor``)."""
    name = re.sub(r"[^a-z0-9-]+", "-", course.lower()).strip("-")
    if not name[:1].isalpha():
        name = "c" + name
    return name[:MAX_ACCOUNT_NAME - len("instructor") - 1].rstrip("-") + "-"
