"""A class report of one assignment, or of every assignment of the course, as a single, self-contained HTML page.

``build_report(course_root, assignment)`` reads the nbgrader gradebook (scores), the kit's grading statuses
(in the gradebook, ``coursekit.records``: failures, grading times) and the autograded notebooks (the messages of the
failing tests) and writes ``report.html``: a summary, the distribution of total scores, the score
per exercise (where the class struggled), the most frequent failure messages per exercise, and the
failed submissions with grading times; then (``class_sections``, a jinja2 template) statistics per
check, the known mistakes counted across the class (``coursekit.reports.statistics``) and the pairs of
similar answers (``coursekit.reports.similarity``, also written to similarity.csv). Charts are PNG images embedded
as base64 and the styles are inline, so the page opens offline; every piece of student-derived text is
HTML-escaped, and the page's Content-Security-Policy runs no script and loads nothing.

Exercises are the columns the master notebook declares (``coursekit.exercises``); only exercises graded
automatically are ranked (a hand-graded one reads 0 until it is graded). Without an assignment, the report
covers every assignment in the gradebook: with one, it is that assignment's page; with several, one page
opens with a table of the assignments and one of each student's totals, then each assignment's sections
(their anchors prefixed with the assignment's name), and each assignment's flagged pairs go to
similarity-<assignment>.csv.

A submission whose status is ``failed`` is listed with its reason and never counted in the scores
(nbgrader records a broken notebook as 0.0, which is not a real zero). A student in the gradebook
without a status (graded by plain nbgrader) counts as graded, with an unknown grading time.
"""
import base64
import datetime
import glob
import html
import io
import os
import re
import statistics
from collections import Counter, defaultdict

import coursekit

from coursekit.atomic import atomic_file
from coursekit.studentfiles import BadNotebook, Refused, as_dict, as_list, load_json_file
from coursekit.exercises import layout as assignment_layout
from coursekit.gradebook import cell_scores
from coursekit.studenthtml import STATIC_PAGE_CSP_META
from coursekit.standing import FAILED, MISSING, SCORED, standings
from coursekit.records import gradebook_url, sqlite_file
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

    students = []
    for student, standing in standings(course_root, assignment, db_url).items():
        record = standing.record
        seconds = record.get("seconds") if isinstance(record.get("seconds"), (int, float)) else None
        entry = {"student": student, "reason": standing.reason, "seconds": seconds,
                 "finished": str(record.get("finished") or ""), "status_known": bool(record),
                 "standing": standing.state}
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

    graded = [s for s in students if s["state"] == "graded"]
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


# ---------------------------------------------------------------------------------------------
# Charts (PNG, base64)
# ---------------------------------------------------------------------------------------------


def _figure(width, height):
    from matplotlib.figure import Figure
    return Figure(figsize=(width, height), dpi=100)


def _png(figure):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", bbox_inches="tight")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _charts(data):
    """{name: base64 PNG} of the charts that have something to show."""
    import matplotlib
    from matplotlib.ticker import MaxNLocator
    charts = {}
    with matplotlib.rc_context({"text.parse_math": False, "font.size": 10}):
        if data["totals"]:
            figure = _figure(7, 3.2)
            axes = figure.add_subplot()
            top = data["max_total"] or max(data["totals"]) or 1.0
            axes.hist(data["totals"], bins=20, range=(0, top), color="#4c72b0", edgecolor="white")
            axes.axvline(data["mean"], color="#c44e52", linestyle="--", label=f"mean {data['mean']:.1f}")
            axes.axvline(data["median"], color="#55a868", linestyle=":", label=f"median {data['median']:.1f}")
            axes.set_xlabel(f"total score (out of {top:g})")
            axes.set_ylabel("submissions")
            axes.yaxis.set_major_locator(MaxNLocator(integer=True))
            axes.set_title(f"Total scores of the {len(data['totals'])} graded submissions")
            axes.legend(loc="upper left")
            charts["histogram"] = _png(figure)

        shown = [e for e in data["exercises"] if e["percent"] is not None]
        if shown:
            figure = _figure(7, 3.2)
            axes = figure.add_subplot()
            colours = ["#c44e52" if e["exercise"] in data["weakest"] else "#4c72b0" for e in shown]
            bars = axes.bar([e["exercise"] for e in shown], [e["percent"] for e in shown], color=colours)
            axes.bar_label(bars, labels=[f"{e['percent']:.0f}" for e in shown], fontsize=8)
            axes.set_ylim(0, 110)
            axes.set_ylabel("mean score (% of max)")
            axes.set_title("Score per exercise (weakest in red)")
            charts["exercises"] = _png(figure)

        timed = sorted((s for s in data["students"] if s["seconds"] is not None), key=lambda s: s["seconds"])
        if timed:
            if len(timed) <= 40:
                figure = _figure(7, 0.6 + 0.22 * len(timed))
                axes = figure.add_subplot()
                axes.barh([s["student"] for s in timed], [s["seconds"] for s in timed],
                          color=["#c44e52" if s["state"] == "failed" else "#4c72b0" for s in timed])
                axes.set_xlabel("grading time (s); failed in red")
                axes.tick_params(axis="y", labelsize=8)
            else:
                figure = _figure(7, 3)
                axes = figure.add_subplot()
                axes.hist([s["seconds"] for s in timed], bins=20, color="#4c72b0", edgecolor="white")
                axes.set_xlabel("grading time (s)")
                axes.set_ylabel("submissions")
                axes.yaxis.set_major_locator(MaxNLocator(integer=True))
            axes.set_title("Grading time per submission")
            charts["times"] = _png(figure)
    return charts


# ---------------------------------------------------------------------------------------------
# HTML
# ---------------------------------------------------------------------------------------------

STYLE = """
body { font-family: sans-serif; margin: 2em auto; max-width: 60em; color: #222; line-height: 1.4; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; border-bottom: 1px solid #ccc; margin-top: 2em; }
table { border-collapse: collapse; margin: 0.5em 0 1em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.weak td { background: #fde8e8; font-weight: bold; }
.muted { color: #777; } .failed { color: #a00; }
img { max-width: 100%; display: block; margin: 0.5em 0; }
ul.notes li { color: #7a5a00; }
table.side-by-side td { width: 50%; } table.side-by-side pre { font-size: 0.8em; white-space: pre-wrap; margin: 0; }
mark { background: #ffe08a; }
"""


def _e(value):
    return html.escape(str(value), quote=True)


def _number(value, digits=1):
    return "–" if value is None else f"{value:.{digits}f}"


def _image(charts, name, alt):
    if name not in charts:
        return f'<p class="muted">({_e(alt)}: nothing to show)</p>'
    return f'<img alt="{_e(alt)}" src="data:image/png;base64,{charts[name]}">'


def _page_head(title):
    # The page's policy runs no script and loads nothing (images are inline PNG, styles inline), whatever
    # student text ends up in it (all of it escaped).
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n{STATIC_PAGE_CSP_META}\n'
            f'<title>{_e(title)}</title>\n'
            f"<style>{STYLE}</style>\n</head>\n<body>\n<h1>{_e(title)}</h1>")


def render(data, charts, sections=""):
    """The report page of ``collect``'s data."""
    title = f"Assignment {data['assignment']}: class report"
    return "\n".join([_page_head(title),
                      f'<p class="muted">Course {_e(data["course_root"])}, generated {_e(data["generated"])}.</p>',
                      render_sections(data, charts, sections), "</body>\n</html>\n"])


def render_sections(data, charts, sections=""):
    """The report's sections of one assignment (summary, scores, messages, failures, times, then
    ``sections``)."""
    out = []
    add = out.append

    # 1. Summary
    timed = [s["seconds"] for s in data["students"] if s["seconds"] is not None]
    add('<h2 id="summary">Summary</h2>\n<table class="summary">')
    rows = [("submissions", len(data["students"])), ("graded", len(data["graded"])),
            ("failed", len(data["failed"])), ("not graded yet", len(data["ungraded"])),
            ("mean total score", f"{_number(data['mean'])} / {data['max_total']:g}"),
            ("median total score", f"{_number(data['median'])} / {data['max_total']:g}"),
            ("mean grading time", f"{_number(statistics.fmean(timed) if timed else None)} s "
                                  f"({len(timed)} timed, failed included)")]
    for label, value in rows:
        add(f'<tr><th>{_e(label)}</th><td class="num" id="summary-{_e(label.replace(" ", "-"))}">{_e(value)}</td></tr>')
    add("</table>")
    if data["failed"]:
        add(f'<p>The {len(data["failed"])} failed submission(s) are not counted in the scores '
            '(see <a href="#failed">failed submissions</a>).</p>')
    if data["notes"]:
        add('<ul class="notes">' + "".join(f"<li>{_e(note)}</li>" for note in data["notes"]) + "</ul>")

    # 2. Histogram
    add('<h2 id="histogram">Distribution of total scores</h2>')
    add("<p>Graded submissions only; failed submissions are listed separately and not counted as 0.</p>")
    add(_image(charts, "histogram", "histogram of total scores"))

    # 3. Per exercise
    add('<h2 id="exercises">Score per exercise</h2>')
    if data["weakest"]:
        weakest = ", ".join(f"{e['exercise']} ({e['percent']:.0f}%)" for e in sorted(data["exercises"], key=weakness)
                            if e["exercise"] in data["weakest"])
        add(f"<p>Weakest exercises: <strong>{_e(weakest)}</strong>. "
            "The table lists exercises from the weakest to the strongest.</p>")
    add(_image(charts, "exercises", "mean score per exercise"))
    add('<table class="exercises"><tr><th>exercise</th><th class="num">max points</th>'
        '<th class="num">mean points</th><th class="num">mean %</th><th class="num">full marks (% of students)</th>'
        '<th class="num">not graded yet</th></tr>')
    for e in sorted(data["exercises"], key=weakness):
        weak = ' class="weak"' if e["exercise"] in data["weakest"] else ""
        add(f'<tr id="exercise-{anchor(e["exercise"])}"{weak}><td>{_e(e["exercise"])}</td><td class="num">{e["max"]:g}</td>'
            f'<td class="num">{_number(e["mean"], 2)}</td><td class="num">{_number(e["percent"])}</td>'
            f'<td class="num">{_number(e["full"])}</td><td class="num">{e["pending"] or ""}</td></tr>')
    add("</table>")

    # 4. Failure messages
    add('<h2 id="messages">Most frequent failure messages</h2>')
    add(f"<p>First line of the error of every failing graded test cell in the autograded notebooks, with "
        f"student-specific numbers normalised; top {TOP_MESSAGES} per exercise. The count is the number of "
        "failing cells showing the message.</p>")
    if not any(data["messages"].values()):
        add('<p class="muted">(no failure messages)</p>')
    for exercise in sorted(data["messages"]):
        counter = data["messages"][exercise]
        add(f'<h3 id="messages-{anchor(exercise)}">{_e(exercise)}</h3>\n<table class="messages">'
            '<tr><th class="num">count</th><th>message</th><th>students</th></tr>')
        for message, count in counter.most_common(TOP_MESSAGES):
            students = data["who"][exercise, message]
            shown = ", ".join(students[:5]) + (f", … ({len(students)} in all)" if len(students) > 5 else "")
            add(f'<tr><td class="num">{count}</td><td>{_e(message)}</td><td>{_e(shown)}</td></tr>')
        add("</table>")
        if len(counter) > TOP_MESSAGES:
            add(f'<p class="muted">{len(counter) - TOP_MESSAGES} other message(s).</p>')

    # 5. Failed submissions and grading times
    add('<h2 id="failed">Failed submissions</h2>')
    if data["failed"]:
        add('<table class="failed"><tr><th>student</th><th>reason</th><th>finished</th></tr>')
        for s in data["failed"]:
            add(f'<tr><td class="failed">{_e(s["student"])}</td><td>{_e(s["reason"] or "(no reason recorded)")}</td>'
                f'<td>{_e(s["finished"])}</td></tr>')
        add("</table>")
    else:
        add('<p class="muted">(none)</p>')
    add('<h2 id="ungraded">Not graded yet</h2>')
    add("<p>Submissions never graded, or changed since they were graded: run <code>grade</code>. Hand-graded "
        "answers not graded yet are counted in the <em>not graded yet</em> column above, never as 0.</p>")
    if data["ungraded"]:
        add('<table class="ungraded"><tr><th>student</th><th>where it stands</th></tr>')
        for s in data["ungraded"]:
            add(f'<tr><td>{_e(s["student"])}</td><td>{_e(s["reason"])}</td></tr>')
        add("</table>")
    else:
        add('<p class="muted">(none)</p>')
    add('<h2 id="times">Grading time per submission</h2>')
    add(_image(charts, "times", "grading time per submission"))
    add('<table class="times"><tr><th>student</th><th>status</th><th class="num">seconds</th>'
        '<th class="num">total score</th><th>finished</th></tr>')
    for s in sorted(data["students"], key=lambda s: (-(s["seconds"] or -1), s["student"])):
        total = f"{s['total']:g}" if s["state"] == "graded" else "–"
        state = s["state"] + ("" if s["status_known"] else " (no status)")
        seconds = _number(s["seconds"], 2) if s["seconds"] is not None else "unknown"
        add(f'<tr><td>{_e(s["student"])}</td><td>{_e(state)}</td><td class="num">{_e(seconds)}</td>'
            f'<td class="num">{total}</td><td>{_e(s["finished"])}</td></tr>')
    add("</table>")
    add(sections)
    return "\n".join(out)


def anchor(name):
    """An HTML id part of a name (an exercise or an assignment may hold spaces or any character): letters,
    digits, '_', '.' and '-' kept, every other run made one '-'."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-") or "-"


SIMILARITY_CSV = "similarity.csv"
TOP_PAIRS = 5


def class_sections(course_root, assignment, data, db_url, similarity_csv):
    """The sections on checks, known mistakes and similar answers (jinja2 template), and the CSV of
    the flagged pairs written to ``similarity_csv``."""
    import jinja2

    from coursekit.reports import statistics as class_statistics
    from coursekit.reports import similarity

    graded = [s["student"] for s in data["graded"]]
    db_url = gradebook_url(course_root, db_url)
    if sqlite_file(db_url) and not os.path.isfile(sqlite_file(db_url)):
        db_url = None
    checks = []
    if db_url and graded:
        layout = assignment_layout(course_root, assignment, db_url)
        scores = {s: cells for s, cells in cell_scores(course_root, assignment, db_url).items() if s in graded}
        checks = class_statistics.check_statistics(scores, layout.points, manual=layout.manual)
    load_notes = []
    catalogue = class_statistics.load_known_mistakes(course_root, assignment, load_notes)
    mistakes, mistake_notes = class_statistics.known_mistakes(course_root, assignment, graded, catalogue)
    mistake_notes = load_notes + mistake_notes
    found = similarity.class_similarity(course_root, assignment)
    similarity.write_csv(found, similarity_csv)
    flagged = found.flagged
    for pair in flagged:
        pair.pieces = [similarity.segments(found.answers[name], regions)
                       for name, regions in ((pair.first, pair.slices[0]), (pair.second, pair.slices[1]))]
    environment = jinja2.Environment(loader=jinja2.FileSystemLoader(coursekit.TEMPLATES),
                                     autoescape=True, undefined=jinja2.StrictUndefined)
    return environment.get_template("report_sections.html.j2").render(
        checks=checks, graded=len(graded), mistakes=mistakes, mistake_notes=mistake_notes,
        catalogue_size=len(catalogue), assignment=assignment, similarity=found, flagged=flagged,
        top_pairs=[p for p in found.pairs if p not in flagged][:TOP_PAIRS], caveat=similarity.CAVEAT,
        csv_name=os.path.basename(similarity_csv))


def build_report(course_root, assignment=None, db_url=None, output=None):
    """Write the class report of ``assignment``, or of every assignment in the gradebook when it is None, to
    ``output`` (default ``<course_root>/report.html``); returns its path."""
    from coursekit.workflow.export import exportable_assignments
    assignments = exportable_assignments(course_root, assignment, db_url)
    output = output or os.path.join(course_root, "report.html")
    folder = os.path.dirname(os.path.abspath(output))
    if len(assignments) == 1:
        data = collect(course_root, assignments[0], db_url)
        page = render(data, _charts(data), class_sections(course_root, assignments[0], data, db_url,
                                                          os.path.join(folder, SIMILARITY_CSV)))
    else:
        parts = []
        for name in assignments:
            data = collect(course_root, name, db_url)
            similarity_csv = os.path.join(folder, f"{SIMILARITY_CSV[:-4]}-{name}.csv")
            parts.append((data, render_sections(data, _charts(data), class_sections(
                course_root, name, data, db_url, similarity_csv))))
        from coursekit.reports.course_page import render_course
        page = render_course(parts, course_root)
    with atomic_file(output, newline=None) as handle:
        handle.write(page)
    return output
