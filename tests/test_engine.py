"""The grading engine (isograde) on its own: channel, worker, one notebook graded end to end."""
import pickle
import struct
from pathlib import Path

import msgpack
import nbformat
import numpy as np
import pytest

from homework3.samples import SAMPLE_STUDENTS
from coursekit.submissions import build_submission, load_course_notebooks
from isograde.assignment import Assignment
from isograde.grading import SUBMITTED_NOTE, Limits, NotebookGrader, Timings
from isograde.remote import WorkerGone
from isograde.zygote import Zygote
from isograde.worker import wire

REPO = Path(__file__).resolve().parents[1]
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="


@pytest.fixture(scope="module")
def zygote():
    zygote = Zygote(sandboxed=True, secrets=[str(REPO)])
    yield zygote
    zygote.close()


@pytest.fixture(scope="module")
def assignment():
    return Assignment(REPO, "hw3", "hw3")


class Peer(wire.Peer):
    def ref(self, number, info):
        return wire.Ref(number, info)


def codec():
    return wire.Codec(Peer())


@pytest.mark.parametrize("payload", [
    pickle.dumps({"a": 1}),                                                        # a pickle is not msgpack data
    msgpack.packb(msgpack.ExtType(wire.ARRAY, msgpack.packb(["|O", [2], b"x" * 16]))),  # object dtype
    msgpack.packb(msgpack.ExtType(wire.ARRAY, msgpack.packb(["<f8", [3], b"x" * 16]))),  # bytes != shape
    msgpack.packb(msgpack.ExtType(wire.ARRAY, msgpack.packb(["<f8", [1 << 40], b""]))),  # huge claimed shape
    msgpack.packb(msgpack.ExtType(wire.STANDIN, msgpack.packb(["replay", {}]))),     # stand-ins only go in
    msgpack.packb(msgpack.ExtType(99, b"")),
])
def test_the_grader_refuses_what_is_not_plain_data(payload):
    with pytest.raises(wire.ProtocolError):
        codec().unpack(payload)


def test_arrays_travel_as_dtype_shape_and_bytes():
    array = np.arange(6.0).reshape(2, 3)
    back = codec().unpack(codec().pack({"A": array, "pair": (1, 2.5), "flag": np.bool_(True)}))
    assert back["A"].dtype == np.float64 and np.array_equal(back["A"], array) and back["A"].flags.writeable
    assert back["pair"] == (1, 2.5) and type(back["flag"]) is np.bool_ and back["flag"]


def test_a_frame_larger_than_the_cap_is_refused():
    class Stream:
        def recv(self, size):
            return struct.pack("!I", wire.MAX_FRAME + 1)[:size]
    with pytest.raises(wire.ProtocolError, match="refused"):
        wire.receive(Stream())


def test_a_worker_returns_data_and_handles_and_its_errors_keep_their_class(zygote):
    worker = zygote.spawn()
    worker.run_cell("class Box:\n    def __init__(self, v):\n        self.v = v\n"
                    "def pair(x):\n    return x * 2, Box(x)\ndef boom():\n    raise ValueError('no')")
    doubled, box = worker.lookup("pair")(np.ones(2))
    assert np.array_equal(doubled, [2.0, 2.0]) and str(type(box)) == "<class '__main__.Box'>"
    assert np.array_equal(box.v, [1.0, 1.0])
    with pytest.raises(ValueError) as raised:
        worker.lookup("boom")()
    assert type(raised.value) is ValueError and str(raised.value) == "no" and "boom" in raised.value.student_trace
    with pytest.raises(KeyError):
        worker.lookup("not_defined")
    zygote.finish()


def test_a_check_past_its_time_limit_stops_the_worker_not_the_grader(zygote):
    worker = zygote.spawn()
    worker.run_cell("def spin():\n    while True:\n        pass")
    with pytest.raises(WorkerGone, match="timed out"), worker.time_limit(1):
        worker.lookup("spin")()
    fresh = zygote.spawn()
    assert fresh.run_cell("print('next')") == [{"output_type": "stream", "name": "stdout", "text": "next\n"}]
    zygote.finish()


def graded(assignment, zygote, notebook, submitted=None, folder=None):
    if folder is None:
        import tempfile
        folder = tempfile.mkdtemp()
        (Path(folder) / "public_tests.py").write_bytes((REPO / "source/hw3/public_tests.py").read_bytes())
    grader = NotebookGrader(assignment, zygote, str(folder), Limits(cell_timeout=10, check_timeout=10), Timings())
    return grader.grade(notebook, submitted)


def outputs_by_id(notebook):
    return {c.metadata.get("nbgrader", {}).get("grade_id"): c.outputs for c in notebook.cells if c.cell_type == "code"}


def test_illustration_cells_keep_the_students_own_outputs_only_text_and_images(assignment, zygote):
    release, source = load_course_notebooks(REPO)
    submitted = build_submission(release, source, SAMPLE_STUDENTS["sample-full-marks"])
    comparison = next(c for c in submitted.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "given-comparison")
    comparison.outputs = [nbformat.v4.new_output("stream", name="stdout", text="Training with Adam ...\n"),
                          nbformat.v4.new_output("display_data", data={"image/png": PNG, "text/plain": "<Figure>",
                                                                       "text/html": "<script>steal()</script>"})]
    notebook = nbformat.from_dict(nbformat.reads(nbformat.writes(submitted), as_version=4))
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs = []  # as nbgrader's ClearOutput leaves it
    result = outputs_by_id(graded(assignment, zygote, notebook, submitted))
    shown = result["given-comparison"]
    assert shown[0].text == SUBMITTED_NOTE and shown[1].text == "Training with Adam ...\n"
    assert shown[2].data == {"image/png": PNG, "text/plain": "<Figure>"}
    assert all(not any(o.output_type == "error" for o in outputs) for gid, outputs in result.items()
               if gid and gid.startswith("ex"))


def test_a_loop_in_one_exercise_costs_that_exercise_only(assignment, zygote):
    release, source = load_course_notebooks(REPO)
    looping = dict(SAMPLE_STUDENTS["sample-full-marks"])
    solution = next(c.source for c in build_submission(release, source, looping).cells
                    if c.metadata.get("nbgrader", {}).get("grade_id") == "ex09-answer")
    looping["ex09-answer"] = solution.replace("    def step(self):\n", "    def step(self):\n        while True:\n            pass\n", 1)
    assert looping["ex09-answer"] != solution
    result = outputs_by_id(graded(assignment, zygote, build_submission(release, source, looping)))
    failed = {gid for gid, outputs in result.items() if any(o.output_type == "error" for o in outputs) and gid}
    assert failed == {"ex09-momentum"}
    assert "timed out" in next(o.evalue for o in result["ex09-momentum"] if o.output_type == "error")


def test_the_zygote_prepares_only_cells_every_student_holds(tmp_path):
    given = "import numpy as np\nvalues = !echo hi"
    master = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell(given),
        nbformat.v4.new_code_cell("def f():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION",
                                  metadata={"nbgrader": {"solution": True, "grade": False, "grade_id": "f"}}),
        nbformat.v4.new_code_cell("assert f() == 1\n### BEGIN HIDDEN TESTS\nassert f() != 2\n### END HIDDEN TESTS",
                                  metadata={"nbgrader": {"grade": True, "solution": False, "grade_id": "t",
                                                         "points": 1}}),
        nbformat.v4.new_code_cell("secret = 1  ### BEGIN SOLUTION"),  # a region nbgrader would refuse
    ])
    (tmp_path / "source" / "a").mkdir(parents=True)
    nbformat.write(master, tmp_path / "source" / "a" / "a.ipynb")
    assert Assignment(tmp_path, "a", "a").given_sources == (given,)


def test_a_cell_the_zygote_prepared_runs_as_ipython_runs_it(zygote):
    zygote.spawn().run_cell("print()")
    zygote.finish()  # the cell comes while that worker is still ending (as between two notebooks graded)
    source = "import os\nwhere = %pwd\nshown = !echo prepared\nprint(where == os.getcwd(), shown)"
    zygote.warm([source])
    worker = zygote.spawn()
    outputs = worker.run_cell(source)
    assert "".join(o.get("text", "") for o in outputs) == "True ['prepared']\n"
    outputs = worker.run_cell(f"print({source!r} in get_ipython().prepared)")
    assert "".join(o.get("text", "") for o in outputs) == "True\n"
    zygote.finish()
