"""Grade a whole class: one nbgrader autograde per submission, in parallel, resumable, with a status.

Workers are long-lived processes (or Dask workers) that import nbgrader once and grade one submission
per task through nbgrader's own API (``NbGraderAPI.autograde``), so a class pays nbgrader's start-up
once per worker, not once per student. Before a submission reaches nbgrader it is checked (folder,
notebook file, valid JSON); after, nbgrader's log is read for timeouts and dead kernels. Every
submission ends with a status in ``grading_status.json`` (see ``hw3kit.status``): a failed one never
stops the others and never passes for a plain 0.
"""
import glob
import json
import os
import re
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from multiprocessing import get_context


from hw3kit import status as status_store


@dataclass
class Outcome:
    student: str
    status: str
    reason: str = ""
    seconds: float = 0.0
    phases: dict = None


class GradingSetupError(RuntimeError):
    """The course or assignment cannot be graded at all (nothing is graded, nothing is lost)."""


def source_notebooks(course_root, assignment):
    folder = os.path.join(course_root, "source", assignment)
    names = sorted(os.path.basename(p) for p in glob.glob(os.path.join(folder, "*.ipynb")))
    if not names:
        raise GradingSetupError(f"no notebooks in {folder}: is {assignment!r} an assignment of this course?")
    return names


def submitted_students(course_root, assignment):
    pattern = os.path.join(course_root, "submitted", "*", assignment)
    return sorted(os.path.basename(os.path.dirname(p)) for p in glob.glob(pattern) if os.path.isdir(p))


def check_submission(course_root, assignment, student, expected):
    """Why this submission cannot be graded, or None. ``expected``: the assignment's notebook names."""
    folder = os.path.join(course_root, "submitted", student, assignment)
    if not os.path.isdir(folder):
        return f"missing submission: no folder submitted/{student}/{assignment}/"
    present = sorted(n for n in os.listdir(folder) if n.endswith(".ipynb"))
    for name in expected:
        if name not in present:
            others = [n for n in present if n not in expected]
            if others:
                return f"wrong file name: found {', '.join(others)}, expected {name}"
            return f"missing notebook: {name} is not in the submission"
        path = os.path.join(folder, name)
        if os.path.getsize(path) == 0:
            return f"not a notebook: {name} is an empty file"
        # JSON and the notebook's shape only: nbgrader validates the rest when it reads it (nbformat's
        # full schema validation here would cost a few milliseconds more per submission for nothing)
        try:
            with open(path, encoding="utf-8") as handle:
                notebook = json.load(handle)
        except UnicodeDecodeError:
            return f"not a notebook: {name} is not UTF-8 text"
        except json.JSONDecodeError as error:
            return f"not a notebook (invalid JSON): {name}: {str(error).splitlines()[0][:150]}"
        if not isinstance(notebook, dict) or not isinstance(notebook.get("cells"), list):
            return f"not a valid notebook: {name} has no cells"
    return None


FAILURE_SIGNS = [  # (text in nbgrader's log or error, reason shown to the instructor)
    ("Timeout waiting for IOPub", "timeout: the notebook stopped answering (a cell ignored the interrupt)"),
    ("CellTimeoutError", "timeout: a cell ran past the per-cell limit"),
    ("DeadKernelError", "kernel died while running the notebook"),
    ("Kernel died", "kernel died while running the notebook"),
    ("NotJSONError", "not a notebook (invalid JSON)"),
    ("KeyError: 'grade_id'", "test cells tampered with (a grade cell duplicated, renamed or without its id): "
                             "nbgrader cannot match the notebook to the assignment"),
    ("MissingEntry", "the notebook does not match the assignment in the gradebook"),
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


_API_CACHE = {}


def _api(course_root, timeout, db_url, sandboxed=True):
    """One NbGraderAPI per worker process and setting, with the course's nbgrader_config.py loaded."""
    key = (course_root, timeout, db_url, sandboxed)
    if key not in _API_CACHE:
        os.environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")
        from nbgrader.apps import NbGraderAPI
        from nbgrader.coursedir import CourseDirectory
        from traitlets.config import Config, PyFileConfigLoader

        config = Config()
        config_file = os.path.join(course_root, "nbgrader_config.py")
        if os.path.isfile(config_file):
            config.merge(PyFileConfigLoader(config_file).load_config())
        config.CourseDirectory.root = course_root
        if timeout:
            config.GradeInSandbox.cell_timeout = float(timeout)
        if db_url:
            config.CourseDirectory.db_url = db_url
        if not sandboxed:
            config.GradeInSandbox.sandbox = False
        coursedir = CourseDirectory(config=config)
        _API_CACHE[key] = NbGraderAPI(coursedir, config=config)
    return _API_CACHE[key]


def grade_one(course_root, assignment, student, timeout=None, db_url=None, expected=None, sandboxed=True):
    """Autograde one submission and say how it went. Runs in a worker process or on a Dask worker."""
    started = time.perf_counter()
    import isograde
    isograde.skip_slow_optional_imports()
    expected = expected or source_notebooks(course_root, assignment)
    problem = check_submission(course_root, assignment, student, expected)
    if problem:
        return Outcome(student, status_store.FAILED, problem, time.perf_counter() - started)
    from isograde.preprocessor import TIMINGS
    before = dict(TIMINGS)
    try:
        result = _api(course_root, timeout, db_url, sandboxed).autograde(assignment, student, force=True, create=True)
    except Exception as error:  # a crash inside nbgrader is this submission's failure, not the class's
        return Outcome(student, status_store.FAILED, classify_failure(f"{type(error).__name__}: {error}"),
                       time.perf_counter() - started)
    seconds = time.perf_counter() - started
    log = (result.get("log") or "") + "\n" + (result.get("error") or "")
    if not result.get("success"):
        return Outcome(student, status_store.FAILED, classify_failure(log), seconds)
    interrupted = interrupted_cells(course_root, assignment, student, expected)
    note = (f"stopped at the time limit or ended the worker: {', '.join(interrupted)}" if interrupted else "")
    phases = {name: value - before.get(name, 0.0) for name, value in TIMINGS.items()}
    return Outcome(student, status_store.GRADED, note, seconds, phases)


def interrupted_cells(course_root, assignment, student, notebooks):
    """Cells of the autograded notebooks that ran past their time limit or ended the student's worker."""
    found = []
    for name in notebooks:
        path = os.path.join(course_root, "autograded", student, assignment, name)
        if not os.path.isfile(path):
            continue
        with open(path, encoding="utf-8") as handle:
            cells = json.load(handle)["cells"]
        for index, cell in enumerate(cells):
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error" and output.get("ename") in ("CellTimeoutError",
                                                                                   "WorkerDied"):
                    grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
                    found.append(f"{name} cell {index}" + (f" ({grade_id})" if grade_id else ""))
                    break
    return found


def plan(course_root, assignment, students=None, force=False):
    """(to grade, already graded): resume skips submissions whose last status is 'graded'."""
    students = sorted(students) if students else submitted_students(course_root, assignment)
    previous = status_store.load(course_root, assignment)
    autograded = os.path.join(course_root, "autograded", "{}", assignment)
    done = [s for s in students if not force and previous.get(s, {}).get("status") == status_store.GRADED
            and os.path.isdir(autograded.format(s))]
    return [s for s in students if s not in done], done


def grade(course_root, assignment, students=None, jobs=1, force=False, timeout=None, db_url=None,
          scheduler=None, progress=True, sandboxed=True):
    """Grade the class; returns {student: Outcome} for the submissions graded in this run.

    Student code runs in the bubblewrap sandbox (``isograde.sandbox``) unless ``sandboxed=False``;
    if the sandbox cannot be set up here, nothing is graded and GradingSetupError says why."""
    course_root = os.path.abspath(course_root)
    expected = source_notebooks(course_root, assignment)
    if sandboxed and not scheduler:
        from isograde.sandbox import SandboxUnavailable, check_available
        try:
            check_available()
        except SandboxUnavailable as error:
            raise GradingSetupError(f"cannot sandbox student code on this machine: {error}. Refusing to "
                                    "grade; pass --no-sandbox to run submissions unsandboxed (only for "
                                    "code you trust).") from None
    todo, skipped = plan(course_root, assignment, students, force)
    outcomes = {}
    bar = _progress(len(todo), progress, skipped)
    try:
        for outcome in _run(course_root, assignment, todo, jobs, timeout, db_url, scheduler, expected, sandboxed):
            status_store.record(course_root, assignment, outcome.student, outcome.status, outcome.reason,
                                outcome.seconds, outcome.phases)
            outcomes[outcome.student] = outcome
            if bar is not None:
                bar.set_postfix_str(f"{outcome.student}: {outcome.status}", refresh=False)
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    return outcomes


def _progress(total, enabled, skipped):
    if not enabled:
        return None
    from tqdm import tqdm

    if skipped:
        print(f"Skipping {len(skipped)} submission(s) already graded (use --force to regrade them).")
    return tqdm(total=total, unit="submission", desc="Grading", file=sys.stderr)


def _run(course_root, assignment, students, jobs, timeout, db_url, scheduler, expected, sandboxed):
    if not students:
        return
    if scheduler:
        yield from _run_on_dask(scheduler, course_root, assignment, students, timeout, db_url, expected, sandboxed)
        return
    with ProcessPoolExecutor(max_workers=max(1, jobs), mp_context=get_context("spawn"),
                             initializer=_quiet_worker) as pool:
        futures = {pool.submit(grade_one, course_root, assignment, s, timeout, db_url, expected, sandboxed): s
                   for s in students}
        for future in as_completed(futures):
            yield _result_or_failure(future, futures[future])


def _quiet_worker():
    """Keep a local worker's stray output off the progress bar: nbgrader's own log is captured per
    submission, while SQLAlchemy warnings and kernels' start-up notices on stderr say nothing useful."""
    import warnings

    import isograde
    isograde.skip_slow_optional_imports()
    warnings.filterwarnings("ignore")
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)


def _run_on_dask(scheduler, course_root, assignment, students, timeout, db_url, expected, sandboxed):
    from distributed import Client, as_completed as dask_completed

    with Client(scheduler, timeout=30) as client:
        futures = {client.submit(grade_one, course_root, assignment, s, timeout, db_url, expected, sandboxed,
                                 key=f"hw3kit-grade-{assignment}-{s}-{time.time_ns()}", pure=False): s
                   for s in students}
        for future in dask_completed(list(futures)):
            yield _result_or_failure(future, futures[future])


def _result_or_failure(future, student):
    try:
        return future.result()
    except Exception as error:  # the worker itself died (e.g. killed): this submission fails alone
        return Outcome(student, status_store.FAILED, f"grading worker failed: {type(error).__name__}: {error}")


def summary(outcomes, skipped=0):
    graded = [o for o in outcomes.values() if o.status == status_store.GRADED]
    failed = [o for o in outcomes.values() if o.status == status_store.FAILED]
    lines = [f"Graded {len(graded)}, failed {len(failed)}" + (f", skipped {skipped} already graded" if skipped else "")
             + (f"; {sum(o.seconds for o in outcomes.values()) / max(1, len(outcomes)):.1f} s per submission"
                if outcomes else "") + "."]
    for outcome in sorted(failed, key=lambda o: o.student):
        lines.append(f"  FAILED {outcome.student}: {outcome.reason}")
    for outcome in sorted(graded, key=lambda o: o.student):
        if outcome.reason:
            lines.append(f"  note   {outcome.student}: {outcome.reason}")
    return "\n".join(lines)
