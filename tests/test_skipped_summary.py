"""The suite's own report (tests/conftest.py): tests that did not run are named, with the reason, at the very
end of the output. The browser tests are made to skip by naming a Chromium that does not exist."""
import os
import subprocess
import sys

from conftest import REPO


def run_pytest(*args, **env):
    done = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *args], cwd=REPO,
                          env=dict(os.environ, **env), capture_output=True, text=True, timeout=300)
    return done.returncode, done.stdout.splitlines()


def test_tests_that_did_not_run_are_listed_last_with_the_reason():
    code, lines = run_pytest("tests/test_browser.py", HW3_CHROMIUM="/nonexistent/chromium")
    assert code == 0, "\n".join(lines)
    stats = max(i for i, line in enumerate(lines) if "skipped in" in line)  # "3 skipped in 0.5s"
    banner = lines[stats + 1:]
    assert "3 TEST(S) DID NOT RUN" in banner[0] and "did not test everything" in banner[-1], banner
    names = [line.split("not run: ")[1] for line in banner if "not run: " in line]
    assert names == [f"tests/test_browser.py::{name}" for name in (
        "test_student_partial_notebook_in_jupyterlab", "test_student_full_solution_plot_and_validate_in_jupyterlab",
        "test_instructor_grades_the_written_answer_in_the_formgrader")]
    [reason] = [line for line in banner if "because: " in line]
    assert "/nonexistent/chromium missing" in reason and "apt-get install chromium chromium-driver" in reason


def test_a_run_that_skips_nothing_has_no_such_list():
    code, lines = run_pytest("tests/test_notebooks.py::test_grade_cells_are_numbered_by_exercise_and_total_100")
    assert code == 0, "\n".join(lines)
    assert any("1 passed" in line for line in lines) and not [line for line in lines if "DID NOT RUN" in line]
