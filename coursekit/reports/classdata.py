"""What the class report shows of one assignment, collected from the gradebook (scores, statuses, grading times)
and the autograded notebooks (the first line of each failing test's error, student-specific numbers normalised)."""
import datetime
import glob
import os
import re
import statistics
from collections import Counter, defaultdict

from coursekit.exercises import layout as assignment_layout
from coursekit.records import gradebook_url, sqlite_file
from coursekit.standing import FAILED, MISSING, SCORED, standings
from coursekit.studentfiles import BadNotebook, Refused, as_dict, as_list, load_json_file
from isograde.verdicts import Outcome, Verdict

TOP_MESSAGES = 5
WEAKEST = 3
FULL_MARKS_TOLERANCE = 1e-9


# ---------------------------------------------------------------------------------------------
# Collecting the data
# ---------------------------------------------------------------------------------------------


def normalise_message(text):
    """The first line of a failure message with the parts that vary between students taken out
    (counts of differing entries, array previews, received values, addresses), so that the same
    mistake made by several students groups under one message."""
    text = str(text)[:4000]  # a student's exception may carry megabytes: the regexes below see a bounded line
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    line = lines[0][:1000] if lines else ""
    line = re.sub(r"\(\d+ of \d+ entries differ\)", "(N of M entries differ)", line)
    line = re.sub(r"(contains NaN or inf):.*", r"\1.", line)
    line = re.sub(r"(should be a numeric array; received [\w.]+):.*", r"\1.", line)
    line = re.sub(r"\[(?=[^\]]*\d\.)[-+0-9.eEnaif,\s]*\]", "[…]", line)  # previews of float arrays
    line = re.sub(r"0x[0-9a-fA-F]+", "0x…", line)
    return line[:300] + ("…" if len(line) > 300 else "")


def cell_failure(cell):
    """The normalised failure message of an executed grade cell, or None if it shows no failure. Any
    JSON is survived: parts of the wrong type count as absent."""
    verdict = Verdict.read(as_dict(cell))
    check_failed = verdict is not None and verdict.outcome is Outcome.FAILED and not verdict.student_error
    outputs = [as_dict(output) for output in as_list(as_dict(cell).get("outputs"))]
    for output in outputs:
        if output.get("output_type") == "error":
            name, value = str(output.get("ename", "Error"))[:200], str(output.get("evalue", ""))[:4000].strip()
            if not value:
                return f"{name} (no message)"
            return normalise_message(value if name == "AssertionError" or check_failed else f"{name}: {value}")
    for output in outputs:
        if output.get("output_type") == "stream" and output.get("name") == "stderr":
            return "(no error, but the cell wrote to stderr, which nbgrader scores 0)"
    return None


def failure_messages(course_root, assignment, students, layout=None):
    """Read every autograded notebook of ``students``: ({exercise: Counter(message)},
    {(exercise, message): [students]}, notes about missing or unreadable notebooks)."""
    layout = layout or assignment_layout(course_root, assignment)
    counts, who, notes = defaultdict(Counter), defaultdict(list), []
    for student in students:
        paths = sorted(glob.glob(os.path.join(glob.escape(course_root), "autograded", glob.escape(student),
                                              glob.escape(assignment), "*.ipynb")))
        if not paths:
            notes.append(f"no autograded notebook for {student}")
        for path in paths:
            try:
                cells = as_dict(load_json_file(path)).get("cells")
                if not isinstance(cells, list):
                    raise BadNotebook("shape", "no list of cells")
            except (OSError, BadNotebook, Refused) as error:
                notes.append(f"skipped {os.path.relpath(path, course_root)}: not a readable notebook "
                             f"({type(error).__name__}: {str(error)[:120]})")
                continue
            for cell in cells:
                if not isinstance(cell, dict) or cell.get("cell_type") != "code":
                    continue
                meta = as_dict(as_dict(cell.get("metadata")).get("nbgrader"))
                if meta.get("grade") is not True or not isinstance(meta.get("grade_id"), str) or not meta["grade_id"]:
                    continue
                message = cell_failure(cell)
                if message:
                    exercise = layout.column_of(meta["grade_id"])
                    counts[exercise][message] += 1
                    if student not in who[exercise, message]:
                        who[exercise, message].append(student)
    return counts, who, notes


def weakness(exercise):
    """Sort key of an exercise row, weakest first: lowest mean %, ties broken by the mean points lost
    (what costs the class most); exercises nobody was graded on come last."""
    if exercise["percent"] is None:
        return (float("inf"), 0.0, exercise["exercise"])
    return (round(exercise["percent"], 9), exercise["mean"] - exercise["max"], exercise["exercise"])


def collect(course_root, assignment=None, db_url=None):
    """Everything the report of ``assignment`` (default: the course's only one) shows, as plain data."""
    from coursekit.preflight import the_assignment

    assignment = the_assignment(course_root, assignment)
    notes = []
    url = gradebook_url(course_root, db_url)
    layout = assignment_layout(course_root, assignment, db_url)
    maxima = {}
    if sqlite_file(url) and not os.path.isfile(sqlite_file(url)):
        notes.append("no gradebook (gradebook.db) in the course directory: no scores")
    else:
        maxima = layout.points

    students = _student_entries(standings(course_root, assignment, db_url), layout, maxima)
    graded = [s for s in students if s["state"] == "graded"]
    exercise_max, exercises = _exercise_entries(layout, maxima, graded)
    # Only the autograded exercises are ranked: a hand-graded question reads 0 until graded.
    ranked = sorted((e for e in exercises if e["percent"] is not None and e["percent"] < 100.0
                     and not e["manual"]), key=weakness)
    weakest = [e["exercise"] for e in ranked[:WEAKEST]]

    counts, who, read_notes = failure_messages(course_root, assignment, [s["student"] for s in graded], layout)
    notes.extend(read_notes)
    totals = [s["total"] for s in graded]
    return {
        "course_root": os.path.abspath(course_root), "assignment": assignment,
        "generated": datetime.datetime.now().isoformat(timespec="seconds"),
        "students": students, "graded": graded, "failed": [s for s in students if s["state"] == "failed"],
        "ungraded": [s for s in students if s["state"] == "ungraded"],
        "max_total": sum(exercise_max.values()), "totals": totals,
        "mean": statistics.fmean(totals) if totals else None,
        "median": statistics.median(totals) if totals else None,
        "exercises": exercises, "weakest": weakest, "messages": counts, "who": who, "notes": notes,
    }


def _student_entries(current, layout, maxima):
    """One entry per student with a submission: state, reason, time, and (graded) points per exercise."""
    students = []
    for student, standing in current.items():
        record = standing.record
        seconds = record.get("seconds") if isinstance(record.get("seconds"), (int, float)) else None
        entry = {"student": student, "reason": standing.reason, "seconds": seconds,
                 "finished": str(record.get("finished") or ""), "status_known": bool(record),
                 "standing": standing.state, "attempts": len(standing.attempts), "counted": standing.counted}
        if standing.state in SCORED:
            entry["state"] = "graded"
            pending = {layout.column_of(name) for name in standing.pending}
            per_exercise = defaultdict(float)
            for name in maxima:
                score = (standing.cells.get(name) or (0.0, 0.0))[0]
                per_exercise[layout.column_of(name)] += float(score or 0.0)
            entry["exercises"] = {e: v for e, v in per_exercise.items() if e not in pending}
            entry["pending"] = sorted(pending)
            entry["total"] = standing.total
        elif standing.state == FAILED:
            entry["state"] = "failed"
        elif standing.state == MISSING:
            continue
        else:  # changed since grading, or never graded: not counted, listed apart
            entry["state"] = "ungraded"
        students.append(entry)
    return students


def _exercise_entries(layout, maxima, graded):
    """({exercise: points}, one entry per exercise: its mean, share of full marks, pending hand-grading)."""
    exercise_max = {}
    for name, out_of in maxima.items():
        column = layout.column_of(name)
        exercise_max[column] = exercise_max.get(column, 0.0) + out_of
    exercises = []
    for exercise in exercise_max:
        out_of = exercise_max[exercise]
        got = [s["exercises"][exercise] for s in graded if exercise in s["exercises"]]
        mean = statistics.fmean(got) if got else None
        exercises.append({
            "exercise": exercise, "max": out_of, "mean": mean, "manual": exercise in layout.manual_columns,
            "pending": sum(exercise in s["pending"] for s in graded),
            "percent": (100.0 * mean / out_of) if mean is not None and out_of else None,
            "full": (100.0 * sum(g >= out_of - FULL_MARKS_TOLERANCE for g in got) / len(got)) if got else None,
        })
    return exercise_max, exercises
