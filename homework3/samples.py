"""The synthetic sample students that the repository ships (samples/submitted/) for the demo."""
import os

from coursekit.submissions import SOLUTION, build_submission, load_course_notebooks, write_submission

ASSIGNMENT, NOTEBOOK = "hw3", "hw3.ipynb"  # homework 3: source/hw3/hw3.ipynb
ALL_ANSWERS = [f"ex{n:02d}-answer" for n in range(1, 12)]

WRITTEN = "written-optimizer-comparison"
WRITTEN_ANSWER = ("RMSProp and Adam brought the training loss down fastest. They divide each gradient "
                  "coordinate by the root of its running mean square, so every weight takes a step of "
                  "similar size, while plain gradient descent moves slowly where gradients are small. "
                  "Momentum averages past gradients and speeds up once the directions agree. The fastest "
                  "optimizer did not have the lowest test loss in my run.")

# name -> answers by answer-cell id (see coursekit.submissions.build_submission)
SAMPLE_STUDENTS = {
    "sample-full-marks": {**{answer: SOLUTION for answer in ALL_ANSWERS}, WRITTEN: WRITTEN_ANSWER},
    "sample-partial": {answer: SOLUTION for answer in ALL_ANSWERS[:6]},
    "sample-typical-mistakes": {
        **{answer: SOLUTION for answer in ALL_ANSWERS},
        WRITTEN: "Adam was fastest because it uses momentum.",
        "ex02-answer": [("np.where(x >= 0, 1, 0)", "np.where(x > 0, 1, 0)")],               # ReLU'(0) = 0
        "ex05-answer": [("np.sum(dZ, axis=1, keepdims=True)", "np.mean(dZ, axis=1, keepdims=True)")],  # db as mean
        "ex10-answer": [("np.sqrt(squared_gradient) + self.epsilon", "np.sqrt(squared_gradient + self.epsilon)")],
        "ex11-answer": [("velocity / (np.sqrt(squared_gradient) + self.epsilon)",
                         "velocity / np.sqrt(squared_gradient + self.epsilon)")],
    },
    "sample-blank": {},
}

# The scores the README announces for the demo (tests hold the demo to them).
# Autograded points out of 95; the written question (5 points) waits for the instructor.
EXPECTED_TOTALS = {"sample-full-marks": 95.0, "sample-partial": 57.0,
                   "sample-typical-mistakes": 55.0, "sample-blank": 0.0}


def write_samples(course_root, destination=None):
    """Write every sample student's notebook to ``destination``/<student>/hw3/hw3.ipynb."""
    release, source = load_course_notebooks(course_root, ASSIGNMENT, NOTEBOOK)
    destination = destination or os.path.join(course_root, "samples")
    for student, answers in SAMPLE_STUDENTS.items():
        write_submission(destination, student, build_submission(release, source, answers), ASSIGNMENT, NOTEBOOK)
    return destination
