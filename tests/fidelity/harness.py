"""Grade the same submissions with stock nbgrader and with the kit, and compare every grade cell.

``grade_both(course, workdir)`` makes two course directories under ``workdir``:

- ``stock/``: nbgrader's own defaults (``Execute``: one kernel per notebook), the course's own settings,
  and the kit's ``OverwriteCells`` policy (``add_missing_cells = True``, see below);
- ``kit/``: the same, plus the kit's grading wiring taken from the repository's ``nbgrader_config.py``:
  ``c.Autograde.sanitize_preprocessors``, ``c.Autograde.autograde_preprocessors`` (``GradeInSandbox`` in
  place of ``Execute``, imported from ``isograde.preprocessor``) and the options of every preprocessor
  those lists name (``GradeInSandbox``'s time limits, ``OverwriteCells``...). The release pipeline,
  feedback and exporters are not the engine's business and stay nbgrader's in both.

In each it runs ``nbgrader generate_assignment`` and one ``nbgrader autograde`` for all submissions
(subprocesses of this Python, its bin/ first on PATH), the two configurations side by side, then reads
each gradebook: ``{(student, notebook, grade_id): (stock, kit, max_score)}``. A score is the cell's
``auto_score`` (a float), ``MANUAL`` when nbgrader left it to be graded by hand (``auto_score`` None), or
``FAILED`` when nbgrader could not grade the notebook at all (no autograded notebook).

The ``add_missing_cells`` policy: stock nbgrader leaves a deleted grade cell ungraded (False); the kit's
config restores and grades it (True). Both configurations here take the repository's ``OverwriteCells``
settings, so a difference in the table is the engine's, never this option's.

Command line: ``python tests/fidelity/harness.py [course ...] [--keep DIR] [--control]`` prints the table
of each course (all courses by default); ``--control`` grades with stock nbgrader in both folders, the
instrument's own check (stock nbgrader against itself: every cell agrees, run to run).
"""
import os
import re
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
MANUAL = "manual"
FAILED = "FAILED"
MODES = ("stock", "kit")
AUTOGRADE_TIMEOUT = 1200  # seconds, per nbgrader command: a hang must not stall CI


class HarnessError(RuntimeError):
    """The harness could not produce a comparison (an nbgrader command failed where it must not)."""


@dataclass
class Course:
    """A course to grade both ways. ``make(root)`` writes into an empty course directory what the course
    holds before release (``source/``, ``autotests.yml``, ...); ``submissions(release, source)`` returns
    ``{student: {notebook name: notebook or bytes}}`` (plus other files by relative path) built from the
    release and source notebooks (``{notebook name: notebook}``); ``config`` is course settings for both
    configurations; ``submitted`` a folder of submissions copied as they are (``submitted/<student>/...``)."""
    name: str
    assignment: str
    make: object
    submissions: object = None
    config: str = ""
    submitted: Path = None
    extra_files: dict = field(default_factory=dict)


# -------------------------------------------------------------------------------------------------
# configurations
# -------------------------------------------------------------------------------------------------

def _dotted(value):
    return f"{value.__module__}.{value.__qualname__}" if isinstance(value, type) else None


def kit_wiring(config_path=REPO / "nbgrader_config.py"):
    """The repository config's grading settings: (the Autograde section, {section: options}), where the
    sections are those of every preprocessor the two Autograde lists name."""
    from traitlets.config import Config
    config = Config()
    namespace = {"get_config": lambda: config, "__file__": str(config_path), "__name__": "nbgrader_config"}
    exec(compile(Path(config_path).read_text(), str(config_path), "exec"), namespace)
    autograde = dict(config.get("Autograde", {}))
    sections = {}
    for key in ("sanitize_preprocessors", "autograde_preprocessors"):
        for item in autograde.get(key, []):
            name = item.__name__ if isinstance(item, type) else str(item).rsplit(".", 1)[-1]
            if name in config and config[name]:
                sections[name] = dict(config[name])
    return autograde, sections


def _render(value):
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_render(v) for v in value) + "]"
    dotted = _dotted(value)
    return repr(dotted) if dotted else repr(value)


def kit_config_lines(config_path=REPO / "nbgrader_config.py"):
    """Course config lines that wire the kit's engine as the repository's config does (classes imported
    from their modules, e.g. ``from isograde.preprocessor import GradeInSandbox``)."""
    autograde, sections = kit_wiring(config_path)
    imports, lines = {}, []
    for key, value in autograde.items():
        if isinstance(value, (list, tuple)):
            names = []
            for item in value:
                if isinstance(item, type):
                    imports.setdefault(item.__module__, set()).add(item.__name__)
                    names.append(item.__name__)
                else:
                    names.append(repr(item))
            lines.append(f"c.Autograde.{key} = [{', '.join(names)}]")
        else:
            lines.append(f"c.Autograde.{key} = {_render(value)}")
    for section, options in sections.items():
        for key, value in options.items():
            if section == "GradeInSandbox" and key in COURSE_TIME_LIMITS:
                continue  # the course's own limits: both configurations use nbgrader's Execute.timeout
            lines.append(f"c.{section}.{key} = {_render(value)}")
    head = [f"from {module} import {', '.join(sorted(names))}" for module, names in sorted(imports.items())]
    return "\n".join(head + lines) + "\n"


COURSE_TIME_LIMITS = ("cell_timeout", "check_timeout")
SHARED_POLICIES = ("OverwriteCells", "IgnorePattern")  # nbgrader's own preprocessors, in both pipelines


def overwrite_cells_lines(config_path=REPO / "nbgrader_config.py"):
    """The repository's options of nbgrader's own preprocessors that both pipelines run (its
    add_missing_cells policy, its IgnorePattern), for both configurations."""
    _, sections = kit_wiring(config_path)
    return "".join(f"c.{section}.{k} = {_render(v)}\n" for section in SHARED_POLICIES
                   for k, v in sections.get(section, {}).items())


def course_config(mode, course, control=False):
    common = ("import os\nc = get_config()  # noqa: F821\n"
              "c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))\n"
              f"# the course's own settings\n{course.config}\n")
    if mode == "stock" or control:
        return (common + "# stock nbgrader: Execute, a kernel per notebook; the kit's add_missing_cells and "
                         "IgnorePattern policies\n" + overwrite_cells_lines())
    return common + "# the kit's engine, wired as in the repository's nbgrader_config.py\n" + kit_config_lines()


# -------------------------------------------------------------------------------------------------
# running nbgrader
# -------------------------------------------------------------------------------------------------

def nbgrader(root, *args, timeout=AUTOGRADE_TIMEOUT):
    """(exit code, log) of one nbgrader command run in ``root``; the venv's bin/ first on PATH."""
    env = dict(os.environ)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    env.pop("JUPYTER_CONFIG_DIR", None)  # no global config: the course's is the only one
    try:
        done = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=root, env=env, capture_output=True,
                              text=True, timeout=timeout)
    except subprocess.TimeoutExpired as expired:
        out = (expired.stdout or b"").decode(errors="replace") if isinstance(expired.stdout, bytes) else (expired.stdout or "")
        return -1, out + f"\n[harness] nbgrader {' '.join(args)} timed out after {timeout} s"
    return done.returncode, done.stdout + done.stderr


def _read_notebooks(folder):
    return {p.stem: nbformat.read(str(p), as_version=4) for p in sorted(Path(folder).glob("*.ipynb"))}


def _write(folder, files):
    for relative, content in files.items():
        path = Path(folder) / (relative if "." in Path(relative).name else relative + ".ipynb")
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, nbformat.NotebookNode):
            nbformat.write(content, str(path))
        elif isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)


def prepare(course, root, mode, control=False):
    root = Path(root)
    root.mkdir(parents=True)
    course.make(root)
    (root / "nbgrader_config.py").write_text(course_config(mode, course, control))
    code, log = nbgrader(root, "generate_assignment", course.assignment, "--force")
    (root / "generate_assignment.log").write_text(log)
    if code != 0:
        raise HarnessError(f"[{mode}] nbgrader generate_assignment {course.assignment} failed (exit {code}):\n"
                           + "\n".join(log.splitlines()[-40:]))
    return root


def write_submissions(course, root, built):
    if course.submitted is not None:
        shutil.copytree(course.submitted, Path(root) / "submitted", dirs_exist_ok=True)
    for student, files in built.items():
        _write(Path(root) / "submitted" / student / course.assignment, files)


def autograde(root, assignment):
    started = time.perf_counter()
    code, log = nbgrader(root, "autograde", assignment, "--force")
    elapsed = time.perf_counter() - started
    (Path(root) / "autograde.log").write_text(log)
    return code, log, elapsed


def scores(root, assignment):
    """({(student, notebook, grade_id): (score, max_score)}, {students nbgrader failed}) from the course's
    gradebook and folders. nbgrader stops a submission at the first notebook it cannot grade and deletes
    the submission's autograded folder: the notebooks graded before keep their scores in the gradebook
    (they are read as such), the one that failed and those after it have no score (``FAILED``)."""
    from nbgrader.api import Gradebook, MissingEntry
    root = Path(root)
    out, failed = {}, set()
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gradebook:
        for student in gradebook.students:
            try:
                submission = gradebook.find_submission(assignment, student.id)
            except MissingEntry:
                continue
            complete = (root / "autograded" / student.id / assignment).is_dir()
            if not complete:
                failed.add(student.id)
            for notebook in submission.notebooks:
                # a graded notebook has an auto_score on every test cell, and on every unanswered answer
                # cell; one that was never graded has none at all
                graded = complete or any(g.auto_score is not None for g in notebook.grades)
                for grade in notebook.grades:
                    if not graded:
                        score = FAILED
                    elif grade.auto_score is None:
                        score = MANUAL
                    else:
                        score = float(grade.auto_score)
                    out[(student.id, notebook.name, grade.name)] = (score, float(grade.max_score))
    return out, failed


def verdicts(root, assignment):
    """{(student, notebook, grade_id): "Name: message"} of the grade cells whose graded outputs hold an
    error (or stderr), from the autograded notebooks nbgrader kept."""
    out = {}
    for path in sorted(Path(root, "autograded").glob(f"*/{assignment}/*.ipynb")):
        student = path.parts[-3]
        try:
            nb = nbformat.read(str(path), as_version=4)
        except Exception:  # noqa: BLE001 (a diagnosis only)
            continue
        for cell in nb.cells:
            gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
            if not gid or cell.cell_type != "code":
                continue
            for output in cell.get("outputs", []):
                if output.output_type == "error":
                    out[(student, path.stem, gid)] = f"{output.ename}: {output.evalue}"
                    break
                if output.output_type == "stream" and output.name == "stderr":
                    out[(student, path.stem, gid)] = f"stderr: {output.text.strip()}"
                    break
    return out


_FAILURE = re.compile(r"There was an error processing assignment: .*?[/\\]([^/\\]+)[/\\][^/\\]+$")
_EXCEPTION_LINE = re.compile(r"^\s*([A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt|Timeout)\w*(: .*)?)$")


def failure_reasons(log):
    """{student: the last exception line of the traceback nbgrader logged when it failed the submission}."""
    reasons, student = {}, None
    for line in log.splitlines():
        found = _FAILURE.search(line)
        if found:
            student = found.group(1)
            continue
        if student is None:
            continue
        if line.startswith("[") and "Traceback" not in line:
            student = None
            continue
        exception = _EXCEPTION_LINE.match(line)
        if exception:
            reasons[student] = exception.group(1)[:200]
    return reasons


# -------------------------------------------------------------------------------------------------
# the comparison
# -------------------------------------------------------------------------------------------------

@dataclass
class Comparison:
    course: str
    assignment: str
    cells: dict  # {(student, notebook, grade_id): (stock, kit, max)}
    seconds: dict  # {"stock": autograde seconds, "kit": ..., "total": wall seconds of grade_both}
    roots: dict  # {"stock": course folder, "kit": ...}
    exit_codes: dict
    failed: dict  # {"stock": {students nbgrader failed}, "kit": ...}
    reasons: dict = field(default_factory=dict)  # {"stock": {cell key: "Error: message"}, "kit": ...}
    failures: dict = field(default_factory=dict)  # {"stock": {student: last exception line}, "kit": ...}

    def differing(self):
        return {key: value for key, value in self.cells.items() if value[0] != value[1]}

    def students(self):
        return sorted({student for student, _, _ in self.cells})

    def table(self):
        diff = self.differing()
        lines = [f"assignment {self.course}/{self.assignment}: {len(self.cells)} cells compared "
                 f"({len(self.students())} submissions), {len(self.cells) - len(diff)} agree, {len(diff)} differ"
                 f"  [autograde: stock {self.seconds.get('stock', 0):.0f} s, kit {self.seconds.get('kit', 0):.0f} s,"
                 f" both with release {self.seconds.get('total', 0):.0f} s wall]"]
        for mode in MODES:
            for student in sorted(self.failed.get(mode, ())):
                why = self.failures.get(mode, {}).get(student, "(see the autograde log)")
                lines.append(f"  {mode}: nbgrader failed the submission of {student}: {why}")
        if diff:
            width = max(len(f"{s} / {n} / {g}") for s, n, g in diff)
            lines.append(f"  {'student / notebook / grade cell':<{width}}  {'stock':>7}  {'kit':>7}  {'max':>4}")
            for key, (stock, kit, top) in sorted(diff.items()):
                student, nb, gid = key
                why = self.why(key)
                lines.append(f"  {f'{student} / {nb} / {gid}':<{width}}  {_fmt(stock):>7}  {_fmt(kit):>7}  {top:>4g}"
                             + (f"  {why}" if why else ""))
        return "\n".join(lines)


    def why(self, key, width=110):
        """The error output behind a differing cell: the kit's, else stock's (one line)."""
        scores = dict(zip(MODES, self.cells.get(key, (None, None))))
        for mode in ("kit", "stock"):
            text = self.reasons.get(mode, {}).get(key)
            if not text and scores.get(mode) == FAILED:
                text = f"nbgrader failed the submission: {self.failures.get(mode, {}).get(key[0], '?')}"
            if text:
                text = " ".join(text.split())
                return f"{mode}: {text[:width]}" + ("..." if len(text) > width else "")
        return ""


def _fmt(score):
    return f"{score:g}" if isinstance(score, float) else str(score)


def grade_both(course, workdir, parallel=True, diagnose=True, control=False):
    """Release, build the submissions, autograde them once per configuration and compare. ``diagnose``:
    when nbgrader failed submissions, grade those again afterwards, notebook by notebook, only to read
    the outputs behind their scores (the scores compared are the first pass's). ``control``: the second
    configuration is stock nbgrader too (the instrument's own check: every cell must agree)."""
    started = time.perf_counter()
    workdir = Path(workdir)
    roots = {mode: workdir / mode for mode in MODES}
    with ThreadPoolExecutor(2 if parallel else 1) as pool:
        list(pool.map(lambda mode: prepare(course, roots[mode], mode, control), MODES))
    release = _read_notebooks(roots["stock"] / "release" / course.assignment)
    kit_release = _read_notebooks(roots["kit"] / "release" / course.assignment)
    if {k: [c.source for c in v.cells] for k, v in release.items()} != \
            {k: [c.source for c in v.cells] for k, v in kit_release.items()}:
        raise HarnessError("the two configurations released different notebooks: the release is not the engine's")
    source = _read_notebooks(roots["stock"] / "source" / course.assignment)
    built = course.submissions(release, source) if course.submissions else {}
    for mode in MODES:
        write_submissions(course, roots[mode], built)
    with ThreadPoolExecutor(2 if parallel else 1) as pool:
        results = dict(zip(MODES, pool.map(lambda mode: autograde(roots[mode], course.assignment), MODES)))
    (stock, stock_failed), (kit, kit_failed) = (scores(roots[mode], course.assignment) for mode in MODES)
    if diagnose:
        # nbgrader deletes every autograded notebook of a submission it failed, and with them the outputs
        # that say why each cell scored what it did. A second pass, after the scores are read, one notebook
        # at a time (a failing notebook then takes only itself down), keeps the others to read.
        for mode, table, failed in (("stock", stock, stock_failed), ("kit", kit, kit_failed)):
            others = sorted({student for student, _, _ in table} - failed)
            for notebook in sorted(release) if failed else ():
                nbgrader(roots[mode], "autograde", course.assignment, "--force", "--notebook", notebook,
                         *([f"--CourseDirectory.student_id_exclude={','.join(others)}"] if others else []))
    cells = {}
    for key in sorted(set(stock) | set(kit)):
        s, top = stock.get(key, (FAILED, None))
        k, top_kit = kit.get(key, (FAILED, None))
        cells[key] = (s, k, top if top is not None else top_kit)
    seconds = {mode: results[mode][2] for mode in MODES}
    seconds["total"] = time.perf_counter() - started
    return Comparison(course.name, course.assignment, cells, seconds, roots,
                      {mode: results[mode][0] for mode in MODES}, {"stock": stock_failed, "kit": kit_failed},
                      {mode: verdicts(roots[mode], course.assignment) for mode in MODES},
                      {mode: failure_reasons(results[mode][1]) for mode in MODES})


def main(argv=None):
    import argparse
    import tempfile
    sys.path.insert(0, str(HERE))
    from courses import COURSES
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("courses", nargs="*", default=list(COURSES))
    parser.add_argument("--keep", help="grade in this folder (kept) instead of a temporary one")
    parser.add_argument("--control", action="store_true",
                        help="grade with stock nbgrader twice (the instrument's check: nothing may differ)")
    args = parser.parse_args(argv)
    base = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="fidelity-"))
    for name in args.courses:
        comparison = grade_both(COURSES[name](), base / name, control=args.control)
        print(comparison.table())
        print()
    if not args.keep:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
