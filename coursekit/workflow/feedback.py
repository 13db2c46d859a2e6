"""The feedback students receive: nbgrader preprocessors, and feedback pages that open alone, offline."""
import collections
import copy
import json
import os
import re
import select
import shutil
import subprocess
import weakref
from concurrent.futures import ThreadPoolExecutor

from jinja2 import DictLoader, pass_context
from nbconvert.exporters import HTMLExporter, TemplateExporter
from nbconvert.filters.highlight import Highlight2HTML
from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter
from nbgrader import utils
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Enum, Integer, Unicode, default, validate

import coursekit
from coursekit import studenthtml
from coursekit.gradebook import NbgraderError, nbgrader
from coursekit.errors import StepFailed
from isograde.verdicts import Verdict

STUDENT_MARK = "[printed by the submitted code during this test]\n"  # isograde.testcell.STUDENT_MARK


class ShortTracebacks(NbGraderPreprocessor):
    """Reduce every error in a graded cell to its message, as the student reads it in the notebook, and
    keep what a hidden test holds out of the student's feedback.

    A traceback lists the source lines of every frame it passes through, which would show students
    the hidden tests and the grader's reference code (nbgrader issue #917); the message of a failing
    test already says what is wrong and what to look at. A failing test (an AssertionError) shows its
    message and hint alone, as public_tests' failures do in JupyterLab; any other error its name too.

    A failure that came from a hidden-tests region (the grader records where, in the cell's ``isograde``
    metadata) may quote the hidden inputs and expected values; so may what the student's own code printed
    or raised while hidden tests ran. ``hidden_failures`` decides what the student reads then.
    """

    hidden_failures = Enum(["message", "hint", "verdict"], default_value="hint", help=(
        "What the feedback shows of a failure in hidden tests: 'message' (the check's whole message, as "
        "stock nbgrader shows it), 'hint' (that a hidden test failed, with the check's hint but no values), "
        "'verdict' (only that a hidden test failed). With 'hint' or 'verdict', what the student's code "
        "printed during a cell's hidden tests and the text of an exception it raised there are left out too."
    )).tag(config=True)
    student_message_limit = Integer(300, help="Characters of a student's own exception message shown in "
                                              "feedback.").tag(config=True)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code" or not utils.is_grade(cell):
            return cell, resources
        verdict = Verdict.read(cell) or Verdict()
        hidden_region = "BEGIN HIDDEN TESTS" in "".join(cell.get("source", ""))
        guarded = self.hidden_failures != "message" and (verdict.hidden or hidden_region)
        kept = []
        for output in cell.get("outputs", []):
            if guarded and output.get("output_type") == "stream" and str(output.get("text", "")).startswith(STUDENT_MARK):
                continue  # the student's prints while hidden tests ran may quote their inputs
            if output.get("output_type") == "error":
                lines = self._shown(output, verdict)
                output["traceback"] = lines
                output["evalue"] = "\n".join(lines)
            kept.append(output)
        cell["outputs"] = kept
        return cell, resources

    def _shown(self, output, verdict):
        name, message = str(output.get("ename", "Error")), str(output.get("evalue", ""))
        if verdict.hidden and self.hidden_failures != "message":
            student = verdict.student_error
            lines = [f"A hidden test failed: your code raised {student}." if student else "A hidden test failed."]
            if self.hidden_failures == "hint" and verdict.hint:
                lines.append(f"Hint: {verdict.hint}")
            return lines
        if verdict.student_error and len(message) > self.student_message_limit:
            message = message[:self.student_message_limit] + " [...]"
        return _short_form(name, message)


def _short_form(name, message):
    if name in ("AssertionError", "ExerciseFailed") and message:
        return message.splitlines()
    return [f"{name}: {message}"]


# --- Feedback pages that open on their own -------------------------------------------------------------
#
# nbconvert's HTML leaves the TeX of markdown cells in the page for MathJax to typeset in the browser, from
# a CDN. A feedback page is handed to a student alone (an LMS upload, an e-mail) and may be opened offline,
# so its maths is typeset here, when the page is written: ``render_maths.js`` runs MathJax 3 under Node.js
# and writes every formula into the page as inline SVG. The page then needs no script, no font and no other
# file, and the MathJax script is left out of it.
#
# Speed (a class of 200 waits for its pages): one Node.js process typesets for the whole run, and only the
# fragments that may hold maths (the HTML of each markdown cell and output, after cleaning), each distinct
# fragment once: the notebook's own text is the same on every student's page.

KIT = coursekit.KIT
RENDER_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "render_maths.js")
MATHJAX_PACKAGE = "mathjax-full"  # pinned in package.json; `make` (npm ci) installs it into node_modules/
RENDER_TIMEOUT = 120  # seconds for one fragment (milliseconds in practice)
# What MathJax's TeX input looks for with the kit's settings: $, \( and \[ delimiters, environments, and
# references; a fragment without any of these is left as it is without asking MathJax.
_MAYBE_MATHS = re.compile(r"\$|\\[(\[]|\\begin\{|\\(?:eq)?ref\{")

_FEEDBACK_TEMPLATE_FILE = "coursekit-feedback.html.j2"
# The page's first element in <head> is its Content-Security-Policy: it runs no script and loads nothing.
_CHARSET = '<meta charset="utf-8" />'
_FEEDBACK_TEMPLATE = """\
{%- extends 'index.html.j2' -%}
{%- from 'mathjax.html.j2' import mathjax -%}
{%- block header -%}
{%- set charset %}""" + _CHARSET + """{% endset -%}
{%- set policy %}""" + _CHARSET + "\n" + studenthtml.STATIC_PAGE_CSP_META + """{% endset -%}
{{ super() | replace(mathjax(), '') | replace(charset, policy, 1) }}
{%- endblock header -%}
{% block data_latex scoped %}
<div class="output_latex output_subarea {{ extra_class }}">
{{ output.data['text/latex'] | e | typeset_maths }}
</div>
{%- endblock data_latex %}
"""


class MathsRenderError(StepFailed):
    """The maths of a feedback page could not be rendered; the message says what to install or fix."""


class Typeset(collections.namedtuple("Typeset", "html glyphs")):
    """A fragment with its formulas as inline SVG, and the glyphs they draw ({id: <path> element}), which
    the page holds once in its glyph cache (``glyph_cache``)."""


def glyph_cache(glyphs):
    """The element that holds a page's glyphs, as MathJax writes it at the start of a page it typesets."""
    return (f'<svg style="display: none;" id="MJX-SVG-global-cache"><defs>{"".join(glyphs[key] for key in sorted(glyphs))}'
            "</defs></svg>")


class MathsRenderer:
    """One Node.js process running ``render_maths.js`` for as long as this object lives; ``typeset`` sends
    it an HTML fragment and returns the fragment with its formulas as inline SVG (a ``Typeset``). Each
    distinct fragment is typeset once (the answers are kept), and a fragment with nothing MathJax would look
    for is not sent."""

    def __init__(self, node="node", node_modules=os.path.join(KIT, "node_modules"), timeout=RENDER_TIMEOUT):
        self.program = shutil.which(node)
        if self.program is None:
            raise MathsRenderError(f"feedback maths: Node.js ({node!r}) is not installed: apt-get install nodejs")
        if not os.path.isfile(os.path.join(node_modules, MATHJAX_PACKAGE, "package.json")):
            raise MathsRenderError(f"feedback maths: MathJax is not installed in {node_modules}: run `npm ci` "
                                   f"in {os.path.dirname(node_modules)} (or `make`)")
        self.node_modules, self.timeout = node_modules, timeout
        self._process, self._typeset, self._stylesheet = None, {}, None

    def typeset(self, html):
        html = str(html)
        if not _MAYBE_MATHS.search(html):
            return Typeset(html, {})
        if html not in self._typeset:
            answer = self._ask({"html": html})
            self._typeset[html] = Typeset(answer["html"], answer["glyphs"])
        return self._typeset[html]

    def stylesheet(self):
        """The CSS that the typeset formulas of a page need once (display maths centred, errors in red)."""
        if self._stylesheet is None:
            self._stylesheet = self._ask({"stylesheet": True})["css"]
        return self._stylesheet

    def close(self):
        if self._process is not None:
            try:
                self._process.stdin.close()  # render_maths.js ends at the end of its input
            except OSError:
                pass  # it has ended already (what it wrote to its stderr is read in _ask)
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
            self._process.stdout.close()
            self._process.stderr.close()
            self._process = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _ask(self, request):
        if self._process is None:
            self._process = subprocess.Popen([self.program, RENDER_SCRIPT], stdin=subprocess.PIPE,
                                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                             env=dict(os.environ, NODE_PATH=self.node_modules))
        try:
            self._process.stdin.write(json.dumps(request).encode("utf-8") + b"\n")
            self._process.stdin.flush()
            # one answer per request, so nothing is left in the reader's buffer between two questions
            ready, _, _ = select.select([self._process.stdout], [], [], self.timeout)
            line = self._process.stdout.readline() if ready else None
        except BrokenPipeError:
            line = b""
        if line is None:
            self._process.kill()
            self.close()
            raise MathsRenderError(f"feedback maths: MathJax took more than {self.timeout} s on one fragment")
        if not line:
            self._process.kill()
            reason = self._process.stderr.read().decode("utf-8", "replace").strip().splitlines()[-1:]
            self.close()
            raise MathsRenderError(f"feedback maths: MathJax failed: {(reason or ['Node.js ended'])[0]}")
        answer = json.loads(line)
        if "error" in answer:
            raise MathsRenderError(f"feedback maths: MathJax failed: {answer['error']}")
        return answer


def render_maths(html, node="node", node_modules=os.path.join(KIT, "node_modules")):
    """``html`` (a fragment) with its TeX typeset into inline SVG by MathJax, as a browser's MathJax would."""
    with MathsRenderer(node, node_modules) as renderer:
        typeset = renderer.typeset(html)
    return (glyph_cache(typeset.glyphs) if typeset.glyphs else "") + typeset.html


class FeedbackHTMLExporter(HTMLExporter):
    """nbconvert's HTMLExporter for nbgrader feedback pages that show their maths with nothing else.

    Its template extends the configured one (nbgrader's ``feedback/index.html.j2``) and leaves out the
    MathJax script; every cleaned fragment of student or notebook HTML goes through one ``MathsRenderer``
    for the exporter's life (nbgrader makes one exporter per run), which writes each formula into the page
    as SVG. Select it with ``c.GenerateFeedback.exporter_class`` (nbgrader_config.py does).
    """

    node = Unicode("node", help="The Node.js program that runs render_maths.js (Debian: apt-get install "
                                "nodejs).").tag(config=True)
    node_modules = Unicode(os.path.join(KIT, "node_modules"),
                           help="The node_modules folder holding MathJax (mathjax-full, pinned in the kit's "
                                "package.json; `npm ci` in the kit's folder installs it).").tag(config=True)

    @default("extra_loaders")
    def _extra_loaders_default(self):
        return [DictLoader({_FEEDBACK_TEMPLATE_FILE: _FEEDBACK_TEMPLATE})]

    @default("template_file")
    def _template_file_default(self):
        return _FEEDBACK_TEMPLATE_FILE

    @default("sanitize_html")
    def _sanitize_html_default(self):
        return True

    @default("optimistic_validation")
    def _validate_once(self):
        return True  # the notebook is validated once, after nbgrader's preprocessors, rather than after each

    @validate("sanitize_html")
    def _always_sanitised(self, proposal):
        return True  # nbconvert's templates then clean HTML outputs and leave out JavaScript and widgets

    @validate("template_name")
    def _not_the_formgrader_template(self, proposal):
        # nbgrader_config.py gives HTMLExporter (so every subclass) the formgrader's page; feedback keeps nbgrader's
        return "feedback" if proposal["value"] == studenthtml.FORMGRADE_TEMPLATE else proposal["value"]

    @property
    def maths(self):
        if getattr(self, "_maths", None) is None:
            self._maths = MathsRenderer(self.node, self.node_modules)
            weakref.finalize(self, self._maths.close)
        return self._maths

    def _create_environment(self):
        environment = super()._create_environment()
        # Whatever the configuration names, student content is cleaned by the kit's filters. Each fragment they
        # return is marked, and once the page is written each marked fragment is typeset: the last filter of
        # a chain (markdown, then cleaning) marks what is in the page, since cleaning drops comments (and the
        # student's own comments with them). MathJax's output is made by the kit, from TeX that its Safe
        # extension filtered, after every cleaning.
        self._register_filter(environment, "markdown2html", pass_context(lambda context, source: self._markdown(context, source)))
        self._register_filter(environment, "clean_html", lambda html: _marked(studenthtml.clean_html(html)))
        self._register_filter(environment, "typeset_maths", _marked)
        return environment

    # The notebook's own cells are the same on every student's page: each distinct source is rendered once
    # per run (markdown cells, and the highlighting of code cells), a student's own cells once each.

    def _markdown(self, context, source):
        cell = context.get("cell") or {}
        attachments = cell.get("attachments") if hasattr(cell, "get") else None
        if attachments:
            return _marked(studenthtml.markdown2html(context, source))
        cache = self.__dict__.setdefault("_markdown_cache", {})
        if source not in cache:
            cache[source] = _marked(studenthtml.markdown2html(context, source))
        return cache[source]

    def _highlighter(self, lexer):
        highlight = Highlight2HTML(pygments_lexer=lexer, parent=self)
        cache = self.__dict__.setdefault("_highlight_cache", {})

        def highlight_code(source, language=None, metadata=None):
            key = (lexer, source, language, (metadata or {}).get("magics_language"))
            if key not in cache:
                cache[key] = highlight(source, language, metadata)
            return cache[key]
        return highlight_code

    def from_notebook_node(self, nb, resources=None, **kw):
        # Student content is cleaned whatever the configuration says (studenthtml): outputs here, markdown and
        # HTML outputs by the filters; the page then holds no script and its policy runs none.
        nb, resources = studenthtml.SafeNotebook(parent=self).preprocess(copy.deepcopy(nb), resources or {})
        output, resources = self._page(nb, resources, **kw)
        # Bootstrap's icon font is not in the page (nor used by it): without its @font-face the page names no
        # other file at all (Chromium lists the fonts the policy blocks as requested resources)
        output = _ICON_FONT.sub("", output)
        glyphs = {}

        def typeset(fragment):
            done = self.maths.typeset(fragment.group(1))
            glyphs.update(done.glyphs)
            return done.html

        output = _MARKED.sub(typeset, output)
        if glyphs:
            # the template's own <head> and <body> tags come before any content of the notebook's
            head_end = output.index("</head>")
            output = (output[:head_end] + f'<style id="MJX-SVG-styles">{self.maths.stylesheet()}</style>\n'
                      + output[head_end:])
            body_start = output.index(">", output.index("<body")) + 1
            output = output[:body_start] + glyph_cache(glyphs) + output[body_start:]
        return output, resources

    def _page(self, nb, resources, **kw):
        """HTMLExporter.from_notebook_node without its last step, which parses the whole page with
        BeautifulSoup (a third of a page's time) to add alt text to images and tabindex to cells: alt text
        is added here to the images the templates write (the only <img> tags before typesetting, cleaned
        HTML included: nh3 writes every attribute quoted); tabindex is for notebooks read in the browser."""
        language = nb.metadata.get("language_info", {})
        lexer = language.get("pygments_lexer", language.get("name", None))
        resources = self._init_resources(resources)
        self.register_filter("highlight_code", self.filters.get("highlight_code", self._highlighter(lexer)))
        self.register_filter("filter_data_type",
                             WidgetsDataTypeFilter(notebook_metadata=self._nb_metadata, parent=self,
                                                   resources=resources))
        output, resources = TemplateExporter.from_notebook_node(self, nb, resources, **kw)
        return _IMAGE_WITHOUT_ALT.sub(f'<img alt="{_NO_ALT}" ', output), resources


_MARK_START, _MARK_END = "<!--coursekit:maths-->", "<!--/coursekit:maths-->"
_MARKED = re.compile(re.escape(_MARK_START) + "(.*?)" + re.escape(_MARK_END), re.S)


def _marked(html):
    return f"{_MARK_START}{html}{_MARK_END}"


_NO_ALT = "No description has been provided for this image"  # HTMLExporter's words
_IMAGE_WITHOUT_ALT = re.compile(r"<img\s(?![^>]*\balt=)", re.I)


class FeedbackError(StepFailed):
    """Feedback could not be written; the earlier feedback is unchanged."""


def generate_feedback(course_root, assignment=None, student=None, force=True, db_url=None, jobs=None):
    """Run ``nbgrader generate_feedback`` so that the pages render their maths offline, for every
    student whose grade is of the files submitted now (graded, or graded but for a hand-graded answer).

    nbgrader writes into a staging folder; each student's new feedback folder replaces the old one only
    once every page is written, so a failure (a full disk, a database that stops answering) leaves the
    earlier feedback in place. A class is shared between ``jobs`` nbgrader processes (default: the number of
    cores), each writing its own students' pages. Each page, ``feedback/<student>/<assignment>/<notebook>.html``, opens on
    its own, offline, maths included. Returns (the HTML files written, sorted; {student: why no feedback was written}).
    """
    from coursekit.workflow import grade as classgrade
    from coursekit import preflight
    from coursekit.standing import PENDING, SCORED, standings

    course_root = os.path.abspath(course_root)
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
    classgrade.recover(course_root, "feedback")
    shards = _shards(wanted, jobs)
    pages = [os.path.splitext(name)[0] + ".html" for name in classgrade.source_notebooks(course_root, assignment)]
    stagings = [classgrade.STAGING.format(step="feedback", pid=f"{os.getpid()}-{index}") for index in range(len(shards))]
    try:
        with ThreadPoolExecutor(max_workers=len(shards)) as pool:
            logs = list(pool.map(lambda index: _nbgrader_feedback(course_root, assignment, stagings[index],
                                                                  set(current) - set(shards[index]), db_url),
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


# A feedback process starts in about two seconds (nbgrader, its configuration, the gradebook, MathJax): a
# class is split between processes only when each gets at least this many pages to write.
MIN_STUDENTS_PER_PROCESS = 20


def _shards(students, jobs):
    """``students`` split into at most ``jobs`` interleaved groups of at least MIN_STUDENTS_PER_PROCESS."""
    count = max(1, min(jobs or os.cpu_count() or 1, len(students) // MIN_STUDENTS_PER_PROCESS))
    return [students[index::count] for index in range(count)]


def _nbgrader_feedback(course_root, assignment, staging, excluded, db_url):
    """One ``nbgrader generate_feedback`` process writing the pages of every student not ``excluded``
    into ``staging``; returns its log."""
    args = ["generate_feedback", assignment, "--force",
            "--GenerateFeedback.exporter_class=coursekit.workflow.feedback.FeedbackHTMLExporter",
            f"--CourseDirectory.feedback_directory={staging}"]
    if excluded:
        args.append(f"--CourseDirectory.student_id_exclude={','.join(sorted(excluded))}")
    if db_url:
        args.append(f"--CourseDirectory.db_url={db_url}")
    return nbgrader(course_root, *args, check=False)


_STUDENT_ERROR = re.compile(r"There was an error processing assignment '[^']*' for student '([^']*)'")
_ASSIGNMENT_ERROR = re.compile(r"There was an error processing assignment: (\S+)")


def _failed_students(log, wanted):
    """{student: why} of the students nbgrader could not write feedback for (it goes on with the others
    and names them at the end of its log)."""
    from coursekit.workflow.grade import classify_failure

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
    return "| ERROR]" in log or "| CRITICAL]" in log


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
    from coursekit.workflow.grade import promote

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


_ICON_FONT = re.compile(r"@font-face\s*\{[^{}]*Glyphicons Halflings[^{}]*\}")
_SCRIPT_SOURCE = re.compile(r"<script[^>]*\bsrc=", re.I)
