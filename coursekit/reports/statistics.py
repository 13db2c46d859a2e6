"""What the class got wrong: statistics per check and known mistakes counted (the diff of two gradings is
``coursekit.reports.diff``).

- Per check (grade cell): how many graded students pass it, and its item-rest correlation: the
  Pearson correlation, over the graded students, between the share of the check's points a student
  got and the student's points on every other check (for a pass/fail check this is the point-biserial
  correlation). A check that everyone passes, or nobody, tells the instructor nothing; a check with a
  negative correlation is failed more by strong students than by weak ones (a misleading statement, a
  check that wants more than the question asks): both are flagged.
- Known mistakes: the assignment's checks name them (``KNOWN_MISTAKES`` in ``grader/<assignment>/*.py``:
  hint -> what the students who get it did); the grader records the hint of each failing test cell in
  that cell's metadata (``isograde.hint``, written in the grader's process, never taken from the message
  text, which can quote student code). Each student counts once per mistake.
"""
import glob
import importlib.util
import os
import statistics
import sys
from dataclasses import dataclass, field

from coursekit.studentfiles import Refused
from isograde.verdicts import Verdict

WEAK_CORRELATION = 0.2  # below this (but not negative), a check separates strong and weak submissions weakly


# ---------------------------------------------------------------------------------------------
# Per check
# ---------------------------------------------------------------------------------------------


@dataclass
class CheckStats:
    check: str
    max_score: float
    graded: int
    passed: int
    correlation: float = None  # item-rest correlation; None when either side does not vary
    flags: list = field(default_factory=list)

    @property
    def pass_rate(self):
        return 100.0 * self.passed / self.graded if self.graded else None


def correlation(xs, ys):
    """Pearson's r, or None when either variable is constant (or there are fewer than 3 students)."""
    if len(xs) < 3 or len(set(xs)) < 2 or len(set(ys)) < 2:
        return None
    return statistics.correlation(xs, ys)


def check_statistics(scores, maxima, manual=()):
    """[CheckStats] of every autograded check. ``scores``: {student: {check: (score, max)}} of the graded
    students; ``maxima``: {check: max score}; ``manual``: checks graded by hand (left out)."""
    checks = sorted(c for c in maxima if c not in manual and maxima[c] > 0)
    students = sorted(scores)
    points = {s: {c: float((scores[s].get(c) or (0.0, 0.0))[0] or 0.0) for c in checks} for s in students}
    rows = []
    for check in checks:
        out_of = maxima[check]
        shares = [points[s][check] / out_of for s in students]
        rest = [sum(points[s].values()) - points[s][check] for s in students]
        passed = sum(points[s][check] >= out_of - 1e-9 for s in students)
        row = CheckStats(check, out_of, len(students), passed, correlation(shares, rest))
        if students and passed == len(students):
            row.flags.append("everyone passes it: it does not tell strong and weak submissions apart")
        elif students and passed == 0:
            row.flags.append("nobody passes it: check the check, or what the question asks")
        elif row.correlation is not None and row.correlation < 0:
            row.flags.append("strong submissions fail it more often than weak ones (negative correlation "
                             "with the rest of the score)")
        elif row.correlation is not None and row.correlation < WEAK_CORRELATION:
            row.flags.append(f"separates weakly (correlation below {WEAK_CORRELATION:g})")
        rows.append(row)
    return rows


# ---------------------------------------------------------------------------------------------
# Known mistakes
# ---------------------------------------------------------------------------------------------


def load_known_mistakes(course_root, assignment, notes=None):
    """{hint: what the students who get it did} from ``KNOWN_MISTAKES`` of the assignment's grader
    modules (``grader/<assignment>/*.py``; they import from ``source/<assignment>/``); {} if none."""
    folder = os.path.join(course_root, "grader", assignment)
    catalogue = {}
    paths = sorted(glob.glob(os.path.join(glob.escape(folder), "*.py")))
    if not paths:
        return catalogue
    extra = [folder, os.path.join(course_root, "source", assignment)]
    saved_path, saved_modules = list(sys.path), set(sys.modules)
    sys.path[:0] = extra
    try:
        for path in paths:
            spec = importlib.util.spec_from_file_location(f"_coursekit_grader_{assignment}_{os.path.basename(path)[:-3]}",
                                                          path)
            module = importlib.util.module_from_spec(spec)
            try:
                spec.loader.exec_module(module)
            except Exception as error:  # the course's own code: its failure is a note, not the report's end
                if notes is not None:
                    notes.append(f"known mistakes of {os.path.relpath(path, course_root)} not read "
                                 f"({type(error).__name__}: {error})")
                continue
            known = getattr(module, "KNOWN_MISTAKES", {})
            if isinstance(known, dict):
                catalogue.update({k: v for k, v in known.items() if isinstance(k, str) and isinstance(v, str)})
    finally:
        sys.path[:] = saved_path
        for name in set(sys.modules) - saved_modules:  # the course's own modules stay out of this process
            module = sys.modules.get(name)
            if any(os.path.dirname(getattr(module, "__file__", "") or "") == f for f in extra):
                del sys.modules[name]
    return catalogue


def recorded_hints(notebook_path):
    """{grade id: hint} of an autograded notebook's failing test cells, as the grader recorded them."""
    from coursekit.studentfiles import BadNotebook, as_dict, load_json_file

    cells = as_dict(load_json_file(notebook_path)).get("cells")
    if not isinstance(cells, list):
        raise BadNotebook("shape", "no list of cells")
    hints = {}
    for cell in cells:
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        metadata = as_dict(cell.get("metadata"))
        meta = as_dict(metadata.get("nbgrader"))
        verdict = Verdict.read(cell)
        if meta.get("grade") and not meta.get("solution") and isinstance(meta.get("grade_id"), str) \
                and verdict is not None and verdict.hint is not None:
            hints[meta["grade_id"]] = verdict.hint
    return hints


@dataclass
class Mistake:
    did: str
    checks: list
    students: list

    @property
    def count(self):
        return len(self.students)

    def sentence(self):
        who = "1 student" if self.count == 1 else f"{self.count} students"
        return f"{who} {self.did}"


def known_mistakes(course_root, assignment, students, catalogue=None):
    """([Mistake] most frequent first, notes): the known mistakes of ``students``' autograded notebooks."""
    catalogue = load_known_mistakes(course_root, assignment) if catalogue is None else catalogue
    found, notes = {}, []
    for student in students:
        paths = glob.glob(os.path.join(glob.escape(course_root), "autograded", glob.escape(student),
                                       glob.escape(assignment), "*.ipynb"))
        for path in sorted(paths):
            try:
                hints = recorded_hints(path)
            except (OSError, ValueError, KeyError, TypeError, RecursionError, Refused) as error:
                notes.append(f"{student}: mistakes not counted, {os.path.basename(path)} unreadable "
                             f"({type(error).__name__})")
                continue
            for check, hint in hints.items():
                did = catalogue.get(hint)
                if did is None:
                    continue
                mistake = found.setdefault(did, Mistake(did, [], []))
                if check not in mistake.checks:
                    mistake.checks.append(check)
                if student not in mistake.students:
                    mistake.students.append(student)
    return sorted(found.values(), key=lambda m: (-m.count, m.did)), notes
