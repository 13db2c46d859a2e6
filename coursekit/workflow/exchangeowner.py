"""Who wrote a folder in the exchange's inbound: the student its name says, or someone else.

nbgrader's exchange names a submission ``<student>+<assignment>+<time>+<random>`` and believes the name: any
account that can write to ``inbound/`` (every student, on a hub) can hand in a folder named for another student,
and nbgrader's collect takes it as theirs. The name is the student's; the folder's owner is the kernel's word. So
a folder whose student id names a local account (a hub's students have one each) must belong to that account, or
to the account collecting (the instructor may put a submission there by hand); any other is not collected nor
graded, and logged. A student id that names no local account (students sharing one uid, as in containers) cannot
be checked this way: nbgrader's rule, the name, then holds (docs/security.md says so).
"""
import os
import pwd


def forged_by(inbound, name, student):
    """None when the folder ``inbound/name`` may be ``student``'s submission; otherwise who owns it (an account
    name or uid), for the log. The folder itself is looked at, never what a link in its place points to."""
    try:
        owner = os.lstat(os.path.join(inbound, name)).st_uid
    except OSError:
        return None  # gone: nothing will be collected from it
    try:
        expected = pwd.getpwnam(student).pw_uid
    except (KeyError, UnicodeEncodeError, ValueError):
        return None  # not a local account: the name is all there is
    if owner in (expected, os.getuid()):
        return None
    try:
        return pwd.getpwuid(owner).pw_name
    except KeyError:
        return f"uid {owner}"
