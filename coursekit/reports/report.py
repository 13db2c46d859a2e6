"""A class report of one assignment, or of every assignment of the course, as a single, self-contained HTML page.

``build_report(course_root, assignment)`` reads the nbgrader gradebook (scores), the kit's grading statuses
(in the gradebook, ``coursekit.records``: failures, grading times) and the autograded notebooks (the messages of the
failing tests) and writes ``report.html``: a summary, the distribution of total scores, the score
per exercise (where the class struggled), the most frequent failure messages per exercise, and the
failed submissions with grading times (``render_sections``, the jinja2 template report_assignment.html.j2); then
(``class_sections``, report_sections.html.j2) statistics per
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
import html
import io
import os
import re
import statistics

import markupsafe

import coursekit
from coursekit.atomic import atomic_file
from coursekit.exercises import layout as assignment_layout
from coursekit.gradebook import cell_scores
from coursekit.records import gradebook_url, sqlite_file
from coursekit.reports.classdata import TOP_MESSAGES, collect, weakness
from coursekit.studenthtml import STATIC_PAGE_CSP_META

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
    """The report's sections of one assignment (summary, scores, messages, failures, times, then ``sections``, HTML
    the kit made, every student text in it escaped)."""
    timed = [s["seconds"] for s in data["students"] if s["seconds"] is not None]
    summary = [("submissions", len(data["students"])), ("graded", len(data["graded"])),
               ("failed", len(data["failed"])), ("not graded yet", len(data["ungraded"])),
               ("mean total score", f"{_number(data['mean'])} / {data['max_total']:g}"),
               ("median total score", f"{_number(data['median'])} / {data['max_total']:g}"),
               ("mean grading time", f"{_number(statistics.fmean(timed) if timed else None)} s "
                                     f"({len(timed)} timed, failed included)")]
    ranked = sorted(data["exercises"], key=weakness)
    exercises = [{"anchor": anchor(e["exercise"]), "weak": e["exercise"] in data["weakest"], "exercise": e["exercise"],
                  "max": f"{e['max']:g}", "mean": _number(e["mean"], 2), "percent": _number(e["percent"]),
                  "full": _number(e["full"]), "pending": e["pending"] or ""} for e in ranked]
    messages = []
    for exercise in sorted(data["messages"]):
        counter = data["messages"][exercise]
        rows = []
        for message, count in counter.most_common(TOP_MESSAGES):
            students = data["who"][exercise, message]
            shown = ", ".join(students[:5]) + (f", … ({len(students)} in all)" if len(students) > 5 else "")
            rows.append({"count": count, "message": message, "students": shown})
        messages.append({"exercise": exercise, "anchor": anchor(exercise), "rows": rows,
                         "others": max(0, len(counter) - TOP_MESSAGES)})
    times = [{"student": s["student"], "state": s["state"] + ("" if s["status_known"] else " (no status)"),
              "seconds": _number(s["seconds"], 2) if s["seconds"] is not None else "unknown",
              "total": f"{s['total']:g}" if s["state"] == "graded" else "–", "finished": s["finished"],
              "attempts": s["attempts"] or "", "counted": s["counted"] or ("the last" if s["attempts"] > 1 else "")}
             for s in sorted(data["students"], key=lambda s: (-(s["seconds"] or -1), s["student"]))]
    return _template("report_assignment.html.j2").render(
        summary=summary, failed=data["failed"], notes=data["notes"], charts=charts, exercises=exercises,
        weakest=", ".join(f"{e['exercise']} ({e['percent']:.0f}%)" for e in ranked if e["exercise"] in data["weakest"]),
        messages=messages, no_messages=not any(data["messages"].values()), top=TOP_MESSAGES,
        ungraded=data["ungraded"], times=times, sections=markupsafe.Markup(sections))


def _template(name):
    import jinja2
    environment = jinja2.Environment(loader=jinja2.FileSystemLoader(coursekit.TEMPLATES), autoescape=True,
                                      undefined=jinja2.StrictUndefined)
    return environment.get_template(name)


def anchor(name):
    """An HTML id part of a name (an exercise or an assignment may hold spaces or any character): letters,
    digits, '_', '.' and '-' kept, every other run made one '-'."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-") or "-"


SIMILARITY_CSV = "similarity.csv"
TOP_PAIRS = 5


def class_sections(course_root, assignment, data, db_url, similarity_csv):
    """The sections on checks, known mistakes and similar answers (jinja2 template), and the CSV of
    the flagged pairs written to ``similarity_csv``."""
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
    return _template("report_sections.html.j2").render(
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
