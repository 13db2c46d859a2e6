"""The columns of an assignment: which grade cells the export, the report, the statistics and the diff add up.

The master notebooks (``source/<assignment>/*.ipynb``, the instructor's) declare them:

* a grade cell whose metadata holds ``"coursekit": {"exercise": "Exercise 5"}`` counts in the column
  "Exercise 5", with every other grade cell of the assignment that names the same exercise;
* a grade cell without it is a column of its own, named by its nbgrader grade id (the fallback: nbgrader's
  default ids, ``cell-<hex>``, each stay apart).

Columns come in the order of their first grade cell: notebooks by name (as nbgrader lists them), cells
top to bottom. A grade cell is graded by hand when nbgrader says so: a grade cell that is also a solution
cell (a written or manually graded code answer), or a task cell; a column is graded by hand when any of
its cells is. The points are nbgrader's (``points`` in the cell's metadata, the gradebook's max score).

The gradebook says which grade cells an assignment has once it is released; the master notebooks say how
they are grouped. A cell the gradebook has and the master no longer has (the source edited after the
release) is a column of its own; without the master notebooks (a course folder without source/) every
grade cell is. Nothing here reads a student's file: the grouping in a submission's metadata is ignored.
"""
import glob
import json
import os
from dataclasses import dataclass, field

METADATA_KEY = "coursekit"  # cell.metadata["coursekit"]["exercise"]
EXERCISE_KEY = "exercise"


@dataclass
class GradeCell:
    grade_id: str
    notebook: str
    points: float
    manual: bool  # graded by hand (nbgrader: grade + solution, or a task)
    exercise: str = None  # the master's declared grouping, if any

    @property
    def column(self):
        return self.exercise or self.grade_id


@dataclass
class Layout:
    """An assignment's grade cells in order, and the column each counts in."""

    assignment: str
    cells: list = field(default_factory=list)  # [GradeCell], in notebook order

    @property
    def columns(self):
        """The column names, in order."""
        return list(dict.fromkeys(cell.column for cell in self.cells))

    def column_of(self, grade_id):
        """The column of a grade cell (a grade id this layout does not know is a column of its own)."""
        for cell in self.cells:
            if cell.grade_id == grade_id:
                return cell.column
        return grade_id

    @property
    def manual(self):
        """Grade ids of the cells graded by hand."""
        return {cell.grade_id for cell in self.cells if cell.manual}

    @property
    def manual_columns(self):
        return {cell.column for cell in self.cells if cell.manual}

    @property
    def points(self):
        """{grade id: max points}."""
        return {cell.grade_id: cell.points for cell in self.cells}

    def totals(self, scores):
        """{column: (score, max score)} of ``scores`` ({grade id: (score, max score)}), in column order; the
        columns of cells ``scores`` does not hold are left out, a grade id the layout does not know is a
        column of its own, after the others."""
        totals = {}
        for name in sorted(scores, key=self._position):
            score, out_of = scores[name]
            column = self.column_of(name)
            got, most = totals.get(column, (0.0, 0.0))
            totals[column] = (got + (score or 0.0), most + (out_of or 0.0))
        order = {column: index for index, column in enumerate(self.columns)}
        return dict(sorted(totals.items(), key=lambda item: (order.get(item[0], len(order)), item[0])))

    def _position(self, grade_id):
        for index, cell in enumerate(self.cells):
            if cell.grade_id == grade_id:
                return (index, grade_id)
        return (len(self.cells), grade_id)


def declared_exercise(metadata):
    """The exercise a master notebook's cell metadata declares, or None."""
    kit = metadata.get(METADATA_KEY) if isinstance(metadata, dict) else None
    exercise = kit.get(EXERCISE_KEY) if isinstance(kit, dict) else None
    return exercise.strip() if isinstance(exercise, str) and exercise.strip() else None


def master_cells(course_root, assignment):
    """[GradeCell] of the master notebooks in source/<assignment>/ ([] when there are none)."""
    folder = os.path.join(course_root, "source", assignment)
    cells = []
    for path in sorted(glob.glob(os.path.join(glob.escape(folder), "*.ipynb"))):
        try:
            with open(path, encoding="utf-8") as handle:
                notebook = json.load(handle)
        except (OSError, ValueError):
            continue
        for cell in notebook.get("cells", []) if isinstance(notebook, dict) else []:
            metadata = cell.get("metadata") if isinstance(cell, dict) else None
            meta = metadata.get("nbgrader") if isinstance(metadata, dict) else None
            if not isinstance(meta, dict) or not isinstance(meta.get("grade_id"), str):
                continue
            task = bool(meta.get("task"))
            if not (meta.get("grade") or task):
                continue
            try:
                points = float(meta.get("points") or 0.0)
            except (TypeError, ValueError):
                points = 0.0
            cells.append(GradeCell(meta["grade_id"], os.path.basename(path), points,
                                   manual=task or bool(meta.get("solution")), exercise=declared_exercise(metadata)))
    return cells


def gradebook_cells(db_url, assignment):
    """[GradeCell] of the assignment as released into the gradebook (None when it is not there)."""
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(db_url) as gradebook:
        try:
            definition = gradebook.find_assignment(assignment)
        except MissingEntry:
            return None
        cells = []
        for notebook in definition.notebooks:
            solutions = {cell.name for cell in notebook.solution_cells}
            for cell in notebook.grade_cells:
                cells.append(GradeCell(cell.name, notebook.name + ".ipynb", float(cell.max_score or 0.0),
                                       manual=cell.name in solutions))
            for cell in notebook.task_cells:
                cells.append(GradeCell(cell.name, notebook.name + ".ipynb", float(cell.max_score or 0.0), manual=True))
        return cells


def layout(course_root, assignment, db_url=None):
    """The assignment's ``Layout``: the gradebook's grade cells (or the master's, before a release), grouped
    and ordered as the master notebooks declare."""
    from coursekit.records import gradebook_url, sqlite_file

    master = master_cells(course_root, assignment)
    url = gradebook_url(course_root, db_url)
    released = None
    if not (sqlite_file(url) and not os.path.isfile(sqlite_file(url))):
        released = gradebook_cells(url, assignment)
    if released is None:
        return Layout(assignment, master)
    declared = {cell.grade_id: cell for cell in master}
    order = {cell.grade_id: index for index, cell in enumerate(master)}
    cells = []
    for index, cell in enumerate(released):
        known = declared.get(cell.grade_id)
        if known is not None:
            cell.exercise = known.exercise
        cells.append((order.get(cell.grade_id, len(order) + index), cell))
    return Layout(assignment, [cell for _, cell in sorted(cells, key=lambda pair: pair[0])])


def _preprocessor_base():
    from nbgrader.preprocessors import NbGraderPreprocessor
    return NbGraderPreprocessor


class ClearExerciseMetadata(_preprocessor_base()):
    """Release preprocessor: the grouping is the instructor's bookkeeping, not the students' (``generate_assignment``
    leaves every other cell metadata as it is). A course without it in its release pipeline only hands the
    grouping out; it is never read from a submission."""

    def preprocess_cell(self, cell, resources, cell_index):
        cell.metadata.pop(METADATA_KEY, None)
        return cell, resources
