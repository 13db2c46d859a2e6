"""nbgrader's own autograde tests (``nbgrader/tests/apps/test_nbgrader_autograde.py``, shipped in the installed
package) run with the kit's engine in place of nbgrader's ``Execute``.

How: the installed ``nbgrader`` package is copied into a temporary folder put first on PYTHONPATH (its tests
import it relatively, as ``nbgrader.tests``), and a global ``nbgrader_config.py`` goes into a folder named
by ``JUPYTER_CONFIG_DIR``. nbgrader loads that file before each test's own course config (written in the
test's working directory), so it changes every test's autograde pipeline. Modes:

- ``stock``: no global config: nbgrader as it is (the reference run: 40 passed, 2 skipped by nbgrader);
- ``swap`` (the test's): nbgrader's default ``c.Autograde.autograde_preprocessors`` with ``Execute`` replaced
  by ``isograde.preprocessor.GradeInSandbox``, with the repository's ``GradeInSandbox`` options; every
  other setting stays nbgrader's default, so a failure is the engine's;
- ``kit``: the repository's whole grading wiring (both Autograde lists, the options of their
  preprocessors, ``add_missing_cells``), as ``harness.kit_config_lines`` renders it.

Each test has a time limit (pytest-timeout, ``--timeout``), and the whole run one more (``timeout`` of
the subprocess), so a hang cannot stall CI. The outcome of each test is read from a JUnit XML report.

Command line: ``python tests/fidelity/nbgrader_suite.py [--mode swap|stock|kit] [-k EXPR]`` prints each
test's outcome and the first assertion of each failure.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ElementTree
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import harness  # noqa: E402

TEST_FILE = "nbgrader/tests/apps/test_nbgrader_autograde.py"
PER_TEST_TIMEOUT = 120  # seconds per test; nbgrader's own tests take 3 to 20 s each on 2 busy cores (stock and kit)
WHOLE_RUN_TIMEOUT = 40 * 60


def nbgrader_package():
    import nbgrader
    return Path(nbgrader.__file__).resolve().parent


def swap_config_lines(config_path=harness.REPO / "nbgrader_config.py"):
    """nbgrader's default autograde list with Execute replaced by GradeInSandbox (with its defaults: each
    test's own nbgrader settings, Execute.timeout among them, apply to it as to Execute)."""
    from nbgrader.converters.autograde import Autograde
    from nbgrader.preprocessors import Execute
    defaults = Autograde.class_traits()["autograde_preprocessors"].default()
    if Execute not in defaults:
        raise RuntimeError(f"nbgrader's default autograde list has no Execute to swap: {defaults}")
    names = []
    imports = {}
    for item in defaults:
        item = "isograde.preprocessor.GradeInSandbox" if item is Execute else item
        if isinstance(item, str):
            module, name = item.rsplit(".", 1)
        else:
            module, name = item.__module__, item.__name__
        imports.setdefault(module, set()).add(name)
        names.append(name)
    lines = [f"from {module} import {', '.join(sorted(n))}" for module, n in sorted(imports.items())]
    lines.append("c = get_config()  # noqa: F821")
    lines.append(f"c.Autograde.autograde_preprocessors = [{', '.join(names)}]")
    return "\n".join(lines) + "\n"


def global_config(mode):
    if mode == "stock":
        return None
    if mode == "swap":
        return swap_config_lines()
    if mode == "kit":
        return "c = get_config()  # noqa: F821\n" + harness.kit_config_lines()
    raise ValueError(f"unknown mode {mode!r}")


def run(mode="swap", workdir=None, select=None, per_test_timeout=PER_TEST_TIMEOUT, timeout=WHOLE_RUN_TIMEOUT):
    """Run nbgrader's autograde tests in ``mode``; returns (outcomes, seconds, log) where outcomes is
    {test name: ("passed" | "failed" | "error" | "skipped", first line of the failure or skip reason)}."""
    workdir = Path(workdir or tempfile.mkdtemp(prefix=f"nbgrader-suite-{mode}-"))
    packages = workdir / "packages"
    shutil.copytree(nbgrader_package(), packages / "nbgrader",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "docs", "labextension"))
    config_dir = workdir / "jupyter-config"
    config_dir.mkdir()
    text = global_config(mode)
    if text is not None:
        (config_dir / "nbgrader_config.py").write_text(text)
    env = dict(os.environ)
    env["PYTHONPATH"] = str(packages) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env["JUPYTER_CONFIG_DIR"] = str(config_dir)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    env["HOME"] = str(workdir / "home")  # no nbgrader_config.py of the user's
    (workdir / "home").mkdir()
    report = workdir / "report.xml"
    command = [sys.executable, "-m", "pytest", str(packages / TEST_FILE), "-p", "no:cacheprovider",
               f"--timeout={per_test_timeout}", f"--junitxml={report}",
               "-o", "addopts=", "-o", "junit_family=xunit2", "-o", "junit_logging=all", "--durations=10", "--rootdir", str(workdir), "-q", "-rA"]
    if select:
        command += ["-k", select]
    started = time.perf_counter()
    try:
        done = subprocess.run(command, cwd=workdir, env=env, capture_output=True, text=True, timeout=timeout)
        log = done.stdout + done.stderr
    except subprocess.TimeoutExpired as expired:
        log = (expired.stdout or "") if isinstance(expired.stdout, str) else ""
        log += f"\n[nbgrader_suite] the whole run timed out after {timeout} s"
    seconds = time.perf_counter() - started
    (workdir / "pytest.log").write_text(log)
    return outcomes(report), seconds, log


def _first_assertion(text):
    """The first line that says what went wrong: pytest's ``E   ...`` lines, else the message."""
    lines = (text or "").splitlines()
    errors = [line[1:].strip() for line in lines if line.startswith("E ")]
    for line in errors:
        if line and not line.startswith("+") and not line.startswith("where"):
            return line[:300]
    return (lines[-1].strip() if lines else "")[:300]


_FRAME = re.compile(r'^\s*File "([^"]+)", line (\d+), in (\S+)')


def nbgrader_failure(captured):
    """What nbgrader logged when it failed a submission during the test: the exception's last line and the
    innermost frame, e.g. "NotImplementedError (<master cell set_a>:2 in <module>)"; "" if it logged none."""
    lines = captured.splitlines()
    for index, line in enumerate(lines):
        if "There was an error processing assignment:" not in line:
            continue
        frame, exception = "", ""
        for following in lines[index + 1:]:
            if following.startswith("[") and "Traceback" not in following:
                break
            found = _FRAME.match(following)
            if found:
                frame = f"{os.path.basename(found.group(1)) if found.group(1).startswith('/') else found.group(1)}" \
                        f":{found.group(2)} in {found.group(3)}"
            elif harness._EXCEPTION_LINE.match(following):
                exception = following.strip()
        if exception:
            return f"{exception[:200]} (at {frame})" if frame else exception[:200]
    return ""


def outcomes(report):
    results = {}
    if not Path(report).is_file():
        return results
    for case in ElementTree.parse(report).getroot().iter("testcase"):
        name = case.get("name")
        outcome, why = "passed", ""
        captured = "\n".join(child.text or "" for child in case if child.tag in ("system-out", "system-err"))
        for child in case:
            if child.tag in ("failure", "error"):
                outcome = "failed" if child.tag == "failure" else "error"
                why = _first_assertion(child.text or child.get("message", "")) or (child.get("message") or "")[:300]
                cause = nbgrader_failure(captured + "\n" + (child.text or ""))
                if cause:
                    why += f"; nbgrader failed a submission: {cause}"
                break
            if child.tag == "skipped":
                outcome, why = "skipped", (child.get("message") or "")[:300]
                break
        results[name] = (outcome, why)
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mode", choices=["swap", "stock", "kit"], default="swap")
    parser.add_argument("-k", dest="select", help="pytest -k expression")
    parser.add_argument("--keep", help="run in this folder (kept)")
    args = parser.parse_args(argv)
    results, seconds, log = run(args.mode, args.keep and Path(args.keep), args.select)
    if not results:
        print(log[-5000:])
        return 2
    counts = {}
    for name, (outcome, why) in sorted(results.items()):
        counts[outcome] = counts.get(outcome, 0) + 1
        print(f"{outcome:8} {name}" + (f"\n         {why}" if outcome != "passed" and why else ""))
    print(f"\n{args.mode}: " + ", ".join(f"{n} {k}" for k, n in sorted(counts.items())) + f" in {seconds:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
