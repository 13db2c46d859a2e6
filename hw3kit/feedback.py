"""The feedback students receive: nbgrader preprocessors, and feedback pages that render maths offline."""
import filecmp
import glob
import importlib.util
import os
import shutil

from jinja2 import DictLoader
from nbconvert.exporters import HTMLExporter
from nbgrader import utils
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import default

from hw3kit.grading import NbgraderError, nbgrader


class ShortTracebacks(NbGraderPreprocessor):
    """Reduce every error in a graded cell to its message.

    A traceback lists the source lines of every frame it passes through, which would show students
    the hidden tests and the grader's reference code (nbgrader issue #917); the message of a failing
    test already says what is wrong and what to look at.
    """

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code" and utils.is_grade(cell):
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    output["traceback"] = [f"{output.get('ename', 'Error')}: {output.get('evalue', '')}"]
        return cell, resources


# --- Feedback HTML that renders maths offline ---------------------------------------------------------
#
# nbconvert's HTMLExporter loads MathJax from a CDN (its ``mathjax_url``). The feedback is to render its
# maths without network access, so it loads a local copy of the MathJax 2.7 that the pinned package
# jupyter-server-mathjax ships. Two things stand in the way and are handled here:
#
# * nbgrader's feedback template calls ``{{ mathjax() }}`` without an argument, so it always writes the
#   macro's default CDN address and ignores ``HTMLExporter.mathjax_url``. ``FeedbackHTMLExporter`` is
#   nbconvert's HTMLExporter with a template that extends nbgrader's and renders the MathJax script with
#   ``resources.mathjax_url`` instead (it changes nothing else).
# * jupyter-server-mathjax ships a trimmed MathJax: its only combined configuration is
#   TeX-AMS-MML_HTMLorMML-full (no TeX-AMS_CHTML-full, no CommonHTML output) and its only web fonts are
#   STIX-Web. The local copy therefore uses that configuration, with the HTML-CSS output set to the
#   STIX-Web fonts (``config/local/hw3kit.js``, written next to the copy).

_FEEDBACK_TEMPLATE_FILE = "hw3kit-feedback.html.j2"
_FEEDBACK_TEMPLATE = """\
{%- extends 'index.html.j2' -%}
{%- from 'mathjax.html.j2' import mathjax -%}
{%- block header -%}
{{ super() | replace(mathjax(), mathjax(resources.mathjax_url)) }}
{%- endblock header -%}
"""


class FeedbackHTMLExporter(HTMLExporter):
    """nbconvert's HTMLExporter for nbgrader feedback, honouring ``HTMLExporter.mathjax_url``.

    Its template extends the configured one (nbgrader's ``feedback/index.html.j2``) and swaps the MathJax
    script that template writes with the CDN address for the same script with ``mathjax_url``; with the
    default ``mathjax_url`` the output is nbgrader's, byte for byte. Select it with
    ``c.GenerateFeedback.exporter_class``; it reads the ``HTMLExporter`` settings.
    """

    @default("extra_loaders")
    def _extra_loaders_default(self):
        return [DictLoader({_FEEDBACK_TEMPLATE_FILE: _FEEDBACK_TEMPLATE})]

    @default("template_file")
    def _template_file_default(self):
        return _FEEDBACK_TEMPLATE_FILE


# The course's feedback folder holds <student>/<assignment>/<notebook>.html (nbgrader's default
# directory_structure), so from a feedback page the shared copy is two folders up.
MATHJAX_FOLDER = "mathjax"
MATHJAX_CONFIG = "TeX-AMS-MML_HTMLorMML-full"
MATHJAX_URL = f"../../{MATHJAX_FOLDER}/MathJax.js?config={MATHJAX_CONFIG},Safe,local/hw3kit"

# What the pages need from jupyter-server-mathjax's static/ folder (about 2.4 MB of its 11 MB): the
# loader, the combined configuration, TeX input, the HTML-CSS output with the STIX-Web font data and
# woff fonts, the extensions that TeX loads on demand, English messages and the licence. Left out: the
# accessibility explorer (extensions/a11y, 3.7 MB), the SVG output (2.9 MB) and other languages (2 MB).
MATHJAX_PARTS = (
    "LICENSE", "MathJax.js", f"config/{MATHJAX_CONFIG}.js", "config/Safe.js", "extensions", "jax/input/TeX",
    "jax/element", "jax/output/HTML-CSS", "fonts/HTML-CSS/STIX-Web/woff", "localization/en",
)
MATHJAX_LEFT_OUT = ("extensions/a11y",)
_LOCAL_CONFIG = """\
/* Written by hw3kit.feedback: MathJax 2.7 from jupyter-server-mathjax has STIX-Web web fonts only. */
MathJax.Hub.Config({
  "HTML-CSS": {availableFonts: [], preferredFont: null, webFont: "STIX-Web", imageFont: null,
               linebreaks: {automatic: true}}
});
MathJax.Ajax.loadComplete("[MathJax]/config/local/hw3kit.js");
"""


def mathjax_source():
    """The static/ folder of the installed jupyter-server-mathjax (found without importing it)."""
    spec = importlib.util.find_spec("jupyter_server_mathjax")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("jupyter-server-mathjax is not installed (it is pinned in requirements.txt)")
    return os.path.join(list(spec.submodule_search_locations)[0], "static")


def install_mathjax(destination):
    """Copy the MathJax files the feedback pages need into ``destination`` (e.g. ``feedback/mathjax``).

    Files already there and identical are left alone, so calling it again costs a few stat calls.
    Returns ``destination``.
    """
    source = mathjax_source()
    left_out = tuple(os.path.join(source, part) for part in MATHJAX_LEFT_OUT)
    for part in MATHJAX_PARTS:
        path = os.path.join(source, part)
        files = [path] if os.path.isfile(path) else sorted(
            os.path.join(folder, name) for folder, _, names in os.walk(path) for name in names)
        for file in files:
            if file.startswith(left_out):
                continue
            target = os.path.join(destination, os.path.relpath(file, source))
            if not (os.path.isfile(target) and filecmp.cmp(file, target)):
                os.makedirs(os.path.dirname(target), exist_ok=True)
                shutil.copy2(file, target)
    local_config = os.path.join(destination, "config", "local", "hw3kit.js")
    os.makedirs(os.path.dirname(local_config), exist_ok=True)
    try:
        with open(local_config) as stream:
            current = stream.read()
    except FileNotFoundError:
        current = None
    if current != _LOCAL_CONFIG:
        with open(local_config, "w") as stream:
            stream.write(_LOCAL_CONFIG)
    return destination


class FeedbackError(RuntimeError):
    """Feedback could not be written; the earlier feedback is unchanged."""


def generate_feedback(course_root, assignment="hw3", student=None, force=True, db_url=None):
    """Run ``nbgrader generate_feedback`` so that the pages render their maths offline, for every
    student whose grade is of the files submitted now (graded, or graded but for a hand-graded answer).

    nbgrader writes into a staging folder; each student's new feedback folder replaces the old one only
    once every page is written, so a failure (a full disk, a database that stops answering) leaves the
    earlier feedback in place. MathJax is copied once into ``<course>/feedback/mathjax/`` and every
    ``feedback/<student>/<assignment>/<notebook>.html`` loads it by a relative address.
    Returns (the HTML files written, sorted; {student: why no feedback was written}).
    """
    from hw3kit import classgrade, preflight
    from hw3kit.standing import PENDING, SCORED, standings

    course_root = os.path.abspath(course_root)
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
                                   + f" to give feedback on: run `python -m hw3kit grade {assignment}` first"
                                   + (f" ({'; '.join(f'{s}: {r}' for s, r in sorted(left_out.items()))})"
                                      if left_out else "") + ".")
    classgrade.recover(course_root, "feedback")
    install_mathjax(os.path.join(course_root, "feedback", MATHJAX_FOLDER))
    staging = classgrade.STAGING.format(step="feedback", pid=os.getpid())
    others = sorted(set(current) - set(wanted))
    args = ["generate_feedback", assignment, "--force",
            "--GenerateFeedback.exporter_class=hw3kit.feedback.FeedbackHTMLExporter",
            f"--HTMLExporter.mathjax_url={MATHJAX_URL}", f"--CourseDirectory.feedback_directory={staging}"]
    if others:
        args.append(f"--CourseDirectory.student_id_exclude={','.join(others)}")
    if db_url:
        args.append(f"--CourseDirectory.db_url={db_url}")
    try:
        nbgrader(course_root, *args)
        written = _promote_pages(course_root, staging, assignment, wanted)
    except (NbgraderError, OSError) as error:
        raise FeedbackError(_why(error)) from None
    finally:
        shutil.rmtree(os.path.join(course_root, staging), ignore_errors=True)
    left_out.update({s: "graded, but a hand-graded answer is not graded yet: the page shows what is graded"
                     for s in wanted if current[s].state == PENDING})
    return written, left_out


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


def _promote_pages(course_root, staging, assignment, students):
    """Check every staged page, then move each student's folder into feedback/."""
    from hw3kit.classgrade import promote

    script = f'<script src="{MATHJAX_URL}">'
    staged = {s: os.path.join(course_root, staging, s, assignment) for s in students}
    pages = {}
    for student, folder in staged.items():
        pages[student] = sorted(glob.glob(os.path.join(glob.escape(folder), "*.html")))
        if not pages[student]:
            raise NbgraderError(f"nbgrader wrote no feedback page for {student}")
        for page in pages[student]:
            with open(page, encoding="utf-8") as stream:
                if script not in stream.read():
                    raise NbgraderError(f"{page} does not load the local MathJax ({script}); is "
                                        "GenerateFeedback.exporter_class overridden?")
    written = []
    for student, folder in staged.items():
        final = os.path.join(course_root, "feedback", student, assignment)
        promote(folder, final)
        written += [os.path.join(final, os.path.basename(page)) for page in pages[student]]
    return sorted(written)
