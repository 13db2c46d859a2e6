"""The kit's command line as the tests run it: in a subprocess, on a course folder, with its exit code
and its one-line refusals checked."""
import subprocess
import sys

CLI = [sys.executable, "-m", "coursekit"]


def cli(course, *args):
    return subprocess.run([*CLI, *args, "--course", str(course)], capture_output=True, text=True)


def ok(course, *args):
    done = cli(course, *args)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def refused(done, *phrases):
    """Exit 2 with one line on stderr that holds every phrase, and no traceback."""
    assert done.returncode == 2, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    for phrase in phrases:
        assert phrase in lines[0], lines[0]
    return lines[0]
