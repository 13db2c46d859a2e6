"""Checks every command makes before it deletes, overwrites or copies anything.

Each check raises ``InputError`` with one line that says what is wrong and what to run instead; the
command line prints it and exits 2. Nothing here writes: a database that does not exist yet is not
created by a check.
"""
import glob
import os

from coursekit.errors import InputError  # noqa: F401 (re-exported: the checks raise it)
from coursekit.records import SQLITE_WAIT, gradebook_url, sqlite_file


def shown(url):
    """A database URL fit for a message (no password, nor the kit's own SQLite wait)."""
    url = url.replace("?" + SQLITE_WAIT, "")
    try:
        from sqlalchemy.engine import make_url
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url


def check_course_config(course_root):
    """nbgrader_config.py must load: nbgrader only logs a configuration that raises and goes on with its
    defaults (stock Execute, stock feedback), which would grade and publish without the kit's engine."""
    from traitlets.config import PyFileConfigLoader

    config_file = os.path.join(course_root, "nbgrader_config.py")
    try:
        PyFileConfigLoader(config_file).load_config()
    except Exception as error:  # whatever the file raises: it is the instructor's Python
        where = next((f"line {frame.lineno}" for frame in _traceback_frames(error)
                      if frame.filename == config_file), "")
        raise InputError(f"{config_file} does not load ({type(error).__name__}: {str(error).strip()}"
                         f"{', ' + where if where else ''}): nbgrader would ignore it and run with its own "
                         "defaults; fix it, then run the command again") from None


def _traceback_frames(error):
    import traceback
    return traceback.extract_tb(error.__traceback__)


def course_assignments(course_root):
    """The assignments of the course: the folders of source/ that hold a master notebook, sorted."""
    return sorted({os.path.basename(os.path.dirname(p))
                   for p in glob.glob(os.path.join(glob.escape(course_root), "source", "*", "*.ipynb"))})


def released_assignments(course_root, db_url=None):
    """The assignments in the gradebook, as nbgrader lists them (by due date, then name); [] without one."""
    url = gradebook_url(course_root, db_url)
    if sqlite_file(url) and not os.path.isfile(sqlite_file(url)):
        return []
    from nbgrader.api import Gradebook
    with Gradebook(url) as gradebook:
        return [assignment.name for assignment in gradebook.assignments]


def the_assignment(course_root, assignment=None):
    """``assignment``, or the course's only assignment when it is None; with several, or none, an
    InputError that names them (a command that works on one assignment must be told which)."""
    if assignment is not None:
        return assignment
    known = course_assignments(course_root)
    if len(known) == 1:
        return known[0]
    if not known:
        raise InputError(f"{course_root} has no assignment (no folder of source/ holds a notebook): "
                         "put the master notebook in source/<assignment>/ first.")
    raise InputError(f"this course has {len(known)} assignments ({', '.join(known)}): name one, "
                     f"e.g. `{known[0]}`.")


def every_assignment(course_root, assignment=None, db_url=None):
    """[``assignment``], or every assignment of the course when it is None: those in the gradebook, then
    those of source/ not released yet (status, export and report work across the course)."""
    if assignment is not None:
        return [assignment]
    check_database(course_root, db_url)
    released = released_assignments(course_root, db_url)
    known = released + [name for name in course_assignments(course_root) if name not in released]
    if not known:
        raise InputError(f"{course_root} has no assignment (no folder of source/ holds a notebook, and the "
                         "gradebook has none): put the master notebook in source/<assignment>/ first.")
    return known


def check_assignment(course_root, assignment):
    """The assignment has a master notebook in source/<assignment>/."""
    if not glob.glob(os.path.join(glob.escape(course_root), "source", glob.escape(assignment), "*.ipynb")):
        known = sorted(set(course_assignments(course_root)))
        raise InputError(f"unknown assignment {assignment!r}: this course has "
                         f"{', '.join(known) or 'no assignment'} (the folders of source/ with a notebook).")


def nbgrader_schema_head():
    """The gradebook schema version this nbgrader writes (its alembic head)."""
    import nbgrader
    from alembic.script import ScriptDirectory
    return ScriptDirectory(os.path.join(os.path.dirname(nbgrader.__file__), "alembic")).get_current_head()


def check_database(course_root, db_url=None):
    """The gradebook can be opened: reachable, and either new or an nbgrader gradebook of this
    nbgrader's schema. Returns the URL."""
    url = gradebook_url(course_root, db_url)
    database = sqlite_file(url)
    if database is not None:
        if not os.path.isfile(database):
            if not os.path.isdir(os.path.dirname(database) or "."):
                raise InputError(f"cannot create the gradebook {database}: its folder does not exist.")
            return url  # a new gradebook: nbgrader creates it
    try:
        tables, version = _tables_and_version(url)
    except Exception as error:  # any driver's error: a bad URL, a server that does not answer, a bad file
        reason = str(getattr(error, "orig", None) or error).strip().splitlines()
        raise InputError(f"cannot open the gradebook {shown(url)}: {reason[0] if reason else type(error).__name__}. "
                         "Check the --db URL and that the database server is running.") from None
    if not tables:
        return url
    if "alembic_version" not in tables:
        raise InputError(f"{shown(url)} is not an nbgrader gradebook (it holds tables but no alembic_version); "
                         "point --db at the course's gradebook.")
    head = nbgrader_schema_head()
    if version != head:
        raise InputError(f"the gradebook {shown(url)} has schema {version}, this nbgrader needs {head}: back it "
                         f"up, then run `nbgrader db upgrade --CourseDirectory.db_url={shown(url)}`.")
    return url


def _tables_and_version(url):
    from sqlalchemy import create_engine, inspect, text

    connect_args = {} if url.startswith("sqlite") else {"connect_timeout": 5}
    engine = create_engine(url, connect_args=connect_args)
    try:
        with engine.connect() as connection:
            tables = inspect(connection).get_table_names()
            version = (connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
                       if "alembic_version" in tables else None)
        return tables, version
    finally:
        engine.dispose()


def check_released(course_root, assignment, db_url=None):
    """release/<assignment>/ exists and the assignment is in the gradebook (``release`` puts it there)."""
    command = f"python -m coursekit release {assignment}" + (f" --db {shown(db_url)}" if db_url else "")
    if not os.path.isdir(os.path.join(course_root, "release", assignment)):
        raise InputError(f"{assignment} has not been released: run `{command}` first.")
    if not released_in_gradebook(course_root, assignment, db_url):
        raise InputError(f"{assignment} is not in the gradebook {shown(gradebook_url(course_root, db_url))} "
                         f"yet: run `{command}` first.")


def released_in_gradebook(course_root, assignment, db_url=None):
    url = gradebook_url(course_root, db_url)
    if sqlite_file(url) and not os.path.isfile(sqlite_file(url)):
        return False
    from nbgrader.api import Gradebook, MissingEntry
    with Gradebook(url) as gradebook:
        try:
            return bool(gradebook.find_assignment(assignment).notebooks)
        except MissingEntry:
            return False


def check_students(course_root, assignment, students):
    """Each named student has a submission folder (a typo must not create a phantom student)."""
    missing = [s for s in students or [] if not os.path.isdir(os.path.join(course_root, "submitted", s, assignment))]
    if missing:
        present = sorted(os.path.basename(os.path.dirname(p)) for p in
                         glob.glob(os.path.join(glob.escape(course_root), "submitted", "*", glob.escape(assignment))))
        listed = ", ".join(present[:10]) + (", ..." if len(present) > 10 else "")
        raise InputError(f"no submission of {assignment} for {', '.join(missing)} (no folder "
                         f"submitted/{missing[0]}/{assignment}/); students with one: {listed or 'none'}.")
