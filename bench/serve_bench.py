"""Benchmark: grade on submit under a burst. Submit to feedback released, for N students submitting within a minute.

    python bench/serve_bench.py [--students 30] [--within 60]

A copy of this course with an exchange of its own; each student fetches the assignment (before the clock
starts), then the students submit through nbgrader's exchange (`nbgrader submit --student=<id>`, each with
their own cache, as hub users would), one every --within/--students seconds, the four sample students'
notebooks cycled, while `python -m coursekit serve` runs. For each submission: the seconds from the time
nbgrader gives it (its timestamp, when `submit` copied it) to its feedback released into the exchange
(`.coursekit-served.json`), so what the student's Assignment List shows at its next refresh. Prints the
distribution (median, p95, max) and the grading time of each submission in the warm server (the kit's
status records).
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)
os.environ["PYTHONPATH"] = REPO + os.pathsep + os.environ.get("PYTHONPATH", "")  # the course's config imports the kit

from coursekit import gradebook as grading  # noqa: E402
from coursekit import records  # noqa: E402
from homework3.samples import SAMPLE_STUDENTS  # noqa: E402

NBGRADER = [sys.executable, "-m", "nbgrader"]


def student_command(workdir, student, *args):
    home = os.path.join(workdir, student)
    os.makedirs(os.path.join(home, "cache"), exist_ok=True)
    subprocess.run([*NBGRADER, *args, f"--student={student}", f"--Exchange.root={os.path.join(workdir, 'exchange')}",
                    f"--Exchange.cache={os.path.join(home, 'cache')}", "--CourseDirectory.course_id=hw3-optimization"],
                   cwd=home, check=True, capture_output=True)
    return home


def percentile(values, share):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=30, help="students who submit (default: 30)")
    parser.add_argument("--within", type=float, default=60.0, help="seconds over which they submit (default: 60)")
    args = parser.parse_args()
    env = dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
    with tempfile.TemporaryDirectory(prefix="serve-bench-") as workdir:
        course = grading.new_course(os.path.join(workdir, "course"), REPO)
        os.makedirs(os.path.join(workdir, "exchange"), mode=0o1777)
        with open(os.path.join(course, "nbgrader_config.py"), "a") as config:
            config.write(f"\nc.Exchange.root = {os.path.join(workdir, 'exchange')!r}\n")
        subprocess.run([*NBGRADER, "release_assignment", "hw3"], cwd=course, check=True, capture_output=True, env=env)
        students = [f"student-{index:03d}" for index in range(args.students)]
        samples = sorted(SAMPLE_STUDENTS)
        print(f"{len(students)} students fetch hw3 ...", flush=True)
        for index, student in enumerate(students):
            home = student_command(workdir, student, "fetch_assignment", "hw3")
            shutil.copy(os.path.join(REPO, "samples", "submitted", samples[index % len(samples)], "hw3", "hw3.ipynb"),
                        os.path.join(home, "hw3", "hw3.ipynb"))
        server = subprocess.Popen([sys.executable, "-m", "coursekit", "serve", "--course", course], env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        server.stdout.readline()  # "Serving ...": the server is up (cold: its first submission starts the engine)
        print(f"they submit, one every {args.within / len(students):.1f} s ...", flush=True)
        started = time.monotonic()
        submitters = []
        for index, student in enumerate(students):
            time.sleep(max(0.0, started + index * args.within / len(students) - time.monotonic()))
            thread = threading.Thread(target=student_command, args=(workdir, student, "submit", "hw3"))
            thread.start()
            submitters.append(thread)
        for thread in submitters:
            thread.join()
        ledger_path = os.path.join(course, ".coursekit-served.json")
        deadline = time.monotonic() + 300
        ledger = {}
        while time.monotonic() < deadline:
            if os.path.exists(ledger_path):
                with open(ledger_path) as stream:
                    ledger = json.load(stream)
                if len(ledger) >= len(students):
                    break
            time.sleep(0.2)
        server.terminate()
        server.wait()
        latencies = [entry["seconds"] for entry in ledger.values()]
        grading_seconds = [record.get("seconds", 0.0) for record in records.load(course, "hw3").values()]
        outcomes = sorted({entry["outcome"] for entry in ledger.values()})
        print(f"\nserved {len(ledger)} of {len(students)} submissions; outcomes: {outcomes}")
        print(f"submit to feedback released: median {statistics.median(latencies):.2f} s, "
              f"p95 {percentile(latencies, 0.95):.2f} s, max {max(latencies):.2f} s")
        print(f"  each: {' '.join(f'{s:.1f}' for s in sorted(latencies))}")
        steps = {}
        for entry in ledger.values():
            for step, value in entry.get("split", {}).items():
                steps.setdefault(step, []).append(value)
        print("split (medians, seconds): " + ", ".join(f"{step} {statistics.median(values):.2f}"
                                                        for step, values in steps.items())
              + " (collect and grade: of the batch a look at the exchange found; feedback: writing and releasing "
                "one student's page); the rest is the wait for the next look and the submit itself")
        print(f"grading one submission in the warm server: median {statistics.median(grading_seconds):.2f} s, "
              f"max {max(grading_seconds):.2f} s (the first: the engine's start)")


if __name__ == "__main__":
    main()
