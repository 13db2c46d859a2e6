"""The kit's nbgrader preprocessors against nbgrader's own: the same gradebook rows from the same notebook."""
import copy
import os
import sys

import nbformat
import pytest
from nbgrader.api import Gradebook
from nbgrader.api import MissingEntry
from nbgrader.preprocessors import ComputeChecksums, GetGrades, SaveAutoGrades, SaveCells
from sqlalchemy import event
from sqlalchemy.orm import Session

from isograde.preprocessor import GetGradesAtOnce, SaveAutoGradesAtOnce

NB = nbformat.v4


def _meta(**fields):
    return {"nbgrader": {"schema_version": 3, "locked": False, "grade": False, "solution": False, **fields}}


def master():
    cells = [
        NB.new_markdown_cell("Answer the questions.", metadata=_meta(locked=True, grade_id="intro")),
        NB.new_code_cell("def squares(n):\n    ### BEGIN SOLUTION\n    return [i * i for i in range(1, n + 1)]\n"
                         "    ### END SOLUTION", metadata=_meta(solution=True, grade_id="squares")),
        NB.new_code_cell("assert squares(1) == [1]", metadata=_meta(grade=True, locked=True, grade_id="t-pass",
                                                                    points=2)),
        NB.new_code_cell("assert squares(2) == [1, 4]", metadata=_meta(grade=True, locked=True, grade_id="t-fail",
                                                                       points=3)),
        NB.new_code_cell("def helper():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION",
                         metadata=_meta(solution=True, grade_id="helper")),
        NB.new_code_cell("x = 1\n### BEGIN SOLUTION\nx = 2\n### END SOLUTION",
                         metadata=_meta(solution=True, grade=True, grade_id="autograded-answer", points=1)),
        NB.new_markdown_cell("YOUR ANSWER HERE", metadata=_meta(solution=True, grade=True, grade_id="written",
                                                                points=4)),
        NB.new_markdown_cell("Describe the plot.", metadata=_meta(task=True, grade_id="task", points=2)),
    ]
    nb = NB.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return ComputeChecksums().preprocess(nb, {})[0]


def submitted(nb):
    """The master as a student hands it in: one answer changed, one left as released, a failing test."""
    nb = copy.deepcopy(nb)
    nb.cells[1].source = "def squares(n):\n    return [i for i in range(n)]"
    nb.cells[3].outputs = [NB.new_output("error", ename="AssertionError", evalue="", traceback=[])]
    nb.cells[6].source = "The loss falls."
    return nb


@pytest.fixture()
def gradebooks(tmp_path, monkeypatch):
    """Two gradebooks holding the same course after nbgrader's SaveCells: one for nbgrader's SaveAutoGrades,
    one for the kit's. The written answer already has a manual score (it must then be marked for review)."""
    monkeypatch.setenv("PATH", os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"])  # alembic
    urls = []
    for name in ("stock", "kit"):
        url = f"sqlite:///{tmp_path / name}.db"
        with Gradebook(url) as gb:
            gb.add_assignment("a")
        SaveCells().preprocess(copy.deepcopy(master()), _resources(url))
        with Gradebook(url) as gb:
            gb.add_student("s")
            gb.add_submission("a", "s")
            gb.find_grade("written", "nb", "a", "s").manual_score = 1
            gb.db.commit()
        urls.append(url)
    return urls


def _resources(url):
    return {"nbgrader": {"db_url": url, "assignment": "a", "notebook": "nb", "student": "s"}}


def _rows(url):
    with Gradebook(url) as gb:
        submission = gb.find_submission_notebook("nb", "a", "s")
        grades = {g.name: (g.auto_score, g.manual_score, g.needs_manual_grade) for g in submission.grades}
        comments = {c.name: c.auto_comment for c in submission.comments}
    return grades, comments


def _commits(action):
    commits = []
    listener = lambda session: commits.append(session)  # noqa: E731
    event.listen(Session, "after_commit", listener)
    try:
        action()
    finally:
        event.remove(Session, "after_commit", listener)
    return len(commits)


def test_scores_and_comments_are_nbgraders_own_in_one_commit(gradebooks):
    stock, kit = gradebooks
    stock_commits = _commits(lambda: SaveAutoGrades().preprocess(submitted(master()), _resources(stock)))
    kit_commits = _commits(lambda: SaveAutoGradesAtOnce().preprocess(submitted(master()), _resources(kit)))
    assert _rows(kit) == _rows(stock)
    grades, comments = _rows(kit)
    assert grades["t-pass"][0] == 2 and grades["t-fail"][0] == 0 and grades["written"][2] is True
    assert comments["helper"] == "No response." and comments["squares"] is None
    opening = _commits(lambda: Gradebook(kit).close())  # nbgrader's Gradebook commits once when it opens
    assert kit_commits == opening + 1 and stock_commits == opening + 9  # 4 grade, 4 solution, 1 task cell


def test_a_notebook_that_fails_midway_leaves_no_score(gradebooks, monkeypatch):
    _, kit = gradebooks
    calls = []

    def fail_on_the_third(self, cell, resources):
        calls.append(cell)
        if len(calls) == 3:
            raise RuntimeError("the disk is full")
        return SaveAutoGrades._add_score(self, cell, resources)

    monkeypatch.setattr(SaveAutoGradesAtOnce, "_add_score", fail_on_the_third)
    with pytest.raises(RuntimeError):
        SaveAutoGradesAtOnce().preprocess(submitted(master()), _resources(kit))
    grades, _ = _rows(kit)
    assert len(calls) == 3 and all(auto is None for auto, _, _ in grades.values())


def _queries(action):
    statements = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    from sqlalchemy.engine import Engine
    event.listen(Engine, "before_cursor_execute", listener)
    try:
        result = action()
    finally:
        event.remove(Engine, "before_cursor_execute", listener)
    return result, len(statements)


def test_feedback_reads_nbgraders_own_grades_in_a_few_queries(gradebooks):
    _, kit = gradebooks
    SaveAutoGradesAtOnce().preprocess(submitted(master()), _resources(kit))
    with Gradebook(kit) as gb:
        gb.find_comment("squares", "nb", "a", "s").manual_comment = "Off by one: range(1, n + 1)."
        gb.find_grade("task", "nb", "a", "s").manual_score = 1.5
        gb.db.commit()
    nb = submitted(master())
    (stock_nb, stock_resources), stock_queries = _queries(lambda: GetGrades().preprocess(copy.deepcopy(nb),
                                                                                        _resources(kit)))
    (kit_nb, kit_resources), kit_queries = _queries(lambda: GetGradesAtOnce().preprocess(copy.deepcopy(nb),
                                                                                        _resources(kit)))
    assert kit_nb == stock_nb and kit_resources == stock_resources
    shown = {cell.metadata.nbgrader["grade_id"]: (cell.metadata.nbgrader.get("score"), cell.metadata.nbgrader.get("points"),
                                                  cell.metadata.nbgrader.get("comment", "-")) for cell in kit_nb.cells}
    assert shown["squares"] == (None, None, "Off by one: range(1, n + 1).")
    assert shown["t-pass"] == (2, 2, "-") and shown["t-fail"] == (0, 3, "-") and shown["task"] == (1.5, 2, None)
    _, opening = _queries(lambda: Gradebook(kit).close())  # nbgrader's Gradebook checks its tables when it opens
    print(f"queries: stock {stock_queries - opening}, kit {kit_queries - opening} (and {opening} to open)")
    assert kit_queries - opening <= 5  # the notebook (its score and late penalty), its grades, its comments
    assert stock_queries - opening > 3 + 8  # at least one per grade, solution and task cell


def test_feedback_of_a_cell_missing_from_the_gradebook_fails_as_stock(gradebooks):
    _, kit = gradebooks
    nb = submitted(master())
    nb.cells.append(NB.new_code_cell("assert True", metadata=_meta(grade=True, locked=True, grade_id="new", points=1)))
    for preprocessor in (GetGrades(), GetGradesAtOnce()):
        with pytest.raises(MissingEntry):
            preprocessor.preprocess(copy.deepcopy(nb), _resources(kit))
