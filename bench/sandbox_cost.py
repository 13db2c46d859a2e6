"""What the sandbox costs per submission: the same N submissions graded with and without it, in one run.

    python bench/sandbox_cost.py [--n 16] [--jobs 1]
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from grade_bench import make_class  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=16, help="submissions per run (default: 16)")
    parser.add_argument("--jobs", type=int, default=1, help="worker processes (default: 1)")
    args = parser.parse_args()
    env = dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"])
    seconds = {}
    with tempfile.TemporaryDirectory(prefix="hw3-sandbox-bench-") as workdir:
        for label, extra in (("sandboxed", []), ("unsandboxed", ["--no-sandbox"]), ("sandboxed again", [])):
            course = make_class(workdir, label.replace(" ", "-"), args.n)
            started = time.perf_counter()
            subprocess.run([sys.executable, "-m", "coursekit", "grade", "hw3", "--jobs", str(args.jobs), "--quiet", *extra],
                           cwd=course, env=env, check=True, capture_output=True)
            seconds[label] = time.perf_counter() - started
    sandboxed = (seconds["sandboxed"] + seconds["sandboxed again"]) / 2
    for label, value in seconds.items():
        print(f"{label:16s} {value:6.1f} s = {value / args.n:.2f} s/submission")
    print(f"sandbox cost: {(sandboxed - seconds['unsandboxed']) / args.n:+.2f} s per submission "
          f"({sandboxed / seconds['unsandboxed']:.2f}x), {args.jobs} job(s), {args.n} submissions")


if __name__ == "__main__":
    main()
