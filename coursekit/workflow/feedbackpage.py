"""The page a student receives as feedback: nbgrader's feedback template, with test messages but not the test
code (``ShortTracebacks``), student content cleaned (studenthtml), maths typeset into it (maths), nothing
that runs or loads. ``FeedbackHTMLExporter`` is nbgrader's ``GenerateFeedback.exporter_class``."""
import copy
import os
import re

from jinja2 import DictLoader, pass_context
from nbconvert.exporters import HTMLExporter, TemplateExporter
from nbconvert.filters.highlight import Highlight2HTML
from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter
from nbgrader import utils
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Enum, Integer, Unicode, default, validate

from coursekit import studenthtml
from coursekit.workflow.maths import KIT, MathsRenderer, glyph_cache
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
        return MathsRenderer.shared(self.node, self.node_modules)

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


_ICON_FONT = re.compile(r"@font-face\s*\{[^{}]*Glyphicons Halflings[^{}]*\}")
