"""What a student hands in, read without trusting it: no link followed, no special file opened, sizes,
counts and names capped, and notebooks parsed as JSON of any shape.

Every step of the kit that reads a submission goes through here: ``import`` (folders, zip and tar
archives), the file hashes of ``grade`` and ``status``, the check ``grade`` makes before nbgrader
copies a submission, nbgrader's own ``autograde`` (``guard_nbgrader_autograde``, installed by the
course's nbgrader_config.py), nbgrader's ``collect`` (``coursekit.workflow.exchange.SafeExchangeCollect``) and the
Gradescope autograder's upload.

What a submission folder may hold (``scan``): regular files and folders only. A symbolic link (to
``grader/hw3/hw3_checks.py``, to ``/etc/shadow``, to the master notebook), a named pipe, a socket or a
device is never opened nor followed: the submission is refused, with a one-line reason that names the
file. So are names with control or invisible characters or that are not UTF-8 (they would garble the
instructor's terminal and files), names longer than ``MAX_NAME_CHARS``, folders nested deeper than
``MAX_DEPTH``, more than ``MAX_ENTRIES`` files and folders, a file larger than ``MAX_FILE_BYTES`` (a
notebook: ``MAX_NOTEBOOK_BYTES``) and more than ``MAX_TOTAL_BYTES`` in all. A leading dot or dash is
allowed (JupyterLab's ``.ipynb_checkpoints``; the kit never hands a name to a shell).

How: every folder is opened with ``O_DIRECTORY | O_NOFOLLOW`` and read through its descriptor
(``os.scandir(fd)``, ``stat(..., dir_fd=fd, follow_symlinks=False)``), every file with ``O_NOFOLLOW |
O_NONBLOCK`` relative to its folder's descriptor, after ``lstat`` said it is a regular file, and
checked again with ``fstat`` once open; reads stop at the cap. A file swapped for a link or a pipe
between the look and the open (a student's own folder in nbgrader's exchange) is refused the same way.

What a notebook may be (``parse_notebook``): UTF-8 JSON of nbformat 4 whose parts have the types the
format gives them (``shape_problem``), nested at most ``MAX_JSON_DEPTH`` levels (``json.loads`` raises
RecursionError at about a thousand: caught), without lone UTF-16 surrogates (they cannot be written
back as UTF-8). A notebook that is not is one bad notebook, with its reason, never the class's stop.
"""
from .reading import (MAX_CELLS, MAX_DEPTH, MAX_ENTRIES, MAX_FILE_BYTES, MAX_JSON_DEPTH, MAX_NAME_CHARS,
                      MAX_NOTEBOOK_BYTES, MAX_TOTAL_BYTES, MiB, REFUSED_MARKER, Refused, kind_of, mib, name_problem,
                      open_folder, read_path, read_regular, read_relative, shown)
from .scanning import DEFAULT_LIMITS, Item, Listing, scan, scan_open, severity
from .folders import (open_submission, refusal_of, scan_submission, student_folders, submission_hash,
                      submission_refusal, unreadable_note)
from .notebooks import (BadNotebook, as_dict, as_list, as_text, load_json_file, notebook_refusal, parse_notebook,
                        shape_problem)
from .nbgrader_guard import UnsafeSubmission, guard_nbgrader_autograde

__all__ = ["MAX_CELLS", "MAX_DEPTH", "MAX_ENTRIES", "MAX_FILE_BYTES", "MAX_JSON_DEPTH", "MAX_NAME_CHARS",
           "MAX_NOTEBOOK_BYTES", "MAX_TOTAL_BYTES", "MiB", "REFUSED_MARKER", "Refused", "kind_of", "mib", "name_problem",
           "open_folder", "read_path", "read_regular", "read_relative", "shown", "DEFAULT_LIMITS", "Item", "Listing",
           "scan", "scan_open", "severity", "open_submission", "refusal_of", "scan_submission", "student_folders",
           "submission_hash", "submission_refusal", "unreadable_note", "BadNotebook", "as_dict", "as_list", "as_text",
           "load_json_file", "notebook_refusal", "parse_notebook", "shape_problem", "UnsafeSubmission",
           "guard_nbgrader_autograde"]
