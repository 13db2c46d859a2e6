"""The course kit's command line: python -m coursekit COMMAND [options]; COMMAND --help for details.

Class grading works on any nbgrader course directory (--course, default: the current folder) and any of its
assignments (the folders of source/): release -> import -> grade -> feedback -> export -> report.
A command that works on one assignment takes its name, or uses the course's only assignment when it is
left out; status, export and report without one cover every assignment of the course (one gradebook).
"""
import argparse
import os
import sys

from coursekit.errors import KitError
from coursekit.preflight import check_course_config
from coursekit.settings import (ExportCommand, FeedbackCommand, GradeCommand, GradeOnSubmit, GradescopeCommand,
                                ReportCommand)

import isograde

isograde.skip_slow_optional_imports()  # before anything imports nbformat: a faster start for every command


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Every option's help ends with its default: the help's own words when it names it, otherwise the value
    (a flag: off)."""

    def _get_help_string(self, action):
        text = action.help or ""
        if "default" in text or action.default is argparse.SUPPRESS or not action.option_strings:
            return text
        if isinstance(action, argparse._StoreTrueAction):
            return text + " (default: off)"
        if action.default is None:
            return text + " (default: none)"
        return text + " (default: %(default)s)"


ONE_ASSIGNMENT = "the assignment (a folder of source/; default: the course's only assignment)"
EVERY_ASSIGNMENT = "the assignment (a folder of source/; default: every assignment of the course)"
DB_HELP = ("gradebook database URL, e.g. postgresql://user@host/db (default: the course's "
           "c.CourseDirectory.db_url, sqlite:///gradebook.db in the course)")


def add_settings(parser, configurable):
    """An option for each setting of ``configurable`` (coursekit.settings): its name, its help and default, and
    where nbgrader_config.py sets it. Not given, the option is None and the course's setting holds."""
    for name, trait in sorted(configurable.class_traits(config=True).items()):
        options = {"choices": list(trait.values)} if hasattr(trait, "values") else {
            "type": {"Int": int, "Float": float}.get(type(trait).__name__, str)}
        parser.add_argument("--" + name.replace("_", "-"), dest=name, default=None,
                            help=_setting_help(configurable, name, trait), **options)


def _setting_help(configurable, name, trait):
    """'What it is (default: X; c.Class.name in nbgrader_config.py)'."""
    text, where = trait.help.rstrip("."), f"c.{configurable.__name__}.{name} in nbgrader_config.py"
    if text.endswith(")") and "(default:" in text:
        return f"{text[:-1]}; {where})"
    return f"{text} (default: {trait.default_value}; {where})"


def settings_help(configurable):
    """'c.Class.name: its help (default: its default); ...' for the settings of a traitlets Configurable."""
    parts = []
    for name, trait in sorted(configurable.class_traits(config=True).items()):
        default = trait.default_value if not hasattr(trait, "make_dynamic_default") else trait.make_dynamic_default()
        text = trait.help.rstrip(".")
        parts.append(f"c.{configurable.__name__}.{name}: {text}" + ("" if "default" in text else f" (default: {default!r})"))
    return "; ".join(parts) + "."


def build_parser():
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--course", default=os.getcwd(),
                        help="the nbgrader course directory, with nbgrader_config.py (default: the current folder)")
    database = argparse.ArgumentParser(add_help=False)
    database.add_argument("--db", metavar="URL", help=DB_HELP)
    assignment = argparse.ArgumentParser(add_help=False)
    assignment.add_argument("assignment", nargs="?", help=ONE_ASSIGNMENT)
    assignments = argparse.ArgumentParser(add_help=False)
    assignments.add_argument("assignment", nargs="?", help=EVERY_ASSIGNMENT)

    parser = argparse.ArgumentParser(prog="python -m coursekit", description=__doc__, formatter_class=HelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add = lambda name, help, *parents, usage=None: commands.add_parser(
        name, help=help, description=help, parents=[common, *parents], formatter_class=HelpFormatter,
        usage=usage and f"python -m coursekit {name} [-h] [--course COURSE] [--db URL] {usage}")
    _add_class_commands(add, assignment, database)
    _add_course_commands(add, assignment, assignments, database)
    return parser


def _add_class_commands(add, assignment, database):
    """The commands of one assignment's round: release, import, grade, feedback."""
    release = add("release", "generate the student version with nbgrader and check it (no solutions, "
                             "no hidden tests, in sync with source/) and put it in the gradebook", assignment, database)
    release.add_argument("--check", action="store_true", help="only check the existing release, do not regenerate")
    release.add_argument("--duedate", metavar="WHEN",
                         help="set the assignment's due date in the gradebook, with its time zone, e.g. "
                              "'2024-03-01 17:00 Europe/London' or '2024-03-01T17:00:00+00:00' (nbgrader's late "
                              "penalty counts from it; default: keep the gradebook's)")

    collect = add("import", "import a folder, a notebook or an LMS download (.zip, e.g. Canvas's \"Download "
                            "Submissions\") into submitted/ and the gradebook; later uploads win; every file not "
                            "imported is listed with its reason (exit 1 if any)", assignment, database)
    collect.add_argument("source", help="a folder (alice/NOTEBOOK.ipynb or alice_NOTEBOOK.ipynb per student, NOTEBOOK "
                                        "a notebook of the release; a timestamp.txt beside a student's notebook is "
                                        "its submission time), a notebook, or a .zip or tar (also Canvas's "
                                        "<name>_<userid>_<fileid>_NOTEBOOK.ipynb, LATE, -1 re-uploads)")
    collect.add_argument("--regexp", help="regular expression with the groups student_id and file_id, matched on each "
                                          "file's path ('/' separators) before the built-in names")

    grade = add("grade", "autograde every submission (or --student) in parallel, resumably, with a status "
                         "and a reason for each", assignment, database)
    grade.add_argument("--student", action="append", help="grade only this student (repeatable; default: every "
                                                          "submission)")
    add_settings(grade, GradeCommand)
    grade.add_argument("--timeout", type=int, help="per-cell time limit in seconds (default: the course's "
                                                   "c.GradeInSandbox.cell_timeout in nbgrader_config.py)")
    grade.add_argument("--force", action="store_true", help="regrade submissions already graded")
    grade.add_argument("--scheduler", metavar="ADDRESS",
                       help="grade on a Dask distributed cluster, e.g. tcp://10.0.0.5:8786 (every worker must "
                            "see the course directory at the same path and have this environment; default: none, "
                            "--jobs processes here)")
    grade.add_argument("--quiet", action="store_true", help="no progress bar")
    grade.add_argument("--no-sandbox", action="store_true",
                       help="run student code WITHOUT the bubblewrap sandbox (only for submissions you trust)")

    feedback = add("feedback", "write feedback HTML (renders offline, no hidden tests) to feedback/",
                   assignment, database)
    feedback.add_argument("--student", help="only this student (default: every graded student)")
    add_settings(feedback, FeedbackCommand)

    serve = add("serve", "grade on submit: watch nbgrader's exchange and, for each new submission, collect it, grade "
                         "it, write its feedback and release it to that student (their Assignment List shows it); "
                         "one warm process, safe to stop and restart. Settings in nbgrader_config.py: "
                         + settings_help(GradeOnSubmit), database)
    serve.add_argument("--once", action="store_true", help="serve what is in the exchange now, then stop")


def _add_course_commands(add, assignment, assignments, database):
    """The commands over the course: export, report, status, the term, Gradescope, diff, lab and hub."""
    export = add("export", "write grades: one row per student and assignment with status, reason, total and one "
                           "column per exercise (as the master notebook groups its grade cells), and a file for an "
                           "LMS gradebook import (one column per assignment)", assignments, database)
    add_settings(export, ExportCommand)

    report = add("report", "write one self-contained HTML class report (report.html): of the assignment, or of "
                           "every assignment on one page", assignments, database)
    add_settings(report, ReportCommand)

    standing = add("status", "where each submission stands: imported, graded, pending (a hand-graded answer not "
                             "graded yet), changed since grading, failed with its reason", assignments, database)
    standing.add_argument("--student", action="append", help="only this student (repeatable; default: everyone)")

    remove = add("remove", "remove students from an assignment: their gradebook entries and statuses; their "
                           "folders are moved to archive/", database, usage="[ASSIGNMENT] STUDENT [STUDENT ...]")
    remove.add_argument("students", nargs="+", metavar="[ASSIGNMENT] STUDENT",
                        help="the assignment (default: the course's only assignment), then the student id(s) to "
                             "remove")

    add("new-term", "start a clean term: move every student's data (submitted/, autograded/, feedback/, the "
                    "gradebook, exports, report) into archive/<date-time>/; source/ and release/ stay", database)
    gradescope = add("gradescope", "build autograder.zip, a Gradescope autograder that grades an uploaded notebook "
                                   "(or the assignment's notebooks) with the kit's engine (docs/gradescope.md)",
                     assignment)
    gradescope.add_argument("--output", help="where to write it (default: autograder.zip in the course)")
    add_settings(gradescope, GradescopeCommand)

    regrade = add("diff", "compare two gradings: who changed, in which exercise, by how many points (two "
                          "exports of `export`, or an export and the gradebook as it is now)", database,
                  usage="[ASSIGNMENT] BEFORE [AFTER]")
    regrade.add_argument("files", nargs="+", metavar="[ASSIGNMENT] BEFORE [AFTER]",
                         help="the assignment (default: the course's only assignment), the per-exercise export CSV of "
                              "the earlier grading, and that of the later grading (default: the gradebook as it is now)")

    from coursekit.platforms.lab import add_arguments as add_lab_arguments
    add_lab_arguments(add("lab", "start JupyterLab for the course on 127.0.0.1 with nbgrader (formgrader, "
                                 "Validate) and print its URL with the token"))
    from coursekit.platforms.hub import add_arguments as add_hub_arguments
    add_hub_arguments(add("hub", "start JupyterHub for the course on 127.0.0.1: an instructor with the formgrader, "
                                 "two students, nbgrader's exchange (needs root); --clean removes it"))


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    course = os.path.abspath(args.course)
    if not os.path.isfile(os.path.join(course, "nbgrader_config.py")):
        parser.error(f"{course} is not an nbgrader course directory (no nbgrader_config.py); use --course.")
    try:
        check_course_config(course)
    except KitError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.exit_code
    os.environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")
    if getattr(args, "db", None) and args.db.startswith("postgresql://"):
        # SQLAlchemy 2.1 maps a bare postgresql:// to psycopg 3; the kit installs psycopg2 (requirements.txt)
        args.db = "postgresql+psycopg2://" + args.db[len("postgresql://"):]
    try:
        return run(args, course)
    except KeyboardInterrupt:
        print("\nInterrupted. Finished submissions are recorded; run the same command again to resume.",
              file=sys.stderr)
        return 130
    except KitError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.exit_code
    except Exception as error:
        if os.environ.get("COURSEKIT_DEBUG"):
            raise
        print(f"error: {type(error).__name__}: {str(error).strip().splitlines()[0] if str(error).strip() else ''} "
              "(unexpected: run again with COURSEKIT_DEBUG=1 for the traceback, and report it)", file=sys.stderr)
        return 1


def split_assignment(course, tokens):
    """(assignment, the other tokens) of ``[ASSIGNMENT] ...``: the first token when it names an assignment of
    the course and others follow, otherwise the course's only assignment."""
    from coursekit import preflight

    if len(tokens) > 1 and tokens[0] in preflight.course_assignments(course):
        return tokens[0], tokens[1:]
    return preflight.the_assignment(course, None), tokens


def run(args, course):
    from coursekit import preflight

    command = args.command
    if command in ("release", "import", "grade", "feedback", "gradescope"):
        args.assignment = preflight.the_assignment(course, args.assignment)
    elif command == "remove":
        args.assignment, args.students = split_assignment(course, args.students)
    elif command == "diff":
        args.assignment, files = split_assignment(course, args.files)
        if len(files) > 2:
            raise preflight.InputError(f"diff compares two files; got {len(files)}: {' '.join(files)}")
        args.before, args.after = files[0], (files[1] if len(files) > 1 else None)
    from coursekit.commands import COMMANDS
    return COMMANDS[command](args, course) or 0


if __name__ == "__main__":
    sys.exit(main())
