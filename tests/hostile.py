"""The bad-submission corpus: hostile and broken submissions, each with the outcome it must get.

Each case builds a submission from the release (through ``coursekit.submissions``) and states what
grading must end with: ``("graded", total)`` or ``("failed", reason prefix)``. ``total`` is the
autograded total out of 95; a cheat must never score more than the honest work under it.
"""
import copy
import socket

from homework3.samples import SAMPLE_STUDENTS
from coursekit.submissions import SOLUTION, build_submission

FULL = SAMPLE_STUDENTS["sample-full-marks"]
MISTAKES = SAMPLE_STUDENTS["sample-typical-mistakes"]  # honest score 55
COURSE_ESCAPE = "../../../"  # from autograded/<student>/hw3/ up to the course directory


def _free_port():
    with socket.socket() as probe_socket:
        probe_socket.bind(("127.0.0.1", 0))
        return probe_socket.getsockname()[1]


NETWORK_PORT = _free_port()  # the test listens here; a sandboxed kernel must not get through


def _edit_answer(answer, edit, base):
    def build(release, source):
        notebook = build_submission(release, source, base)
        cell = notebook.cells[_cell(notebook, answer)]
        cell.source = edit(cell.source)
        return notebook
    return build


def with_code_before(answer, code, base=FULL):
    """``base``'s submission with ``code`` at the top of an answer cell (it runs before the answer)."""
    return _edit_answer(answer, lambda text: code + "\n" + text, base)


def with_code_after(answer, code, base=FULL):
    """``base``'s submission with ``code`` at the end of an answer cell."""
    return _edit_answer(answer, lambda text: text + "\n" + code, base)


def tampered(change, base=FULL):
    def build(release, source):
        notebook = build_submission(release, source, base)
        change(notebook)
        return notebook
    return build


def _cell(notebook, grade_id):
    return next(i for i, c in enumerate(notebook.cells) if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def delete_test_cell(nb):
    del nb.cells[_cell(nb, "ex03-layer")]


def move_test_cell(nb):
    nb.cells.append(nb.cells.pop(_cell(nb, "ex01-initialize")))


def duplicate_test_cell(nb):
    index = _cell(nb, "ex07-gradient-descent-step")
    nb.cells.insert(index, copy.deepcopy(nb.cells[index]))


def edit_test_cell(nb):
    nb.cells[_cell(nb, "ex05-back-propagation")].source = "print('all tests passed, trust me')"


def relabel_test_cell(nb):
    nb.cells[_cell(nb, "ex01-initialize")].metadata["nbgrader"]["grade_id"] = "ex01-free-points"


def strip_test_cell_metadata(nb):
    nb.cells[_cell(nb, "ex04-forward-propagation")].metadata.pop("nbgrader")


def strip_answer_metadata(nb):
    nb.cells[_cell(nb, "ex02-answer")].metadata.pop("nbgrader")


def probe(description, code):
    """Code that tries something forbidden and reports, without failing the cell."""
    return (f"try:\n    {code}\n    print('ESCAPED: {description}')\n"
            f"except Exception as error:\n    print('BLOCKED: {description}:', type(error).__name__)\n")


FORK_BOMB = """import os, time
children = 0
while children < 5000:
    try:
        pid = os.fork()
    except OSError:
        break
    if pid == 0:
        time.sleep(3)
        os._exit(0)
    children += 1
print('FORK BOMB stopped after', children, 'children')"""

SHARED_MEMORY = """import ctypes
libc = ctypes.CDLL(None, use_errno=True)
libc.shmat.restype = ctypes.c_void_p
for key in (4242, 4243, 4244):
    segment = libc.shmget(key, 512 * 1024 ** 2, 0o1000 | 0o666)
    if segment >= 0:
        ctypes.memset(libc.shmat(segment, None, 0), 7, 512 * 1024 ** 2)"""
FILL_TMP = """written = 0
try:
    while written < 8192:
        with open('/tmp/fill-%d' % written, 'wb') as handle:
            handle.write(b'x' * (1 << 20))
        written += 1
except OSError:
    pass"""
FORGED_FRAME = """import os, socket, stat, msgpack
payload = msgpack.packb([[]] * (60 * 1024 * 1024))[:60 * 1024 * 1024]
for fd in range(3, 64):
    try:
        if stat.S_ISSOCK(os.fstat(fd).st_mode):
            socket.socket(fileno=os.dup(fd)).sendall(len(payload).to_bytes(4, 'big') + payload)
    except OSError:
        pass"""

HARDCODED_ADAM = '''class Adam(Optimizer):
    """Replays the public expected values instead of computing anything."""

    def __init__(self, network, learning_rate, beta1=0.9, beta2=0.999, epsilon=1e-8):
        super().__init__(network, learning_rate)
        self.steps = 0

    def step(self):
        from public_tests import OPTIMIZER_EXPECTED
        self.steps += 1
        if self.steps == 2:
            self.network.parameters.update({k: v.copy() for k, v in OPTIMIZER_EXPECTED["adam"].items()})'''

CASES = {
    # honest students: the same scores as when graded alone
    "honest-full": (lambda r, s: build_submission(r, s, FULL), ("graded", 95.0)),
    "honest-mistakes": (lambda r, s: build_submission(r, s, MISTAKES), ("graded", 55.0)),
    # files
    "file-invalid-json": (b'{"cells": [', ("failed", "not a notebook (invalid JSON)")),
    "file-empty": (b"", ("failed", "not a notebook: hw3.ipynb is an empty file")),
    "file-wrong-name": ({"homework.ipynb": "release"}, ("failed", "wrong file name: found homework.ipynb")),
    "file-two-notebooks": ({"hw3.ipynb": "full", "scratch.ipynb": "release"}, ("graded", 95.0)),
    # test and answer cells tampered with
    "cells-deleted-test": (tampered(delete_test_cell), ("graded", 95.0)),
    "cells-moved-test": (tampered(move_test_cell), ("graded", 95.0)),
    "cells-duplicated-test": (tampered(duplicate_test_cell), ("failed", "test cells tampered with")),
    "cells-edited-test": (tampered(edit_test_cell, MISTAKES), ("graded", 55.0)),
    "cells-relabelled-test": (tampered(relabel_test_cell), ("failed", "test cells tampered with")),
    "cells-test-metadata-stripped": (tampered(strip_test_cell_metadata), ("graded", 95.0)),
    "cells-answer-metadata-stripped": (tampered(strip_answer_metadata), ("graded", 95.0)),
    # runaway code
    "run-infinite-loop": (with_code_before("ex01-answer", "while True:\n    pass"), ("graded", 87.0)),
    # the grader kills a worker that runs past the limit: ignoring SIGINT changes nothing
    "run-ignores-interrupt": (with_code_before("ex01-answer", "import signal\nsignal.signal(signal.SIGINT, "
                                               "signal.SIG_IGN)\nwhile True:\n    pass"), ("graded", 87.0)),
    # the bomb stops at the worker's process limit; the cell then goes on and defines the answer
    "run-fork-bomb": (with_code_before("ex01-answer", FORK_BOMB), ("graded", 95.0)),
    "run-memory-bomb": (with_code_before("ex01-answer", "hog = bytearray(16 * 1024 ** 3)"), ("graded", 87.0)),
    "run-huge-output": (with_code_before("ex01-answer", "print('x' * 20_000_000)"), ("graded", 95.0)),
    # a cell that ends the worker costs that cell: a fresh worker runs the rest without it
    "run-os-exit": (with_code_before("ex01-answer", "import os\nos._exit(3)"), ("graded", 87.0)),
    "run-sys-exit": (with_code_before("ex01-answer", "import sys\nsys.exit(0)"), ("graded", 87.0)),
    "run-segfault": (with_code_before("ex01-answer", "import ctypes\nctypes.string_at(0)"), ("graded", 87.0)),
    "run-input": (with_code_before("ex01-answer", "name = input('Your name? ')"), ("graded", 87.0)),
    # resources: pinned shared memory dies with the worker, /tmp is the worker's own and bounded, a forged
    # frame ends the worker that sent it (the cell fails) without growing the grader
    "res-shared-memory": (with_code_before("ex01-answer", SHARED_MEMORY), ("graded", 95.0)),
    "res-fill-tmp": (with_code_before("ex01-answer", FILL_TMP), ("graded", 95.0)),
    "res-forged-frame": (with_code_before("ex01-answer", FORGED_FRAME), ("graded", 87.0)),
    # cheats: never more than the honest work under them (55). The checks run in the grader's own
    # process, so patching the student's process changes nothing there
    "cheat-patch-isclose": (with_code_after("ex01-answer", "np.isclose = lambda *a, **k: np.ones(np.shape(a[0]), bool)\n"
                                            "np.allclose = lambda *a, **k: True", MISTAKES), ("graded", 55.0)),
    "cheat-patch-np-testing": (with_code_after("ex01-answer", "np.testing.assert_allclose = lambda *a, **k: None\n"
                                               "np.testing.assert_array_equal = lambda *a, **k: None", MISTAKES),
                               ("graded", 55.0)),
    "cheat-patch-ndarray-eq": (with_code_after("ex01-answer", "np.ndarray.__eq__ = lambda self, other: True", MISTAKES),
                               ("graded", 55.0)),
    "cheat-patch-assertionerror": (with_code_after("ex01-answer", "import builtins\nbuiltins.AssertionError = "
                                                   "type('AssertionError', (Warning,), {})", MISTAKES), ("graded", 55.0)),
    "cheat-patch-print": (with_code_after("ex01-answer", "import builtins\nbuiltins.print = lambda *a, **k: None",
                                          MISTAKES), ("graded", 55.0)),
    "cheat-patch-public-tests": (with_code_after("ex01-answer", "import public_tests\n"
                                                 "public_tests.fail = lambda *a, **k: None\n"
                                                 "public_tests.check_array = lambda *a, **k: None", MISTAKES),
                                 ("graded", 55.0)),  # the grader uses its own copy: nothing gained
    "cheat-patch-checklib": (with_code_after("ex01-answer", "import checklib\n"
                                             "checklib.fail.__code__ = (lambda *a, **k: None).__code__\n"
                                             "checklib.check_array.__code__ = (lambda *a, **k: None).__code__\n"
                                             "checklib.ATOL = checklib.RTOL = float('inf')\n"
                                             "open('checklib.py', 'w').write('def __getattr__(name):\\n'\n"
                                             "                               '    return lambda *a, **k: None\\n')",
                                             MISTAKES),
                             ("graded", 55.0)),  # the grader loads the engine's own library: nothing gained
    "cheat-del-raises": (with_code_after("ex01-answer", "class Bomb:\n    def __del__(self):\n"
                                         "        raise RuntimeError('boom')\nkeep = [Bomb() for _ in range(3)]\n"
                                         "del keep", MISTAKES), ("graded", 55.0)),
    "cheat-hardcoded-public-values": (lambda r, s: build_submission(r, s, dict(FULL, **{"ex11-answer": HARDCODED_ADAM})),
                                      ("graded", 84.0)),
    "cheat-read-master-notebook": (with_code_after("ex01-answer", probe("read source", f"open('{COURSE_ESCAPE}source/hw3/hw3.ipynb').read()")),
                                   ("graded", 95.0)),
    "cheat-read-gradebook": (with_code_after("ex01-answer", probe("read gradebook", f"open('{COURSE_ESCAPE}gradebook.db', 'rb').read()")),
                             ("graded", 95.0)),
    "cheat-write-other-student": (with_code_after("ex01-answer", probe("write other student",
                                  f"open('{COURSE_ESCAPE}submitted/honest-full/hw3/hw3.ipynb', 'w').write('{{}}')")),
                                  ("graded", 95.0)),
    "cheat-touch-timestamp": (with_code_after("ex01-answer", probe("touch timestamp",
                              f"open('{COURSE_ESCAPE}submitted/cheat-touch-timestamp/hw3/timestamp.txt', 'w').write('2000-01-01 00:00:00')")),
                              ("graded", 95.0)),
    "cheat-network": (with_code_after("ex01-answer", probe("network", f"__import__('socket').create_connection(('127.0.0.1', {NETWORK_PORT}), timeout=3).sendall(b'leak')")),
                      ("graded", 95.0)),
}
