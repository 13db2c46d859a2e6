"""The master notebook, the release and their agreement (issue: the course kit end to end)."""
import html
import json
import re
from pathlib import Path

import nbformat
import pytest

from conftest import execute_notebook, stdout_of
from coursekit.submissions import grade_id

SEED_BLOCKS = json.loads((Path(__file__).parent / "fixtures" / "seed_outputs.json").read_text())["blocks"]


def cells_of(notebook, kind):
    return [c for c in notebook.cells if c.get("metadata", {}).get("nbgrader", {}).get(kind)]


@pytest.fixture(scope="module")
def executed_master(repo, tmp_path_factory):
    folder = tmp_path_factory.mktemp("master")
    for item in (repo / "source" / "hw3").iterdir():
        if item.is_file():
            (folder / item.name).write_bytes(item.read_bytes())
    # the hidden regions import the grader's checks from grader/hw3 (isograde.hidden finds it by this name
    # when the notebook runs outside the course folder)
    return execute_notebook(folder / "hw3.ipynb", env={"HOME": str(folder),
                                                       "ISOGRADE_GRADER_FOLDER": str(repo / "grader" / "hw3")},
                            every_cell=True)


def test_master_notebook_runs_without_errors(executed_master):
    errors = [(grade_id(c), o.ename, o.evalue) for c in executed_master.cells if c.cell_type == "code"
              for o in c.outputs if o.output_type == "error"]
    assert errors == []


def test_master_notebook_prints_the_seed_numbers_digit_for_digit(executed_master):
    printed = "".join(stdout_of(c) for c in executed_master.cells if c.cell_type == "code")
    position = 0
    for block in SEED_BLOCKS:
        found = printed.find(block, position)
        assert found >= 0, f"not printed (in this order): {block!r}"
        position = found + len(block)
    assert len(SEED_BLOCKS) == 42


def test_master_notebook_public_tests_pass_and_the_comparison_reports_accuracy(executed_master):
    printed = "".join(stdout_of(c) for c in executed_master.cells if c.cell_type == "code")
    assert printed.count("all public tests passed") == 13
    for name in ("Gradient Descent", "Momentum", "RMSProp", "Adam"):
        assert f"Training with {name} ..." in printed
    accuracies = [float(a) for a in re.findall(r"test accuracy (\d+\.\d+)%", printed)]
    assert len(accuracies) == 4 and min(accuracies) > 95
    assert any(o.output_type == "display_data" and "image/png" in o.data
               for c in executed_master.cells for o in c.get("outputs", []))


def test_grade_cells_are_numbered_by_exercise_and_total_100(repo):
    source = nbformat.read(repo / "source" / "hw3" / "hw3.ipynb", as_version=4)
    grades = {grade_id(c): c.metadata.nbgrader["points"] for c in cells_of(source, "grade")}
    assert sum(grades.values()) == 100
    automatic = {g: p for g, p in grades.items() if g != "written-optimizer-comparison"}
    assert sum(automatic.values()) == 95 and grades["written-optimizer-comparison"] == 5
    assert sorted({g[:4] for g in automatic}) == [f"ex{n:02d}" for n in range(1, 12)]
    assert all(re.fullmatch(r"ex\d\d-[a-z0-9-]+", g) for g in automatic)
    assert len([c for c in cells_of(source, "solution") if c.cell_type == "code"]) == 11
    written = next(c for c in source.cells if grade_id(c) == "written-optimizer-comparison")
    assert written.cell_type == "markdown" and written.metadata.nbgrader["solution"]


def test_the_written_question_defines_fastest_and_names_the_learning_rates(repo):
    source = nbformat.read(repo / "source" / "hw3" / "hw3.ipynb", as_version=4)
    question = next(c for c in source.cells if grade_id(c) == "written-question-text")
    asked, _, rubric = question.source.partition("### BEGIN MARK SCHEME")
    assert "first to fall below 0.01" in asked and "lowest training loss at the last iteration" in asked
    comparison = next(c for c in source.cells if grade_id(c) == "given-comparison").source
    rates = re.findall(r'"(Gradient Descent|Momentum|RMSProp|Adam)": lambda net: \w+\(net, learning_rate=([\d.]+)',
                       comparison)
    assert [rate for _, rate in rates] == ["0.1", "0.5", "0.001", "0.001"]
    assert "0.1 for gradient descent, 0.5 for momentum, 0.001 for RMSProp and 0.001 for Adam" in asked
    assert "first below 0.01 at iteration" in comparison  # the number part 1 asks for is printed
    assert "### END MARK SCHEME" in rubric and re.findall(r"\*\*(\d) points?, ", rubric) == ["1", "2", "1", "1"]
    text = "".join(c.source for c in source.cells if c.cell_type == "markdown")
    assert "every optimizer converges" not in text and "oscillates" in text and "HW3_FULL_COMPARISON" not in text


def test_L_is_the_number_of_layers_with_weights_everywhere(repo):
    source = nbformat.read(repo / "source" / "hw3" / "hw3.ipynb", as_version=4)
    code = "\n".join(c.source for c in source.cells if c.cell_type == "code")
    assert sorted(set(re.findall(r"^\s*L = (.*?)\s*(?:#.*)?$", code, re.M))) == \
        ["len(layer_dims) - 1", "len(parameters) // 2"]
    assert "range(1, L)" not in code and code.count("range(1, L + 1)") >= 3


def test_release_holds_no_solution_and_no_hidden_test(repo):
    source = nbformat.read(repo / "source" / "hw3" / "hw3.ipynb", as_version=4)
    release = nbformat.read(repo / "release" / "hw3" / "hw3.ipynb", as_version=4)
    text = nbformat.writes(release)
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "hw3_checks", "isograde", "coursekit",
                   "MARK SCHEME", "Rubric"):
        assert marker not in text
    solution_lines = {line.strip() for c in cells_of(source, "solution")
                      for region in re.findall(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", c.source, re.S)
                      for line in region.splitlines() if line.strip()}
    release_lines = {line.strip() for c in release.cells for line in c.source.splitlines()}
    assert solution_lines and not solution_lines & release_lines
    answers = [c for c in cells_of(release, "solution") if c.cell_type == "code"]
    assert len(answers) == 11
    written = next(c for c in release.cells if grade_id(c) == "written-optimizer-comparison")
    assert written.source == "YOUR ANSWER HERE"
    for cell in answers:
        stubs = cell.source.count("raise NotImplementedError()")
        expected = 2 if grade_id(cell) in ("ex02-answer", "ex06-answer") else 1
        assert stubs == expected, grade_id(cell)
    assert sorted(p.name for p in (repo / "release" / "hw3").iterdir() if p.name != "__pycache__") == \
        ["checklib.py", "hw3.ipynb", "mnist_loader.py", "public_tests.py"]


def test_release_runs_to_the_end_and_every_test_asks_for_the_missing_code(repo, tmp_path):
    for item in (repo / "release" / "hw3").iterdir():
        if item.is_file():
            (tmp_path / item.name).write_bytes(item.read_bytes())
    executed = execute_notebook(tmp_path / "hw3.ipynb", env={"HOME": str(tmp_path)}, every_cell=True)
    code_cells = [c for c in executed.cells if c.cell_type == "code"]
    assert all(c.execution_count is not None for c in code_cells)
    errors = [o for c in code_cells for o in c.outputs if o.output_type == "error"]
    assert not [o for o in errors if o.ename in ("SyntaxError", "IndentationError")]
    for cell in (c for c in cells_of(executed, "solution") if c.cell_type == "code"):
        assert not [o for o in cell.outputs if o.output_type == "error"], grade_id(cell)
    for cell in (c for c in cells_of(executed, "grade") if c.cell_type == "code"):
        messages = [o.evalue for o in cell.outputs if o.output_type == "error"]
        assert len(messages) == 1 and "NotImplementedError" in messages[0], (grade_id(cell), messages)


def test_release_is_in_sync_with_source(repo, graded_class):
    course, _, _ = graded_class  # its release/ was generated anew from source/
    for name in ("checklib.py", "hw3.ipynb", "mnist_loader.py", "public_tests.py"):
        fresh = (course / "release" / "hw3" / name).read_text()
        committed = (repo / "release" / "hw3" / name).read_text()
        assert fresh == committed, f"release/hw3/{name} is out of date: run `nbgrader generate_assignment hw3 --force`"


# --- What a student reads when a public test fails -------------------------------------------------------

ANSI = re.compile(r"\x1b\[[0-9;]*m")
# Two wrong answers: Exercise 3 passes a wrong Z to the activation (a stand-in's failure, raised through
# the student's code), Exercise 5 takes a mean for db (a wrong value); Exercise 9 is left as released.
WRONG_ANSWERS = {"ex03-answer": [("Z = W @ A_prev + b", "Z = W @ A_prev.T + b")],
                 "ex05-answer": [("db = np.sum(dZ, axis=1, keepdims=True)", "db = np.mean(dZ, axis=1, keepdims=True)")]}
FAILING = ("ex03-layer", "ex05-back-propagation", "ex09-momentum")


@pytest.fixture(scope="module")
def wrong_release(repo, tmp_path_factory):
    """The release with every exercise solved but two wrong and one left as released, executed as
    JupyterLab's Run All does (the MNIST cells aside); returns (notebook path, executed notebook)."""
    from coursekit.submissions import SOLUTION, build_submission, solved_answers
    folder = tmp_path_factory.mktemp("wrong-release")
    for item in (repo / "release" / "hw3").iterdir():
        if item.is_file():
            (folder / item.name).write_bytes(item.read_bytes())
    release = nbformat.read(folder / "hw3.ipynb", as_version=4)
    source = nbformat.read(repo / "source" / "hw3" / "hw3.ipynb", as_version=4)
    answers = {name: SOLUTION for name in solved_answers(source) if name.startswith("ex") and name != "ex09-answer"}
    nbformat.write(build_submission(release, source, {**answers, **WRONG_ANSWERS}), folder / "hw3.ipynb")
    return folder / "hw3.ipynb", execute_notebook(folder / "hw3.ipynb", env={"HOME": str(folder)})


def errors_of(notebook):
    """The error outputs of the test cells that failed, by grade id."""
    return {grade_id(c): [o for o in c.outputs if o.output_type == "error"] for c in cells_of(notebook, "grade")
            if c.cell_type == "code" and any(o.output_type == "error" for o in c.outputs)}


def test_a_failing_public_test_shows_its_message_hint_and_the_students_line_only(wrong_release):
    _, executed = wrong_release
    errors = errors_of(executed)
    assert sorted(errors) == sorted(FAILING)
    shown = {}
    for cell, outputs in errors.items():
        [error] = outputs
        shown[cell] = [ANSI.sub("", line) for line in "\n".join(error.traceback).splitlines()]
        assert not [line for line in shown[cell] if "public_tests" in line or "Traceback" in line
                    or line.lstrip().startswith(("File ", "Cell In", "---->"))], shown[cell]
        assert shown[cell][0].startswith(f"Exercise {int(cell[2:4])}: ") and error.evalue.splitlines() == \
            shown[cell][:len(error.evalue.splitlines())]
    assert shown["ex03-layer"][1].startswith("Hint: check what you pass to act")
    assert shown["ex03-layer"][2:] == ["Your code, in layer(), line 4: A = act(Z)"]
    assert "wrong values" in shown["ex05-back-propagation"][0]
    assert shown["ex05-back-propagation"][-1].startswith("Hint: db is a sum over the samples, not a mean")
    assert shown["ex09-momentum"] == ["Exercise 9: the first optimizer.step() raised NotImplementedError: "
                                      "replace the `raise NotImplementedError()` line with your code."]


def test_validate_shows_the_same_short_failures(wrong_release, tmp_path, monkeypatch):
    """nbgrader's Validate (what the Validate button of JupyterLab calls) executes the notebook itself and
    reports the error outputs it finds (HTML-escaped, for its dialog)."""
    from nbgrader.validator import Validator
    path, executed = wrong_release
    monkeypatch.setenv("HOME", str(tmp_path))
    failed = Validator().validate(str(path))["failed"]
    reported = {f["source"].splitlines()[2].partition("(")[0]: html.unescape(ANSI.sub("", f["error"])) for f in failed
                if f["source"].startswith("# Public tests")}
    assert sorted(reported) == ["test_back_propagation", "test_layer", "test_momentum"]
    notebook_errors = errors_of(executed)
    for cell, test in zip(FAILING, ("test_layer", "test_back_propagation", "test_momentum")):
        assert reported[test] == ANSI.sub("", "\n".join(notebook_errors[cell][0].traceback)), test
        assert "public_tests" not in reported[test]
