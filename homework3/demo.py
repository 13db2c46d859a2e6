"""The main job, end to end on the sample students: release, grade, feedback, export, report, table."""
import os
import shutil
import time

from coursekit.workflow import grade as classgrade
from coursekit import gradebook as grading
from coursekit.workflow.export import export_grades
from coursekit.workflow.feedback import generate_feedback
from coursekit.workflow.release import release
from coursekit.reports.report import build_report
from homework3.samples import ASSIGNMENT, SAMPLE_STUDENTS


def run_demo(course_root, log=print):
    started = time.perf_counter()
    log("1/6 Generating and checking the student version: release/hw3/ ...")
    release(course_root, ASSIGNMENT, log=lambda message: None)

    log(f"2/6 Collecting the {len(SAMPLE_STUDENTS)} sample submissions from samples/submitted/ ...")
    samples = os.path.join(course_root, "samples", "submitted")
    for student in SAMPLE_STUDENTS:
        source = os.path.join(samples, student, ASSIGNMENT)
        if not os.path.isdir(source):
            raise FileNotFoundError(f"sample submission {source} is missing: run `python -m homework3 samples`.")
        destination = os.path.join(course_root, "submitted", student, ASSIGNMENT)
        shutil.rmtree(destination, ignore_errors=True)
        shutil.copytree(source, destination)

    log("3/6 Autograding them (2 nbgrader workers) ...")
    outcomes = classgrade.grade(course_root, ASSIGNMENT, students=list(SAMPLE_STUDENTS), jobs=2,
                                force=True, progress=False)
    failed = {s: o.reason for s, o in outcomes.items() if o.status != "graded"}
    if failed:
        raise RuntimeError(f"sample submissions failed to grade: {failed}")

    log("4/6 Generating feedback: feedback/<student>/hw3/hw3.html (maths rendered offline) ...")
    generate_feedback(course_root, ASSIGNMENT)

    log("5/6 Exporting grades: grades.csv (nbgrader), grades_by_exercise.csv, grades_lms.csv ...")
    grading.nbgrader(course_root, "export", "--to", os.path.join(course_root, "grades.csv"))
    export_grades(course_root, ASSIGNMENT)

    log("6/6 Writing the class report: report.html ...")
    build_report(course_root, ASSIGNMENT)

    scores = {s: cells for s, cells in grading.cell_scores(course_root, ASSIGNMENT).items() if s in SAMPLE_STUDENTS}
    log("")
    from coursekit.exercises import layout
    from coursekit.standing import standings
    columns = layout(course_root, ASSIGNMENT)
    pending = {s: {columns.column_of(name) for name in standing.pending}
               for s, standing in standings(course_root, ASSIGNMENT).items()}
    log(grading.format_table(scores, columns, pending))
    if any(pending.values()):
        log("(-: a hand-graded answer not graded yet; grade it in the formgrader: `make lab`)")
    log("")
    log(f"Done in {time.perf_counter() - started:.0f} s. Grades: grades.csv, grades_by_exercise.csv, "
        f"grades_lms.csv; feedback: feedback/; report: report.html; gradebook: gradebook.db.")
    log("These are sample students: before grading a real class here, run `python -m coursekit new-term` "
        "(it moves their data to archive/).")
    return scores
