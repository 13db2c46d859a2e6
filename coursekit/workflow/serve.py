"""``serve``: grade on submit. The kit watches nbgrader's exchange and, for each new submission, collects it,
grades it with the warm engine, writes its feedback and releases it to that student alone, so that the
student's Assignment List shows it ("Fetch Feedback") seconds after submitting.

Everything runs in this one process through nbgrader's API, with the course's configuration: nbgrader, the
assignment, the sandboxed zygote and MathJax start once, and each submission after the first costs what
grading and one page cost. The grade is the same as ``grade``'s (``classgrade.grade`` with ``jobs=0``:
statuses in the gradebook, a submission graded once for the same files), the page the same as ``feedback``'s.

A restart loses nothing and grades nothing twice: a submission counts as served only once its feedback is
released (the ledger, ``.coursekit-served.json`` in the course, written atomically); after a crash the
submissions not served yet are taken up again, and ``grade`` skips any whose grade is of the same files.
"""
import dataclasses
import datetime
import json
import os
import time

from coursekit.atomic import atomic_file
from coursekit.errors import KitError
from coursekit.settings import GradeOnSubmit  # noqa: F401  (serve's settings: c.GradeOnSubmit)
from coursekit.studentfiles import shown

LEDGER = ".coursekit-served.json"


@dataclasses.dataclass(frozen=True)
class Submission:
    folder: str  # the inbound folder's name: <student>+<assignment>+<timestamp>[+<random>]
    student: str
    assignment: str
    timestamp: datetime.datetime


def inbound_submissions(inbound, assignments, forged=None):
    """The submissions in the exchange's inbound folder, oldest first; a name nbgrader would not parse, a
    student id that is not a plain name, or a folder another account wrote in a student's name is left out
    (the kit's collect skips them too: exchange.py); ``forged(folder, owner)`` hears of the last."""
    from nbgrader.utils import parse_utc

    from coursekit.studentfiles import name_problem
    from coursekit.workflow.exchangeowner import forged_by

    found = []
    for name in os.listdir(inbound) if os.path.isdir(inbound) else []:
        parts = name.split("+")
        if len(parts) not in (3, 4) or parts[1] not in assignments or name_problem(parts[0]):
            continue
        try:
            timestamp = parse_utc(parts[2])
        except Exception:  # dateutil's ParserError, ValueError, OverflowError
            continue
        owner = forged_by(inbound, name, parts[0])
        if owner:
            if forged:
                forged(name, owner)
            continue
        found.append(Submission(name, parts[0], parts[1], timestamp))
    return sorted(found, key=lambda submission: (submission.timestamp, submission.folder))


class Ledger:
    """The submissions served (feedback released, or refused with a reason), by inbound folder name."""

    def __init__(self, course_root):
        self.path = os.path.join(course_root, LEDGER)
        try:
            with open(self.path, encoding="utf-8") as stream:
                self.entries = json.load(stream)
        except FileNotFoundError:
            self.entries = {}
        except (OSError, ValueError) as error:
            raise KitError(f"{self.path} cannot be read ({type(error).__name__}): move it away to serve every "
                           "submission of the exchange again (each is graded once all the same)") from None

    def served(self, folder):
        return folder in self.entries

    def refused(self):
        """The inbound folders served with a refusal (nbgrader's collect leaves them: exchange.py)."""
        return {folder for folder, entry in self.entries.items() if entry.get("attempt") is False}

    def attempts(self, student, assignment):
        """The submission times of the student's attempts at the assignment (naive UTC), oldest first."""
        return sorted(datetime.datetime.fromisoformat(entry["submitted"]) for entry in self.entries.values()
                      if entry["student"] == student and entry["assignment"] == assignment
                      and entry.get("attempt", True) and "submitted" in entry)

    def add(self, submission, outcome, seconds, attempt=True, split=None):
        self.entries[submission.folder] = {"student": submission.student, "assignment": submission.assignment,
                                           "outcome": outcome, "seconds": round(seconds, 3), "attempt": attempt,
                                           "submitted": submission.timestamp.isoformat(),
                                           "split": {step: round(value, 3) for step, value in (split or {}).items()}}
        with atomic_file(self.path) as stream:
            json.dump(self.entries, stream, indent=1, sort_keys=True)


@dataclasses.dataclass
class Served:
    submission: Submission
    outcome: str  # what the student sees: the score, or why there is none
    seconds: float  # from the submission's time to its feedback released


class Server:
    """Grade on submit for one course: ``once`` serves what is in the exchange now, ``run`` keeps serving."""

    def __init__(self, course_root, db_url=None):
        from nbgrader.apps import NbGraderAPI
        from nbgrader.coursedir import CourseDirectory
        from nbgrader.exchange.default.exchange import Exchange

        from coursekit import preflight
        from coursekit.courseconfig import course_config

        self.course_root, self.db_url = os.path.abspath(course_root), db_url
        config = course_config(self.course_root, db_url)
        self.settings = GradeOnSubmit(config=config)
        self.assignments = self.settings.assignments or preflight.course_assignments(self.course_root)
        coursedir = CourseDirectory(config=config)
        if not coursedir.course_id:
            raise KitError("serve needs the course's id, to find its exchange: set c.CourseDirectory.course_id in "
                           "nbgrader_config.py")
        self.inbound = os.path.join(Exchange(coursedir=coursedir, config=config).root, coursedir.course_id, "inbound")
        self.api = NbGraderAPI(coursedir, config=config)
        self.ledger = Ledger(self.course_root)
        self.forged = {}  # inbound folder -> the account that wrote it in another student's name

    def once(self):
        """Serve every submission in the exchange not served yet; returns [Served]."""
        waiting = [s for s in inbound_submissions(self.inbound, self.assignments, self.forged.__setitem__)
                   if not self.ledger.served(s.folder)]
        served = []
        for assignment in sorted({submission.assignment for submission in waiting}):
            served += self._serve(assignment, [s for s in waiting if s.assignment == assignment])
        return served

    def run(self, report=print, stop=lambda: False):
        told = set()
        while not stop():
            for done in self.once():
                report(f"{done.submission.student} {done.submission.assignment}: {done.outcome} "
                       f"({done.seconds:.1f} s after submitting)")
            for folder in sorted(set(self.forged) - told):
                told.add(folder)
                report(f"not served: {shown(folder)} in the exchange was written by the account "
                       f"{shown(self.forged[folder])}, not by the student it names")
            time.sleep(self.settings.interval)

    def _serve(self, assignment, submissions):
        from coursekit.standing import SCORED, standings
        from coursekit.workflow import grade as classgrade

        served, accepted = [], []
        for submission in submissions:  # oldest first: each attempt counts before the next is decided
            refusal = self._refusal(submission, accepted)
            if refusal:
                self._refuse(submission, refusal)
                served.append(Served(submission, refusal, _since(submission)))
            else:
                accepted.append(submission)
        submissions = accepted
        if not submissions:
            return served
        clock = time.perf_counter()
        collected = self.api.collect(assignment, update=True)
        if not collected.get("success"):
            raise KitError(f"nbgrader collect of {assignment} failed: {_last_line(collected)}")
        students = sorted({submission.student for submission in submissions})
        split = {"collect": time.perf_counter() - clock}  # seconds of each step, for the benchmark
        classgrade.grade(self.course_root, assignment, students=students, jobs=0, progress=False, db_url=self.db_url)
        current = standings(self.course_root, assignment, self.db_url)
        split["grade"] = time.perf_counter() - clock - split["collect"]
        outcomes, splits = {}, {}
        for student in students:
            standing = current.get(student)
            if standing is None or standing.state not in SCORED or (standing.counted and standing.own_total is None):
                outcomes[student] = f"not graded: {standing.reason if standing else 'not collected'}"
                continue
            clock = time.perf_counter()
            outcomes[student] = self._give_feedback(assignment, student, standing)
            splits[student] = dict(split, feedback=time.perf_counter() - clock)
        for submission in submissions:
            seconds = _since(submission)
            self.ledger.add(submission, outcomes[submission.student], seconds, split=splits.get(submission.student, split))
            served.append(Served(submission, outcomes[submission.student], seconds))
        return served

    def _refusal(self, submission, accepted):
        """Why the instructor's policy (``attempts``, ``cooldown``) leaves this submission ungraded, or None."""
        earlier = self.ledger.attempts(submission.student, submission.assignment) + [
            s.timestamp.replace(tzinfo=None) for s in accepted if s.student == submission.student]
        policy = self.settings.for_assignment(submission.assignment)
        limit, cooldown = policy.attempts, policy.cooldown
        if limit and len(earlier) >= limit:
            return (f"not graded: you have used your {limit} attempt{'s' if limit > 1 else ''} at "
                    f"{submission.assignment}; your {policy.counted_attempt} graded attempt counts")
        if cooldown and earlier:
            ready = max(earlier) + datetime.timedelta(seconds=cooldown)
            if submission.timestamp.replace(tzinfo=None) < ready:
                return (f"not graded: sent before the {cooldown:g} s wait after your last graded attempt ended; "
                        f"submit again after {ready:%Y-%m-%d %H:%M:%S} UTC")
        return None

    def _refuse(self, submission, reason):
        """Record the refusal (first: nbgrader's collect then leaves the submission) and put a page saying why
        where the student's "Fetch Feedback" finds this submission's feedback."""
        self.ledger.add(submission, reason, _since(submission), attempt=False)
        from coursekit.workflow.refusal import release_refusal

        release_refusal(self.inbound, submission, reason, self.course_root)

    def _give_feedback(self, assignment, student, standing):
        from coursekit.workflow.feedback import generate_feedback

        now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
        before_due = standing.due is None or now < standing.due
        written, left_out = generate_feedback(self.course_root, assignment, student=student, db_url=self.db_url,
                                              jobs=0, hidden_failures=(self.settings.for_assignment(assignment)
                                                                       .hidden_failures_before_due
                                                                       if before_due else None))
        if not written:
            return f"graded ({standing.total:g}), no feedback: {left_out.get(student, 'not written')}"
        released = self.api.release_feedback(assignment, student)
        if not released.get("success"):
            raise KitError(f"nbgrader release_feedback for {student} failed: {_last_line(released)}")
        if standing.counted:  # c.GradeOnSubmit.counted_attempt = "best", and an earlier attempt scored more
            return f"graded {standing.own_total:g}, feedback released; {standing.counted}"
        return f"graded {standing.total:g}, feedback released"


def _since(submission):
    """Seconds from the submission's time (nbgrader's, UTC) to now."""
    now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    return (now - submission.timestamp.replace(tzinfo=None)).total_seconds()


def _last_line(result):
    lines = [line for line in ((result.get("error") or "") + "\n" + (result.get("log") or "")).splitlines()
             if line.strip()]
    return lines[-1][:200] if lines else "no log"
