"""Results written aside and put in place whole: a step (autograde, feedback) writes into a staging folder of its
process (``.coursekit-<step>-<pid>/`` in the course root); a complete result replaces the old one in two renames,
and ``recover`` tidies up after a process that died between them."""
import contextlib
import glob
import os
import shutil

STAGING = ".coursekit-{step}-{pid}"  # a process's staging folder in the course root, beside autograded/


def promote(staged, final):
    """Put a complete new result folder in place of the old one. Between the two renames a crash
    leaves ``<final>.old-<pid>``, which ``recover`` puts back."""
    os.makedirs(os.path.dirname(final), exist_ok=True)
    old = f"{final}.old-{os.getpid()}"
    if os.path.isdir(final):
        os.rename(final, old)
    os.rename(staged, final)
    shutil.rmtree(old, ignore_errors=True)
    with contextlib.suppress(OSError):  # the staging folder, when empty
        os.rmdir(os.path.dirname(staged))


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def recover(course_root, step="autograded"):
    """Clean up after processes that died mid-step: remove their staging folders, and put back an
    old result folder whose replacement never arrived."""
    for folder in glob.glob(os.path.join(glob.escape(course_root), STAGING.format(step=step, pid="*"))):
        pid = folder.rsplit("-", 1)[-1]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)
    for old in glob.glob(os.path.join(glob.escape(course_root), step, "*", "*.old-*")):
        final, pid = old.rsplit(".old-", 1)
        if pid.isdigit() and not _alive(int(pid)):
            if os.path.isdir(final):
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.rename(old, final)
