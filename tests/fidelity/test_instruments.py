"""The fidelity instruments themselves, without grading: the configurations they write and what they read
from nbgrader's logs (seconds)."""
import pytest

import harness
import nbgrader_suite

pytestmark = pytest.mark.fidelity


def test_the_kit_configuration_is_the_repositorys():
    """The kit's course config wires the engine as the repository's nbgrader_config.py does."""
    autograde, sections = harness.kit_wiring()
    text = harness.kit_config_lines()
    names = [getattr(item, "__name__", str(item)) for item in autograde["autograde_preprocessors"]]
    assert "GradeInSandbox" in names and "Execute" not in names
    assert "from isograde.preprocessor import" in text
    assert "c.Autograde.autograde_preprocessors = [" + ", ".join(names) + "]" in text
    for section, options in sections.items():
        for key in options:
            if section == "GradeInSandbox" and key in harness.COURSE_TIME_LIMITS:
                assert f"c.{section}.{key} = " not in text  # both configurations use Execute.timeout
            else:
                assert f"c.{section}.{key} = " in text


def test_both_configurations_share_the_overwrite_cells_policy():
    stock = harness.course_config("stock", harness.Course("c", "a", make=None))
    kit = harness.course_config("kit", harness.Course("c", "a", make=None))
    policy = harness.overwrite_cells_lines()
    assert "add_missing_cells" in policy
    for line in policy.splitlines():  # each policy line in both (the kit's other settings may come between)
        assert line in stock.splitlines() and line in kit.splitlines(), line
    assert "GradeInSandbox" not in stock and "GradeInSandbox" in kit


def test_the_swap_replaces_execute_and_keeps_the_rest_of_nbgraders_list():
    from nbgrader.converters.autograde import Autograde
    text = nbgrader_suite.swap_config_lines()
    line = next(line for line in text.splitlines() if line.startswith("c.Autograde.autograde_preprocessors"))
    defaults = [item.__name__ for item in Autograde.class_traits()["autograde_preprocessors"].default()]
    assert line == "c.Autograde.autograde_preprocessors = [" + ", ".join(
        "GradeInSandbox" if name == "Execute" else name for name in defaults) + "]"


LOG = """\
[AutogradeApp | INFO] Autograding /c/autograded/ann/ps1/p1.ipynb
[AutogradeApp | ERROR] There was an error processing assignment: /c/submitted/ann/ps1
[AutogradeApp | ERROR] Traceback (most recent call last):
      File "/x/isograde/assignment.py", line 151, in _run_reference
        exec(compile(code))
      File "<master cell set_a>", line 2, in <module>
    NotImplementedError
    
[AutogradeApp | WARNING] Removing failed assignment: /c/autograded/ann/ps1
[AutogradeApp | INFO] Creating/updating student with ID 'bob': {}
"""


def test_reasons_of_failed_submissions_are_read_from_nbgraders_log():
    assert harness.failure_reasons(LOG) == {"ann": "NotImplementedError"}
    assert nbgrader_suite.nbgrader_failure(LOG) == "NotImplementedError (at <master cell set_a>:2 in <module>)"


def test_a_difference_is_found_and_shown():
    comparison = harness.Comparison("c", "a", {("ann", "p1", "t1"): (1.0, 0.0, 1.0), ("ann", "p1", "t2"): (0.5, 0.5, 0.5)},
                                    {"stock": 1, "kit": 1, "total": 2}, {}, {}, {"stock": set(), "kit": set()},
                                    {"kit": {("ann", "p1", "t1"): "AssertionError: no"}}, {})
    assert list(comparison.differing()) == [("ann", "p1", "t1")]
    table = comparison.table()
    assert "2 cells compared" in table and "1 agree, 1 differ" in table
    assert "ann / p1 / t1" in table and "kit: AssertionError: no" in table
