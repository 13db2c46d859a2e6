"""Why nbgrader failed on a submission, in the instructor's words, read from its log or its error."""
import re


FAILURE_SIGNS = [  # (text in nbgrader's log or error, reason shown to the instructor)
    ("Timeout waiting for IOPub", "timeout: the notebook stopped answering (a cell ignored the interrupt)"),
    ("CellTimeoutError", "timeout: a cell ran past the per-cell limit"),
    ("DeadKernelError", "kernel died while running the notebook"),
    ("Kernel died", "kernel died while running the notebook"),
    ("NotJSONError", "not a notebook (invalid JSON)"),
    ("KeyError: 'grade_id'", "test cells tampered with (a grade cell duplicated, renamed or without its id): "
                             "nbgrader cannot match the notebook to the assignment"),
    ("MissingEntry", "the notebook does not match the assignment in the gradebook (run `release` with this "
                     "gradebook first)"),
    ("OperationalError", "the gradebook database did not answer (run grade again once it is back)"),
    ("There was an error accessing the nbgrader database", "the gradebook database did not answer (run grade "
                                                           "again once it is back)"),
    ("No space left on device", "the disk is full (free space, then run grade again)"),
    ("UnresponsiveKernelError", "kernel did not start or stopped responding"),
]


def classify_failure(text):
    for sign, reason in FAILURE_SIGNS:
        if sign in text:
            return reason
    exceptions = [m.group(0) for m in re.finditer(r"\b\w+(?:Error|Exception): .+", text)
                  if not m.group(0).startswith("NbGraderException")]
    if exceptions:
        return f"nbgrader failed: {exceptions[-1][:200]}"
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return f"nbgrader failed: {lines[-1][:200] if lines else 'no log'}"
