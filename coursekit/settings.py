"""The settings of the kit's commands, declared once: traitlets with their help and default, as nbgrader declares
its own. nbgrader_config.py sets them for the course (``c.GradeCommand.jobs = 4``); the option of the same name
overrides them for one run (``--jobs 4``); ``--help`` of each command lists them with their defaults (the command
line builds its options from these classes: ``coursekit.cli.add_settings``)."""
import os

from traitlets import Enum, Integer, default
from traitlets.config import Configurable


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


class GradescopeCommand(Configurable):
    """``gradescope``: the autograder it builds."""

    time_limit = Integer(1200, help="Seconds one upload may take in all before it is reported as a timeout (set "
                                    "Gradescope's own limit higher).").tag(config=True)
    visibility = Enum(("visible", "after_due_date", "after_published", "hidden"), "visible",
                      help="When students see the tests' results.").tag(config=True)


def resolved(configurable, config, options):
    """``configurable`` made from the course's ``config``, with each setting the command line gave in ``options``
    (an argparse namespace: None where the option was not given) in place of the course's."""
    settings = configurable(config=config)
    for name in configurable.class_traits(config=True):
        value = getattr(options, name, None)
        if value is not None:
            setattr(settings, name, value)
    return settings
