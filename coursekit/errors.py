"""The errors a user of the kit can meet. Each says in one line what happened and what to do next; the
command line prints it and exits with its ``exit_code``.

- ``InputError`` (exit 2): what the user typed or has not done yet (an assignment that does not exist, a
  database that does not answer, a release that leaks a solution). Checked before anything is touched.
- ``StepFailed`` (exit 1): a step that began failed part way (nbgrader stopped, the disk filled up); the
  results of the last complete run are still in place.
"""


class KitError(Exception):
    """Base of every error meant for the user; ``exit_code`` is the command line's."""
    exit_code = 1


class InputError(KitError):
    """Something the user typed or has not done yet; the message says what to do. Nothing was touched."""
    exit_code = 2


class StepFailed(KitError):
    """A step failed after it began; the previous results are unchanged and the message says what to do."""
    exit_code = 1
