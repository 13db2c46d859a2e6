"""Gradescope's results.json from the kit's grading of one upload: one test per grade cell, with the grader's
verdict; the hand-graded answers listed as such, with no points; an upload that could not be graded as one
visible test that says why."""
import os

STUDENT = "gradescope-student"  # the one student of the course inside the autograder


def failed_result(message, course, visibility, assignment=None):
    """One visible test that says why nothing was graded (0 points out of the autograded maximum)."""
    out_of = autograded_maximum(course, assignment) if course and assignment else 0.0
    test = {"name": "Submission", "score": 0.0, "max_score": out_of, "status": "failed", "output": message,
            "visibility": "visible"}
    return {"score": 0.0, "output": message, "visibility": visibility, "stdout_visibility": "hidden",
            "tests": [test]}


def autograded_maximum(course, assignment):
    return sum(cell.max_score for cell in grade_cells(course, assignment) if not cell.manual)


def graded_result(course, assignment, notebooks, visibility, note=""):
    from coursekit.gradebook import cell_scores

    scores = cell_scores(course, assignment).get(STUDENT, {})
    verdicts = {}
    for name in notebooks:
        verdicts.update(verdicts_of(os.path.join(course, "autograded", STUDENT, assignment, name)))
    tests, total = [], 0.0
    for cell in grade_cells(course, assignment):
        if cell.manual:
            # no "status": Gradescope knows only passed and failed, and this one is neither yet
            tests.append({"name": f"{cell.title} [{cell.grade_id}]", "score": 0.0, "max_score": 0.0,
                          "visibility": visibility, "tags": ["graded by hand"],
                          "output": f"Graded by hand by your instructor ({cell.max_score:g} points), not by the "
                                    "autograder: these points are not part of the autograder's score.",
                          "extra_data": {"grade_id": cell.grade_id, "manual": True, "points": cell.max_score}})
            continue
        score = float((scores.get(cell.grade_id) or (0.0, cell.max_score))[0] or 0.0)
        total += score
        passed = score >= cell.max_score
        tests.append({"name": f"{cell.title} [{cell.grade_id}]", "score": score, "max_score": cell.max_score,
                      "status": "passed" if passed else "failed", "visibility": visibility,
                      "output": verdicts.get(cell.grade_id, "(no output)"),
                      "extra_data": {"grade_id": cell.grade_id}})
    manual = sum(cell.max_score for cell in grade_cells(course, assignment) if cell.manual)
    summary = f"Autograded: {total:g} / {sum(t['max_score'] for t in tests):g} points."
    if manual:
        summary += f" Answers graded by hand ({manual:g} points) are graded by your instructor."
    if note:
        summary += f" Note: {note}."
    return {"score": total, "output": summary, "visibility": visibility, "stdout_visibility": "hidden",
            "tests": tests}


class GradeCell:
    def __init__(self, grade_id, max_score, manual, title):
        self.grade_id, self.max_score, self.manual, self.title = grade_id, max_score, manual, title


def grade_cells(course, assignment):
    """The assignment's grade cells in notebook order, from the master notebooks."""
    import nbformat
    from coursekit.workflow.submissioncheck import source_notebooks

    cells = []
    for name in source_notebooks(course, assignment):
        notebook = nbformat.read(os.path.join(course, "source", assignment, name), as_version=4)
        section = ""
        for cell in notebook.cells:
            if cell.cell_type == "markdown":
                headings = [line.lstrip("#").strip() for line in cell.source.splitlines()
                            if line.startswith("##") and not line.startswith("### BEGIN")
                            and not line.startswith("### END")]
                section = headings[-1] if headings else section
            meta = cell.metadata.get("nbgrader", {})
            if not meta.get("grade"):
                continue
            manual = cell.cell_type != "code" or bool(meta.get("solution"))
            cells.append(GradeCell(meta["grade_id"], float(meta.get("points") or 0.0), manual,
                                   title_of(meta["grade_id"], cell, section)))
    return cells


def title_of(grade_id, cell, section):
    """'Exercise 2, ReLU.forward (1.2 - Activation Functions...)': the exercise and what the cell checks,
    from the test cell's first comment ('# Public tests of Exercise 2, ReLU.forward. ...'); otherwise the
    exercise the master notebook declares in the cell's metadata, or the grade id."""
    from coursekit.exercises import declared_exercise

    first = cell.source.splitlines()[0] if cell.source else ""
    subject = first.lstrip("# ").split(". ")[0].rstrip(".")
    subject = subject.replace("Public tests of ", "") if subject.startswith("Public tests of ") else ""
    if cell.cell_type != "code":
        subject = "Written answer"
    subject = subject or declared_exercise(cell.metadata) or grade_id  # the master's grouping (coursekit.exercises)
    return f"{subject} ({section})" if section else subject


def verdicts_of(path):
    """{grade id: the grader's message} of an autograded notebook's test cells: the error (message and
    hint) of a failing check, the printed text of a passing one."""
    from coursekit.studentfiles import BadNotebook, Refused, as_dict, as_list, as_text, load_json_file

    try:
        cells = as_list(as_dict(load_json_file(path)).get("cells"))
    except (OSError, BadNotebook, Refused):
        return {}
    verdicts = {}
    for cell in (as_dict(cell) for cell in cells):
        grade_id = as_dict(as_dict(cell.get("metadata")).get("nbgrader")).get("grade_id")
        if not isinstance(grade_id, str) or not grade_id or cell.get("cell_type") != "code":
            continue
        parts = []
        for output in (as_dict(output) for output in as_list(cell.get("outputs"))):
            if output.get("output_type") == "error":
                parts.append(str(output.get("evalue") or output.get("ename") or "error"))
            elif output.get("output_type") == "stream":
                parts.append(as_text(output.get("text", "")))
        verdicts[grade_id] = "\n".join(p.strip() for p in parts if p.strip()) or "(no output)"
    return verdicts
