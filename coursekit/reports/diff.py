"""Regrade diff: two per-exercise exports (``python -m coursekit export``) compared, or an export and the
gradebook as it is now: who changed, in which exercise, by how many points."""
import csv
import math
from dataclasses import dataclass

from coursekit.workflow.export import FIELDS, NOT_GRADED_YET
from coursekit.errors import InputError



class DiffError(InputError, ValueError):
    """A file to compare is not a per-exercise export; the message says which and why."""


@dataclass
class Change:
    student: str
    part: str  # an exercise, "total" or "status"
    before: object
    after: object

    @property
    def delta(self):
        if isinstance(self.before, (int, float)) and isinstance(self.after, (int, float)):
            return self.after - self.before
        return None


def read_export(path, assignment=None):
    """{student: {"status": ..., "total": float or None, exercise: float or None}} of an export CSV (its
    exercise columns: every column after the export's fixed fields), for ``assignment``'s rows (None: the
    file must hold one assignment)."""
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise DiffError(f"{path}: cannot read it ({error})") from None
    if not rows or not {"student_id", "status", "total"} <= set(rows[0]):
        raise DiffError(f"{path}: not a per-exercise export (python -m coursekit export writes one): "
                        "it needs the columns student_id, status and total")
    held = list(dict.fromkeys(row.get("assignment") or "" for row in rows))
    if assignment is not None and "assignment" in rows[0]:
        rows = [row for row in rows if row.get("assignment") == assignment]
        if not rows:
            raise DiffError(f"{path}: no row of {assignment} (it holds {', '.join(held)})")
    elif len(held) > 1:
        raise DiffError(f"{path}: holds several assignments ({', '.join(held)}): name the one to compare")
    grades = {}
    for row in rows:
        entry = {"status": row["status"], "total": _float(row["total"], path)}
        for column, value in row.items():
            if column and column not in FIELDS:
                entry[column] = _float(value, path)
        grades[row["student_id"]] = entry
    return grades


def _float(text, path):
    text = (text or "").strip()
    if not text or text == NOT_GRADED_YET:
        return None
    try:
        value = float(text)
    except ValueError:
        raise DiffError(f"{path}: {text!r} is not a number") from None
    if not math.isfinite(value):
        raise DiffError(f"{path}: {text!r} is not a finite number")
    return value


def current_grades(course_root, assignment, db_url=None):
    """The gradebook as it is now, in ``read_export``'s form: the export's states (``coursekit.standing``),
    a pending (hand-graded, not graded yet) part as None, as the export's "not graded yet"."""
    from coursekit.exercises import layout as assignment_layout
    from coursekit.workflow.export import column_header
    from coursekit.standing import SCORED, standings

    layout = assignment_layout(course_root, assignment, db_url)
    grades = {}
    for student, standing in standings(course_root, assignment, db_url).items():
        # every student of the gradebook, as the export lists them (one without a submission: "missing")
        entry = {"status": standing.state, "total": standing.total}
        if standing.state in SCORED:
            pending = {layout.column_of(name) for name in standing.pending}
            scored = {name: (score or 0.0, out_of) for name, (score, out_of) in standing.cells.items()}
            entry.update({column_header(part): None if part in pending else score
                          for part, (score, _) in layout.totals(scored).items()})
        grades[student] = entry
    return grades


def diff(before, after, tolerance=1e-9):
    """[Change] from ``before`` to ``after`` (``read_export``'s form), by student then part."""
    changes = []
    for student in sorted(set(before) | set(after)):
        old, new = before.get(student), after.get(student)
        if old is None or new is None:
            changes.append(Change(student, "status", old["status"] if old else "absent",
                                  new["status"] if new else "absent"))
            continue
        if old["status"] != new["status"]:
            changes.append(Change(student, "status", old["status"], new["status"]))
        parts = sorted((set(old) | set(new)) - {"status", "total"})
        for part in parts + ["total"]:
            a, b = old.get(part), new.get(part)
            if (a is None) != (b is None) or (a is not None and abs(a - b) > tolerance):
                changes.append(Change(student, part, a, b))
    return changes


def format_diff(changes):
    if not changes:
        return "No changes: every student has the same status and the same points in every exercise."
    lines = [f"{'student':<24} {'part':<8} {'before':>8} {'after':>8} {'change':>8}"]
    for c in changes:
        show = lambda v: "–" if v is None else (f"{v:g}" if isinstance(v, float) else str(v))
        delta = "" if c.delta is None else f"{c.delta:+g}"
        lines.append(f"{c.student:<24} {c.part:<8} {show(c.before):>8} {show(c.after):>8} {delta:>8}")
    students = len({c.student for c in changes})
    lines.append(f"{students} student(s) changed.")
    return "\n".join(lines)
