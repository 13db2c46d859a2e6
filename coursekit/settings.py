"""The settings of the kit's commands, declared once: traitlets with their help and default, as nbgrader declares
its own. nbgrader_config.py sets them for the course (``c.GradeCommand.jobs = 4``); the option of the same name
overrides them for one run (``--jobs 4``); ``--help`` of each command lists them with their defaults (the command
line builds its options from these classes: ``coursekit.cli.add_settings``)."""
import os

from traitlets import Dict, Enum, Float, Integer, List, Unicode, default
from traitlets.config import Configurable

from coursekit.errors import KitError


def _cores():
    return os.cpu_count() or 1


class GradeCommand(Configurable):
    """``grade``. (The per-cell time limit is the engine's: ``c.GradeInSandbox.cell_timeout``.)"""

    jobs = Integer(help="Worker processes grading on this machine (default: the number of cores).").tag(config=True)

    @default("jobs")
    def _jobs_default(self):
        return _cores()


class FeedbackCommand(Configurable):
    """``feedback``."""

    jobs = Integer(help="nbgrader processes writing pages (default: the number of cores; a small class uses fewer, "
                        "as each process takes seconds to start).").tag(config=True)

    @default("jobs")
    def _jobs_default(self):
        return _cores()


class ExportCommand(Configurable):
    """``export``: its two files (a name relative to the course, or an absolute path; the options take a path
    relative to where you run the command)."""

    to = Unicode("grades_by_exercise.csv", help="The per-exercise CSV.").tag(config=True)
    lms_to = Unicode("grades_lms.csv", help="The LMS gradebook import CSV (one column per assignment)."
                     ).tag(config=True)


class ReportCommand(Configurable):
    """``report``: its page (a name relative to the course, or an absolute path; the option takes a path relative
    to where you run the command)."""

    output = Unicode("report.html", help="The self-contained HTML class report.").tag(config=True)


def course_file(course_root, setting, option=None):
    """Where a command writes: the option's path (relative to the working folder) if given, else the setting's
    (relative to the course)."""
    return os.path.abspath(option) if option else os.path.join(os.path.abspath(course_root), setting)


class GradescopeCommand(Configurable):
    """``gradescope``: the autograder it builds."""

    time_limit = Integer(1200, help="Seconds one upload may take in all before it is reported as a timeout (set "
                                    "Gradescope's own limit higher).").tag(config=True)
    visibility = Enum(("visible", "after_due_date", "after_published", "hidden"), "visible",
                      help="When students see the tests' results.").tag(config=True)


class GradeOnSubmit(Configurable):
    """The settings of ``serve``, in nbgrader_config.py (``c.GradeOnSubmit.<name> = ...``)."""

    assignments = List(Unicode(), help="The assignments graded as they are submitted (default: every assignment "
                                       "of the course).").tag(config=True)
    interval = Float(1.0, help="Seconds between two looks at the exchange's inbound folder.").tag(config=True)
    attempts = Integer(0, help="Submissions of an assignment graded per student: a later one is not graded, and its "
                               "feedback page says why (0: no limit).").tag(config=True)
    hidden_failures_before_due = Enum(
        ["message", "hint", "verdict"], "verdict",
        help="What a page written before the due date (or when the assignment has none) shows of a failure in hidden "
             "tests, so that attempts do not teach the hidden checks: 'verdict' (only that a hidden test failed), "
             "'hint' (with the check's hint), 'message' (the whole message); after the due date, "
             "c.ShortTracebacks.hidden_failures holds, as for `feedback`.").tag(config=True)
    cooldown = Float(0.0, help="Seconds a student waits after a graded submission before the next one is graded: "
                               "one sent sooner is not graded, and its feedback page says when to send it again "
                               "(0: no wait).").tag(config=True)
    counted_attempt = Enum(["last", "best"], "last",
                           help="Which graded attempt counts in the export, the report and status: 'last' (as "
                                "nbgrader: the grade of the files submitted last) or 'best' (the attempt with the "
                                "most automatically graded points less its late penalty; the cells graded by hand "
                                "are always those of the last attempt, the one the formgrader shows)."
                           ).tag(config=True)
    per_assignment = Dict(per_key_traits=None, help="Settings of one assignment in place of the above, e.g. "
                                                    "{'hw3': {'attempts': 3, 'counted_attempt': 'best'}}."
                          ).tag(config=True)

    def for_assignment(self, assignment):
        """These settings, with those ``per_assignment`` gives ``assignment`` in their place."""
        changes = self.per_assignment.get(assignment) or {}
        unknown = sorted(set(changes) - set(self.class_traits(config=True)) - {"per_assignment", "assignments"})
        if unknown:
            raise KitError(f"c.GradeOnSubmit.per_assignment[{assignment!r}] sets {', '.join(unknown)}: not a setting "
                           "of GradeOnSubmit (python -m coursekit serve --help lists them)")
        settings = GradeOnSubmit(config=self.config)
        for name, value in changes.items():
            setattr(settings, name, value)
        return settings



def resolved(configurable, config, options):
    """``configurable`` made from the course's ``config``, with each setting the command line gave in ``options``
    (an argparse namespace: None where the option was not given) in place of the course's."""
    settings = configurable(config=config)
    for name in configurable.class_traits(config=True):
        value = getattr(options, name, None)
        if value is not None:
            setattr(settings, name, value)
    return settings
