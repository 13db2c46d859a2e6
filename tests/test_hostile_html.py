"""Nothing a submission holds runs where the instructor or a student looks (issue 19, class 1).

Fast tests (no browser): the sanitiser on every payload class of the corpus (tests/hostile_html.py), each
first shown to be dangerous in nbconvert's own rendering, and the notebook filter on every output type.

Browser test: the corpus goes through the real commands (`python -m coursekit release`, `grade`, `feedback`,
`report`); then Debian's headless Chromium opens the formgrader page of each hostile submission (JupyterLab
started by coursekit.platforms.lab), both feedback pages and the report, clicks every link the payloads planted, and
checks that no script ran (window.pwned, document.title, localStorage), that the test's listener got no
request at all, that the grading UI is there and works, and that the honest maths and plot still show.
"""
import http.server
import json
import re
import shutil
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest
from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath
from nbformat.v4 import new_code_cell, new_notebook

import browser
import hostile_html
from coursekit import studenthtml
from coursekit.platforms import formgrader

PORT = 9  # the fast tests need no listener: the payloads are only looked at


def stock_markdown2html(source, attachments=None):
    """nbconvert's own markdown rendering, as nbgrader's formgrader and feedback used it."""
    renderer = IPythonRenderer(escape=False, attachments=attachments or {}, anchor_link_text="¶")
    return MarkdownWithMath(renderer=renderer).render(source)


# What a payload would do in a page: an element that runs script or loads or navigates, as markup.
DANGER = re.compile(r"<(script|iframe|svg|style|base|meta|link|object|embed|form|input)\b|"
                    r"\son[a-z]+\s*=|(href|src)\s*=\s*[\"']?\s*(javascript|java&#x09;script|data:text|http://127)|"
                    r"\sid=\"ex01-initialize\"|\sstyle=\"[^\"]*(position|url\()", re.I)
ATTACHMENT = {"evil.png": {"image/png": hostile_html.BREAKOUT_PNG.format(js="alert(1)")}}


@pytest.mark.parametrize("name, what, markdown", hostile_html.payloads(PORT), ids=lambda v: v if isinstance(v, str)
                         and len(v) < 20 and " " not in v else "")
def test_each_markdown_payload_is_dangerous_in_nbconvert_and_harmless_once_cleaned(name, what, markdown):
    stock = stock_markdown2html(markdown, ATTACHMENT)
    cleaned = studenthtml.render_markdown(markdown, ATTACHMENT)
    if name.startswith("maths") or name == "tex-href":
        # maths is text for MathJax (whose Safe extension filters \href): no markup, in nbconvert as here
        assert not re.search(r"(?:href|src)=\"javascript:", stock) and not handlers_or_scripts(stock), stock
    elif name == "attachment":  # nbconvert writes the "PNG" into src as it is (escaped), whatever it holds
        assert 'src="data:image/png;base64,iVBORw0KGgo&quot; onerror=' in stock, stock
        assert "iVBORw0KGgo&quot;" not in cleaned and "onerror" not in cleaned  # a blank pixel instead
    else:
        assert DANGER.search(markup(stock)), (name, stock)
    assert not DANGER.search(markup(cleaned)) and not handlers_or_scripts(cleaned), (name, cleaned)


def markup(html):
    """The tags of ``html`` (escaped text, such as maths that quotes a tag, is not markup)."""
    return " ".join(re.findall(r"<[a-zA-Z][^>]*>", html))


def handlers_or_scripts(html):
    """The markup of ``html`` that would run: script elements, event-handler attributes, javascript: URLs
    (text that merely quotes them, escaped, is not markup)."""
    tags = re.findall(r"<[a-zA-Z][^>]*>", html)
    return [tag for tag in tags if re.match(r"<script\b", tag, re.I) or re.search(r"\son[a-z]+\s*=", tag, re.I)
            or re.search(r"=\s*\"?\s*javascript:", tag, re.I)]


def test_maths_survives_cleaning_as_text_for_mathjax():
    text = r"Loss $L = \frac{1}{m}\sum_i \ell_i$ with $x<y$ and $a \& b$; $$f(x) = \begin{cases} 1 & x \geq 0 \end{cases}$$"
    cleaned = studenthtml.render_markdown(text)
    assert r"$L = \frac{1}{m}\sum_i \ell_i$" in cleaned and "$x&lt;y$" in cleaned
    assert r"\begin{cases} 1 &amp; x \geq 0 \end{cases}" in cleaned


def test_cleaning_keeps_what_a_written_answer_shows():
    markdown = ("**bold** *it* `code` [docs](https://numpy.org) [top](#top)\n\n- one\n- two\n\n| a | b |\n|:-|-:|\n| 1 | 2 |\n\n"
                f"![plot](data:image/png;base64,{hostile_html.honest_png()})\n\n```python\nx = 1\n```\n")
    cleaned = studenthtml.render_markdown(markdown)
    for kept in ("<strong>bold</strong>", "<em>it</em>", "<code>code</code>", 'href="https://numpy.org"',
                 'href="#top"', "<li>one</li>", '<th style="text-align:left">', 'src="data:image/png;base64,iVBOR',
                 '<div class="highlight">', '<span class="n">x</span>'):
        assert kept in cleaned, kept


def test_image_bytes_are_checked():
    png = hostile_html.honest_png()
    assert studenthtml.image_base64("image/png", png) == png
    assert studenthtml.image_base64("image/png", png[:40] + "\n" + png[40:]) == png  # base64 as nbformat wraps it
    assert studenthtml.image_base64("image/png", hostile_html.BREAKOUT_PNG.format(js="alert(1)")) is None
    assert studenthtml.image_base64("image/jpeg", png) is None  # a PNG is not a JPEG
    assert studenthtml.image_base64("image/png", "iVBORw0KGgo") is None  # not even a whole signature


def test_the_notebook_filter_keeps_only_outputs_a_page_can_show():
    notebook = new_notebook(cells=[new_code_cell("x", outputs=[o for _, o in hostile_html.outputs(PORT)])])
    notebook.metadata.update(title="</title><script>x</script>", widgets={"application/vnd.jupyter.widget-state+json": {}},
                             language_info={"name": "python", "pygments_lexer": "</script>"})
    notebook.cells[0].metadata.update(tags=["ok"], nbgrader={"grade_id": 'x"><script>', "grade": True},
                                      evil={"a": 1})
    cleaned, _ = studenthtml.SafeNotebook().preprocess(notebook, {})
    cell = cleaned.cells[0]
    assert cleaned.metadata == {"language_info": {"name": "python"}}
    assert cell.metadata == {"tags": ["ok"]}  # a grade id that is no identifier goes with nbgrader's metadata
    kinds = [sorted(o.get("data", {})) or o.output_type for o in cell.outputs]
    assert kinds == [["image/png", "text/plain"], ["text/plain"], ["text/html", "text/plain"], ["text/plain"],
                     ["image/svg+xml"], ["text/markdown"], ["text/latex"], ["text/plain"], ["text/html"],
                     ["image/png"], ["text/html"], "stream", "error"]
    assert cell.outputs[0].metadata == {"image/png": {"alt": hostile_html.HONEST_PLOT_ALT}}
    assert all(not o.get("metadata") for o in cell.outputs[8:10])  # no isolated iframe, no file names
    assert not any("application/javascript" in o.get("data", {}) or "text/x-evil" in o.get("data", {})
                   for o in cell.outputs)


def test_the_course_configuration_cleans_the_formgraders_exporter():
    """The formgrader builds HTMLExporter(config=<the course's configuration>): that exporter cleans."""
    from nbconvert.exporters import HTMLExporter
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(browser.REPO)).load_config()
    exporter = HTMLExporter(config=config)
    assert exporter.template_name == studenthtml.FORMGRADE_TEMPLATE and exporter.sanitize_html
    notebook = new_notebook(cells=[nbformat.v4.new_markdown_cell("<script>alert(1)</script>\n\n$x<y$"),
                                   new_code_cell("x", outputs=[o for _, o in hostile_html.outputs(PORT)])])
    page, _ = exporter.from_notebook_node(notebook, resources={"base_url": "", "index": 0, "total": 1,
                                                               "submission_id": "s", "notebook_id": "hw3",
                                                               "assignment_id": "hw3", "student": "<b>x</b>"})
    head, body = page.split("</head>", 1)
    policy = re.search(r'<meta content="([^"]*)" http-equiv="Content-Security-Policy"', head).group(1)
    nonce = re.search(r"'nonce-([0-9a-f]{32})' 'strict-dynamic'", policy).group(1)
    assert all(f'nonce="{nonce}"' in tag for tag in re.findall(r"<script\b[^>]*>", page)), "a script without the nonce"
    assert "<b>x</b>" not in page and "$x&lt;y$" in body
    assert handlers_or_scripts(body) == []


# --- In a browser ------------------------------------------------------------------------------------------

class Listener(http.server.ThreadingHTTPServer):
    """The test's HTTP listener on 127.0.0.1: every request any payload makes lands in ``requests``."""

    def __init__(self):
        self.requests = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(handler):  # noqa: N802
                self.requests.append(handler.path)
                handler.send_response(204)
                handler.send_header("Access-Control-Allow-Origin", "*")
                handler.end_headers()

            do_POST = do_GET  # noqa: N815

            def log_message(handler, *args):
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        self.port = self.server_address[1]
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.shutdown()
        self.server_close()


def run(course, *args):
    done = subprocess.run([sys.executable, "-m", "coursekit", *args, "--course", str(course)], capture_output=True,
                          text=True, env=_env())
    assert done.returncode == 0, (args, done.stdout[-3000:], done.stderr[-3000:])
    return done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""


def _env():
    import os
    return dict(os.environ, PATH=str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"])


@pytest.fixture(scope="module")
def listener():
    server = Listener()
    yield server
    server.close()


@pytest.fixture(scope="module")
def hostile_course(tmp_path_factory, listener):
    """The corpus graded, with feedback and a report, by the kit's own commands."""
    from nbgrader.api import Gradebook

    from coursekit.submissions import build_submission, load_course_notebooks, write_submission

    course = browser.copy_course(tmp_path_factory.mktemp("hostile_html") / "course")
    release, source = load_course_notebooks(course)
    write_submission(course, hostile_html.STUDENT, hostile_html.submission(release, source, listener.port))
    write_submission(course, hostile_html.RAW_STUDENT, build_submission(release, source, {}))
    for name, text in hostile_html.extra_files(listener.port).items():
        (course / "submitted" / hostile_html.STUDENT / "hw3" / name).write_text(text)
    lines = {"release": run(course, "release", "hw3"), "grade": run(course, "grade", "hw3", "--jobs", "2", "--quiet")}
    assert lines["grade"].startswith("Graded 2, failed 0"), lines["grade"]
    hostile_html.inject_raw_outputs(course / "autograded" / hostile_html.RAW_STUDENT / "hw3" / "hw3.ipynb",
                                    listener.port)
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:  # names from a roster are input too
        gradebook.update_or_create_student(hostile_html.STUDENT, first_name="<img src=x onerror=\"" +
                                           hostile_html.js("student-name", listener.port) + "\">",
                                           last_name="<script>" + hostile_html.js("student-last-name", listener.port)
                                           + "</script>")
    lines["feedback"] = run(course, "feedback", "hw3")
    lines["report"] = run(course, "report", "hw3")
    print("\n".join(f"{command}: {line}" for command, line in lines.items()))
    return course


def page_state(driver):
    return driver.execute_script("""
        let stored = null;
        try { stored = localStorage.getItem('pwned'); } catch (error) {}  // a sandboxed page has no storage
        return [document.title, window.pwned === undefined ? null : String(window.pwned), stored, location.href];""")


def click_planted_links(driver):
    """Click every link a payload planted (their text starts with click-), as a curious grader would."""
    clicked = driver.execute_script("""
        const links = Array.from(document.querySelectorAll('a')).filter(a => a.textContent.startsWith('click-'));
        links.forEach(a => a.click());
        return links.map(a => [a.textContent, a.getAttribute('href')]);""")
    time.sleep(1)
    return clicked


def assert_nothing_ran(driver, listener, where, title, url=None):
    state = page_state(driver)
    assert state[0] == title and state[1] is None and state[2] is None, (where, state)
    if url:
        assert re.split("[?#]", state[3])[0] == url, (where, state)  # no refresh, no navigation (the formgrader adds ?index=)
    assert listener.requests == [], (where, listener.requests)


@pytest.mark.skipif(browser.missing_browser() is not None, reason=str(browser.missing_browser()))
def test_no_script_of_a_submission_runs_in_the_formgrader_feedback_or_report(hostile_course, listener, tmp_path):
    from coursekit.platforms.lab import start_lab, stop_lab

    env = {"JUPYTER_CONFIG_DIR": str(tmp_path / "jc"), "JUPYTER_DATA_DIR": str(tmp_path / "jd"),
           "JUPYTER_RUNTIME_DIR": str(tmp_path / "jr")}
    log = open(tmp_path / "jupyterlab.log", "w")
    process, url = start_lab(hostile_course, env=env, log_file=log)
    driver = browser.new_browser(tmp_path / "profile")
    base, token = url.split("/lab?token=")
    outcome = {}
    try:
        driver.get(f"{base}/formgrader?token={token}")  # logs in; the formgrader's own page
        request = urllib.request.Request(f"{base}/formgrader/api/submitted_notebooks/hw3/hw3",
                                         headers={"Authorization": f"token {token}"})
        submissions = {s["student"]: s["id"] for s in json.load(urllib.request.urlopen(request, timeout=30))}
        for student in (hostile_html.STUDENT, hostile_html.RAW_STUDENT):
            page = f"{base}/formgrader/submissions/{submissions[student]}/"
            driver.get(page)
            time.sleep(3)  # anything the page would run or load on its own, a refresh included
            assert listener.requests == [], (f"formgrader {student}", sorted(set(listener.requests)))
            # the formgrader's own scripts ran: the autograded score of Exercise 1 is in its box
            browser.wait_for(lambda: driver.find_element("id", "ex01-initialize").get_attribute("placeholder") == "0",
                             30, message="the formgrader's scripts to fill in the scores")
            score = driver.find_element("id", "ex01-initialize")
            assert score.tag_name == "input" and score.is_displayed()  # not hidden, not clobbered by a heading
            written = driver.find_element("id", hostile_html.WRITTEN)
            assert written.is_displayed() and driver.find_element("css selector", "nav").is_displayed()
            clicked = click_planted_links(driver)
            # a handler that got past the sanitiser would still not run: the page's policy stops it
            driver.execute_script("document.body.insertAdjacentHTML('beforeend', arguments[0]);",
                                  f'<img src="x" onerror="{hostile_html.js("csp-backstop", listener.port)}">')
            time.sleep(3)  # a refresh, MathJax, late loads
            browser.screenshot(driver, f"hostile-formgrader-{student}")
            assert_nothing_ran(driver, listener, f"formgrader {student}", "hw3", page)
            assert all(href is None or href.startswith("#") for _, href in clicked), clicked
            if student == hostile_html.STUDENT:
                answer = written.find_element("xpath", "./ancestor::div[contains(@class, 'nbgrader_cell')]")
                assert hostile_html.HONEST_TEXT in answer.text
                assert driver.execute_script(  # MathJax (the server's copy) typeset the honest formula
                    "return arguments[0].querySelectorAll('.MathJax, .MathJax_CHTML, .MathJax_SVG').length",
                    answer) > 0, "the written answer's maths is not typeset"
                assert_plot_shows(driver)
                # the name a roster gave is text: both payload names show as written
                assert "<script>" in driver.execute_script(
                    "return document.querySelector('.name-shown').textContent")
            outcome[f"formgrader {student}"] = "no script ran, no request"
        # files handed in beside the notebook open in a sandbox: no script, not the server's origin
        for name in hostile_html.extra_files(listener.port):
            address = f"{base}/formgrader/submissions/{submissions[hostile_html.STUDENT]}/{name}"
            request = urllib.request.Request(address, headers={"Authorization": f"token {token}"})
            with urllib.request.urlopen(request, timeout=30) as response:
                assert response.headers["Content-Security-Policy"] == formgrader.SUBMISSION_FILES_CSP, name
            driver.get(address)
            time.sleep(2)
            state = page_state(driver)
            assert "PWNED" not in state[0] and state[1] is None, (name, state)
            assert listener.requests == [], (name, listener.requests)
            outcome[f"formgrader file {name}"] = "sandboxed: no script ran, no request"
        # grading still works under the policy: a score typed in is saved
        driver.get(f"{base}/formgrader/submissions/{submissions[hostile_html.STUDENT]}/")
        box = browser.wait_for(lambda: driver.find_element("id", hostile_html.WRITTEN), 30, message="the score box")
        browser.click_when_clear(driver, box)  # the page may still be laying out its maths and images
        box.send_keys("1")
        browser.click_when_clear(driver, driver.find_element("id", f"{hostile_html.WRITTEN}-comment"))
        from nbgrader.api import Gradebook

        def with_grade():
            with Gradebook(f"sqlite:///{hostile_course / 'gradebook.db'}") as gradebook:
                return gradebook.find_grade(hostile_html.WRITTEN, "hw3", "hw3", hostile_html.STUDENT).manual_score
        browser.wait_for(lambda: with_grade() == 1, 20, message="the written answer's score in the gradebook")
        assert listener.requests == []
    finally:
        driver.quit()
        stop_lab(process)
        log.close()

    # Feedback pages and the report, opened from disk as a student or the instructor opens them.
    pages = [hostile_course / "feedback" / s / "hw3" / "hw3.html" for s in (hostile_html.STUDENT, hostile_html.RAW_STUDENT)]
    pages.append(hostile_course / "report.html")
    driver = browser.new_browser(tmp_path / "profile2")
    try:
        for page in pages:
            driver.get(page.as_uri())
            title = driver.title
            click_planted_links(driver)
            time.sleep(2)
            where = page.relative_to(hostile_course).as_posix()
            browser.screenshot(driver, "hostile-" + where.replace("/", "-").replace(".html", ""))
            assert_nothing_ran(driver, listener, where, title, page.as_uri())
            assert "PWNED" not in title
            if "feedback/hostile-html" in where:
                answer_maths = driver.execute_script("""
                    const cells = Array.from(document.querySelectorAll('.text_cell_render'));
                    const cell = cells.find(c => c.textContent.includes(arguments[0]));
                    return cell ? cell.querySelectorAll('mjx-container svg').length : -1;""", hostile_html.HONEST_TEXT)
                assert answer_maths > 0, "the written answer's maths is not typeset in the feedback"
                assert_plot_shows(driver)
            outcome[where] = "no script ran, no request"
        # The policy holds by itself: a copy of each page with a script and a handler added runs neither.
        for page in pages:
            copy = tmp_path / ("backstop-" + page.name)
            shutil.copy(page, copy)
            text = copy.read_text()
            planted = (f"<script>{hostile_html.js('backstop-script', listener.port)}</script>"
                       f'<img src="x" onerror="{hostile_html.js("backstop-img", listener.port)}">')
            copy.write_text(text.replace("<body>", "<body>" + planted, 1) if "<body>" in text else text + planted)
            assert planted in copy.read_text()
            driver.get(copy.as_uri())
            time.sleep(1)
            assert_nothing_ran(driver, listener, f"{page.name} with a script added", driver.title)
    finally:
        driver.quit()
    print(json.dumps(outcome, indent=1))


def assert_plot_shows(driver):
    """The honest plot (400 x 250 pixels; the grader keeps a skipped cell's PNG, not its metadata) shows."""
    widths = driver.execute_script("""
        return Array.from(document.querySelectorAll('img'))
            .filter(i => (i.getAttribute('src') || '').startsWith('data:image/png') && i.complete)
            .map(i => i.naturalWidth);""")
    assert any(width >= 300 for width in widths), ("the honest plot", widths)
