"""Command line of the course kit: python -m hw3kit COMMAND --help."""
import argparse
import os
import sys


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m hw3kit", description=__doc__)
    parser.add_argument("--course", default=os.getcwd(), help="the nbgrader course directory (default: here)")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("demo", help="release, autograde the sample students, feedback, export, print scores")
    commands.add_parser("samples", help="rewrite samples/submitted/ from the release and the solutions")
    matrix = commands.add_parser("kill-matrix", help="grade the mutation catalogue and print its kill matrix")
    matrix.add_argument("--jobs", type=int, default=2, help="parallel nbgrader processes (default: 2)")
    args = parser.parse_args(argv)
    course = os.path.abspath(args.course)
    if not os.path.isfile(os.path.join(course, "nbgrader_config.py")):
        parser.error(f"{course} is not a course directory (no nbgrader_config.py); use --course.")

    if args.command == "demo":
        from hw3kit.demo import run_demo
        run_demo(course)
    elif args.command == "samples":
        from hw3kit.samples import write_samples
        print(f"wrote {write_samples(course)}")
    elif args.command == "kill-matrix":
        from hw3kit.killmatrix import main as kill_matrix
        return kill_matrix(course, jobs=args.jobs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
