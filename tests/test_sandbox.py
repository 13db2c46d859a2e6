"""Sandboxed grading against the bad-submission corpus (tests/hostile.py), through the kit's grade."""
import os
import socket
import threading
import time

import nbformat
import pytest

import hostile
from coursekit.workflow import grade as classgrade
from coursekit import gradebook as grading
from coursekit import records as status
from coursekit.submissions import build_submission, load_course_notebooks, write_submission

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Listener(threading.Thread):
    """A TCP server on the host's loopback that counts the connections it receives."""

    def __init__(self, port):
        super().__init__(daemon=True)
        self.server = socket.create_server(("127.0.0.1", port))
        self.server.settimeout(0.5)
        self.connections, self.running = 0, True

    def run(self):
        while self.running:
            try:
                connection, _ = self.server.accept()
            except (socket.timeout, OSError):
                continue
            self.connections += 1
            connection.close()

    def stop(self):
        self.running = False
        self.join()
        self.server.close()


def write_case(course, name, case, release_nb, source_nb):
    folder = course / "submitted" / name / "hw3"
    if callable(case):
        write_submission(course, name, case(release_nb, source_nb))
    elif isinstance(case, bytes):
        folder.mkdir(parents=True)
        (folder / "hw3.ipynb").write_bytes(case)
    else:
        folder.mkdir(parents=True)
        for file_name, kind in case.items():
            notebook = release_nb if kind == "release" else build_submission(release_nb, source_nb, hostile.FULL)
            nbformat.write(notebook, folder / file_name)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    course = grading.new_course(tmp_path_factory.mktemp("hostile") / "course", REPO)
    release_nb, source_nb = load_course_notebooks(REPO)
    for name, (case, _) in hostile.CASES.items():
        write_case(course, name, case, release_nb, source_nb)
    (course / "submitted" / "cheat-touch-timestamp" / "hw3" / "timestamp.txt").write_text("2026-11-20 10:00:00")
    victim = (course / "submitted" / "honest-full" / "hw3" / "hw3.ipynb").read_bytes()
    listener = Listener(hostile.NETWORK_PORT)
    listener.start()
    memory = GraderMemory()
    memory.start()
    started = time.monotonic()
    try:
        outcomes = classgrade.grade(course, "hw3", jobs=2, timeout=15, progress=False)
    finally:
        memory.stop()
        listener.stop()
    print(f"hostile class of {len(hostile.CASES)}: {time.monotonic() - started:.0f} s, grading processes' peak "
          f"{memory.peak / 2**20:.0f} MiB (largest one {memory.largest / 2**20:.0f} MiB)")
    return {"course": course, "outcomes": outcomes, "scores": grading.cell_scores(course),
            "connections": listener.connections, "victim": victim, "seconds": time.monotonic() - started,
            "memory": memory}


class GraderMemory(threading.Thread):
    """The summed resident memory of this process's descendants that grade (nbgrader's processes), not
    of the sandboxed workers (bubblewrap and below, bounded by their own limits), sampled every 0.2 s."""

    def __init__(self):
        super().__init__(daemon=True)
        self.peak = self.largest = 0
        self.running = True

    def run(self):
        while self.running:
            sizes = [rss for pid, rss in _grading_processes(os.getpid())]
            if sizes:
                self.peak, self.largest = max(self.peak, sum(sizes)), max(self.largest, max(sizes))
            time.sleep(0.2)

    def stop(self):
        self.running = False
        self.join()


def _grading_processes(root):
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as handle:
                    fields = handle.read().rsplit(")", 1)[1].split()
                with open(f"/proc/{entry}/comm") as handle:
                    name = handle.read().strip()
            except OSError:
                continue
            children.setdefault(int(fields[1]), []).append((int(entry), name, int(fields[21]) * os.sysconf("SC_PAGE_SIZE")))
    found, queue = [], [root]
    while queue:
        for pid, name, rss in children.get(queue.pop(), []):
            if name != "bwrap":
                found.append((pid, rss))
                queue.append(pid)
    return found


def total(cells):
    return sum(score for score, _ in cells.values())


@pytest.mark.parametrize("name", sorted(hostile.CASES))
def test_every_case_ends_with_its_status_and_score(corpus, name):
    expected_status, expected = hostile.CASES[name][1]
    recorded = status.load(corpus["course"], "hw3")[name]
    assert recorded["status"] == expected_status, (name, recorded)
    if expected_status == "failed":
        assert recorded["reason"] and recorded["reason"].startswith(expected), (name, recorded["reason"])
    else:
        assert total(corpus["scores"][name]) == expected, (name, recorded, corpus["scores"][name])


def test_honest_students_get_exactly_what_they_get_alone(corpus):
    assert total(corpus["scores"]["honest-full"]) == 95.0
    assert total(corpus["scores"]["honest-mistakes"]) == 55.0


def test_the_class_run_with_the_resource_attacks_stays_bounded(corpus):
    """Memory bombs, shared memory, a full /tmp, forged frames, fork bombs: the grading processes stay
    small (each worker's memory is bounded apart), and the run ends."""
    assert corpus["memory"].largest < 1024 ** 3, corpus["memory"].largest
    assert corpus["seconds"] < 1200


def output_of(course, student):
    notebook = nbformat.read(course / "autograded" / student / "hw3" / "hw3.ipynb", as_version=4)
    return "".join(o.get("text", "") for c in notebook.cells for o in c.get("outputs", []) if o.output_type == "stream")


@pytest.mark.parametrize("student, what", [
    ("cheat-read-master-notebook", "read source"), ("cheat-read-gradebook", "read gradebook"),
    ("cheat-write-other-student", "write other student"), ("cheat-touch-timestamp", "touch timestamp"),
    ("cheat-network", "network"),
])
def test_the_sandbox_blocks_what_a_submission_must_not_do(corpus, student, what):
    printed = output_of(corpus["course"], student)
    assert f"BLOCKED: {what}:" in printed and "ESCAPED" not in printed


def test_nothing_outside_the_submission_changed_and_nothing_got_through(corpus):
    course = corpus["course"]
    assert (course / "submitted" / "honest-full" / "hw3" / "hw3.ipynb").read_bytes() == corpus["victim"]
    assert (course / "submitted" / "cheat-touch-timestamp" / "hw3" / "timestamp.txt").read_text() == "2026-11-20 10:00:00"
    assert corpus["connections"] == 0


def run_in_sandbox(code):
    """Run ``code`` as a cell in a fresh sandboxed worker; returns what it printed."""
    from isograde.zygote import Zygote

    zygote = Zygote(sandboxed=True, secrets=[REPO])
    try:
        result = zygote.spawn().run_cell(code)
        zygote.finish()
    finally:
        zygote.close()
    return "".join(o.get("text", "") if o["output_type"] == "stream" else
                   f"{o.get('ename')} {o.get('evalue')}" if o["output_type"] == "error" else "" for o in result)


def test_the_sandbox_bounds_processes_and_memory_and_hides_the_course():
    printed = run_in_sandbox(hostile.FORK_BOMB + """
import os
try:
    hog = bytearray(16 * 1024 ** 3)
    print('memory: allocated')
except MemoryError:
    print('memory: refused')
print('course visible', os.path.exists(%r), os.path.exists(%r))
print('uid', os.getuid())
""" % (os.path.join(REPO, "source"), os.path.join(REPO, "gradebook.db")))
    children = int(printed.split("FORK BOMB stopped after ")[1].split()[0])
    assert 0 < children < 128, printed
    assert "memory: refused" in printed
    assert "course visible False False" in printed
    assert "uid 0" not in printed


def test_no_grader_file_and_no_grader_variable_is_readable_from_the_sandbox(monkeypatch):
    """Every file of the course (grader folder, master notebook, engine, gradebook) is out of reach,
    by path and by search, and the worker's environment holds none of the grader's variables."""
    monkeypatch.setenv("HW3_GRADER_TOKEN", "token-that-must-not-leak")
    course_files = [os.path.join(root, name) for root, _, names in os.walk(REPO) if ".git" not in root
                    and ".venv" not in root for name in names]
    printed = run_in_sandbox("""import os
readable = []
for path in %r:
    try:
        open(path, 'rb').read(1)
        readable.append(path)
    except OSError:
        pass
print('readable', readable)
found = [os.path.join(r, n) for r, _, names in os.walk('/') for n in names
         if n in ('hw3_checks.py', 'hw3.ipynb', 'hidden_tests.py', 'grading_status.json')]
print('found', found)
print('environment', sorted(os.environ.items()))
for path in ('/proc/self/mountinfo', '/proc/1/cmdline', '/proc/self/environ'):
    print(path, os.path.exists(path))
""" % (course_files,))
    assert "readable []" in printed and "found []" in printed, printed
    assert "token-that-must-not-leak" not in printed and "HW3_GRADER_TOKEN" not in printed
    assert REPO not in printed.replace(repr(course_files), "")
    assert "/proc/self/mountinfo False" in printed


def test_grading_refuses_to_run_unsandboxed_unless_told(tmp_path, monkeypatch):
    from isograde import sandbox
    monkeypatch.setattr(sandbox.shutil, "which", lambda name: None)
    with pytest.raises(classgrade.GradingSetupError, match="Refusing to grade; pass --no-sandbox"):
        classgrade.grade(REPO, "hw3", students=["nobody"], progress=False)
