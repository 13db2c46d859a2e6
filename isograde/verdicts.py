"""The engine's contract with the tools that read its results: what the grader concluded of each test cell.

The grader writes a ``Verdict`` into each test cell's metadata under ``VERDICT_KEY`` (whatever the
submitted file held there is replaced). Tools (feedback, reports, statistics) read it back with
``Verdict.read``; this module imports nothing else, so a tool that reads verdicts needs no engine.
"""
import dataclasses
import enum

VERDICT_KEY = "isograde"


class Outcome(str, enum.Enum):
    """How a test cell ended, as the grader saw it."""
    PASSED = "passed"          # no error output
    FAILED = "failed"          # the test raised (an assertion, or the student's code raised)
    TIMEOUT = "timeout"        # the cell ran past its time limit
    WORKER_DIED = "worker-died"  # the student's code ended or broke its process
    NOT_RUN = "not-run"        # the notebook's time budget was spent, or the worker could not restart
    SETUP = "setup"            # the grader's reference could not give what the check needs


@dataclasses.dataclass
class Verdict:
    """What the grader concluded of one test cell."""
    outcome: Outcome = Outcome.PASSED
    hint: str | None = None      # the hint the check attached to its failure (never the student's)
    hidden: bool = False         # the failure came from a hidden-tests region of the cell
    student_error: str | None = None  # the class of the student's exception that ended the test

    def as_metadata(self):
        return {"outcome": self.outcome.value, "hint": self.hint, "hidden": self.hidden,
                "student_error": self.student_error}

    @classmethod
    def read(cls, cell):
        """The verdict of a cell (a dict or an nbformat node), or None when it has none (not a test cell,
        or not graded by this engine). A malformed entry reads as None, never as a pass."""
        metadata = cell.get("metadata") if isinstance(cell, dict) else None
        entry = metadata.get(VERDICT_KEY) if isinstance(metadata, dict) else None
        if not isinstance(entry, dict):
            return None
        try:
            outcome = Outcome(entry.get("outcome"))
        except ValueError:
            return None
        text = (lambda value: value if isinstance(value, str) else None)
        return cls(outcome, text(entry.get("hint")), entry.get("hidden") is True, text(entry.get("student_error")))
