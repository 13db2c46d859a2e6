"""Maths typeset into HTML when a page is written, so that it shows its formulas with no script, no font and
no network: MathJax 3 under Node.js (``render_maths.js``), one process for a whole run.

nbconvert's HTML leaves the TeX of markdown cells in the page for MathJax to typeset in the browser, from a
CDN. A feedback page is handed to a student alone (an LMS upload, an e-mail) and may be opened offline, so
its maths is typeset when the page is written and every formula is in the page as inline SVG.

Speed (a class of 200 waits for its pages): one Node.js process typesets for the whole run, and only the
fragments that may hold maths (the HTML of each markdown cell and output, after cleaning), each distinct
fragment once: the notebook's own text is the same on every student's page.
"""
import atexit
import collections
import json
import os
import re
import select
import shutil
import subprocess

import coursekit
from coursekit.errors import StepFailed

KIT = coursekit.KIT
RENDER_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "render_maths.js")
MATHJAX_PACKAGE = "mathjax-full"  # pinned in package.json; `make` (npm ci) installs it into node_modules/
RENDER_TIMEOUT = 120  # seconds for one fragment (milliseconds in practice)
# What MathJax's TeX input looks for with the kit's settings: $, \( and \[ delimiters, environments, and
# references; a fragment without any of these is left as it is without asking MathJax.
_MAYBE_MATHS = re.compile(r"\$|\\[(\[]|\\begin\{|\\(?:eq)?ref\{")

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

    _shared = {}

    @classmethod
    def shared(cls, node="node", node_modules=os.path.join(KIT, "node_modules")):
        """This process's renderer for these settings, started once and closed when the process ends: every
        exporter of a process (``nbgrader generate_feedback`` makes one per run; ``serve`` one per student)
        shares its MathJax and what it has typeset."""
        key = (node, node_modules)
        if key not in cls._shared:
            cls._shared[key] = cls(node, node_modules)
            atexit.register(cls._shared[key].close)
        return cls._shared[key]

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
