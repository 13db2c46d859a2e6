"""The student's and the instructor's day in JupyterLab, in a real headless Chromium (Debian's chromium and
chromedriver, driven by Selenium), on a temporary copy of the course started with ``coursekit.platforms.lab``.

Student: paste an answer, Run All, read the public tests' verdicts and the MNIST plot on the page, type the
written answer, press nbgrader's Validate. Instructor: grade the written answer in the formgrader and find
it in the gradebook and in the per-exercise export. Screenshots go to tests/artifacts/ (or $HW3_ARTIFACTS).
"""
import csv
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request

import nbformat
import pytest

import browser
from browser import (cell_output_text, editor_text, notebook_cells, open_notebook, paste_into_cell,
                     run_menu_command, screenshot, scroll_to, wait_for)
from coursekit.platforms.lab import formgrader_assignments, start_lab, stop_lab
from coursekit.submissions import SOLUTION, build_submission, grade_id, load_course_notebooks, solved_answers

pytestmark = pytest.mark.skipif(browser.missing_browser() is not None, reason=str(browser.missing_browser()))
pytest.importorskip("selenium", reason="selenium is not installed: pip install -r requirements.txt")

from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402

NOTEBOOK = "release/hw3/hw3.ipynb"
PASSED = "Exercise {}: all public tests passed."
NOT_IMPLEMENTED = "raised NotImplementedError: replace the `raise NotImplementedError()` line with your code"
WRITTEN = "written-optimizer-comparison"
WRITTEN_ANSWER = ("RMSProp lowered the training loss fastest at first: it divides each coordinate of the "
                  "gradient by the root of its running mean square, so every weight moves at a similar pace.")
TEST_CELLS = {  # grade cell id: exercise number printed by its public test
    "ex01-initialize": 1, "ex02-relu-forward": 2, "ex02-relu-derivative": 2, "ex03-layer": 3,
    "ex04-forward-propagation": 4, "ex05-back-propagation": 5, "ex06-network-initialize": 6,
    "ex06-network-backward": 6, "ex07-gradient-descent-step": 7, "ex08-gradient-descent": 8,
    "ex09-momentum": 9, "ex10-rmsprop": 10, "ex11-adam": 11,
}


class Lab:
    """JupyterLab on a temporary course copy and a headless Chromium; both stopped by the fixture."""

    def __init__(self, tmp_path):
        self.tmp = tmp_path
        self.course = browser.copy_course(tmp_path / "course")
        self.process = self.url = self.driver = None
        self.log_path = tmp_path / "jupyterlab.log"

    def start(self):
        mnist = browser.write_mnist_file(self.tmp / "mnist.npz")
        settings = browser.lab_settings(self.tmp / "lab-settings")
        env = {
            "HW3_MNIST_PATH": str(mnist),  # MNIST from a local file: no TensorFlow import, no download
            # Jupyter's per-user folders in the temporary folder: no user configuration changes the test,
            # and the test writes nothing into the home folder.
            "JUPYTER_CONFIG_DIR": str(self.tmp / "jupyter-config"),
            "JUPYTER_DATA_DIR": str(self.tmp / "jupyter-data"),
            "JUPYTER_RUNTIME_DIR": str(self.tmp / "jupyter-runtime"),
            "MPLCONFIGDIR": str(self.tmp / "matplotlib"),
        }
        extra = [f"--LabApp.user_settings_dir={settings}", f"--LabApp.workspaces_dir={self.tmp / 'workspaces'}"]
        self.log_file = open(self.log_path, "w")
        self.process, self.url = start_lab(self.course, env=env, extra_args=extra, log_file=self.log_file)
        self.base, self.token = self.url.split("/lab?token=")
        self.driver = browser.new_browser(self.tmp / "chromium-profile")
        return self

    def stop(self):
        if self.driver is not None:
            self.driver.quit()
        if self.process is not None:
            stop_lab(self.process)
            self.log_file.close()


@pytest.fixture
def lab(tmp_path, request):
    session = Lab(tmp_path)
    failed_before = request.session.testsfailed
    (browser.ARTIFACTS / f"FAILED-{request.node.name}.png").unlink(missing_ok=True)
    yield session
    try:
        if request.session.testsfailed > failed_before and session.driver is not None:
            path = screenshot(session.driver, f"FAILED-{request.node.name}")
            print(f"page at the failure: {path}")
            if session.log_path.exists():
                print("JupyterLab log (end):\n" + session.log_path.read_text()[-4000:])
    finally:
        session.stop()  # JupyterLab's whole process group, even when the test failed


def cell_index(notebook_path):
    notebook = nbformat.read(notebook_path, as_version=4)
    return {grade_id(cell): i for i, cell in enumerate(notebook.cells) if grade_id(cell)}


def validate(lab):
    """Press nbgrader's Validate toolbar button; return the dialog's message element once it is shown."""
    driver = lab.driver
    button = driver.find_element("css selector", ".jp-NotebookPanel:not(.lm-mod-hidden) .validate-button")
    button.click()
    return wait_for(lambda: driver.find_element("css selector", ".jp-Dialog #validation-message"), 120,
                    message="the validation dialog")


def close_dialog(driver):
    driver.find_element("css selector", ".jp-Dialog .jp-Dialog-footer button").click()
    wait_for(lambda: not driver.find_elements("css selector", ".jp-Dialog"), 10, message="the dialog to close")


def run_all_and_wait(lab, until, timeout=180):
    run_menu_command(lab.driver, "Run", "Run All Cells")
    return wait_for(until, timeout, interval=0.5, message="Run All to finish")


def test_student_partial_notebook_in_jupyterlab(lab):
    """A student who pasted Exercise 1's answer: Run All shows Exercise 1 passing and stops at Exercise 2;
    Exercise 2's test cell says what to do; Validate lists the failing tests."""
    started = time.perf_counter()
    lab.start()
    assert "hw3" in formgrader_assignments(lab.url)  # the formgrader runs with the course's configuration
    # Loopback only, and nothing without the token.
    port = int(lab.base.rsplit(":", 1)[1])
    assert browser.listening_addresses(port) == {"127.0.0.1"}
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{lab.base}/api/contents/release/hw3", timeout=10)
    assert refused.value.code == 403
    driver = lab.driver
    index = cell_index(lab.course / NOTEBOOK)
    release, source = load_course_notebooks(lab.course)
    solution = solved_answers(source)["ex01-answer"]

    open_notebook(driver, lab.url, NOTEBOOK)
    assert driver.find_elements("css selector", ".validate-button"), "nbgrader's Validate button is missing"
    cells = notebook_cells(driver)
    paste_into_cell(driver, cells[index["ex01-answer"]], solution)
    wait_for(lambda: editor_text(driver, cells[index["ex01-answer"]]).strip() == solution.strip(), 10,
             message="the pasted answer in the cell")

    try_relu = cells[index["ex02-answer"] + 1]  # "Try ReLU": the first cell that calls Exercise 2's stub
    run_all_and_wait(lab, lambda: "NotImplementedError" in cell_output_text(try_relu))
    ex01_test = cells[index["ex01-initialize"]]
    assert cell_output_text(ex01_test).strip() == PASSED.format(1)
    scroll_to(driver, ex01_test)
    assert ex01_test.find_element("css selector", ".jp-OutputArea-output").is_displayed()
    screenshot(driver, "student-1-exercise1-passes")

    # Run All stopped at the first error; the student runs Exercise 2's test cell to see what is wrong.
    ex02_test = cells[index["ex02-relu-forward"]]
    scroll_to(driver, ex02_test)
    ex02_test.find_element("css selector", ".cm-content").click()
    ActionChains(driver).key_down(Keys.SHIFT).send_keys(Keys.ENTER).key_up(Keys.SHIFT).perform()
    message = wait_for(lambda: NOT_IMPLEMENTED in cell_output_text(ex02_test) and cell_output_text(ex02_test),
                       60, message="Exercise 2's failing test message")
    assert "Exercise 2: " in message
    assert "public_tests.py" not in message and "Traceback" not in message  # the message alone, no test frames
    assert browser.scroll_to_text(driver, ex02_test, NOT_IMPLEMENTED, block="end")
    screenshot(driver, "student-2-exercise2-fails-with-hint")

    result = validate(lab)
    assert "validation-failed" in result.get_attribute("class")
    text = result.text
    assert "The following cell failed:" in text and "Exercise 2: " in text and NOT_IMPLEMENTED in text
    assert not re.search(r"Exercise 1\b", text)  # the solved exercise passes validation
    assert "public_tests.py" not in text and "Traceback" not in text  # the cells and their messages only
    assert browser.scroll_to_text(driver, result, NOT_IMPLEMENTED, block="end")
    screenshot(driver, "student-3-validate-reports-failures")
    close_dialog(driver)

    saved = nbformat.read(lab.course / NOTEBOOK, as_version=4)  # Validate saved the notebook first
    assert saved.cells[index["ex01-answer"]].source.strip() == solution.strip()
    print(f"student, partial notebook: {time.perf_counter() - started:.0f} s")


def test_student_full_solution_plot_and_validate_in_jupyterlab(lab):
    """A student with every exercise solved types the written answer, runs all cells, sees every public
    test pass and the MNIST comparison plot, and Validate reports success."""
    started = time.perf_counter()
    release, source = load_course_notebooks(lab.course)
    answers = {name: SOLUTION for name in solved_answers(source) if name != WRITTEN}
    nbformat.write(build_submission(release, source, answers), lab.course / NOTEBOOK)
    index = cell_index(lab.course / NOTEBOOK)
    lab.start()
    driver = lab.driver
    open_notebook(driver, lab.url, NOTEBOOK)
    cells = notebook_cells(driver)

    # The written answer, typed on the keyboard into the markdown cell.
    written = cells[index[WRITTEN]]
    scroll_to(driver, written)
    ActionChains(driver).double_click(written.find_element("css selector", ".jp-MarkdownOutput")).perform()
    editor = wait_for(lambda: written.find_element("css selector", ".cm-content"), 10, message="the editor")
    editor.click()
    ActionChains(driver).key_down(Keys.CONTROL).send_keys("a").key_up(Keys.CONTROL).send_keys(WRITTEN_ANSWER) \
        .key_down(Keys.SHIFT).send_keys(Keys.ENTER).key_up(Keys.SHIFT).perform()
    wait_for(lambda: WRITTEN_ANSWER in written.find_element("css selector", ".jp-MarkdownOutput").text, 10,
             message="the rendered written answer")

    comparison = cells[index["given-comparison"]]
    run_all_and_wait(lab, lambda: comparison.find_elements("css selector", ".jp-OutputArea-output img")
                     and browser.kernel_idle(driver))
    for name, exercise in TEST_CELLS.items():
        assert re.fullmatch(rf"Exercise {exercise}( \(\w+\))?: all public tests passed\.",
                            cell_output_text(cells[index[name]]).strip()), name
    assert not driver.find_elements("css selector", '.jp-OutputArea-output[data-mime-type='
                                                    '"application/vnd.jupyter.stderr"]'), "a cell wrote an error"
    ex11_test = cells[index["ex11-adam"]]
    scroll_to(driver, ex11_test)
    screenshot(driver, "student-4-all-tests-pass")

    image = comparison.find_element("css selector", ".jp-OutputArea-output img")
    assert image.get_attribute("src").startswith("data:image/png")
    assert image.size["width"] > 400 and image.size["height"] > 200
    loaded = driver.execute_script("return arguments[0].complete && arguments[0].naturalWidth", image)
    assert loaded and loaded > 400, "the plot image did not load"
    assert "Training with Adam" in cell_output_text(comparison)
    scroll_to(driver, image)
    screenshot(driver, "student-5-mnist-comparison-plot")

    result = validate(lab)
    assert "validation-success" in result.get_attribute("class"), result.text
    assert result.text.strip() == "Success! Your notebook passes all the tests."
    screenshot(driver, "student-6-validate-success")
    close_dialog(driver)

    saved = nbformat.read(lab.course / NOTEBOOK, as_version=4)
    assert saved.cells[index[WRITTEN]].source.strip() == WRITTEN_ANSWER
    print(f"student, solved notebook: {time.perf_counter() - started:.0f} s")


def test_instructor_grades_the_written_answer_in_the_formgrader(lab):
    """After autograding the sample students, the instructor opens the formgrader, finds
    sample-full-marks' notebook, gives the written answer 4 points and a comment; the gradebook and the
    per-exercise export have them."""
    started = time.perf_counter()
    from homework3.demo import run_demo
    run_demo(str(lab.course), log=lambda message: None)
    graded = time.perf_counter()
    lab.start()
    driver = lab.driver

    def link(text, timeout=30):
        return wait_for(lambda: [a for a in driver.find_elements("css selector", "a")
                                 if a.text.strip() == text and a.is_displayed()][0], timeout,
                        message=f"the link {text!r}")

    driver.get(f"{lab.base}/formgrader?token={lab.token}")
    wait_for(lambda: "4" in [a.text for a in driver.find_elements("css selector", "a")], 30,
             message="hw3 and its 4 submissions in Manage Assignments")
    screenshot(driver, "instructor-1-formgrader-assignments")
    link("Manual Grading").click()
    link("hw3").click()
    link("hw3").click()  # the notebook
    wait_for(lambda: "Submission #" in driver.find_element("id", "main-table").text, 30, message="the submissions")
    [show] = [b for b in driver.find_elements("css selector", "button, a") if b.text.strip() == "Show All Names"]
    show.click()
    row = wait_for(lambda: [r for r in driver.find_elements("css selector", "#main-table tr")
                            if "sample-full-marks" in r.text][0], 10, message="sample-full-marks' row")
    assert "95 / 100" in row.text  # autograded, the written answer not graded yet
    screenshot(driver, "instructor-2-submissions-autograded")
    link("sample-full-marks").click()

    score = wait_for(lambda: driver.find_element("id", WRITTEN), 60, message="the grading page")
    assert "/formgrader/submissions/" in driver.current_url
    wait_for(lambda: driver.find_element("id", "ex01-initialize").get_attribute("placeholder") == "8", 20,
             message="Exercise 1's autograded score (8) on the page")
    assert driver.find_element("id", "ex11-adam").get_attribute("placeholder") == "11"
    assert "RMSProp and Adam brought the training loss down fastest" in driver.page_source
    assert "Rubric for the grader" in driver.page_source  # above the answer, for the grader only
    browser.click_when_clear(driver, score)  # the page may still be laying out its maths and images
    score.send_keys(Keys.CONTROL, "a")
    score.send_keys("4")
    comment_box = driver.find_element("id", f"{WRITTEN}-comment")
    browser.click_when_clear(driver, comment_box)  # leaving the score box saves it
    comment = "Right optimizer and a clear reason; say which one had the lowest test loss."
    comment_box.send_keys(comment)
    answer_panel = score.find_element("xpath", "./ancestor::div[contains(@class, 'nbgrader_cell')]")
    answer_panel.find_element("css selector", ".panel-body").click()  # leaving the comment box saves it

    from nbgrader.api import Gradebook
    db_url = f"sqlite:///{lab.course / 'gradebook.db'}"

    def stored():
        with Gradebook(db_url) as gradebook:
            grade = gradebook.find_grade(WRITTEN, "hw3", "hw3", "sample-full-marks")
            note = gradebook.find_comment(WRITTEN, "hw3", "hw3", "sample-full-marks")
            return (grade.manual_score, grade.needs_manual_grade, note.manual_comment)

    wait_for(lambda: stored() == (4, False, comment), 20, message="the grade and comment in the gradebook")
    scroll_to(driver, score)
    screenshot(driver, "instructor-3-written-answer-graded")

    driver.get(f"{lab.base}/formgrader/gradebook/hw3/hw3")  # the list's total now includes the manual grade
    wait_for(lambda: "Submission #" in driver.find_element("id", "main-table").text, 30, message="the submissions")
    [show] = [b for b in driver.find_elements("css selector", "button, a") if b.text.strip() == "Show All Names"]
    show.click()
    row = wait_for(lambda: [r for r in driver.find_elements("css selector", "#main-table tr")
                            if "sample-full-marks" in r.text][0], 10, message="sample-full-marks' row")
    assert "99 / 100" in row.text and "4 / 5" in row.text, row.text
    screenshot(driver, "instructor-4-total-with-written-grade")

    env = dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"])
    done = subprocess.run([sys.executable, "-m", "coursekit", "export", "hw3", "--course", str(lab.course)],
                          capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    with open(lab.course / "grades_by_exercise.csv", newline="") as handle:
        rows = {row["student_id"]: row for row in csv.DictReader(handle)}
    assert rows["sample-full-marks"]["written"] == "4"
    assert rows["sample-full-marks"]["total"] == "99"
    print(f"instructor: {graded - started:.0f} s autograding, {time.perf_counter() - graded:.0f} s in the browser")
