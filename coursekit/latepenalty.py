"""A late-submission penalty for nbgrader: a share of the score for each period (day) begun late.

nbgrader's own ``LateSubmissionPlugin`` knows two policies, ``none`` (its default) and ``zero``. This is
one of its subclasses, for the common policy "10% off per day late, after an hour's grace, at most
100%". In ``nbgrader_config.py``:

    c.AssignLatePenalties.plugin_class = "coursekit.latepenalty.ShareOffPerPeriod"
    c.ShareOffPerPeriod.share_per_period = 0.10   # of the notebook's score, per period begun
    c.ShareOffPerPeriod.period_hours = 24
    c.ShareOffPerPeriod.grace_minutes = 60
    c.ShareOffPerPeriod.max_share = 1.0

nbgrader's ``AssignLatePenalties`` (in the autograde list) asks for each notebook's penalty with that
notebook's score and the submission's seconds late (past the due date in the gradebook, extension
included), and keeps it as ``SubmittedNotebook.late_submission_penalty``: the gradebook, the formgrader,
``nbgrader export`` and the kit's export and ``status`` all subtract it. The share is of the score the
notebook earned (nbgrader gives the plugin nothing else), so an assignment of several notebooks loses
the same share of each. nbgrader asks when it autogrades, with the score the notebook has then: points
given later by hand (a written answer graded in the formgrader) are not part of it, and nothing asks
again when they are given (as with nbgrader's own ``zero``).
"""
import math
import os

from nbgrader.plugins import LateSubmissionPlugin
from traitlets import Float, TraitError, validate


class ShareOffPerPeriod(LateSubmissionPlugin):
    """``share_per_period`` of the notebook's score for each ``period_hours`` begun past the due date
    and ``grace_minutes``, at most ``max_share``."""

    share_per_period = Float(0.10, help="Share of the notebook's score taken for each period begun late "
                                        "(0.10: 10%).").tag(config=True)
    period_hours = Float(24.0, help="Length of a period, in hours.").tag(config=True)
    grace_minutes = Float(0.0, help="Minutes past the due date before any penalty.").tag(config=True)
    max_share = Float(1.0, help="Largest share of the score taken (1.0: all of it).").tag(config=True)

    @validate("share_per_period", "max_share")
    def _a_share(self, proposal):
        if not 0.0 <= proposal["value"] <= 1.0:
            raise TraitError(f"{proposal['trait'].name} must be between 0 and 1 (a share of the score), "
                             f"not {proposal['value']}")
        return proposal["value"]

    @validate("period_hours")
    def _a_period(self, proposal):
        if not proposal["value"] > 0 or not math.isfinite(proposal["value"]):
            raise TraitError(f"period_hours must be a positive number of hours, not {proposal['value']}")
        return proposal["value"]

    @validate("grace_minutes")
    def _a_grace(self, proposal):
        if not proposal["value"] >= 0 or not math.isfinite(proposal["value"]):
            raise TraitError(f"grace_minutes must be zero or more, not {proposal['value']}")
        return proposal["value"]

    def periods_late(self, total_seconds_late):
        """The periods begun past the due date and the grace (0 when within them)."""
        late = float(total_seconds_late or 0.0) - self.grace_minutes * 60.0
        if late <= 0:
            return 0
        return math.ceil(late / (self.period_hours * 3600.0))

    def share(self, total_seconds_late):
        return min(self.max_share, self.periods_late(total_seconds_late) * self.share_per_period)

    def late_submission_penalty(self, student_id, score, total_seconds_late):
        share = self.share(total_seconds_late)
        if share <= 0:
            return None
        self.log.info("Late by %s s: %d period(s) of %g h begun after %g min of grace, %g of the score taken",
                      total_seconds_late, self.periods_late(total_seconds_late), self.period_hours,
                      self.grace_minutes, share)
        return float(score or 0.0) * share


def describe(course_root):
    """The course's late-penalty policy in words, read from its nbgrader_config.py as nbgrader will
    use it; raises ``coursekit.errors.InputError`` for a setting nbgrader would stop on."""
    from nbgrader.preprocessors import AssignLatePenalties
    from traitlets.config import Config, PyFileConfigLoader

    from coursekit.errors import InputError

    config = Config()
    path = os.path.join(course_root, "nbgrader_config.py")
    if os.path.isfile(path):
        config.merge(PyFileConfigLoader(path).load_config())
    try:
        preprocessor = AssignLatePenalties(config=config)
        preprocessor.init_plugin()
    except (TraitError, ImportError, ValueError) as error:
        raise InputError(f"the late penalty set in {path} cannot be used: {' '.join(str(error).split())[:300]}") \
            from None
    plugin = preprocessor.plugin_inst
    if isinstance(plugin, ShareOffPerPeriod):
        grace = f" after {plugin.grace_minutes:g} min of grace" if plugin.grace_minutes else ""
        return (f"{plugin.share_per_period:.0%} of the score per {plugin.period_hours:g} h begun late{grace}, "
                f"at most {plugin.max_share:.0%} (ShareOffPerPeriod)")
    if type(plugin) is LateSubmissionPlugin:
        return {"none": "none (nbgrader's LateSubmissionPlugin.penalty_method = 'none')",
                "zero": "all of the score (nbgrader's LateSubmissionPlugin.penalty_method = 'zero')"}[
            plugin.penalty_method]
    return f"{type(plugin).__module__}.{type(plugin).__name__} (the course's own plugin)"
