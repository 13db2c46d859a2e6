"""nbgrader preprocessors for the feedback students receive."""
from nbgrader.preprocessors import NbGraderPreprocessor
from nbgrader import utils


class ShortTracebacks(NbGraderPreprocessor):
    """Reduce every error in a graded cell to its message.

    A traceback lists the source lines of every frame it passes through, which would show students
    the hidden tests and the grader's reference code (nbgrader issue #917); the message of a failing
    test already says what is wrong and what to look at.
    """

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code" and utils.is_grade(cell):
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    output["traceback"] = [f"{output.get('ename', 'Error')}: {output.get('evalue', '')}"]
        return cell, resources
