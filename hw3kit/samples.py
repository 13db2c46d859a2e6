"""The synthetic sample students that the repository ships (samples/submitted/) for the demo."""
import os

from hw3kit.submissions import SOLUTION, build_submission, load_course_notebooks, write_submission

ALL_ANSWERS = [f"ex{n:02d}-answer" for n in range(1, 12)]

# name -> (answers, what the README says the student scores, per exercise lost)
SAMPLE_STUDENTS = {
    "sample-full-marks": {answer: SOLUTION for answer in ALL_ANSWERS},
    "sample-partial": {answer: SOLUTION for answer in ALL_ANSWERS[:6]},
    "sample-typical-mistakes": {
        **{answer: SOLUTION for answer in ALL_ANSWERS},
        "ex02-answer": [("np.where(x >= 0, 1, 0)", "np.where(x > 0, 1, 0)")],               # ReLU'(0) = 0
        "ex05-answer": [("np.sum(dZ, axis=1, keepdims=True)", "np.mean(dZ, axis=1, keepdims=True)")],  # db as mean
        "ex10-answer": [("np.sqrt(squared_gradient) + self.epsilon", "np.sqrt(squared_gradient + self.epsilon)")],
        "ex11-answer": [("velocity / (np.sqrt(squared_gradient) + self.epsilon)",
                         "velocity / np.sqrt(squared_gradient + self.epsilon)")],
    },
    "sample-blank": {},
}

# The scores the README announces for the demo (tests hold the demo to them).
EXPECTED_TOTALS = {"sample-full-marks": 100.0, "sample-partial": 60.0,
                   "sample-typical-mistakes": 56.0, "sample-blank": 0.0}


def write_samples(course_root, destination=None):
    """Write every sample student's notebook to ``destination``/<student>/hw3/hw3.ipynb."""
    release, source = load_course_notebooks(course_root)
    destination = destination or os.path.join(course_root, "samples")
    for student, answers in SAMPLE_STUDENTS.items():
        write_submission(destination, student, build_submission(release, source, answers))
    return destination
