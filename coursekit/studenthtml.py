"""Nothing a submission holds runs where an instructor or a student looks: the formgrader's view of a
submission and the feedback pages show student content cleaned by nh3 (the Ammonia sanitiser), under a
Content-Security-Policy that runs no script of the page's content.

Every byte of a submission is hostile: its markdown (the written answer and any other cell), its outputs
of every kind, the attachments and metadata of its cells and of the notebook. nbgrader renders the
autograded notebook with nbconvert's HTMLExporter, whose markdown filter lets raw HTML through (mistune)
and whose templates put ``text/html`` outputs and ``application/javascript`` into the page as they are.
The kit cleans at that point, when the page is rendered, not in the autograded notebook: the notebook
stays what the student handed in (nbgrader's checksums of answer cells, and the instructor's evidence,
are untouched), and every page the kit configures is cleaned the same way:

- ``markdown2html`` and ``clean_html`` replace nbconvert's filters of the same names
  (``c.HTMLExporter.filters`` in nbgrader_config.py): markdown is rendered as nbconvert renders it (maths
  is left as escaped text for MathJax), then the HTML goes through ``clean_html``, an allow-list:
  formatting, lists, tables, code, links to http(s) and mail, images only as inline PNG, JPEG, GIF or SVG
  data. No script, style, form, frame, ``<base>``, ``<meta>``, event handler, ``id``, ``name``, or class
  other than the code highlighter's; every other URL (``javascript:``, relative paths into the course
  directory, other servers) is dropped.
- ``SafeNotebook``, an nbconvert preprocessor of the exporter (``c.HTMLExporter.preprocessors``), keeps
  only outputs of the kinds a page can show safely (text, HTML and markdown that the filters then clean,
  LaTeX as text, and images whose bytes are checked to be the image they claim: a "PNG" that is not
  base64 of a PNG is dropped), drops everything else (JavaScript, widgets, unknown types), the output
  metadata that nbconvert turns into file paths or iframes, attachments that are not images, and the
  notebook and cell metadata the templates do not need.
- The formgrader's page (``templates/coursekit-formgrade``) carries a Content-Security-Policy with a fresh
  nonce: only its own scripts (and what they load: jQuery, the formgrader's, MathJax) run; an inline
  script, an event handler or a ``javascript:`` URL that got past the sanitiser does not. The feedback
  pages and the class report need no script at all: their policy allows none (``STATIC_PAGE_CSP``).
"""
import base64
import binascii
import os
import re

import nbgrader
import nh3
from jinja2 import pass_context
from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath
from nbconvert.preprocessors import Preprocessor
from pygments.token import STANDARD_TYPES

from coursekit import TEMPLATES  # noqa: E402,F401 (the kit's templates folder: nbgrader_config.py names it here)
from isograde.verdicts import VERDICT_KEY  # noqa: E402
NBGRADER_TEMPLATES = os.path.join(os.path.dirname(os.path.abspath(nbgrader.__file__)), "server_extensions",
                                  "formgrader", "templates")
FORMGRADE_TEMPLATE = "coursekit-formgrade"

# The policy of the pages that hold no script of their own (feedback, class report): nothing is loaded or
# run; images are inline data, styles inline. A <meta> policy is in force for the rest of the page.
STATIC_PAGE_CSP = ("default-src 'none'; img-src data:; style-src 'unsafe-inline'; font-src data:; "
                   "base-uri 'none'; form-action 'none'")
STATIC_PAGE_CSP_META = f'<meta http-equiv="Content-Security-Policy" content="{STATIC_PAGE_CSP}">'

# --- HTML --------------------------------------------------------------------------------------------

TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "cite", "code", "col", "colgroup", "dd", "del", "details",
    "dfn", "div", "dl", "dt", "em", "figcaption", "figure", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img",
    "ins", "kbd", "li", "mark", "ol", "p", "pre", "q", "s", "samp", "small", "span", "strike", "strong", "sub",
    "summary", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "tt", "u", "ul", "var",
}
# Tags removed with everything inside them (other unknown tags are removed, their text kept).
DROPPED_WITH_CONTENT = {
    "script", "style", "template", "iframe", "frame", "frameset", "object", "embed", "applet", "noscript",
    "noembed", "noframes", "xmp", "plaintext", "textarea", "select", "option", "svg", "math", "title", "head",
}
ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "abbr": {"title"}, "ol": {"start"},
    "td": {"colspan", "rowspan", "style"}, "th": {"colspan", "rowspan", "style"},
}
# Classes are styling the page already defines for code: pygments' token classes, and nbconvert's own.
_PYGMENTS = {name for name in STANDARD_TYPES.values() if name}
ALLOWED_CLASSES = {
    "span": _PYGMENTS,
    "div": {"highlight", "hl-python", "hl-python3", "hl-ipython", "hl-ipython3"},
    "a": {"anchor-link"},
    "table": {"dataframe"},
}
_IMAGE_SIGNATURES = {
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/gif": (b"GIF87a", b"GIF89a"),
}
_DATA_IMAGE = re.compile(r"data:(image/(?:png|jpeg|gif|svg\+xml));base64,([A-Za-z0-9+/]+={0,2})", re.I)
_LINK = re.compile(r"(?:https?://|mailto:)[^\s\"'<>`\\]+|#[\w.:\-]*", re.I)
_NUMBER = re.compile(r"\d{1,5}%?")


def image_base64(mime, data):
    """``data`` without whitespace if it is the base64 of an image of type ``mime`` (its first bytes are
    checked: a PNG is a PNG), else None."""
    if not isinstance(data, str):
        return None
    compact = re.sub(r"[ \t\r\n]", "", data)
    if not compact or not re.fullmatch(r"[A-Za-z0-9+/]+={0,2}", compact):
        return None
    try:
        raw = base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        return None
    if mime == "image/svg+xml":
        head = raw[:2048].lstrip().lower()
        return compact if head.startswith((b"<svg", b"<?xml")) else None
    return compact if raw.startswith(_IMAGE_SIGNATURES.get(mime, (b"\0never",))) else None


def _attribute(element, attribute, value):
    if attribute == "href":
        return value if _LINK.fullmatch(value.strip()) else None
    if attribute == "src":
        match = _DATA_IMAGE.fullmatch(value.strip())
        if element != "img" or not match or image_base64(match.group(1).lower(), match.group(2)) is None:
            return None
        return value.strip()
    if attribute in ("width", "height", "start", "colspan", "rowspan"):
        return value if _NUMBER.fullmatch(value.strip()) else None
    return value


_CLEANER = nh3.Cleaner(
    tags=TAGS, clean_content_tags=DROPPED_WITH_CONTENT, attributes=ATTRIBUTES, attribute_filter=_attribute,
    allowed_classes=ALLOWED_CLASSES, filter_style_properties={"text-align"},
    url_schemes={"http", "https", "mailto", "data"},
    url_relative=lambda url: url if _LINK.fullmatch(url) else None,  # "#section" only: no course files
    link_rel="noopener noreferrer nofollow", strip_comments=True,
)


def clean_html(html):
    """An HTML fragment of student content, cleaned (nh3): what it shows is kept, nothing that runs,
    loads, navigates, or restyles the page around it. Maths stays as text ($x &lt; y$)."""
    if html is None:
        return ""
    return _CLEANER.clean(str(html))


# --- Markdown ------------------------------------------------------------------------------------------

_BLANK_PNG = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=")


class _Attachments(dict):
    """Attachments in which a missing one is a blank pixel: nbconvert's renderer raises on a name the cell
    does not hold, and one page that fails to render stops the feedback of the whole class."""

    def __contains__(self, name):
        return True

    def __missing__(self, name):
        return {"image/png": _BLANK_PNG}


def safe_attachments(attachments):
    """A cell's attachments with only images that are what they claim ({name: {mime: base64}}). An
    attachment with none, or a missing one, is a blank pixel, so that the markdown that names it renders."""
    safe = _Attachments()
    for name, bundle in (attachments or {}).items() if isinstance(attachments, dict) else []:
        if not isinstance(name, str):
            continue
        kept = {}
        for mime, data in (bundle.items() if isinstance(bundle, dict) else []):
            mime = str(mime).lower()
            checked = image_base64(mime, data) if mime in (*_IMAGE_SIGNATURES, "image/svg+xml") else None
            if checked:
                kept[mime] = checked
        safe[name] = kept or {"image/png": _BLANK_PNG}
    return safe


def render_markdown(source, attachments=None):
    """Markdown as nbconvert renders it (nbconvert's renderer, maths kept for MathJax), cleaned."""
    renderer = IPythonRenderer(escape=False, attachments=safe_attachments(attachments), embed_images=False,
                               path="", anchor_link_text="¶", exclude_anchor_links=False)
    return clean_html(MarkdownWithMath(renderer=renderer).render(str(source or "")))


@pass_context
def markdown2html(context, source):
    """nbconvert's ``markdown2html`` filter, cleaned: a drop-in for ``c.HTMLExporter.filters``."""
    cell = context.get("cell") or {}
    return render_markdown(source, cell.get("attachments") if hasattr(cell, "get") else None)


# --- Notebooks -----------------------------------------------------------------------------------------

# Output types a page may show. text/html and text/markdown go through clean_html in the templates
# (HTMLExporter.sanitize_html); text/latex is written as escaped text; images are checked here.
SHOWN_MIME = ("text/plain", "text/html", "text/markdown", "text/latex", "image/png", "image/jpeg", "image/gif",
              "image/svg+xml")
_GRADE_ID = re.compile(r"[A-Za-z0-9_.\-]{1,200}")
_KEPT_CELL_METADATA = ("nbgrader", "tags", VERDICT_KEY)


class SafeNotebook(Preprocessor):
    """The notebook as an HTML page may show it: the exporter's first preprocessor, before the
    templates (``c.HTMLExporter.preprocessors`` in nbgrader_config.py).

    Outputs keep only ``SHOWN_MIME`` data, images only when their bytes are an image of that type;
    ``stream`` and ``error`` outputs keep their text (the templates escape it). Output metadata is reduced
    to numeric width and height and alt text (nbconvert turns ``filenames`` into file paths and ``isolated`` into an
    iframe). Notebook metadata keeps the kernel and language names only (no widget state, no title); cell
    metadata keeps nbgrader's (a grade id that is not a plain identifier is dropped: the formgrader writes
    it into the page as an element id), tags and the grader's verdict.
    """

    def preprocess(self, nb, resources):
        metadata = nb.get("metadata") or {}
        kept = {}
        for key, fields in (("kernelspec", ("name", "display_name", "language")), ("language_info", ("name",))):
            if isinstance(metadata.get(key), dict):
                kept[key] = {f: str(metadata[key][f]) for f in fields if isinstance(metadata[key].get(f), str)}
        if kept.get("language_info", {}).get("name") not in (None, "python"):
            kept["language_info"]["name"] = "python"
        nb.metadata = type(metadata)(kept) if hasattr(metadata, "keys") else kept
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, index):
        cell.metadata = _safe_cell_metadata(cell.get("metadata"))
        if cell.get("cell_type") == "markdown" and "attachments" in cell:
            cell.attachments = safe_attachments(cell.get("attachments"))
        if cell.get("cell_type") == "code":
            cell.outputs = [safe for safe in map(_safe_output, cell.get("outputs") or []) if safe is not None]
        return cell, resources


def _safe_cell_metadata(metadata):
    metadata = metadata if hasattr(metadata, "get") else {}
    kept = type(metadata)() if hasattr(metadata, "keys") else {}
    for key in _KEPT_CELL_METADATA:
        if key in metadata:
            kept[key] = metadata[key]
    if "tags" in kept and not (isinstance(kept["tags"], list) and all(isinstance(t, str) for t in kept["tags"])):
        del kept["tags"]
    nbgrader = kept.get("nbgrader")
    if nbgrader is not None:
        grade_id = nbgrader.get("grade_id") if hasattr(nbgrader, "get") else None
        if not hasattr(nbgrader, "get") or (grade_id is not None and not _GRADE_ID.fullmatch(str(grade_id))):
            del kept["nbgrader"]
    return kept


def _safe_output(output):
    if not hasattr(output, "get"):
        return None
    kind = output.get("output_type")
    if kind == "stream":
        text = output.get("text")
        text = "".join(text) if isinstance(text, list) else text
        if not isinstance(text, str):
            return None
        output.text = text
        output.name = "stderr" if output.get("name") == "stderr" else "stdout"
        return output
    if kind == "error":
        output.ename, output.evalue = str(output.get("ename", "Error")), str(output.get("evalue", ""))
        traceback = output.get("traceback")
        output.traceback = [str(line) for line in traceback] if isinstance(traceback, list) else []
        return output
    if kind not in ("display_data", "execute_result"):
        return None
    data = output.get("data") if hasattr(output.get("data"), "items") else {}
    safe = type(data)() if hasattr(data, "keys") else {}
    for mime, value in data.items():
        value = "".join(value) if isinstance(value, list) and all(isinstance(v, str) for v in value) else value
        if mime not in SHOWN_MIME or not isinstance(value, str):
            continue
        if mime.startswith("image/") and mime != "image/svg+xml":
            value = image_base64(mime, value)
            if value is None:
                continue
        safe[mime] = value
    if not safe:
        return None
    output.data = safe
    metadata = output.get("metadata") if hasattr(output.get("metadata"), "items") else {}
    sizes = type(metadata)() if hasattr(metadata, "keys") else {}
    for mime, values in metadata.items():
        if mime in safe and mime.startswith("image/") and hasattr(values, "items"):
            kept = {k: int(v) for k, v in values.items()
                    if k in ("width", "height") and isinstance(v, (int, float)) and 0 < v < 100000}
            if isinstance(values.get("alt"), str):
                kept["alt"] = values["alt"][:500]  # the templates escape it
            if kept:
                sizes[mime] = kept
    output.metadata = sizes
    return output
