"""Benchmark: the kit's sandboxed grading against stock nbgrader, same course, same submissions, one run.

    python bench/grade_bench.py [--n 40] [--class-size 200] [--jobs 2]

A. stock nbgrader: `nbgrader autograde hw3` in one process, nbgrader's own Execute (a kernel per
   notebook), on a copy of this course whose nbgrader_config.py sets only the course id, the per-cell
   timeout and add_missing_cells (none of the kit's settings);
B. the kit: `python -m coursekit grade hw3 --jobs J` (sandboxed workers, checks in the grader), on
   another copy of the same N submissions; then
C. the kit alone on a class of --class-size submissions (the target: 200 in under a minute).

Submissions are the four sample students, cycled. The benchmark says where A's and B's scores
differ (stock nbgrader runs the master's hidden tests in the student's kernel, where
``isograde.hidden.reference`` is the student's own namespace, so a mistake the public tests miss passes). Prints seconds per submission, the ratio A/B, the projection for 200,
the peak memory of each run (the sum of the proportional set sizes of the run's process tree), the
kit's split of time per submission, and the floor: all checks of one correct notebook in one process.
"""
import argparse
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

from coursekit import gradebook as grading  # noqa: E402
from homework3.samples import SAMPLE_STUDENTS  # noqa: E402

STOCK_CONFIG = """c = get_config()  # noqa: F821
c.CourseDirectory.course_id = "hw3-optimization"
c.Execute.timeout = 60
c.OverwriteCells.add_missing_cells = True
"""


def make_class(workdir, name, n, stock=False, repo=REPO):
    course = grading.new_course(os.path.join(workdir, name), repo)
    if stock:
        with open(os.path.join(course, "nbgrader_config.py"), "w") as handle:
            handle.write(STOCK_CONFIG)
    samples = sorted(SAMPLE_STUDENTS)
    for index in range(n):
        sample = samples[index % len(samples)]
        shutil.copytree(os.path.join(REPO, "samples", "submitted", sample),
                        os.path.join(course, "submitted", f"student-{index:03d}"))
    return course


class PeakMemory(threading.Thread):
    """Samples the summed PSS (/proc/<pid>/smaps_rollup) of a process and all its descendants."""

    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid, self.peak, self.running = pid, 0, True

    def run(self):
        import psutil
        root = psutil.Process(self.pid)
        while self.running:
            try:
                pids = [self.pid] + [child.pid for child in root.children(recursive=True)]
            except psutil.Error:
                break
            self.peak = max(self.peak, sum(_pss(pid) for pid in pids))
            time.sleep(0.05)


def _pss(pid):
    try:
        with open(f"/proc/{pid}/smaps_rollup") as handle:
            for line in handle:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def timed(command, cwd, env):
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    memory = PeakMemory(process.pid)
    memory.start()
    out, err = process.communicate()
    memory.running = False
    memory.join()
    if process.returncode not in (0, 1):
        sys.exit(f"{' '.join(command)} failed:\n{out[-2000:]}\n{err[-2000:]}")
    return time.perf_counter() - started, memory.peak


def scores(course):
    return {student: sum(s for s, _ in cells.values()) for student, cells in grading.cell_scores(course).items()}


def split(course, n):
    """The kit's seconds per submission by phase, from the statuses in the gradebook."""
    from coursekit import records as status
    records = status.load(course, "hw3")
    phases = {}
    for record in records.values():
        for phase, seconds in record.get("phases", {}).items():
            phases[phase] = phases.get(phase, 0.0) + seconds
    total = sum(record.get("seconds", 0.0) for record in records.values())
    phases["nbgrader bookkeeping"] = total - sum(phases.values())
    return {phase: seconds / n for phase, seconds in phases.items()}


def floor_seconds(repeats=20):
    """All checks of the 11 exercises against the master's own solution, in this process."""
    import io
    import contextlib
    from isograde.assignment import Assignment

    assignment = Assignment(REPO, "hw3", "hw3")
    namespace = {name: value for name, value in vars(assignment.reference()).items() if not name.startswith("_")}
    started = time.perf_counter()
    for _ in range(repeats):
        for grade_id, source in assignment.tests.items():
            globals_ = dict(namespace, __builtins__=assignment.modules.builtins)
            with contextlib.redirect_stdout(io.StringIO()):
                exec(compile(source, grade_id, "exec"), globals_)
    return (time.perf_counter() - started) / repeats


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=40, help="submissions graded by both A and B (default: 40)")
    parser.add_argument("--class-size", type=int, default=200, help="submissions graded by C (default: 200)")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes for the kit (default: 2)")
    parser.add_argument("--baseline", metavar="CHECKOUT", help="also grade the same N with the kit of another "
                        "checkout of this repository (e.g. `git worktree add /tmp/before <commit>`), in the same run")
    parser.add_argument("--rounds", type=int, default=3, help="with --baseline: B and D graded this many times, "
                        "alternately (--force), and compared by their medians, so that a load that comes and "
                        "goes weighs on both (default: 3)")
    args = parser.parse_args()
    env = dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"])
    kit_command = [sys.executable, "-m", "coursekit", "grade", "hw3", "--jobs", str(args.jobs), "--quiet"]
    with tempfile.TemporaryDirectory(prefix="hw3-bench-") as workdir:
        stock = make_class(workdir, "stock", args.n, stock=True)
        kit = make_class(workdir, "kit", args.n)
        big = make_class(workdir, "class", args.class_size)
        stock_seconds, stock_memory = timed([sys.executable, "-m", "nbgrader", "autograde", "hw3"], stock, env)
        kit_seconds, kit_memory = timed(kit_command, kit, env)
        class_seconds, class_memory = timed(kit_command, big, env)
        if args.baseline:
            baseline = os.path.abspath(args.baseline)
            # the kit's package was hw3kit before it served any course
            package = "coursekit" if os.path.isdir(os.path.join(baseline, "coursekit")) else "hw3kit"
            before_command = [sys.executable, "-m", package, *kit_command[3:]]
            before = make_class(workdir, "before", args.n, repo=baseline)
            before_env = dict(env, PYTHONPATH=baseline)
            rounds = {"B": [kit_seconds], "D": []}
            for round_ in range(args.rounds):
                force = ["--force"] if round_ else []
                rounds["D"].append(timed(before_command + force, before, before_env)[0])
                if round_:
                    rounds["B"].append(timed(kit_command + ["--force"], kit, env)[0])
            before_seconds = statistics.median(rounds["D"])
            if len(scores(before)) != args.n:
                sys.exit(f"the baseline did not grade every submission: {scores(before)}")
        stock_scores, kit_scores = scores(stock), scores(kit)
        if len(kit_scores) != args.n or len(stock_scores) != args.n:
            sys.exit(f"not every submission was graded: stock {stock_scores}, kit {kit_scores}")
        differ = sorted(s for s in kit_scores if kit_scores[s] != stock_scores[s])
        phases = split(big, args.class_size)
    floor = floor_seconds()
    per = {"stock": stock_seconds / args.n, "kit": kit_seconds / args.n, "class": class_seconds / args.class_size}
    mib = 1024 ** 2
    print(f"{os.cpu_count()} cores; A and B graded the same {args.n} submissions; "
          + (f"their scores differ for {len(differ)} ({', '.join(f'{s}: stock {stock_scores[s]}, kit {kit_scores[s]}' for s in differ[:3])}"
             f"{', ...' if len(differ) > 3 else ''}): stock nbgrader runs the hidden tests in the student's "
             "kernel, where the reference is the student's own code" if differ else "same scores"))
    print(f"A stock `nbgrader autograde hw3` (1 process, a kernel per notebook): {stock_seconds:7.1f} s = "
          f"{per['stock']:.3f} s/submission -> 200: {200 * per['stock']:6.1f} s; peak {stock_memory / mib:.0f} MiB")
    print(f"B `coursekit grade --jobs {args.jobs}` (sandboxed, checks in the grader):   {kit_seconds:7.1f} s = "
          f"{per['kit']:.3f} s/submission -> 200: {200 * per['kit']:6.1f} s; peak {kit_memory / mib:.0f} MiB")
    print(f"Ratio A/B: {stock_seconds / kit_seconds:.1f}x")
    if args.baseline:
        kit_median = statistics.median(rounds["B"])
        print(f"D the kit of {args.baseline} on the same {args.n}, {args.rounds} rounds alternating with B: "
              f"median {before_seconds:.1f} s = {before_seconds / args.n:.3f} s/submission (rounds: "
              f"{', '.join(f'{x:.1f}' for x in rounds['D'])} s); B's rounds: "
              f"{', '.join(f'{x:.1f}' for x in rounds['B'])} s; B/D (medians) = {kit_median / before_seconds:.2f}")
    print(f"C `coursekit grade --jobs {args.jobs}` on a class of {args.class_size}: {class_seconds:.1f} s = "
          f"{per['class']:.3f} s/submission; peak {class_memory / mib:.0f} MiB")
    print("  split per submission (CPU-side seconds in the grading workers): "
          + ", ".join(f"{phase} {seconds:.3f}" for phase, seconds in sorted(phases.items(), key=lambda x: -x[1])))
    print(f"Floor: all checks of one correct notebook in one process {floor:.3f} s; "
          f"C per submission is {per['class'] / floor:.1f}x the floor")


if __name__ == "__main__":
    main()
