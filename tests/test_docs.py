"""The guides hold to the code: every command shown in README.md and docs/*.md names a program, a
subcommand, options and Makefile targets that exist; the layout pictures name files that exist and
docs/layout.md names every module; every relative link and anchor resolves.

What is checked, per program (anything else the docs show fails as an unknown program):

- ``python -m coursekit`` / ``coursekit``: the subcommand is listed by ``--help``, every option shown is
  listed by the subcommand's ``--help``, and the kit's own parser accepts the whole command line (so a
  wrong positional or a choice that does not exist fails); a command that asks for ``--help`` is run.
- ``python -m homework3``: the subcommand and its options, from ``--help``.
- ``python SCRIPT.py``: the script exists, its options are listed by its ``--help``.
- ``python -m pytest`` / ``pytest``: the paths exist.
- ``make``: each target is a rule of the Makefile, each ``VAR=value`` is read by it.
- ``nbgrader``: the subcommand is nbgrader's, each ``--flag`` is one of that app's flags or aliases.
- the few other programs (a deployment's ``pip``, ``jupyter``, ``dask``, ``tljh-config`` ...): checked as
  far as this machine can (the file installed, the extension present), or only named (see OTHER).

Commands are not run (most grade a class, need root or another machine); the full runs are tests of their
own (``tests/test_grading.py`` runs the demo, ``tests/test_classgrade.py`` every subcommand's ``--help``,
``tests/test_hub.py`` the hub, ``tests/test_gradescope.py`` the zip, docs/testing.md has the table).
"""
import contextlib
import functools
import importlib.util
import io
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SHELL = {"sh", "bash", "shell", "console"}
PACKAGES = ("isograde", "coursekit", "homework3")


# --- reading the docs -------------------------------------------------------------------------------

def fenced_blocks(text):
    """(language, line number of the first line, lines) of each fenced code block."""
    language, start, lines = None, 0, []
    for number, line in enumerate(text.splitlines(), 1):
        fence = re.match(r"\s*```(\S*)", line)
        if fence and language is None:
            language, start, lines = fence.group(1) or "text", number + 1, []
        elif fence:
            yield language, start, lines
            language = None
        elif language is not None:
            lines.append(line)


def shell_commands(path):
    """(where, argv) of each command line of the shell code blocks of a page."""
    text = path.read_text(encoding="utf-8")
    for language, start, lines in fenced_blocks(text):
        if language not in SHELL:
            continue
        pending, first = "", start
        for number, line in enumerate(lines, start):
            if not pending:
                first = number
            if line.rstrip().endswith("\\"):
                pending += line.rstrip()[:-1] + " "
                continue
            argv = shlex.split(pending + line, comments=True)
            pending = ""
            if argv:
                yield f"{path.relative_to(ROOT)}:{first}", argv


INLINE = re.compile(r"`((?:python -m |coursekit |make |nbgrader |pytest )[^`]*)`")


def inline_commands(path):
    """Commands quoted in the prose (`make lab PORT=8888`), one space between words."""
    text = path.read_text(encoding="utf-8")
    for found in INLINE.finditer(text):
        line = text.count("\n", 0, found.start()) + 1
        yield f"{path.relative_to(ROOT)}:{line}", shlex.split(" ".join(found.group(1).split()))


def all_commands():
    return [command for page in DOCS for command in [*shell_commands(page), *inline_commands(page)]]


# --- checking one command ---------------------------------------------------------------------------

@functools.lru_cache(maxsize=None)
def help_text(*argv):
    """The --help of a command (argv after the interpreter), or None when it does not exit 0."""
    done = subprocess.run([sys.executable, *argv, "--help"], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    return done.stdout if done.returncode == 0 else None


def subcommands_in_help(text):
    """The COMMAND choices argparse lists (indented by four spaces under "positional arguments")."""
    section = text.split("positional arguments:", 1)[-1].split("options:", 1)[0]
    return {name for name in re.findall(r"(?m)^    ([a-z][\w-]*)", section)}


def options_in_help(text):
    """Every option string ("-h", "--help", "--course", ...) an argparse --help lists."""
    names = set()
    for line in text.splitlines():
        if re.match(r"\s{2}-", line):
            invocation = re.split(r"\s{2,}", line.strip(), maxsplit=1)[0]
            names.update(part.split()[0] for part in invocation.split(", "))
    return names


def options_shown(args):
    return [arg.split("=", 1)[0] for arg in args if arg.startswith("-") and not re.fullmatch(r"-\d.*", arg)]


def is_placeholder(word):
    return re.fullmatch(r"[A-Z][A-Z_]+", word) is not None


def check_module_cli(module, args):
    top = help_text("-m", module)
    if top is None:
        return [f"`python -m {module} --help` fails"]
    if not args or args[0] in ("-h", "--help") or is_placeholder(args[0]):
        return []
    command, rest = args[0], args[1:]
    if command not in subcommands_in_help(top):
        return [f"`{command}` is not a command of `python -m {module}` "
                f"(it has: {', '.join(sorted(subcommands_in_help(top)))})"]
    text = help_text("-m", module, command)
    if text is None:
        return [f"`python -m {module} {command} --help` fails"]
    known = options_in_help(text)
    problems = [f"`{module} {command}` has no option {name}" for name in options_shown(rest) if name not in known]
    if module == "coursekit" and not problems and not {"-h", "--help"} & set(rest):
        problems += parser_rejects(args)
    return problems


def parser_rejects(args):
    """What the kit's own argparse says about a whole command line (choices, positionals, values)."""
    from coursekit.cli import build_parser

    said = io.StringIO()
    try:
        with contextlib.redirect_stderr(said):
            build_parser().parse_args(args)
    except SystemExit:
        lines = said.getvalue().strip().splitlines()
        return [f"the command line is refused: {lines[-1] if lines else 'argparse exits'}"]
    return []


def check_script(script, args):
    if not (ROOT / script).is_file():
        return [f"{script} does not exist"]
    text = help_text(script)
    if text is None:
        return [f"`python {script} --help` fails"]
    known = options_in_help(text)
    return [f"{script} has no option {name}" for name in options_shown(args) if name not in known]


def check_pytest(args):
    return [f"{arg} does not exist" for arg in args
            if not arg.startswith("-") and not (ROOT / arg.split("::")[0]).exists()]


@functools.lru_cache(maxsize=None)
def makefile():
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    targets = set(re.findall(r"(?m)^([A-Za-z0-9_.-]+)\s*:(?!=)", text))
    variables = set(re.findall(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", text))
    return targets, variables


def check_make(args):
    targets, variables = makefile()
    problems = []
    for arg in args:
        if "=" in arg:
            name = arg.split("=", 1)[0]
            if name not in variables:
                problems.append(f"the Makefile does not read {name}")
        elif arg.startswith("-"):
            continue
        elif arg not in targets:
            problems.append(f"the Makefile has no target `{arg}`")
    return problems


def check_nbgrader(args):
    from nbgrader.apps.nbgraderapp import NbGraderApp

    if not args or args[0] in ("-h", "--help", "--help-all"):
        return []
    if args[0] not in NbGraderApp.subcommands:
        return [f"nbgrader has no command `{args[0]}`"]
    app = NbGraderApp.subcommands[args[0]][0]
    known = {*app.flags, *app.aliases}
    return [f"`nbgrader {args[0]}` has no option {name}" for name in options_shown(args[1:])
            if "." not in name and name.lstrip("-") not in known]


def check_pip(args):
    if args[:1] != ["install"]:
        return [f"pip {' '.join(args)}: the docs only show `pip install`"]
    problems, requirement = [], False
    for arg in args[1:]:
        if requirement and not (ROOT / arg).is_file():
            problems.append(f"{arg} does not exist")
        elif arg == "." and not (ROOT / "pyproject.toml").is_file():
            problems.append("`pip install .` needs pyproject.toml")
        requirement = arg == "-r"
    return problems


def check_jupyter(args):
    words = [arg for arg in args if not arg.startswith("-")]
    if words[:3] == ["server", "extension", "disable"]:
        return [f"{module} is not installed" for module in words[3:] if importlib.util.find_spec(module) is None]
    if words[:2] == ["labextension", "disable"]:
        static = Path(sys.prefix) / "share" / "jupyter" / "labextensions" / "@jupyter" / "nbgrader" / "static"
        bundled = " ".join(path.read_text(errors="replace") for path in static.glob("*.js"))
        return [f"no installed lab extension has the plugin {plugin}" for plugin in words[2:]
                if plugin not in bundled]
    return [f"jupyter {' '.join(args)}: not a command the docs may show"]


def check_dask(args):
    if args[:1] not in (["scheduler"], ["worker"]):
        return [f"dask {' '.join(args)}: the docs only show `dask scheduler` and `dask worker`"]
    return [] if importlib.util.find_spec("distributed") else ["dask's distributed is not installed"]


# Programs only named: the command is a system tool or belongs to a machine this test does not have.
OTHER = {
    "source": lambda args: [] if args == [".venv/bin/activate"] and "-m venv $(VENV)" in
    (ROOT / "Makefile").read_text() else [f"source {' '.join(args)}: only .venv/bin/activate (made by make)"],
    "mkdir": lambda args: [],  # a TLJH server's exchange folder (docs/hub.md)
    "chmod": lambda args: [],  # its permissions, as nbgrader asks
    "tljh-config": lambda args: [] if args == ["reload"] else [f"tljh-config {' '.join(args)}: only reload"],
    "pip": check_pip,
    "/opt/tljh/user/bin/pip": check_pip,  # TLJH's users' environment
    "jupyter": check_jupyter,
    "dask": check_dask,
    "pytest": check_pytest,
    "make": check_make,
    "nbgrader": check_nbgrader,
    "coursekit": lambda args: check_module_cli("coursekit", args),
}


def check(argv):
    """What is wrong with one command line as the docs show it ([] when nothing)."""
    argv = list(argv)
    while argv and (argv[0] == "sudo" or re.fullmatch(r"[A-Za-z_]\w*=.*", argv[0])):
        argv.pop(0)
    if not argv:
        return ["an empty command"]
    program, args = argv[0], argv[1:]
    if program in ("python", "python3"):
        if args[:1] == ["-m"] and len(args) > 1:
            if args[1] in ("coursekit", "homework3"):
                return check_module_cli(args[1], args[2:])
            if args[1] == "pytest":
                return check_pytest(args[2:])
            return [f"python -m {args[1]}: not a command of this repository"]
        if args and args[0].endswith(".py"):
            return check_script(args[0], args[1:])
        return [f"python {' '.join(args)}: neither -m nor a script"]
    if program in OTHER:
        return OTHER[program](args)
    return [f"{program}: a program the docs test does not know (add it to OTHER with a reason, or fix the docs)"]


# --- links and the layout -----------------------------------------------------------------------------

def slug(heading):
    """GitHub's anchor of a heading."""
    text = re.sub(r"[`*_]|\[([^\]]*)\]\([^)]*\)", lambda m: m.group(1) or "", heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(path):
    seen, found, fenced = {}, set(), False
    for line in path.read_text(encoding="utf-8").splitlines():
        if re.match(r"\s*```", line):
            fenced = not fenced
        heading = None if fenced else re.match(r"#{1,6}\s+(.*)", line)
        if heading:
            base = slug(heading.group(1))
            count = seen.get(base, 0)
            seen[base] = count + 1
            found.add(base if count == 0 else f"{base}-{count}")
    return found


def broken_links(path, text=None):
    text = path.read_text(encoding="utf-8") if text is None else text
    text = re.sub(r"(?ms)^\s*```.*?^\s*```", "", text)
    problems = []
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+:", target):
            continue
        file, _, anchor = target.partition("#")
        linked = (path.parent / file).resolve() if file else path
        if not linked.exists():
            problems.append(f"{target}: no such file")
        elif anchor and linked.suffix == ".md" and anchor not in anchors(linked):
            problems.append(f"{target}: no heading with this anchor in {linked.name}")
    return problems


def layout_paths(path):
    """The paths named by the ```text pictures of a page: the first word of each line; a line indented
    by two is inside the folder of the last line that was not; one indented further continues the text
    of the line above."""
    paths, parent = [], ""
    for language, _start, lines in fenced_blocks(path.read_text(encoding="utf-8")):
        if language != "text":
            continue
        for line in lines:
            if not line.strip() or line.startswith("   "):
                continue
            word = line.split()[0]
            if line.startswith(" "):
                paths.append(parent + word)
            else:
                paths.append(word)
                parent = word if word.endswith("/") else ""
    return paths


def missing_paths(paths):
    return [path for path in paths if not (ROOT / path).exists()]


# --- the tests --------------------------------------------------------------------------------------

COMMANDS = all_commands()


def test_the_docs_show_commands():
    assert len(COMMANDS) > 50
    assert any(argv[:2] == ["make", "demo"] for _where, argv in COMMANDS)
    assert any(argv[:2] == ["make", "test"] for _where, argv in COMMANDS)


@pytest.mark.parametrize("where,argv", COMMANDS, ids=[f"{w} {' '.join(a)}" for w, a in COMMANDS])
def test_every_command_shown_exists(where, argv):
    assert check(argv) == [], f"{where}: {shlex.join(argv)}"


@pytest.mark.parametrize("argv", sorted({tuple(a) for _w, a in COMMANDS if {"-h", "--help"} & set(a)
                                          and a[:1] == ["python"] and not any(map(is_placeholder, a))}))
def test_help_commands_shown_run(argv):
    done = subprocess.run([sys.executable, *argv[1:]], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "usage:" in done.stdout


@pytest.mark.parametrize("page", DOCS, ids=[p.name for p in DOCS])
def test_every_link_resolves(page):
    assert broken_links(page) == []


def test_the_readme_links_every_guide_and_stays_short():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 150
    for page in DOCS[1:]:
        assert f"(docs/{page.name}" in readme, f"the README does not link docs/{page.name}"


def test_the_layout_pictures_name_files_that_exist():
    readme, layout = layout_paths(ROOT / "README.md"), layout_paths(ROOT / "docs" / "layout.md")
    assert len(readme) >= 10 and len(layout) >= 50
    assert missing_paths(readme + layout) == []


def test_docs_layout_names_every_module():
    named = set(layout_paths(ROOT / "docs" / "layout.md"))
    modules = sorted(str(path.relative_to(ROOT)) for package in PACKAGES for path in (ROOT / package).rglob("*.py")
                     if path.name != "__init__.py")
    assert [module for module in modules if module not in named] == []


def test_repository_paths_quoted_in_the_prose_exist():
    tops = "|".join(["isograde", "coursekit", "homework3", "tests", "bench", "source", "grader", "release",
                     "samples", "hub", "docs"])
    quoted = {word for page in DOCS for word in re.findall(rf"`((?:{tops})/[^`\s<>*]*)`", page.read_text())}
    assert len(quoted) > 30
    assert missing_paths(sorted(quoted)) == []


# --- which test runs each command ----------------------------------------------------------------------

# The docs' commands that do the work are run by tests of their own; this names them (file::test). A
# mapping to a test that runs the function the command runs says so.
RUN_BY = {
    "coursekit serve": "tests/test_serve.py::test_each_submission_is_graded_and_only_its_student_gets_the_feedback",
    "coursekit release": "tests/test_workflow.py::test_10_not_graded_yet_is_never_a_zero",  # its fixture runs release, grade, feedback, export, report
    "coursekit grade": "tests/test_workflow.py::test_3_a_new_gradebook_grades_everyone",
    "coursekit feedback": "tests/test_workflow.py::test_10_feedback_names_who_got_none",
    "coursekit export": "tests/test_class_statistics.py::test_regrade_diff_lists_who_changed",
    "coursekit report": "tests/test_workflow.py::test_10_not_graded_yet_is_never_a_zero",
    "coursekit status": "tests/test_workflow.py::test_4_a_changed_submission_is_never_shown_with_its_old_grade",
    "coursekit remove": "tests/test_workflow.py::test_6_an_unknown_student_leaves_no_phantom_and_a_student_can_be_removed",
    "coursekit new-term": "tests/test_workflow.py::test_10_a_new_term_archives_the_class_and_starts_clean",
    "coursekit import": "tests/test_import.py::test_canvas_download_later_uploads_win_users_keep_their_ids_and_the_rest_is_named",
    "coursekit diff": "tests/test_class_statistics.py::test_regrade_diff_lists_who_changed",
    "coursekit gradescope": "tests/test_gradescope.py::test_zip_follows_gradescope_layout",  # tests/gradescope_image.py runs the command
    "coursekit lab": "tests/test_browser.py::test_student_partial_notebook_in_jupyterlab",  # start_lab, what `lab` runs
    "coursekit hub": "tests/test_hub.py::test_course_cycle_on_jupyterhub",  # the hub module's start and clean
    "homework3 demo": "tests/test_grading.py::test_demo_command_grades_the_samples_end_to_end",  # run_demo
    "homework3 samples": "tests/test_grading.py::test_committed_samples_match_the_release",  # write_samples
    "homework3 kill-matrix": "tests/test_grading.py::test_catalogue_entry_loses_exactly_its_own_points",  # its verdicts
    "make demo": "tests/test_grading.py::test_demo_command_grades_the_samples_end_to_end",
    "make samples": "tests/test_grading.py::test_committed_samples_match_the_release",
    "make kill-matrix": "tests/test_grading.py::test_catalogue_entry_loses_exactly_its_own_points",
    "make release": "tests/test_second_assignment.py::test_an_autotest_assignment_is_released_and_checked",  # coursekit release, per assignment
    "make lab": "tests/test_browser.py::test_student_partial_notebook_in_jupyterlab",
    "make hub": "tests/test_hub.py::test_course_cycle_on_jupyterhub",
    "make hub-clean": "tests/test_hub.py::test_course_cycle_on_jupyterhub",  # its accounts are cleaned at its end
    "make fidelity": "tests/fidelity/test_equivalence.py::test_grades_agree",
    "pytest": "tests/fidelity/test_equivalence.py::test_grades_agree",  # `pytest tests/fidelity`
    "nbgrader autograde": "tests/test_hostile_files.py::test_plain_nbgrader_autograde_refuses_the_same_folders",
    "nbgrader collect": "tests/test_hostile_files.py::test_nbgrader_collect_copies_regular_files_only_and_the_refused_fail_with_their_reason",
    "nbgrader generate_feedback": "tests/test_grading.py::test_feedback_shows_messages_but_not_hidden_tests",
    "nbgrader generate_assignment": "tests/test_notebooks.py::test_release_is_in_sync_with_source",
    "nbgrader export": "tests/test_grading.py::test_demo_command_grades_the_samples_end_to_end",  # the demo exports grades.csv
    "nbgrader quickstart": "tests/test_classgrade.py::test_works_on_a_course_made_by_nbgrader_quickstart",
    "nbgrader validate": "tests/test_browser.py::test_student_full_solution_plot_and_validate_in_jupyterlab",  # its button
    "nbgrader submit": "tests/test_hub.py::test_course_cycle_on_jupyterhub",  # the Assignment List's Submit
    "script tests/fidelity/harness.py": "tests/fidelity/test_equivalence.py::test_grades_agree",  # harness.grade_both
    "script tests/fidelity/nbgrader_suite.py": "tests/fidelity/test_nbgrader_suite.py::test_the_suite_ran",
}

# Shown but run by no test, and why (their names and options are checked above all the same).
NOT_RUN = {
    "make test": "the whole suite: CI runs it (.ci/run)",
    "make browser": "installs Debian's Chromium as root; `make test` runs it first",
    "script bench/grade_bench.py": "a benchmark of minutes, not a test",
    "script bench/sandbox_cost.py": "a benchmark of minutes, not a test",
    "script bench/feedback_bench.py": "a benchmark of minutes, not a test",
    "script bench/serve_bench.py": "a benchmark of minutes, not a test",
    "source": "activates the environment `make` creates",
    "pip": "installs the kit into a deployment's environment",
    "/opt/tljh/user/bin/pip": "a TLJH server's environment",
    "mkdir": "a TLJH server's exchange",
    "chmod": "a TLJH server's exchange",
    "tljh-config": "a TLJH server",
    "jupyter": "a TLJH server's extensions",
    "dask scheduler": "another machine (tests/test_scale.py grades on a local Dask cluster in-process)",
    "dask worker": "another machine (tests/test_scale.py grades on a local Dask cluster in-process)",
}


def command_key(argv):
    """'coursekit grade', 'make demo', 'nbgrader autograde', 'script bench/x.py', 'pip' ... of a command."""
    argv = [arg for arg in argv if arg != "sudo" and not re.fullmatch(r"[A-Za-z_]\w*=.*", arg)]
    if argv[:2] in (["python", "-m"], ["python3", "-m"]):
        argv = argv[2:]
    elif argv[:1] in (["python"], ["python3"]):
        return f"script {argv[1]}"
    words = [arg for arg in argv[1:] if not arg.startswith("-")]
    if argv[0] in ("coursekit", "homework3", "make", "nbgrader", "dask") and words:
        return f"{argv[0]} {words[0]}"
    return argv[0]


def runs_only_help(argv):
    """--help, or a program named without a command (`python -m coursekit`): its --help is run above."""
    return bool({"-h", "--help"} & set(argv)) or argv[:2] == ["python", "-m"] and len(argv) == 3 \
        or argv == ["coursekit"]


@pytest.mark.parametrize("where,argv", COMMANDS, ids=[f"{w} {' '.join(a)}" for w, a in COMMANDS])
def test_every_command_shown_is_run_by_a_named_test_or_says_why_not(where, argv):
    if not runs_only_help(argv):
        key = command_key(argv)
        assert key in RUN_BY or key in NOT_RUN, f"{where}: no test runs `{key}`: name it in RUN_BY or NOT_RUN"


@pytest.mark.parametrize("key,test", sorted(RUN_BY.items()))
def test_the_tests_named_exist(key, test):
    file, _, name = test.partition("::")
    assert re.search(rf"(?m)^def {name}\(", (ROOT / file).read_text()), f"{key}: {test} does not exist"


def make_dry_run(args):
    """What `make -n` would run (it runs nothing), or None when make refuses the command line."""
    # as a user's shell runs it, also when the suite itself runs under `make test` (a sub-make would print
    # its directory and inherit the outer make's flags)
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS", "MAKEOVERRIDES")}
    done = subprocess.run(["make", "--no-print-directory", "-n", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, env=env)
    return done.stdout if done.returncode == 0 else None


@pytest.mark.parametrize("argv", sorted({tuple(a) for _w, a in COMMANDS if command_key(a).startswith("make ")}))
def test_make_accepts_each_make_command_shown(argv):
    assert make_dry_run([arg for arg in argv if arg != "sudo"][1:]) is not None


# What each target runs, so that the test named for `make X` in RUN_BY runs what `make X` runs.
MAKE_RUNS = {
    "demo": "-m homework3 demo", "samples": "-m homework3 samples", "kill-matrix": "-m homework3 kill-matrix",
    "release": '-m coursekit release "$assignment"', "lab": "-m coursekit.platforms.lab",
    "hub": "-m coursekit.platforms.hub", "hub-clean": "-m coursekit.platforms.hub --clean",
    "fidelity": "-m pytest tests/fidelity", "test": "-m pytest",
}


@pytest.mark.parametrize("target,command", sorted(MAKE_RUNS.items()))
def test_each_make_target_runs_the_command_its_test_covers(target, command):
    assert command in make_dry_run([target]).splitlines()[-1]


# --- the checker itself can fail ------------------------------------------------------------------------

@pytest.mark.parametrize("command", [
    "python -m coursekit grde hw3",                       # no such subcommand
    "python -m coursekit grade hw3 --jobz 2",             # no such option
    "coursekit gradescope hw3 --visibility sometimes",    # not one of the choices
    "python -m coursekit diff",                           # its positional missing
    "python -m homework3 samples --check",                # homework3 samples has no --check
    "python -m homework3 kil-matrix",
    "python bench/grade_bench.py --runs 3",
    "python bench/no_such_bench.py",
    "python -m pytest tests/test_nothing_here.py",
    "make dem",
    "make lab PROT=8888",
    "nbgrader autograd hw3",
    "nbgrader generate_assignment hw3 --forse",
    "frobnicate --all",
    "source venv/bin/activate",
])
def test_the_checker_finds_a_wrong_command(command):
    assert check(shlex.split(command)) != []


def test_command_keys():
    assert command_key(shlex.split("sudo make hub PORT=8000")) == "make hub"
    assert command_key(shlex.split("python -m coursekit grade hw3 --jobs 2")) == "coursekit grade"
    assert command_key(shlex.split("python bench/grade_bench.py --n 40")) == "script bench/grade_bench.py"
    assert command_key(shlex.split("frobnicate")) not in {**RUN_BY, **NOT_RUN}


def test_make_refuses_a_target_that_does_not_exist():
    assert make_dry_run(["dem"]) is None


def test_the_checker_passes_right_commands():
    for command in ["python -m coursekit grade hw3 --jobs 2 --force", "sudo make hub PORT=8000",
                    "nbgrader generate_assignment hw3 --force", "python -m homework3 kill-matrix --jobs 2"]:
        assert check(shlex.split(command)) == [], command


def test_the_link_and_layout_checks_can_fail(tmp_path):
    page = ROOT / "docs" / "instructor.md"
    assert broken_links(page, "[a](nowhere.md) [b](hub.md#no-such-heading) [c](hub.md#how-it-is-tested)") == [
        "nowhere.md: no such file", "hub.md#no-such-heading: no heading with this anchor in hub.md"]
    picture = tmp_path / "layout.md"
    picture.write_text("```text\ncoursekit/          the tooling\n  workflow/\n  nothing.py   gone\n"
                       "                   continued text\n```\n")
    assert layout_paths(picture) == ["coursekit/", "coursekit/workflow/", "coursekit/nothing.py"]
    assert missing_paths(layout_paths(picture)) == ["coursekit/nothing.py"]
    assert slug("`isograde/`: the grading engine") == "isograde-the-grading-engine"
    assert slug("The instructor's workflow") == "the-instructors-workflow"
