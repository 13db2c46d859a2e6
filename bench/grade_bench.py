"""Benchmark: grade the same N synthetic submissions with plain nbgrader and with the kit, in one run.

    python bench/grade_bench.py [--n 40] [--jobs 2]

A. plain nbgrader: one `nbgrader autograde hw3` process over the whole class, each notebook run in
   full (HW3_FULL_COMPARISON=1: the MNIST comparison trains 100 iterations, as students run it);
B. the kit: `python -m hw3kit grade hw3 --jobs N`, with the grader's small MNIST comparison.

Both grade copies of the same submissions (the four sample students, cycled) in fresh courses.
Prints seconds per submission, the ratio A/B and what a class of 200 would take with each.
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from hw3kit import grading  # noqa: E402
from hw3kit.samples import SAMPLE_STUDENTS  # noqa: E402


def make_class(workdir, name, n):
    course = grading.new_course(os.path.join(workdir, name), REPO)
    samples = sorted(SAMPLE_STUDENTS)
    for index in range(n):
        sample = samples[index % len(samples)]
        shutil.copytree(os.path.join(REPO, "samples", "submitted", sample),
                        os.path.join(course, "submitted", f"student-{index:03d}"))
    return course


def timed(command, cwd, env=None):
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    if done.returncode not in (0, 1):
        sys.exit(f"{' '.join(command)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return time.perf_counter() - started


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=40, help="submissions per run (default: 40)")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes for the kit (default: 2)")
    args = parser.parse_args()
    env = dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"])
    with tempfile.TemporaryDirectory(prefix="hw3-bench-") as workdir:
        plain, kit = make_class(workdir, "plain", args.n), make_class(workdir, "kit", args.n)
        plain_seconds = timed([sys.executable, "-m", "nbgrader", "autograde", "hw3"], plain,
                              dict(env, HW3_FULL_COMPARISON="1"))
        kit_seconds = timed([sys.executable, "-m", "hw3kit", "grade", "hw3", "--jobs", str(args.jobs), "--quiet"],
                            kit, env)
        totals = {name: sorted(sum(s for s, _ in cells.values()) for cells in grading.cell_scores(course).values())
                  for name, course in (("plain", plain), ("kit", kit))}
    if totals["plain"] != totals["kit"]:
        sys.exit(f"the two runs disagree on scores: {totals}")
    per = {"plain": plain_seconds / args.n, "kit": kit_seconds / args.n}
    print(f"{args.n} submissions, {os.cpu_count()} cores, same scores in both runs")
    print(f"A plain `nbgrader autograde hw3` (1 process, full notebook): {plain_seconds:7.1f} s "
          f"= {per['plain']:.2f} s/submission -> 200 students: {200 * per['plain'] / 60:.1f} min")
    print(f"B `hw3kit grade --jobs {args.jobs}` (small MNIST comparison):  {kit_seconds:7.1f} s "
          f"= {per['kit']:.2f} s/submission -> 200 students: {200 * per['kit'] / 60:.1f} min")
    print(f"Ratio A/B: {plain_seconds / kit_seconds:.2f}x")


if __name__ == "__main__":
    main()
