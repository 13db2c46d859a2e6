"""The class report of several assignments on one page (``python -m coursekit report`` in a course of several
assignments): a table of the assignments, one of each student's totals, then each assignment's sections as
``coursekit.reports.report`` renders them, their anchors prefixed with the assignment's name."""
import datetime
import os
import re

from coursekit.reports.report import _e, _number, _page_head, anchor


def _prefixed(fragment, prefix):
    """``fragment`` (the kit's own HTML, every student text escaped) with its anchors prefixed, so that the
    sections of several assignments live on one page."""
    fragment = re.sub(r'(<[^<>]*\sid=")', lambda m: m.group(1) + prefix + "-", fragment)
    return re.sub(r'(<a\s[^<>]*href="#)', lambda m: m.group(1) + prefix + "-", fragment)


def render_course(parts, course_root):
    """One page for several assignments: [(collect's data, its sections' HTML)] -> the page."""
    names = [data["assignment"] for data, _ in parts]
    out = [_page_head(f"Class report: {', '.join(names)}"),
           f'<p class="muted">Course {_e(os.path.abspath(course_root))}, generated '
           f'{_e(datetime.datetime.now().isoformat(timespec="seconds"))}.</p>']
    add = out.append
    add('<h2 id="assignments">Assignments</h2>\n<table class="assignments"><tr><th>assignment</th>'
        '<th class="num">submissions</th><th class="num">graded</th><th class="num">failed</th>'
        '<th class="num">not graded yet</th><th class="num">mean total</th><th class="num">median total</th></tr>')
    for data, _ in parts:
        name = _e(data["assignment"])
        add(f'<tr id="assignment-row-{anchor(data["assignment"])}"><td><a href="#assignment-{anchor(data["assignment"])}">'
            f'{name}</a></td>'
            f'<td class="num">{len(data["students"])}</td><td class="num">{len(data["graded"])}</td>'
            f'<td class="num">{len(data["failed"])}</td><td class="num">{len(data["ungraded"])}</td>'
            f'<td class="num">{_number(data["mean"])} / {data["max_total"]:g}</td>'
            f'<td class="num">{_number(data["median"])} / {data["max_total"]:g}</td></tr>')
    add("</table>")
    add('<h2 id="students">Each student\'s totals</h2>\n<p>Graded (or with a hand-graded answer not graded yet: '
        "its points are not counted) totals; a submission that failed or is not graded yet shows where it "
        'stands, never 0.</p>\n<table class="students"><tr><th>student</th>'
        + "".join(f'<th class="num">{_e(name)} (of {data["max_total"]:g})</th>' for (data, _), name in zip(parts, names))
        + "</tr>")
    entries = {}
    for data, _ in parts:
        for student in data["students"]:
            entries.setdefault(student["student"], {})[data["assignment"]] = student
    for student in sorted(entries):
        cells = []
        for name in names:
            entry = entries[student].get(name)
            if entry is None:
                shown = ""
            elif entry["state"] == "graded":
                shown = f"{entry['total']:g}" + (" (+ not graded yet)" if entry["pending"] else "")
            else:
                shown = entry["state"]
            cells.append(f'<td class="num">{_e(shown)}</td>')
        add(f"<tr><td>{_e(student)}</td>{''.join(cells)}</tr>")
    add("</table>")
    for data, sections in parts:
        name = _e(data["assignment"])
        add(f'<h2 id="assignment-{anchor(data["assignment"])}" class="assignment">Assignment {name}</h2>')
        add(_prefixed(sections, anchor(data["assignment"])))
    add("</body>\n</html>\n")
    return "\n".join(out)
