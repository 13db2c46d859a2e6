"""The hostile-HTML corpus: submissions whose every part tries to run script, load something or restyle the
page where an instructor or a student looks at it (the formgrader, the feedback page, the class report).

Every script payload, if it ran, would set ``window.pwned``, ``document.title`` and localStorage, and fetch
``http://127.0.0.1:<port>/<payload id>``, where the test listens: the test asserts that none of this
happened and that the listener got no request of any kind (a script, an image, a stylesheet, a frame, a
refresh or a <base> that moved the page's own scripts would all show up there). Each payload is identified
by its id in ``PAYLOADS`` (markdown) and ``OUTPUTS`` (cell outputs). Honest content rides along: maths in
the written answer and a real PNG plot, which must still show.
"""
import base64
import io

import nbformat
from nbformat.v4 import new_markdown_cell, new_output

from coursekit.submissions import build_submission

WRITTEN = "written-optimizer-comparison"
COMPARISON = "given-comparison"  # skip-execution: the grader keeps the outputs the student submitted
HONEST_TEXT = "Adam reached the lowest training loss"
HONEST_MATHS = r"$L = \frac{1}{m}\sum_{i=1}^{m} \ell_i$"
HONEST_PLOT_ALT = "honest training loss plot"
STUDENT = "hostile-html"   # markdown, attachments, metadata, and outputs as they come through the grader
RAW_STUDENT = "hostile-raw"  # outputs of every type written straight into the autograded notebook


def js(tag, port):
    """What every script payload would do: leave marks the test reads, and call the test's listener."""
    return (f"window.pwned='{tag}';document.title='PWNED {tag}';localStorage.setItem('pwned','{tag}');"
            f"fetch('http://127.0.0.1:{port}/{tag}')")


def beacon(tag, port):
    return f"http://127.0.0.1:{port}/{tag}"


# (id, what it tries, markdown). Each line of markdown stands in its own paragraph.
def payloads(port):
    j = lambda tag: js(tag, port)
    b = lambda tag: beacon(tag, port)
    b64 = base64.b64encode(f"<script>{j('data-uri-link')}</script>".encode()).decode()
    return [
        ("script", "<script>", f"<script>{j('script')}</script>"),
        ("img-onerror", "<img src=x onerror>", f'<img src="x" onerror="{j("img-onerror")}">'),
        ("svg-onload", "<svg onload>", f'<svg onload="{j("svg-onload")}"><circle r="5"/></svg>'),
        ("js-link", "javascript: link (HTML)", f'<a href="javascript:{j("js-link")}">click-js-link</a>'),
        ("js-link-entity", "javascript: link, tab-obfuscated",
         f'<a href="java&#x09;script:{j("js-link-entity")}">click-js-link-entity</a>'),
        ("md-link", "markdown link to javascript:", f"[click-md-link](<javascript:{j('md-link')}>)"),
        ("md-image", "markdown image from javascript: and from a server",
         f"![md-image](<javascript:{j('md-image')}>) ![md-image-http]({b('md-image-http')})"),
        ("iframe-srcdoc", "<iframe srcdoc>", f'<iframe srcdoc="<script>{j("iframe-srcdoc")}</script>"></iframe>'),
        ("style", "<style> that hides the grading UI",
         "<style>input, .score, .panel-heading, .comment, nav { display: none !important }</style>"),
        ("style-attr", "style attribute: a fixed overlay over the page, background from a server",
         f'<div style="position:fixed;top:0;left:0;width:100%;height:100%;z-index:99999;background:white '
         f'url({b("style-attr")})">fake page</div>'),
        ("base", "<base href> that moves the page's own relative URLs", f'<base href="{b("base")}/">'),
        ("meta-refresh", "<meta http-equiv=refresh>", f'<meta http-equiv="refresh" content="0;url={b("meta-refresh")}">'),
        ("link-css", "<link rel=stylesheet>", f'<link rel="stylesheet" href="{b("link-css")}">'),
        ("object", "<object data>", f'<object data="{b("object")}"></object><embed src="{b("embed")}">'),
        ("form-autofocus", "<input autofocus onfocus>",
         f'<form action="{b("form")}"><input autofocus onfocus="{j("form-autofocus")}"><button>go</button></form>'),
        ("details-ontoggle", "<details open ontoggle>", f'<details open ontoggle="{j("details-ontoggle")}">x</details>'),
        ("data-uri-link", "data: URI link", f'<a href="data:text/html;base64,{b64}">click-data-uri-link</a>'),
        ("maths-img", "HTML inside inline maths", f'$<img src="x" onerror="{j("maths-img")}">$'),
        ("maths-script", "<script> inside display maths", f"$$<script>{j('maths-script')}</script>$$"),
        ("tex-href", r"TeX \href to javascript:", rf"$\href{{javascript:{j('tex-href')}}}{{click-tex-href}}$"),
        ("clobber-id", "heading whose id is a score box's id", "# ex01-initialize"),
        ("attachment", "attachment whose \"PNG\" breaks out of src", "![attachment](attachment:evil.png)"),
    ]


BREAKOUT_PNG = 'iVBORw0KGgo" onerror="{js}" x="'  # starts as a PNG does; the engine's prefix check passes it


def honest_png():
    """A real PNG plot (matplotlib), as the comparison cell shows it."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    figure = Figure(figsize=(4, 2.5), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    axes.plot([1.0, 0.5, 0.2, 0.05, 0.01], label="Adam")
    axes.set_title("training loss")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def outputs(port):
    """(id, output) pairs: every output type with a payload, and the honest plot."""
    j = lambda tag: js(tag, port)
    return [
        ("honest-png", new_output("display_data", data={"image/png": honest_png(), "text/plain": "<Figure>"},
                                  metadata={"image/png": {"alt": HONEST_PLOT_ALT}})),
        ("png-breakout", new_output("display_data", data={"image/png": BREAKOUT_PNG.format(js=j("png-breakout")),
                                                          "text/plain": "<Figure breakout>"})),
        ("text-html", new_output("display_data", data={"text/html": f"<script>{j('text-html')}</script>"
                                                                    f'<img src="x" onerror="{j("text-html-img")}">',
                                                       "text/plain": "html"})),
        ("javascript", new_output("display_data", data={"application/javascript": j("javascript"),
                                                        "text/plain": "js"})),
        ("svg", new_output("display_data", data={"image/svg+xml": f'<svg xmlns="http://www.w3.org/2000/svg" '
                                                                  f'onload="{j("svg")}"><script>{j("svg-script")}'
                                                                  "</script></svg>"})),
        ("markdown-output", new_output("display_data", data={"text/markdown": f"<script>{j('markdown-output')}</script>"
                                                                              f"[md](javascript:{j('markdown-output-link')})"})),
        ("latex", new_output("display_data", data={"text/latex": f"$<img src=x onerror=\"{j('latex')}\">$"})),
        ("widget", new_output("display_data", data={"application/vnd.jupyter.widget-view+json":
                                                    {"model_id": "</script><script>" + j("widget") + "</script>",
                                                     "version_major": 2, "version_minor": 0}, "text/plain": "w"})),
        ("isolated-html", new_output("display_data", data={"text/html": f"<script>{j('isolated-html')}</script>"},
                                     metadata={"text/html": {"isolated": True}})),
        ("filenames", new_output("display_data", data={"image/png": honest_png()},
                                 metadata={"filenames": {"image/png": f'x" onerror="{j("filenames")}'}})),
        ("execute-result-html", new_output("execute_result", data={"text/html": f"<svg onload=\"{j('exec-html')}\">"},
                                           execution_count=1)),
        ("unknown-mime", new_output("display_data", data={"text/x-evil": f"<script>{j('unknown-mime')}</script>",
                                                          "application/pdf": "JVBERi0="})),
        ("stream", new_output("stream", name="stdout", text=f"<script>{j('stream')}</script>\n")),
        ("error", new_output("error", ename="<script>", evalue=f"<img src=x onerror=\"{j('error')}\">",
                             traceback=[f"<script>{j('traceback')}</script>"])),
    ]


def submission(release, source, port):
    """The hostile-html student's notebook: payloads in the written answer and in a markdown cell of the
    student's own, an attachment, hostile cell and notebook metadata, and outputs of every type on the
    comparison cell (the grader keeps a skipped cell's outputs, text and PNG only)."""
    notebook = build_submission(release, source, {})
    text = "\n\n".join(markdown for _, _, markdown in payloads(port))
    cells = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in notebook.cells}
    written = cells[WRITTEN]
    written.source = f"{HONEST_TEXT}: {HONEST_MATHS}, the mean loss over the samples.\n\n{text}\n"
    written.attachments = {"evil.png": {"image/png": BREAKOUT_PNG.format(js=js("attachment", port)),
                                        "text/html": f"<script>{js('attachment-html', port)}</script>"}}
    own = new_markdown_cell(f"A note of my own.\n\n{text}\n")
    own.metadata["tags"] = [f'"><script>fetch(\'{beacon("cell-tag", port)}\')</script>']  # no comma in a tag
    notebook.cells.insert(1, own)
    cells[COMPARISON].outputs = [output for _, output in outputs(port)]
    notebook.metadata["title"] = f"</title><script>{js('notebook-title', port)}</script>"
    notebook.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {
        "state": {}, "version_major": 2, "version_minor": 0, "evil": f"</script><script>{js('widget-state', port)}</script>"}}
    notebook.metadata["language_info"] = {"name": "python", "pygments_lexer": "ipython3"}
    return notebook


def inject_raw_outputs(path, port):
    """Write outputs of every type into the autograded notebook at ``path`` (the first code cell and the
    comparison cell), as an engine that kept them would: the pages must hold without the grader's filter."""
    notebook = nbformat.read(path, as_version=4)
    code = [c for c in notebook.cells if c.cell_type == "code"]
    for cell in (code[0], *[c for c in code if c.metadata.get("nbgrader", {}).get("grade_id") == COMPARISON]):
        cell.outputs = [output for _, output in outputs(port)]
    notebook.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {
        "state": {}, "version_major": 2, "version_minor": 0,
        "evil": f"</script><script>{js('raw-widget-state', port)}</script>"}}
    nbformat.write(notebook, path)


def extra_files(port):
    """Files handed in beside the notebook: nbgrader copies them into autograded/, and the formgrader serves
    them on the Jupyter server's origin (/formgrader/submissions/<id>/<file>)."""
    return {
        "evil.html": f"<html><head><title>evil</title></head><body><script>{js('file-html', port)}</script>"
                     f'<img src="x" onerror="{js("file-html-img", port)}"></body></html>',
        "evil.svg": f'<svg xmlns="http://www.w3.org/2000/svg" onload="{js("file-svg", port)}">'
                    f"<script>{js('file-svg-script', port)}</script></svg>",
    }
