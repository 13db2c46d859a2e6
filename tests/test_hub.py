"""The whole course on one JupyterHub (coursekit.platforms.hub), in real headless Chromiums: an instructor and two students,
each a system account of its own, logged in at the same time in browsers of their own.

The instructor releases hw3 in the formgrader; each student fetches it in the Assignments list, answers (the
notebook is saved through the student's own Jupyter server, the contents API called from the student's page),
validates and submits in the Assignments list; the instructor collects in the formgrader, grades with the kit
in a JupyterLab terminal (the sandboxed engine) and writes the class report, grades the written answers in
the formgrader, generates and releases feedback there; each student fetches their feedback and reads their
own score and messages. Then a second assignment of the same course (tests/second_assignment.py) goes through
the same exchange from the command line: release, fetch, submit, collect, grade, feedback, fetch_feedback. Isolation: a student's browser gets 403 from the other student's and the
instructor's servers and 404 for the formgrader on its own; as the student's uid, the other student's home,
the exchange's inbound and feedback listings and the instructor's course directory are unreadable.
Screenshots of every step go to tests/artifacts/hub-*.png. The demo's accounts are removed at the end.
"""
import json
import os
import re
import secrets
import shutil
import subprocess
import tempfile
import time
import urllib.parse
from pathlib import Path

import nbformat
import pytest

import browser
import second_assignment as warmup
from browser import screenshot, wait_for
from coursekit.platforms import hubauth
from coursekit.platforms import hubinstall
from coursekit.platforms.hub import clean, start_hub, stop_hub
from coursekit.platforms.hubaccounts import (account, check_reachable, create_account, give_files, nbgrader_config_text,
                                             reachable, remove_account)
from coursekit.platforms.hubinstall import users_mathjax, users_requirements
from coursekit.platforms.hublayout import ACCOUNT_MARK, COURSE_CONTENT, HubError, HubLayout
from homework3.samples import EXPECTED_TOTALS, SAMPLE_STUDENTS, WRITTEN
from coursekit.submissions import build_submission, load_course_notebooks

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK = "hw3/hw3.ipynb"
ANSWERS = {"student1": "sample-full-marks", "student2": "sample-typical-mistakes"}  # whose answers each gives
AUTOGRADED = {"student1": 95.0, "student2": 55.0}  # the samples' known autograded totals (of 95)
WRITTEN_GRADES = {"student1": (4, "Right optimizer and reason; name the one with the lowest test loss."),
                  "student2": (2, "Adam's speed is not only its momentum: say what the squared-gradient average does.")}


# --- unit tests of the pieces -------------------------------------------------------------------

def test_generated_passwords_are_checked_per_user(tmp_path):
    path = tmp_path / "passwords.json"
    hubauth.write_password_file(path, {"ann": "first-secret", "bob": "second-secret"})
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert "first-secret" not in path.read_text()  # only salted hashes are stored
    auth = hubauth.GeneratedPasswordAuthenticator(password_file=str(path))
    assert auth.check_password("ann", "first-secret")
    assert not auth.check_password("ann", "second-secret")  # another user's password does not open ann's account
    assert not auth.check_password("carl", "first-secret")
    assert not auth.check_password("ann", "")


def test_users_environment_has_the_pins_without_the_test_tools():
    wanted = users_requirements().splitlines()
    pinned = [line for line in (REPO / "requirements.txt").read_text().splitlines() if "==" in line]
    assert "jupyterhub==" + next(l for l in pinned if l.startswith("jupyterhub==")).split("==")[1] in wanted
    assert any(line.startswith("nbgrader==") for line in wanted)
    assert not [line for line in wanted if line.split("==")[0] in ("tensorflow", "pytest", "selenium")]
    assert set(wanted) <= set(pinned)


def test_instructor_config_loads_the_course_settings(tmp_path):
    text = nbgrader_config_text(tmp_path / "exchange", "hw3-optimization", tmp_path / "course")
    assert f"c.Exchange.root = {str(tmp_path / 'exchange')!r}" in text
    assert f"load_subconfig({str(tmp_path / 'course' / 'nbgrader_config.py')!r})" in text
    student = nbgrader_config_text(tmp_path / "exchange", "hw3-optimization")
    assert "CourseDirectory.root" not in student and "c.CourseDirectory.course_id = 'hw3-optimization'" in student


def test_accounts_that_are_not_the_demos_are_never_taken_or_removed(tmp_path):
    layout = HubLayout(tmp_path, REPO, prefix="")
    with pytest.raises(HubError, match="not this demo's"):
        create_account("root", layout)
    said = []
    assert remove_account("root", layout, log=said.append) is False
    assert account("root") is not None and said == ["left alone: the account root is not this demo's"]


def test_a_state_folder_others_cannot_enter_is_refused():
    # not under pytest's tmp_path, whose folders others cannot enter anyway
    base = Path(tempfile.mkdtemp(prefix="hw3hub-reach-", dir="/tmp"))
    try:
        os.chmod(base, 0o755)
        (base / "private" / "state").mkdir(parents=True)
        os.chmod(base / "private", 0o700)
        assert not reachable(base / "private" / "state")
        with pytest.raises(HubError, match="cannot reach"):
            check_reachable(base / "private" / "state", "the demo's homes and exchange")
        os.chmod(base / "private", 0o711)  # others may enter, not list: enough
        assert reachable(base / "private" / "state")
    finally:
        shutil.rmtree(base)


def test_mathjax_of_a_checkout_others_cannot_enter_is_copied_for_them(tmp_path, monkeypatch):
    """A checkout in a folder only its owner enters (a home folder, pytest's tmp_path): the instructor's feedback
    pages take MathJax from a copy in the cache, kept up to date with the checkout's."""
    modules = tmp_path / "checkout" / "node_modules"
    (modules / "mathjax-full" / "js").mkdir(parents=True)
    (modules / "mathjax-full" / "package.json").write_text('{"version": "3.2.2"}')
    (modules / "mathjax-full" / "js" / "mathjax.js").write_text("// MathJax")
    os.chmod(modules / "mathjax-full" / "js", 0o700)
    (modules / ".package-lock.json").write_text('{"lockfileVersion": 3, "v": 1}')
    monkeypatch.setattr(hubinstall, "MATHJAX_MODULES", modules)
    base = Path(tempfile.mkdtemp(prefix="hw3hub-reach-", dir="/tmp"))  # others may enter it
    try:
        os.chmod(base, 0o755)
        layout = HubLayout(base / "state", REPO, cache=base / "cache")
        layout.cache.mkdir()
        assert not reachable(modules)
        copy = users_mathjax(layout, log=lambda message: None)
        assert copy == layout.cache / "node_modules"
        assert reachable(copy / "mathjax-full" / "js" / "mathjax.js")
        assert (copy / "mathjax-full" / "package.json").read_text() == '{"version": "3.2.2"}'
        assert f"c.FeedbackHTMLExporter.node_modules = {str(copy)!r}" in nbgrader_config_text(
            layout.exchange, "hw3-optimization", layout.course_dir, copy)
        (modules / "mathjax-full" / "package.json").write_text('{"version": "3.2.3"}')  # npm ci again
        (modules / ".package-lock.json").write_text('{"lockfileVersion": 3, "v": 2}')
        assert (users_mathjax(layout, log=lambda message: None) / "mathjax-full" / "package.json").read_text() \
            == '{"version": "3.2.3"}'
        reachable_modules = base / "checkout" / "node_modules"  # a checkout others may enter: its own
        shutil.copytree(modules, reachable_modules)
        os.chmod(base / "checkout", 0o755)
        monkeypatch.setattr(hubinstall, "MATHJAX_MODULES", reachable_modules)
        assert users_mathjax(layout, log=lambda message: None) == reachable_modules
    finally:
        shutil.rmtree(base)


# --- the hub ------------------------------------------------------------------------------------

needs_hub = [
    pytest.mark.skipif(browser.missing_browser() is not None, reason=str(browser.missing_browser())),
    pytest.mark.skipif(os.geteuid() != 0, reason="the hub creates system accounts: run the tests as root"),
    pytest.mark.skipif(not shutil.which("npm"), reason="npm is missing (apt-get install nodejs npm)"),
]


def hub_cache():
    """Where the proxy and the users' environment are installed once and kept: the repository's .hub/ (as
    `make hub` does) when other accounts can reach it, else a folder under /var/tmp."""
    return Path(os.environ.get("HW3_HUB_CACHE") or (REPO / ".hub" if reachable(REPO) else "/var/tmp/coursekit-hub"))


class Session:
    """One user's browser, logged in to the hub."""

    def __init__(self, hub, who, user, profile):
        self.hub, self.who, self.user = hub, who, user
        self.driver = browser.new_browser(profile)
        self.home = hub.layout.home(user)

    def url(self, path):
        return self.hub.user_url(self.user, path)

    def log_in(self):
        driver = self.driver
        driver.get(self.hub.url + "hub/login")
        driver.find_element("id", "username_input").send_keys(self.user)
        driver.find_element("id", "password_input").send_keys(self.hub.passwords[self.user])
        driver.find_element("id", "login_submit").click()
        wait_for(lambda: f"/user/{self.user}/lab" in driver.current_url
                 and driver.find_elements("css selector", ".lm-MenuBar-item"), 120,
                 message=f"{self.user}'s JupyterLab")

    def api(self, method, path, body=None):
        """Call a Jupyter server's REST API from this user's page, with the page's own session (the
        _xsrf cookie of the user's server), as JupyterLab itself does."""
        return self.driver.execute_async_script("""
            const [method, url, body, done] = arguments;
            const match = document.cookie.match(/(?:^|; )_xsrf=([^;]*)/);
            const headers = {'Content-Type': 'application/json'};
            if (match) headers['X-XSRFToken'] = decodeURIComponent(match[1]);
            fetch(url, {method, headers, credentials: 'same-origin',
                        body: body === null ? undefined : JSON.stringify(body)})
                .then(async r => done({status: r.status, url: r.url, text: await r.text()}))
                .catch(e => done({status: -1, url: url, text: String(e)}));""", method, path, body)

    def shot(self, step, what):
        return screenshot(self.driver, f"hub-{step:02d}-{self.who}-{what}")

    def quit(self):
        self.driver.quit()


@pytest.fixture
def hub(request):
    for mark in needs_hub:
        if mark.args[0]:
            pytest.skip(mark.kwargs["reason"])
    # Not under pytest's tmp_path: its folders are 0700, and the accounts must reach their homes and the exchange.
    state = Path(tempfile.mkdtemp(prefix="hw3hub-", dir="/tmp"))
    os.chmod(state, 0o755)
    course = REPO
    settings = getattr(request, "param", {}).get("settings")
    if settings:  # the course with settings of the test's own: a copy of what the hub serves of it
        course = state / "course-with-settings"
        for name in COURSE_CONTENT:
            if (REPO / name).is_dir():
                shutil.copytree(REPO / name, course / name)
            elif (REPO / name).exists():
                shutil.copy(REPO / name, course / name)
        with open(course / "nbgrader_config.py", "a") as config:
            config.write("\n" + "\n".join(settings) + "\n")
    layout = HubLayout(state, course, prefix=f"h3{secrets.token_hex(2)}-", cache=hub_cache())
    mnist = state / "mnist.npz"
    browser.write_mnist_file(mnist)
    os.chmod(mnist, 0o644)
    running = None
    sessions = []
    profiles = Path(tempfile.mkdtemp(prefix="hw3hub-browsers-"))  # 0700: root's browsers' profiles
    failed_before = request.session.testsfailed
    for stale in browser.ARTIFACTS.glob("FAILED-hub-*.png"):
        stale.unlink()
    try:
        running = start_hub(layout, environment={"HW3_MNIST_PATH": str(mnist), "OMP_NUM_THREADS": "1"},
                            log=lambda message: None, serve=getattr(request, "param", {}).get("serve", False))
        yield running, sessions, profiles
    finally:
        try:
            if request.session.testsfailed > failed_before and running is not None:
                for session in sessions:
                    screenshot(session.driver, f"FAILED-hub-{session.who}")
                print("JupyterHub log (end):\n" + running.log_path.read_text()[-5000:])
            for session in sessions:
                session.quit()
        finally:
            if running is not None:
                stop_hub(running.process, layout)
            removed = clean(layout, log=print)
            shutil.rmtree(state, ignore_errors=True)
            shutil.rmtree(profiles, ignore_errors=True)
    assert not [user for user in layout.users if account(user) is not None], "the demo's accounts were not removed"
    assert set(removed) == set(layout.users)


# --- page actions -------------------------------------------------------------------------------

def open_assignment_list(session):
    driver = session.driver
    menu = wait_for(lambda: [i for i in driver.find_elements("css selector", ".lm-MenuBar-item")
                             if i.text.strip() == "Nbgrader"][0], 60, message="JupyterLab's Nbgrader menu")
    menu.click()
    entry = wait_for(lambda: [e for e in driver.find_elements("css selector", ".lm-Menu-item")
                              if e.text.strip() == "Assignment List"][0], 10, message="Nbgrader > Assignment List")
    entry.click()
    return wait_for(lambda: driver.find_element("id", "assignments"), 30, message="the Assignments list")


def refresh_assignments(session):
    session.driver.find_element("id", "refresh_assignments_list").click()
    time.sleep(0.5)


def assignment_row(session, list_id, timeout=60):
    """The hw3 row of one of the Assignments list's panels (released, fetched or submitted)."""
    def row():
        rows = [r for r in session.driver.find_elements("css selector", f"#{list_id} .list_item")
                if "hw3" in r.text and r.is_displayed()]
        if not rows:
            refresh_assignments(session)
        return rows[0] if rows else None
    return wait_for(row, timeout, interval=1, message=f"hw3 in {list_id} of {session.user}")


def button_in(element, label):
    return wait_for(lambda: [b for b in element.find_elements("css selector", "button")
                             if b.text.strip() == label and b.is_enabled()][0], 30, message=f"the button {label!r}")


def formgrader_action(session, icon, step, what):
    """Press one of the formgrader's Manage Assignments buttons on hw3's row; return the dialog's text."""
    driver = session.driver
    driver.get(session.url("formgrader"))
    row = wait_for(lambda: [r for r in driver.find_elements("css selector", "#main-table tr")
                            if r.text.startswith("hw3")][0], 60, message="hw3 in Manage Assignments")
    wait_for(lambda: row.find_elements("css selector", f".glyphicon-{icon}"), 30, message=f"the {icon} button")
    row.find_element("css selector", f".glyphicon-{icon}").click()
    modal = wait_for(lambda: [m for m in driver.find_elements("css selector", ".modal") if m.is_displayed()][0], 180,
                     message=f"the formgrader's answer to {what}")
    time.sleep(0.5)
    text = modal.text
    session.shot(step, what)
    modal.find_element("css selector", ".modal-footer button").click()
    wait_for(lambda: not [m for m in driver.find_elements("css selector", ".modal") if m.is_displayed()], 10,
             message="the dialog to close")
    return text


def open_terminal(session):
    """A new JupyterLab terminal of the instructor's server (the launcher's Terminal card), with the terminal's
    screen-reader mode on (written as the instructor into their JupyterLab settings) so the test can read it."""
    settings = {".jupyter/lab/user-settings/@jupyterlab/terminal-extension/plugin.jupyterlab-settings":
                json.dumps({"screenReaderMode": True}).encode()}
    give_files(account(session.user), session.home, settings)
    driver = session.driver
    driver.get(session.url("lab"))
    card = wait_for(lambda: [c for c in driver.find_elements("css selector", ".jp-LauncherCard")
                             if c.text.strip() == "Terminal"][0], 60, message="the launcher's Terminal card")
    card.click()
    return wait_for(lambda: driver.find_element("css selector", ".jp-Terminal .xterm-helper-textarea"), 60,
                    message="the terminal")


def terminal_text(session):
    """The terminal's screen as text: xterm.js draws on a canvas, and keeps the text in an accessibility tree
    when JupyterLab's terminal setting screenReaderMode is on (see open_terminal)."""
    return session.driver.execute_script(
        "const rows = document.querySelector('.jp-Terminal .xterm-accessibility-tree');"
        "return rows ? rows.innerText : '';").replace("\xa0", " ")


def run_in_terminal(session, command, timeout=300):
    """Type ``command`` into the open terminal, wait until it has finished; return its exit status and the
    terminal's text (the shell echoes the status on a line of its own)."""
    from selenium.webdriver.common.action_chains import ActionChains
    textarea = session.driver.find_element("css selector", ".jp-Terminal .xterm-helper-textarea")
    session.driver.find_element("css selector", ".jp-Terminal").click()
    ActionChains(session.driver).send_keys_to_element(textarea, command + '; echo "exit status $?"\n').perform()
    found = wait_for(lambda: re.search(r"^exit status (\d+)\s*$", terminal_text(session), re.M), timeout, interval=1,
                     message=f"`{command}` in the instructor's terminal")
    return int(found.group(1)), terminal_text(session)


def as_user(layout, user, code):
    """Run Python ``code`` (the users' interpreter) with the account's own uid and groups; returns its stdout."""
    entry = account(user)
    done = subprocess.run([str(layout.env_dir / "bin" / "python"), "-I", "-c", code], user=entry.pw_uid, group=entry.pw_gid, extra_groups=[],
                          cwd="/", capture_output=True, text=True, env={"PATH": "/usr/bin:/bin", "HOME": entry.pw_dir})
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def can(layout, user, operation, path):
    """'yes' or the error's name when ``user`` lists a folder or reads a file."""
    call = "os.listdir(p)" if operation == "list" else "open(p, 'rb').read(1)"
    return as_user(layout, user, f"import os\np = {str(path)!r}\ntry:\n    {call}\n    print('yes')\n"
                         "except OSError as e:\n    print(type(e).__name__)")


def grades_in_gradebook(course_dir, student):
    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{course_dir / 'gradebook.db'}") as gradebook:
        submission = gradebook.find_submission("hw3", student)
        written = gradebook.find_grade(WRITTEN, "hw3", "hw3", student)
        comment = gradebook.find_comment(WRITTEN, "hw3", "hw3", student)
        return submission.score, written.manual_score, comment.manual_comment


# --- the cycle ----------------------------------------------------------------------------------

def test_course_cycle_on_jupyterhub(hub):
    started = time.perf_counter()
    running, sessions, profiles = hub
    layout = running.layout
    course_dir = layout.course_dir
    exchange_course = layout.exchange / "hw3-optimization"
    names = {"instructor": layout.instructor, "student1": layout.students[0], "student2": layout.students[1]}

    # Nothing of the demo listens beyond 127.0.0.1: the proxy, the hub and every user's server.
    settings = json.loads((layout.run_dir / "settings.json").read_text())
    for port in (settings["port"], settings["hub_port"], settings["proxy_api_port"]):
        assert browser.listening_addresses(port) == {"127.0.0.1"}, port

    # 1. All three log in, each in a browser of their own, and stay logged in for the whole cycle.
    people = {}
    for who, user in names.items():
        people[who] = Session(running, who, user, profiles / who)
        sessions.append(people[who])
        people[who].log_in()
    instructor, student1, student2 = people["instructor"], people["student1"], people["student2"]
    students = {"student1": student1, "student2": student2}
    for who, session in people.items():
        assert account(session.user).pw_gecos == ACCOUNT_MARK
    demo_uids = {account(user).pw_uid for user in names.values()}
    listening = listening_sockets(demo_uids)
    assert len(listening) >= 3 and {address for address, _ in listening} == {"127.0.0.1"}, listening
    instructor.shot(1, "logged-in")

    # 2. The instructor generates the student version of hw3 and releases it, in the formgrader (Manage
    #    Assignments: Generate, then Release).
    message = formgrader_action(instructor, "education", 2, "generated")
    assert "Successfully created the student version of 'hw3'" in message, message
    message = formgrader_action(instructor, "cloud-upload", 2, "released")
    assert "Successfully released 'hw3'." in message, message
    assert (exchange_course / "outbound" / "hw3" / "hw3.ipynb").exists()
    assert not (exchange_course / "outbound" / "hw3" / "hw3_checks.py").exists()

    # 3. Each student fetches hw3 in the Assignments list; the notebook lands in their home, theirs.
    release, source = load_course_notebooks(REPO)
    for number, (who, session) in enumerate(students.items()):
        open_assignment_list(session)
        row = assignment_row(session, "released_assignments_list")
        session.shot(3, "assignment-released")
        button_in(row, "Fetch").click()
        assignment_row(session, "fetched_assignments_list")
        fetched = session.home / NOTEBOOK
        wait_for(fetched.exists, 30, message=f"{fetched}")
        assert fetched.stat().st_uid == account(session.user).pw_uid
        session.shot(3, "fetched")

        # 4. The student's answers, saved through their own server (the contents API, their session).
        answers = SAMPLE_STUDENTS[ANSWERS[who]]
        notebook = build_submission(release, source, answers)
        saved = session.api("PUT", session.url(f"api/contents/{NOTEBOOK}"),
                            {"type": "notebook", "format": "json", "content": json.loads(nbformat.writes(notebook))})
        assert saved["status"] == 200, saved
        assert nbformat.read(fetched, as_version=4).cells == notebook.cells

    # 5. Each validates in the Assignments list: student1's notebook passes, student2's names the failing tests.
    for who, session in students.items():
        session.driver.get(session.url("lab"))
        open_assignment_list(session)
        row = assignment_row(session, "fetched_assignments_list")
        row.find_element("css selector", "a").click()  # unfold the assignment: its notebooks and their Validate
        validate = button_in(session.driver.find_element("id", "fetched_assignments_list"), "Validate")
        validate.click()
        dialog = wait_for(lambda: session.driver.find_element("css selector", ".jp-Dialog"), 180,
                          message="the validation dialog")
        text = wait_for(lambda: dialog.text if ("Success" in dialog.text or "failed" in dialog.text) else None, 180,
                        message="the validation's verdict")
        if who == "student1":
            assert "Success! Your notebook passes all the tests." in text, text
        else:
            assert "The following cell failed:" in text or "cells failed" in text, text
            assert "Exercise 2" in text, text
        session.shot(5, "validated")
        session.driver.find_element("css selector", ".jp-Dialog .jp-Dialog-footer button").click()

        # 6. ... and submits there.
        row = assignment_row(session, "fetched_assignments_list")
        button_in(row, "Submit").click()
        assignment_row(session, "submitted_assignments_list")
        session.shot(6, "submitted")
    inbound = sorted(os.listdir(exchange_course / "inbound"))
    assert [entry.split("+")[0] for entry in inbound] == sorted(names[s] for s in students), inbound

    # 7. The instructor collects in the formgrader: the submissions land in the course's submitted/.
    message = formgrader_action(instructor, "cloud-download", 7, "collected")
    assert "Successfully collected submissions of 'hw3'." in message, message
    for who in students:
        assert (course_dir / "submitted" / names[who] / NOTEBOOK).exists()

    # 8. The instructor grades with the kit (sandboxed) and writes the report, in a JupyterLab terminal.
    open_terminal(instructor)
    report = course_dir / "report.html"
    status, text = run_in_terminal(instructor, f"python -m coursekit grade --course ~/{course_dir.name} --jobs 2 --quiet && "
                                               f"python -m coursekit report --course ~/{course_dir.name}", timeout=600)
    assert status == 0 and report.exists(), text
    time.sleep(1)
    instructor.shot(8, "graded-in-terminal")
    for who in students:
        score, _, _ = grades_in_gradebook(course_dir, names[who])
        assert score == AUTOGRADED[who], (who, score, text)
    assert names["student1"] in report.read_text()

    # 9. The instructor grades the written answers in the formgrader.
    from selenium.webdriver.common.keys import Keys
    driver = instructor.driver
    for who in students:
        driver.get(instructor.url("formgrader/gradebook/hw3/hw3"))
        wait_for(lambda: "Submission #" in driver.find_element("id", "main-table").text, 60, message="the submissions")
        [show] = [b for b in driver.find_elements("css selector", "button, a") if b.text.strip() == "Show All Names"]
        show.click()
        link = wait_for(lambda: [a for a in driver.find_elements("css selector", "#main-table a")
                                 if a.text.strip() == names[who]][0], 10, message=f"{who}'s submission")
        link.click()
        score_box = wait_for(lambda: driver.find_element("id", WRITTEN), 60, message="the grading page")
        points, comment = WRITTEN_GRADES[who]
        browser.click_when_clear(driver, score_box)
        score_box.send_keys(Keys.CONTROL, "a")
        score_box.send_keys(str(points))
        comment_box = driver.find_element("id", f"{WRITTEN}-comment")
        browser.click_when_clear(driver, comment_box)  # leaving the score box saves it
        comment_box.send_keys(comment)
        score_box.find_element("xpath", "./ancestor::div[contains(@class, 'nbgrader_cell')]") \
            .find_element("css selector", ".panel-body").click()  # leaving the comment box saves it
        wait_for(lambda: grades_in_gradebook(course_dir, names[who])[1:] == (points, comment), 30,
                 message=f"{who}'s written grade in the gradebook")
        browser.scroll_to(driver, score_box)
        instructor.shot(9, f"written-answer-graded-{who}")

    # 10. ... generates the feedback and releases it, in the formgrader.
    message = formgrader_action(instructor, "comment", 10, "feedback-generated")
    assert "Successfully generated feedback of 'hw3'." in message, message
    message = formgrader_action(instructor, "envelope", 10, "feedback-released")
    assert "Successfully released feedback of 'hw3'." in message, message
    for who in students:
        page = (course_dir / "feedback" / names[who] / "hw3" / "hw3.html").read_text()
        assert "hw3_checks" not in page and "BEGIN HIDDEN" not in page  # no hidden tests in the feedback

    # 11. Each student fetches their feedback and reads their own score and messages.
    totals = {who: AUTOGRADED[who] + WRITTEN_GRADES[who][0] for who in students}
    for who, session in students.items():
        session.driver.get(session.url("lab"))
        open_assignment_list(session)
        row = assignment_row(session, "submitted_assignments_list")
        button_in(row, "Fetch Feedback").click()
        wait_for(lambda: "view feedback" in assignment_row(session, "submitted_assignments_list").text, 60,
                 message="the feedback link")
        session.shot(11, "feedback-fetched")
        [page] = (session.home / "hw3" / "feedback").glob("*/hw3.html")
        assert page.stat().st_uid == account(session.user).pw_uid
        relative = page.relative_to(session.home)
        session.driver.get(session.url(f"files/{urllib.parse.quote(str(relative))}"))
        body = wait_for(lambda: session.driver.find_element("tag name", "body").text, 30, message="the feedback page")
        assert f"{totals[who]:g}" in body and "100" in body, body[:500]
        assert WRITTEN_GRADES[who][1] in body  # the instructor's comment
        other = "student2" if who == "student1" else "student1"
        assert WRITTEN_GRADES[other][1] not in body
        if who == "student2":
            assert "Exercise 2" in body  # the failing test's message
        session.shot(11, "feedback-read")

    # 12. Isolation: over HTTP, from each student's own logged-in browser ...
    for who, session in students.items():
        other = "student2" if who == "student1" else "student1"
        session.driver.get(session.url("lab"))  # back in the student's JupyterLab page and its session
        wait_for(lambda: session.driver.find_elements("css selector", ".lm-MenuBar-item"), 60, message="JupyterLab")
        for target in (f"user/{names[other]}/api/contents/hw3", f"user/{names[other]}/files/{NOTEBOOK}",
                       f"user/{names['instructor']}/api/contents/{course_dir.name}/source/hw3",
                       f"user/{names['instructor']}/formgrader/api/assignments"):
            answer = session.api("GET", running.url + target)
            assert answer["status"] in (403, 404), (who, target, answer["status"], answer["text"][:200])
            assert "hw3.ipynb" not in answer["text"] and "BEGIN SOLUTION" not in answer["text"]
        own_formgrader = session.api("GET", session.url("formgrader/api/assignments"))
        assert own_formgrader["status"] == 404, own_formgrader  # no formgrader in a student's server
        session.driver.get(running.user_url(names[other], "lab"))
        wait_for(lambda: "403" in session.driver.find_element("tag name", "body").text, 30,
                 message=f"the hub's 403 for {who} at {other}'s server")
        session.shot(12, f"403-at-{other}")
    # ... and on disk, with each student's own uid.
    for who in students:
        other = "student2" if who == "student1" else "student1"
        me, them = names[who], names[other]
        assert can(layout, me, "read", layout.home(me) / NOTEBOOK) == "yes"  # (the check itself works)
        assert can(layout, me, "read", exchange_course / "outbound" / NOTEBOOK) == "yes"
        assert can(layout, me, "list", layout.home(them)) == "PermissionError"
        assert can(layout, me, "read", layout.home(them) / NOTEBOOK) == "PermissionError"
        assert can(layout, me, "list", exchange_course / "inbound") == "PermissionError"
        assert can(layout, me, "list", exchange_course / "feedback") == "PermissionError"
        for secret in ("source/hw3/hw3.ipynb", "grader/hw3/hw3_checks.py", f"submitted/{them}/{NOTEBOOK}",
                       f"feedback/{them}/hw3/hw3.html", "gradebook.db"):
            assert can(layout, me, "read", course_dir / secret) == "PermissionError", secret

    # 13. A second assignment of the same course through the same exchange, from the command line (nbgrader's and
    #     the kit's, each run with the account's own uid): the instructor adds warmup (two notebooks, an AUTOTEST
    #     cell) and releases it; student1 fetches it, answers and submits; the instructor collects, grades and
    #     releases feedback; student1 fetches the feedback. Homework 3's grades stay as they were.
    instructor_entry, student_entry = account(names["instructor"]), account(names["student1"])
    give_files(instructor_entry, course_dir, {
        f"source/{warmup.ASSIGNMENT}/{name}": nbformat.writes(make()).encode()
        for name, make in (("numbers.ipynb", warmup.numbers), ("words.ipynb", warmup.words))})
    give_files(instructor_entry, course_dir, {"autotests.yml": warmup.AUTOTESTS_YML.encode()})
    run_as(layout, names["instructor"], course_dir, "-m", "coursekit", "release", warmup.ASSIGNMENT)
    run_as(layout, names["instructor"], course_dir, "-m", "nbgrader", "release_assignment", warmup.ASSIGNMENT)
    student_home = layout.home(names["student1"])
    run_as(layout, names["student1"], student_home, "-m", "nbgrader", "fetch_assignment", warmup.ASSIGNMENT)
    answered = warmup.submission(course_dir / "release" / warmup.ASSIGNMENT, warmup.STUDENTS["ann"])
    give_files(student_entry, student_home / warmup.ASSIGNMENT,
               {name: nbformat.writes(notebook).encode() for name, notebook in answered.items()})
    run_as(layout, names["student1"], student_home, "-m", "nbgrader", "submit", warmup.ASSIGNMENT)
    run_as(layout, names["instructor"], course_dir, "-m", "nbgrader", "collect", warmup.ASSIGNMENT)
    run_as(layout, names["instructor"], course_dir, "-m", "coursekit", "grade", warmup.ASSIGNMENT, "--quiet")
    run_as(layout, names["instructor"], course_dir, "-m", "coursekit", "feedback", warmup.ASSIGNMENT)
    run_as(layout, names["instructor"], course_dir, "-m", "nbgrader", "release_feedback", warmup.ASSIGNMENT)
    run_as(layout, names["student1"], student_home, "-m", "nbgrader", "fetch_feedback", warmup.ASSIGNMENT)
    pages = {page.name: page for page in (student_home / warmup.ASSIGNMENT / "feedback").glob("*/*.html")}
    assert set(pages) == {"numbers.html", "words.html"}, pages
    assert all(page.stat().st_uid == student_entry.pw_uid for page in pages.values())
    assert "BEGIN HIDDEN" not in pages["numbers.html"].read_text()
    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{course_dir / 'gradebook.db'}") as gradebook:
        assert gradebook.find_submission(warmup.ASSIGNMENT, names["student1"]).score == \
            sum(warmup.EXPECTED["ann"].values())
        assert gradebook.find_submission("hw3", names["student1"]).score == AUTOGRADED["student1"] + \
            WRITTEN_GRADES["student1"][0]
    status = run_as(layout, names["instructor"], course_dir, "-m", "coursekit", "status")
    assert "hw3" in status and warmup.ASSIGNMENT in status, status
    print(f"the course cycle on JupyterHub: {time.perf_counter() - started:.0f} s")


@pytest.mark.parametrize("hub", [{"serve": True}], indirect=True)
def test_the_hub_grades_each_submission_and_releases_its_feedback_by_itself(hub):
    """`make hub` runs `coursekit serve` as a service of the hub, as the instructor: a student submits from their
    account through the exchange, and their feedback comes back with their score, with nobody doing anything."""
    running, _, _ = hub
    layout = running.layout
    instructor, student = layout.instructor, layout.students[0]
    course_dir, home = layout.course_dir, layout.home(student)
    run_as(layout, instructor, course_dir, "-m", "coursekit", "release", "hw3")
    run_as(layout, instructor, course_dir, "-m", "nbgrader", "release_assignment", "hw3")
    run_as(layout, student, home, "-m", "nbgrader", "fetch_assignment", "hw3")
    release, source = load_course_notebooks(course_dir)
    notebook = build_submission(release, source, SAMPLE_STUDENTS["sample-typical-mistakes"])
    give_files(account(student), home, {NOTEBOOK: nbformat.writes(notebook).encode()})
    run_as(layout, student, home, "-m", "nbgrader", "submit", "hw3")
    submitted = time.monotonic()

    def fetched():
        run_as(layout, student, home, "-m", "nbgrader", "fetch_feedback", "hw3")
        return list((home / "hw3" / "feedback").glob("*/hw3.html"))

    pages = wait_for(fetched, 180, message="the feedback released by the hub's grade-on-submit service")
    print(f"submit to feedback fetched on the hub: {time.monotonic() - submitted:.1f} s")
    text = " ".join(re.sub(r"<[^>]+>", " ", pages[0].read_text()).split())
    assert f"Score: {AUTOGRADED['student2']:.1f}" in text, text[:500]
    assert pages[0].stat().st_uid == account(student).pw_uid
    ledger = json.loads((course_dir / ".coursekit-served.json").read_text())
    assert [entry["student"] for entry in ledger.values()] == [student]
    assert (course_dir / ".coursekit-served.json").stat().st_uid == account(instructor).pw_uid  # run as the instructor


def submitted_rows(session):
    """The texts of the hw3 submissions in the Assignments list's Submitted panel (unfolded), newest last."""
    driver = session.driver
    row = assignment_row(session, "submitted_assignments_list")
    if not [r for r in driver.find_elements("css selector", "#submitted_assignments_list .nested_list_item")
            if r.is_displayed()]:
        row.find_element("css selector", "a").click()  # unfold: one line per submission
        time.sleep(0.5)
    return [r.text for r in driver.find_elements("css selector", "#submitted_assignments_list .nested_list_item")
            if r.is_displayed()]


def submit_and_see_feedback(session, notebook, attempt):
    """Save ``notebook`` as the student's hw3 (their server's contents API), press Submit and wait, with nobody
    else doing anything, for the feedback of that attempt: Fetch Feedback, then open the page. Returns the page's
    text and the seconds from Submit to the page."""
    driver = session.driver
    driver.get(session.url("lab"))  # (the feedback page before is served sandboxed: no cookie, no API from there)
    open_assignment_list(session)
    saved = session.api("PUT", session.url(f"api/contents/{NOTEBOOK}"),
                        {"type": "notebook", "format": "json", "content": json.loads(nbformat.writes(notebook))})
    assert saved["status"] == 200, saved
    button_in(assignment_row(session, "fetched_assignments_list"), "Submit").click()
    pressed = time.monotonic()
    wait_for(lambda: len(submitted_rows(session)) == attempt, 60, interval=1, message=f"submission {attempt} listed")

    def feedback_ready():
        refresh_assignments(session)
        rows = submitted_rows(session)
        return rows if len(rows) == attempt and "feedback available to fetch" in rows[-1] else None

    wait_for(feedback_ready, 180, interval=1, message=f"the feedback of attempt {attempt}, released by the hub")
    session.shot(20 + attempt, f"attempt-{attempt}-feedback-available")
    button_in(assignment_row(session, "submitted_assignments_list"), "Fetch Feedback").click()
    wait_for(lambda: "view feedback" in (submitted_rows(session) or [""])[-1], 60, interval=1,
             message=f"the feedback of attempt {attempt} fetched")
    pages = sorted((session.home / "hw3" / "feedback").glob("*/hw3.html"))
    assert len(pages) == attempt, pages
    driver.get(session.url(f"files/hw3/feedback/{urllib.parse.quote(pages[-1].parent.name)}/hw3.html"))
    body = wait_for(lambda: driver.find_element("tag name", "body").text, 60, message="the feedback page")
    seconds = time.monotonic() - pressed
    session.shot(20 + attempt, f"attempt-{attempt}-feedback-page")
    return " ".join(body.split()), seconds


@pytest.mark.parametrize("hub", [{"serve": True, "settings": ["c.GradeOnSubmit.attempts = 2"]}], indirect=True)
def test_a_student_corrects_a_mistake_from_the_feedback_and_a_third_attempt_is_refused(hub):
    """In the browser, on the hub that grades on submit (2 attempts allowed): a student submits a notebook with
    mistakes and sees its feedback and score; fixes it, submits again and sees the new score; a third submission
    is refused with a page that says why. The instructor's status shows both attempts and the one that counts."""
    running, sessions, profiles = hub
    layout = running.layout
    instructor, student = layout.instructor, layout.students[0]
    run_as(layout, instructor, layout.course_dir, "-m", "coursekit", "release", "hw3")
    run_as(layout, instructor, layout.course_dir, "-m", "nbgrader", "release_assignment", "hw3")
    session = Session(running, "student", student, profiles / "student")
    sessions.append(session)
    session.log_in()
    open_assignment_list(session)
    button_in(assignment_row(session, "released_assignments_list"), "Fetch").click()
    assignment_row(session, "fetched_assignments_list")
    release, source = load_course_notebooks(layout.course_dir)
    seconds = []
    for attempt, sample in enumerate(("sample-typical-mistakes", "sample-full-marks"), start=1):
        text, took = submit_and_see_feedback(session, build_submission(release, source, SAMPLE_STUDENTS[sample]),
                                             attempt)
        seconds.append(took)
        assert f"Score: {EXPECTED_TOTALS[sample]:.1f}" in text, text[:600]
    text, took = submit_and_see_feedback(session, build_submission(release, source, SAMPLE_STUDENTS["sample-blank"]),
                                         3)
    seconds.append(took)
    assert "this submission was not graded" in text and "you have used your 2 attempts at hw3" in text, text[:600]
    print("Submit to feedback page in the browser, per attempt (s): " + ", ".join(f"{s:.1f}" for s in seconds))
    status = run_as(layout, instructor, layout.course_dir, "-m", "coursekit", "status", "hw3")
    assert re.search(rf"^{re.escape(student)}\s+pending\s+95\s+no due date\s+2, 1 not graded\s", status, re.M), status


def run_as(layout, user, cwd, *arguments):
    """``python ARGUMENTS`` of the users' environment, with ``user``'s uid, groups, home and nbgrader settings (its
    ~/.jupyter), in ``cwd``; returns its output, or fails the test with it."""
    entry = account(user)
    done = subprocess.run([str(layout.env_dir / "bin" / "python"), *arguments], user=entry.pw_uid, group=entry.pw_gid,
                          extra_groups=[], cwd=cwd, capture_output=True, text=True, timeout=600,
                          env={"PATH": f"{layout.env_dir / 'bin'}:/usr/bin:/bin", "HOME": entry.pw_dir})
    assert done.returncode == 0, (arguments, done.stdout[-3000:], done.stderr[-3000:])
    return done.stdout + done.stderr


def listening_sockets(uids):
    """(address, port) of the TCP sockets in LISTEN state owned by ``uids`` (from /proc/net/tcp and tcp6)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as handle:
            for line in list(handle)[1:]:
                fields = line.split()
                address, hex_port = fields[1].split(":")
                if fields[3] == "0A" and int(fields[7]) in uids:
                    if len(address) == 8:
                        address = ".".join(str(b) for b in reversed(bytes.fromhex(address)))
                    found.add((address, int(hex_port, 16)))
    return found
