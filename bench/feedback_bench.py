"""Benchmark: the kit's feedback pages against stock nbgrader's, same class, same grades, one run.

    python bench/feedback_bench.py [--class-size 200] [--jobs 2] [--rounds 1]

One class of --class-size submissions (the four sample students, cycled, each answer cell made the
student's own by a comment line, so that no student's cells are the same as another's) is graded once by
the kit. Then, on two copies of the graded course, alternating for --rounds rounds:

A. stock nbgrader: `nbgrader generate_feedback hw3 --force` on a copy whose nbgrader_config.py sets only the
   course id (nbgrader's own exporter: pages that load MathJax from a CDN to show their maths);
B. the kit: `python -m coursekit feedback hw3 --jobs J` (pages that show their maths offline, typeset by
   MathJax under Node.js when written).

Prints seconds for the class and per page, the ratio A/B, and the split of the kit's time for 20 pages in
one process (nbgrader's preprocessors, the template, MathJax, the rest).
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import nbformat

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "bench"))
sys.path.insert(0, REPO)

from grade_bench import make_class  # noqa: E402

STOCK_CONFIG = """c = get_config()  # noqa: F821
c.CourseDirectory.course_id = "hw3-optimization"
"""

# Runs in the kit's course: one nbgrader generate_feedback in this process, with timers on its parts.
SPLIT = r"""
import json, sys, time
from nbconvert.exporters.exporter import Exporter
from coursekit.workflow import feedbackpage, maths
spent = {"nbgrader preprocessors": 0.0, "template": 0.0, "MathJax (Node.js)": 0.0}

def timer(owner, name, key):
    original = getattr(owner, name)
    def timed(*args, **kw):
        started = time.perf_counter()
        try:
            return original(*args, **kw)
        finally:
            spent[key] += time.perf_counter() - started
    setattr(owner, name, timed)

timer(Exporter, "_preprocess", "nbgrader preprocessors")
timer(feedbackpage.FeedbackHTMLExporter, "_page", "template")
timer(maths.MathsRenderer, "_ask", "MathJax (Node.js)")
sys.argv = ["nbgrader", "generate_feedback", "hw3", "--force", "--CourseDirectory.feedback_directory=split-feedback",
            "--CourseDirectory.student_id_exclude=" + sys.argv[1]]
started = time.perf_counter()
from nbgrader.apps.nbgraderapp import main
try:
    main()
except SystemExit:
    pass
spent["total"] = time.perf_counter() - started
spent["template"] -= spent["MathJax (Node.js)"]
print("SPLIT " + json.dumps(spent))
"""


def make_distinct(course):
    """Each answer cell of each submission gets a comment naming its student."""
    for student in sorted(os.listdir(os.path.join(course, "submitted"))):
        path = os.path.join(course, "submitted", student, "hw3", "hw3.ipynb")
        notebook = nbformat.read(path, as_version=4)
        for cell in notebook.cells:
            if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("solution"):
                cell.source = f"# {student}\n{cell.source}"
        nbformat.write(notebook, path)


def run(command, cwd, env):
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return time.perf_counter() - started, done.stdout


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--class-size", type=int, default=200, help="submissions (default: 200)")
    parser.add_argument("--jobs", type=int, default=2, help="feedback processes for the kit (default: 2)")
    parser.add_argument("--rounds", type=int, default=1, help="alternating rounds of A and B (default: 1)")
    args = parser.parse_args()
    # every nbgrader this runs (make_class's too) loads the course's nbgrader_config.py, which imports this kit
    os.environ["PYTHONPATH"] = REPO + os.pathsep + os.environ.get("PYTHONPATH", "")
    env = dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
    n = args.class_size
    with tempfile.TemporaryDirectory(prefix="feedback-bench-") as workdir:
        kit = make_class(workdir, "kit", n)
        make_distinct(kit)
        print(f"grading {n} submissions with the kit (once, for both) ...", flush=True)
        seconds, _ = run([sys.executable, "-m", "coursekit", "grade", "hw3", "--jobs", str(args.jobs), "--quiet"],
                         kit, env)
        print(f"  graded in {seconds:.1f} s")
        stock = os.path.join(workdir, "stock")
        shutil.copytree(kit, stock, symlinks=True)
        with open(os.path.join(stock, "nbgrader_config.py"), "w") as handle:
            handle.write(STOCK_CONFIG)
        times = {"A": [], "B": []}
        for round_ in range(args.rounds):
            times["A"].append(run([sys.executable, "-m", "nbgrader", "generate_feedback", "hw3", "--force"],
                                  stock, env)[0])
            times["B"].append(run([sys.executable, "-m", "coursekit", "feedback", "hw3", "--jobs", str(args.jobs)],
                                  kit, env)[0])
            print(f"round {round_ + 1}: A stock {times['A'][-1]:.1f} s, B kit {times['B'][-1]:.1f} s", flush=True)
        pages = [os.path.join(kit, "feedback", s, "hw3", "hw3.html") for s in os.listdir(os.path.join(kit, "feedback"))]
        sizes = sorted(os.path.getsize(page) for page in pages)
        a, b = statistics.median(times["A"]), statistics.median(times["B"])
        print(f"\nfeedback for {n} students (medians of {args.rounds}):")
        print(f"  A stock nbgrader generate_feedback: {a:.1f} s ({a / n:.3f} s a page; pages load MathJax from a CDN)")
        print(f"  B kit feedback --jobs {args.jobs}:        {b:.1f} s ({b / n:.3f} s a page; maths typeset, offline)")
        print(f"  A/B = {a / b:.1f}x; kit pages {len(pages)}, {sizes[0] // 1000}-{sizes[-1] // 1000} KB")
        everyone = sorted(os.listdir(os.path.join(kit, "autograded")))
        students, others = everyone[:20], everyone[20:]
        _, out = run([sys.executable, "-c", SPLIT, ",".join(others)], kit, env)
        spent = json.loads(out.split("SPLIT ", 1)[1].splitlines()[0])
        rest = spent["total"] - sum(v for k, v in spent.items() if k != "total")
        print(f"\nsplit of the kit's time, one process, {len(students)} pages: {spent['total']:.1f} s")
        for part, value in [*((k, v) for k, v in spent.items() if k != "total"), ("start and the rest", rest)]:
            print(f"  {part:28s} {value:6.2f} s  ({value / len(students):.3f} s a page)")


if __name__ == "__main__":
    main()
