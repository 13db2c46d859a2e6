"""Grade a whole class: one nbgrader autograde per submission, in parallel, resumable, with a status.

Workers are long-lived processes (or Dask workers) that import nbgrader once and grade one submission
per task through nbgrader's own API (``NbGraderAPI.autograde``), so a class pays nbgrader's start-up
once per worker, not once per student. Before a submission reaches nbgrader it is checked (folder,
notebook file, valid JSON); after, nbgrader's log is read for timeouts and dead kernels. Every
submission ends with a status in the gradebook (see ``coursekit.records``): a failed one never stops the
others and never passes for a plain 0.

nbgrader writes a worker's autograded notebooks into a staging folder of that worker
(``.coursekit-autograded-<pid>/``); only a submission graded to the end replaces its folder in
autograded/, so a failed or interrupted attempt leaves the previous result in place.
"""
import contextlib
import os
import shutil
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from multiprocessing import get_context


from coursekit import preflight
from coursekit import records as status_store
from coursekit.workflow.nbgraderapi import course_api
from coursekit.workflow.nbgraderlog import classify_failure
from coursekit.workflow.staging import STAGING, promote, recover
from coursekit.workflow.submissioncheck import (GradingSetupError, check_assignment_grades, check_submission,
                                                source_notebooks, submitted_students)
from coursekit.workflow.submissiontime import sync_submission_time
from isograde.verdicts import Outcome, Verdict

INTERRUPTED = (Outcome.TIMEOUT, Outcome.WORKER_DIED)

MAX_POOL_RESTARTS = 3


@dataclass
class Outcome:
    student: str
    status: str
    reason: str = ""
    seconds: float = 0.0
    phases: dict = None
    files_hash: str = None


def grade_one(course_root, assignment, student, timeout=None, db_url=None, expected=None, sandboxed=True):
    """Autograde one submission and say how it went. Runs in a worker process or on a Dask worker."""
    started = time.perf_counter()
    import isograde
    isograde.skip_slow_optional_imports()
    expected = expected or source_notebooks(course_root, assignment)
    files_hash = status_store.submission_hash(course_root, assignment, student)
    problem = check_submission(course_root, assignment, student, expected)
    if problem:
        return Outcome(student, status_store.FAILED, problem, time.perf_counter() - started, files_hash=files_hash)
    from isograde.preprocessor import TIMINGS
    before = dict(TIMINGS)
    api = course_api(course_root, timeout, db_url, sandboxed)
    problem = sync_submission_time(course_root, assignment, student, api.coursedir.db_url)
    if problem:
        return Outcome(student, status_store.FAILED, problem, time.perf_counter() - started, files_hash=files_hash)
    staged = os.path.join(course_root, api.coursedir.autograded_directory, student, assignment)
    try:
        result = api.autograde(assignment, student, force=True, create=True)
    except Exception as error:  # a crash inside nbgrader is this submission's failure, not the class's
        result = {"success": False, "error": f"{type(error).__name__}: {error}"}
    seconds = time.perf_counter() - started
    log = (result.get("log") or "") + "\n" + (result.get("error") or "")
    if not result.get("success") or not os.path.isdir(staged):
        shutil.rmtree(os.path.dirname(staged), ignore_errors=True)
        return Outcome(student, status_store.FAILED, classify_failure(log), seconds, files_hash=files_hash)
    try:
        promote(staged, os.path.join(course_root, "autograded", student, assignment))
    except OSError as error:
        shutil.rmtree(os.path.dirname(staged), ignore_errors=True)
        return Outcome(student, status_store.FAILED, classify_failure(f"{type(error).__name__}: {error}"),
                       seconds, files_hash=files_hash)
    interrupted = interrupted_cells(course_root, assignment, student, expected)
    note = (f"stopped at the time limit or ended the worker: {', '.join(interrupted)}" if interrupted else "")
    phases = {name: value - before.get(name, 0.0) for name, value in TIMINGS.items()}
    return Outcome(student, status_store.GRADED, note, seconds, phases, files_hash)


def interrupted_cells(course_root, assignment, student, notebooks):
    """Cells of the autograded notebooks that ran past their time limit or ended the student's worker."""
    from coursekit.studentfiles import BadNotebook, Refused, as_dict, as_list, load_json_file

    found = []
    for name in notebooks:
        path = os.path.join(course_root, "autograded", student, assignment, name)
        if not os.path.isfile(path):
            continue
        try:
            cells = as_list(as_dict(load_json_file(path)).get("cells"))
        except (BadNotebook, Refused, OSError):
            continue
        for index, cell in enumerate(as_dict(cell) for cell in cells):
            verdict = Verdict.read(cell)  # a test cell: the grader's verdict; a student's cell: the engine's error
            interrupted = verdict.outcome in INTERRUPTED if verdict is not None else any(
                as_dict(output).get("output_type") == "error"
                and as_dict(output).get("ename") in ("CellTimeoutError", "WorkerDied")
                for output in as_list(cell.get("outputs")))
            if interrupted:
                grade_id = as_dict(as_dict(cell.get("metadata")).get("nbgrader")).get("grade_id")
                found.append(f"{name} cell {index}" + (f" ({grade_id})" if isinstance(grade_id, str) else ""))
    return found


def plan(course_root, assignment, students=None, force=False, db_url=None):
    """(to grade, already graded). Decided by the gradebook: a submission is skipped only when the
    gradebook holds its grade and the kit's record says that grade is of exactly the files in
    submitted/ now (same hash), and its autograded folder exists."""
    students = sorted(students) if students else submitted_students(course_root, assignment)
    if force:
        return students, []
    from coursekit.standing import SCORED, standings

    current = standings(course_root, assignment, db_url)
    autograded = os.path.join(course_root, "autograded", "{}", assignment)
    done = [s for s in students if s in current and current[s].state in SCORED and current[s].record
            and current[s].record.get("graded_hash") == status_store.submission_hash(course_root, assignment, s)
            and os.path.isdir(autograded.format(s))]
    return [s for s in students if s not in done], done


def grade(course_root, assignment, students=None, jobs=1, force=False, timeout=None, db_url=None,
          scheduler=None, progress=True, sandboxed=True):
    """Grade the class; returns {student: Outcome} for the submissions graded in this run.

    ``jobs`` worker processes grade (0: this process, kept warm from one call to the next). Student code runs
    in the bubblewrap sandbox (``isograde.sandbox``) unless ``sandboxed=False``;
    if the sandbox cannot be set up here, nothing is graded and GradingSetupError says why."""
    course_root = os.path.abspath(course_root)
    preflight.check_assignment(course_root, assignment)
    expected = source_notebooks(course_root, assignment)
    if sandboxed and not scheduler:
        from isograde.sandbox import SandboxUnavailable, check_available
        try:
            check_available()
        except SandboxUnavailable as error:
            raise GradingSetupError(f"cannot sandbox student code on this machine: {error}. Refusing to "
                                    "grade; pass --no-sandbox to run submissions unsandboxed (only for "
                                    "code you trust).") from None
    check_assignment_grades(course_root, assignment, expected)
    from coursekit import latepenalty
    latepenalty.describe(course_root)  # a late penalty nbgrader cannot use stops here, not in every submission
    preflight.check_database(course_root, db_url)
    preflight.check_released(course_root, assignment, db_url)
    preflight.check_students(course_root, assignment, students)
    recover(course_root)
    todo, skipped = plan(course_root, assignment, students, force, db_url)
    outcomes = {}
    bar = _progress(len(todo), progress, skipped)
    try:
        for outcome in _run(course_root, assignment, todo, jobs, timeout, db_url, scheduler, expected, sandboxed):
            if outcome.files_hash is None and outcome.status == status_store.FAILED:
                # a worker that crashed (or died) gave no hash: the files it failed on are those here now,
                # so that the submission stands as failed, not as changed since
                outcome.files_hash = status_store.submission_hash(course_root, assignment, outcome.student)
            try:
                status_store.record(course_root, assignment, outcome.student, outcome.status, outcome.reason,
                                    outcome.seconds, outcome.phases, outcome.files_hash, db_url)
            except Exception as error:  # the gradebook is gone for good: say so, the next run regrades it
                outcome.status = status_store.FAILED
                outcome.reason = (f"could not record the outcome in the gradebook ({type(error).__name__}); "
                                  f"run grade again once the database is back")
            outcomes[outcome.student] = outcome
            if bar is not None:
                bar.set_postfix_str(f"{outcome.student}: {outcome.status}", refresh=False)
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
        recover(course_root)  # the workers have ended: their (empty) staging folders go
        with contextlib.suppress(OSError):  # and this process's own, when it graded (jobs=0)
            os.rmdir(os.path.join(course_root, STAGING.format(step="autograded", pid=os.getpid())))
    graded = {student: outcome.files_hash for student, outcome in outcomes.items()
              if outcome.status == status_store.GRADED and outcome.files_hash}
    if graded:  # every graded attempt is kept, for c.GradeOnSubmit.counted_attempt = "best"
        status_store.keep_attempts(course_root, assignment, graded, db_url)
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
    if jobs == 0:  # in this process, which keeps nbgrader, the assignment and the zygote warm (``serve``)
        for student in students:
            try:
                yield grade_one(course_root, assignment, student, timeout, db_url, expected, sandboxed)
            except Exception as error:
                yield _failure(student, error)
        return
    queue, restarts = list(students), 0
    while queue:
        with ProcessPoolExecutor(max_workers=max(1, jobs), mp_context=get_context("spawn"),
                                 initializer=_quiet_worker) as pool:
            futures = {pool.submit(grade_one, course_root, assignment, s, timeout, db_url, expected, sandboxed): s
                       for s in queue}
            queue = []
            for future in as_completed(futures):
                try:
                    yield future.result()
                except BrokenProcessPool:  # a worker was killed (kill -9, out of memory): grade its share again
                    queue.append(futures[future])
                except Exception as error:
                    yield _failure(futures[future], error)
        if queue and restarts == MAX_POOL_RESTARTS:
            for student in queue:
                yield Outcome(student, status_store.FAILED, f"the grading workers died {restarts + 1} times "
                              "(killed, or out of memory); run grade again")
            return
        restarts += 1


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
                                 key=f"coursekit-grade-{assignment}-{s}-{time.time_ns()}", pure=False): s
                   for s in students}
        for future in dask_completed(list(futures)):
            yield _result_or_failure(future, futures[future])


def _result_or_failure(future, student):
    try:
        return future.result()
    except Exception as error:  # the worker itself died (e.g. killed): this submission fails alone
        return _failure(student, error)


def _failure(student, error):
    return Outcome(student, status_store.FAILED, f"grading worker failed: {type(error).__name__}: {error}")


def summary(outcomes, skipped=0):
    graded = [o for o in outcomes.values() if o.status == status_store.GRADED]
    failed = [o for o in outcomes.values() if o.status == status_store.FAILED]
    lines = [f"Graded {len(graded)}, failed {len(failed)}" + (f", skipped {skipped} already graded" if skipped else "")
             + (f"; {sum(o.seconds for o in outcomes.values()) / max(1, len(outcomes)):.1f} s per submission"
                if outcomes else "") + "."]
    from coursekit.studentfiles import shown

    for outcome in sorted(failed, key=lambda o: o.student):
        lines.append(f"  FAILED {shown(outcome.student, 200)}: {outcome.reason}")
    for outcome in sorted(graded, key=lambda o: o.student):
        if outcome.reason:
            lines.append(f"  note   {shown(outcome.student, 200)}: {outcome.reason}")
    return "\n".join(lines)
