"""The ``feedback`` command: nbgrader's generate_feedback writing every graded student's pages (feedbackpage),
shared between processes, each student's pages put in place only once all are written and checked."""
import os
import re
import shutil
from concurrent.futures import ThreadPoolExecutor

from coursekit import studenthtml
from coursekit.gradebook import NbgraderError, nbgrader
from coursekit.errors import StepFailed
from coursekit.workflow.nbgraderlog import classify_failure
from coursekit.workflow.staging import STAGING, promote, recover
from coursekit.workflow.submissioncheck import source_notebooks


class FeedbackError(StepFailed):
    """Feedback could not be written; the earlier feedback is unchanged."""


def generate_feedback(course_root, assignment=None, student=None, force=True, db_url=None, jobs=None,
                      hidden_failures=None):
    """Run ``nbgrader generate_feedback`` so that the pages render their maths offline, for every
    student whose grade is of the files submitted now (graded, or graded but for a hand-graded answer).

    nbgrader writes into a staging folder; each student's new feedback folder replaces the old one only
    once every page is written, so a failure (a full disk, a database that stops answering) leaves the
    earlier feedback in place. A class is shared between ``jobs`` nbgrader processes (default: the number of
    cores), each writing its own students' pages; ``jobs=0`` runs nbgrader in this process (``serve``: warm
    from one student to the next). ``hidden_failures``: ``c.ShortTracebacks.hidden_failures`` for this run
    (``serve`` before the due date). Each page, ``feedback/<student>/<assignment>/<notebook>.html``, opens on
    its own, offline, maths included. Returns (the HTML files written, sorted; {student: why no feedback was written}).
    """
    from coursekit.standing import PENDING

    course_root = os.path.abspath(course_root)
    assignment, current, wanted, left_out = _students_to_write(course_root, assignment, student, db_url)
    recover(course_root, "feedback")
    shards = _shards(wanted, jobs)
    pages = [os.path.splitext(name)[0] + ".html" for name in source_notebooks(course_root, assignment)]
    stagings = [STAGING.format(step="feedback", pid=f"{os.getpid()}-{index}") for index in range(len(shards))]
    try:
        with ThreadPoolExecutor(max_workers=len(shards)) as pool:
            logs = list(pool.map(lambda index: _nbgrader_feedback(course_root, assignment, stagings[index],
                                                                  set(current) - set(shards[index]), db_url,
                                                                  in_process=jobs == 0, hidden_failures=hidden_failures),
                                 range(len(shards))))
        failed = {}
        for log in logs:
            failed.update(_failed_students(log, wanted))
        if len(failed) == len(wanted) or (not failed and any(_failed_run(log) for log in logs)):
            # nothing written for anyone (the disk, the database, Node.js): the class's problem, not a student's
            raise NbgraderError("\n".join(logs))
        written, unwritten = [], {}
        for staging, shard in zip(stagings, shards):
            shard_written, shard_unwritten = _promote_pages(course_root, staging, assignment,
                                                            [s for s in shard if s not in failed], pages)
            written += shard_written
            unwritten.update(shard_unwritten)
    except (NbgraderError, OSError) as error:
        raise FeedbackError(_why(error)) from None
    finally:
        for staging in stagings:
            shutil.rmtree(os.path.join(course_root, staging), ignore_errors=True)
    left_out.update({s: "graded, but a hand-graded answer is not graded yet: the page shows what is graded"
                     for s in wanted if current[s].state == PENDING})
    left_out.update({s: f"feedback failed: {why}" for s, why in {**failed, **unwritten}.items()})
    return sorted(written), left_out


def _students_to_write(course_root, assignment, student, db_url):
    """(assignment, standings, the students whose pages are written, {student: why not}); refuses a run that
    would write no page, saying why."""
    from coursekit import preflight
    from coursekit.standing import SCORED, standings

    assignment = preflight.the_assignment(course_root, assignment)  # None: the course's only one
    preflight.check_assignment(course_root, assignment)
    preflight.check_database(course_root, db_url)
    preflight.check_released(course_root, assignment, db_url)
    if student:
        preflight.check_students(course_root, assignment, [student])
    current = standings(course_root, assignment, db_url)
    wanted = [s for s, standing in current.items() if standing.state in SCORED and (not student or s == student)]
    left_out = {s: f"{standing.state}: {standing.reason}" for s, standing in current.items()
                if standing.state not in SCORED and (not student or s == student) and standing.state != "missing"}
    if not wanted:
        raise preflight.InputError(f"no graded submission of {assignment}" + (f" for {student}" if student else "")
                                   + f" to give feedback on: run `python -m coursekit grade {assignment}` first"
                                   + (f" ({'; '.join(f'{s}: {r}' for s, r in sorted(left_out.items()))})"
                                      if left_out else "") + ".")
    return assignment, current, wanted, left_out


# A feedback process starts in about two seconds (nbgrader, its configuration, the gradebook, MathJax): a
# class is split between processes only when each gets at least this many pages to write.
MIN_STUDENTS_PER_PROCESS = 20


def _shards(students, jobs):
    """``students`` split into at most ``jobs`` interleaved groups of at least MIN_STUDENTS_PER_PROCESS."""
    count = max(1, min(jobs or os.cpu_count() or 1, len(students) // MIN_STUDENTS_PER_PROCESS))
    return [students[index::count] for index in range(count)]


def _nbgrader_feedback(course_root, assignment, staging, excluded, db_url, in_process=False, hidden_failures=None):
    """One ``nbgrader generate_feedback`` process (or run in this one) writing the pages of every student not
    ``excluded`` into ``staging``; returns its log."""
    if in_process:
        return _feedback_here(course_root, assignment, staging, excluded, db_url, hidden_failures)
    args = ["generate_feedback", assignment, "--force",
            "--GenerateFeedback.exporter_class=coursekit.workflow.feedbackpage.FeedbackHTMLExporter",
            f"--CourseDirectory.feedback_directory={staging}"]
    if excluded:
        args.append(f"--CourseDirectory.student_id_exclude={','.join(sorted(excluded))}")
    if db_url:
        args.append(f"--CourseDirectory.db_url={db_url}")
    if hidden_failures:
        args.append(f"--ShortTracebacks.hidden_failures={hidden_failures}")
    return nbgrader(course_root, *args, check=False)


def _feedback_here(course_root, assignment, staging, excluded, db_url, hidden_failures=None):
    """nbgrader's GenerateFeedback through its API in this process, with the course's configuration (read once
    per process), as ``_nbgrader_feedback``'s process would run it."""
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    from coursekit.courseconfig import course_config

    config = course_config(course_root, db_url)
    config.CourseDirectory.feedback_directory = staging
    config.CourseDirectory.student_id_exclude = ",".join(sorted(excluded))
    if hidden_failures:
        config.ShortTracebacks.hidden_failures = hidden_failures
    api = NbGraderAPI(CourseDirectory(config=config), config=config)
    result = api.generate_feedback(assignment)
    return (result.get("log") or "") + ("\n" + result["error"] if result.get("error") else "") + \
        ("" if result.get("success") else "\n[ERROR] nbgrader generate_feedback failed")


_STUDENT_ERROR = re.compile(r"There was an error processing assignment '[^']*' for student '([^']*)'")
_ASSIGNMENT_ERROR = re.compile(r"There was an error processing assignment: (\S+)")


def _failed_students(log, wanted):
    """{student: why} of the students nbgrader could not write feedback for (it goes on with the others
    and names them at the end of its log)."""
    failed = {}
    for student in _STUDENT_ERROR.findall(log):
        if student in wanted:
            failed[student] = "nbgrader could not write the page"
    # each failure's own traceback follows "There was an error processing assignment: <folder>"
    pieces = _ASSIGNMENT_ERROR.split(log)
    for folder, text in zip(pieces[1::2], pieces[2::2]):
        student = os.path.basename(os.path.dirname(folder.rstrip("/")))
        if student in failed:
            failed[student] = classify_failure(text.split("There was an error processing", 1)[0])
    return failed


def _failed_run(log):
    # "[GenerateFeedbackApp | ERROR]" from a process, "[ERROR]" from nbgrader's API in this one
    return re.search(r"\[(?:\w+ \| )?(?:ERROR|CRITICAL)\]", log) is not None


def _why(error):
    text = str(error)
    if "No space left on device" in text:
        return "the disk is full: free some space and run feedback again (the earlier feedback is unchanged)."
    if "OperationalError" in text or "error accessing the nbgrader database" in text:
        return ("the gradebook database stopped answering: run feedback again once it is back (the earlier "
                "feedback is unchanged).")
    lines = [line for line in text.splitlines() if line.strip()]
    return f"nbgrader generate_feedback failed ({lines[-1][:200] if lines else type(error).__name__}); " \
           "the earlier feedback is unchanged."


def _promote_pages(course_root, staging, assignment, students, names):
    """Check each staged page (``names``: one per notebook of the assignment), then move each student's
    folder into feedback/. Only those pages are checked: nbgrader copies a student's other files beside
    them (a notes.html of their own is theirs, not a feedback page). Returns (pages written, {student:
    why not}); a page that fails the check when others pass is that student's alone."""
    staged = {s: os.path.join(course_root, staging, s, assignment) for s in students}
    pages, unwritten, problems = {}, {}, []
    for student, folder in staged.items():
        pages[student] = [os.path.join(folder, name) for name in names]
        for page in pages[student]:
            problem = _page_problem(page)
            if problem:
                unwritten[student] = problem
                problems.append(f"{os.path.relpath(page, course_root)} {problem}")
                break
    if problems and len(unwritten) == len(staged):
        raise NbgraderError(f"{problems[0]}: is GenerateFeedback.exporter_class overridden?")
    written = []
    for student, folder in staged.items():
        if student in unwritten:
            continue
        final = os.path.join(course_root, "feedback", student, assignment)
        promote(folder, final)
        written += [os.path.join(final, os.path.basename(page)) for page in pages[student]]
    return sorted(written), unwritten


def _page_problem(page):
    try:
        with open(page, encoding="utf-8") as stream:
            html = stream.read()
    except FileNotFoundError:
        return "was not written by nbgrader"
    except (OSError, UnicodeDecodeError) as error:
        return f"cannot be read ({type(error).__name__})"
    if _SCRIPT_SOURCE.search(html) or studenthtml.STATIC_PAGE_CSP not in html:
        return "does not hold its Content-Security-Policy (or loads a script)"
    return None


_SCRIPT_SOURCE = re.compile(r"<script[^>]*\bsrc=", re.I)
