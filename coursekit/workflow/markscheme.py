"""Rubrics for the instructor in the master notebook: shown where an answer is graded, never to students."""
from nbgrader import utils
from nbgrader.preprocessors import ClearMarkScheme


class ClearMarkSchemeOfLockedCells(ClearMarkScheme):
    """nbgrader's ClearMarkScheme, which also takes a mark scheme out of a locked cell with an id.

    nbgrader allows a mark scheme (a ``### BEGIN MARK SCHEME`` ... ``### END MARK SCHEME`` region) only in a
    "manually graded task" cell. A written answer graded in its own answer cell has no task cell; its rubric
    goes into the locked cell that asks the question. That works for the same reason it does in a task cell:
    ``generate_assignment`` saves the locked cell's source, rubric included, before this preprocessor takes
    the rubric out of the release, and ``autograde`` (OverwriteCells) writes that source back into every
    submission, so the formgrader shows the rubric right above the answer it grades. In the feedback
    pipeline it takes the rubric out again. A mark scheme in any other kind of cell still fails, as in
    nbgrader (nothing would bring it back).
    """

    def preprocess_cell(self, cell, resources, cell_index):
        if utils.is_locked(cell) and cell.metadata.get("nbgrader", {}).get("grade_id") and not utils.is_task(cell):
            self._remove_mark_scheme_region(cell)
            return cell, resources
        return super().preprocess_cell(cell, resources, cell_index)
