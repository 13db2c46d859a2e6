"""The main job, end to end on the sample students: release, autograde, feedback, export, table."""
import os
import shutil
import time

from hw3kit import grading
from hw3kit.samples import SAMPLE_STUDENTS


def run_demo(course_root, log=print):
    started = time.perf_counter()
    log("1/5 Generating the student version: release/hw3/ ...")
    grading.nbgrader(course_root, "generate_assignment", grading.ASSIGNMENT, "--force")

    log(f"2/5 Collecting the {len(SAMPLE_STUDENTS)} sample submissions from samples/submitted/ ...")
    samples = os.path.join(course_root, "samples", "submitted")
    for student in SAMPLE_STUDENTS:
        source = os.path.join(samples, student, grading.ASSIGNMENT)
        if not os.path.isdir(source):
            raise FileNotFoundError(f"sample submission {source} is missing: run `python -m hw3kit samples`.")
        destination = os.path.join(course_root, "submitted", student, grading.ASSIGNMENT)
        shutil.rmtree(destination, ignore_errors=True)
        shutil.copytree(source, destination)

    log("3/5 Autograding them (nbgrader autograde) ...")
    submitted = os.listdir(os.path.join(course_root, "submitted"))
    others = ",".join(s for s in submitted if s not in SAMPLE_STUDENTS)
    extra = [f"--CourseDirectory.student_id_exclude={others}"] if others else []
    grading.nbgrader(course_root, "autograde", grading.ASSIGNMENT, "--force", *extra)

    log("4/5 Generating feedback: feedback/<student>/hw3/hw3.html ...")
    grading.nbgrader(course_root, "generate_feedback", grading.ASSIGNMENT, "--force", *extra)

    log("5/5 Exporting grades: grades.csv ...")
    grading.nbgrader(course_root, "export", "--to", os.path.join(course_root, "grades.csv"))

    scores = {s: cells for s, cells in grading.cell_scores(course_root).items() if s in SAMPLE_STUDENTS}
    log("")
    log(grading.format_table(scores))
    log("")
    log(f"Done in {time.perf_counter() - started:.0f} s. Grades: grades.csv; feedback: feedback/; "
        f"gradebook: gradebook.db.")
    return scores
