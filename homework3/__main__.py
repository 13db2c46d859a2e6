"""Homework 3's own commands (the course kit's are ``python -m coursekit``):

    python -m homework3 demo          the main job on the sample students: release, grade, feedback, export
    python -m homework3 samples       rewrite samples/submitted/ from the release and the solutions
    python -m homework3 kill-matrix   grade the mutation catalogue and print who loses what
"""
import argparse
import os
import sys


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m homework3", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--course", default=".", help="the course directory (default: the current folder)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("demo", help="the main job on the sample students: release, autograde, feedback, export, "
                                     "score table")
    commands.add_parser("samples", help="rewrite samples/submitted/ from the release and the solutions")
    matrix = commands.add_parser("kill-matrix", help="grade the mutation catalogue (homework3/catalogue.py) and print "
                                                     "its kill matrix")
    matrix.add_argument("--jobs", type=int, default=2, help="parallel nbgrader processes (default: 2)")
    args = parser.parse_args(argv)
    course = os.path.abspath(args.course)
    if args.command == "demo":
        from homework3.demo import run_demo
        run_demo(course)
    elif args.command == "samples":
        from homework3.samples import write_samples
        print(f"wrote {write_samples(course)}")
    elif args.command == "kill-matrix":
        from homework3.killmatrix import main as kill_matrix
        return kill_matrix(course, jobs=args.jobs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
