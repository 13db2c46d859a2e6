"""Gradescope's image, reproduced: autograder.zip built by `python -m coursekit gradescope hw3`, and
run_autograder run inside bubblewrap with a folder mounted at /autograder (source/, submission/,
results/), an empty /tmp and this tests' virtual environment at /autograder/venv, where setup.sh builds
it. Shared by the Gradescope tests and the hostile-files tests."""
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def autograder_zip(tmp_path_factory):
    output = tmp_path_factory.mktemp("zip") / "autograder.zip"
    done = subprocess.run([sys.executable, "-m", "coursekit", "gradescope", "hw3", "--course", str(REPO),
                           "--output", str(output)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    return output


SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"  # a fresh image's PATH


def venv_of_these_tests():
    """The virtual environment to mount at /autograder/venv: this one."""
    if sys.prefix == sys.base_prefix:
        pytest.skip("the Gradescope tests mount the tests' virtual environment at /autograder/venv, and these tests "
                    "do not run in one (make test runs them in .venv)")
    return Path(sys.prefix)


def hidden_by_empty_tmp(*paths):
    """Those of ``paths`` (and their real paths) that live under /tmp, which the outer sandbox empties."""
    found = [path for path in map(Path, paths) for path in (path.absolute(), path.resolve())]
    return [path for path in dict.fromkeys(found) if Path("/tmp") in path.parents]


def run_autograder(autograder_zip, tmp_path, files, settings=None, outer=(), venv="test", make=None):
    """Unpack the zip to <tmp>/source, put ``files`` ({name: bytes}) in <tmp>/submission and run
    run_autograder with <tmp> mounted at /autograder, and ``venv`` at /autograder/venv ("test": this
    tests' environment, also mounted at its own path; None: none, as when setup.sh did not run; a
    folder: that one); ``make(submission folder)``, when given, builds the upload itself (links made
    inside /autograder point where they would on Gradescope); returns (results.json, the process)."""
    root = tmp_path / "autograder"
    for folder in ("source", "submission", "results"):
        (root / folder).mkdir(parents=True)
    own_paths, in_autograder = [], []  # mounts after the empty /tmp; mounts into /autograder
    if venv == "test":
        venv = venv_of_these_tests()
        # at its own path too when the empty /tmp hides it (a checkout in /tmp): its scripts' #! lines name it,
        # and its python is a link to the base interpreter
        for path in hidden_by_empty_tmp(venv, sys.base_prefix):
            own_paths += ["--ro-bind", str(path), str(path)]
    if venv is not None:
        (root / "venv").mkdir()
        in_autograder += ["--ro-bind", str(venv), "/autograder/venv"]
    with zipfile.ZipFile(autograder_zip) as archive:
        archive.extractall(root / "source")
    os.chmod(root / "source" / "run_autograder", 0o755)  # as Gradescope's image build does (setup.sh too)
    if settings:
        path = root / "source" / "autograder_settings.json"
        path.write_text(json.dumps(dict(json.loads(path.read_text()), **settings)))
    for name, content in files.items():
        (root / "submission" / name).parent.mkdir(parents=True, exist_ok=True)
        (root / "submission" / name).write_bytes(content)
    if make is not None:
        make(root / "submission")
    env = {name: value for name, value in os.environ.items() if name not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env["PATH"] = SYSTEM_PATH
    done = subprocess.run(["bwrap", "--bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp", *own_paths,
                           "--bind", str(root), "/autograder", *in_autograder, "--die-with-parent", "--chdir", "/autograder",
                           *outer, "/autograder/source/run_autograder"], capture_output=True, text=True, env=env,
                          timeout=600)
    results = root / "results" / "results.json"
    assert results.is_file(), done.stdout + done.stderr
    return json.loads(results.read_text()), done
