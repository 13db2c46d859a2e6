"""The layers of the code hold (.importlinter, checked by import-linter): the engine imports nothing of
the tooling, the tooling nothing of homework 3, the reports and platforms not each other, and the
command line, platforms and reports, workflow and shared modules import downwards only."""
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LINT = [sys.executable, "-c", "import sys; from importlinter.cli import lint_imports_command; "
        "sys.exit(lint_imports_command())"]


def lint(config):
    return subprocess.run([*LINT, "--config", str(config), "--no-cache"], cwd=REPO, capture_output=True, text=True,
                          env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})


def test_every_contract_of_the_repository_is_kept():
    done = lint(REPO / ".importlinter")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Contracts: 4 kept, 0 broken." in done.stdout


def test_a_broken_layer_is_caught(tmp_path):
    """The checker itself: the command line imports the workflow, so a contract that forbids it fails."""
    config = tmp_path / "broken.ini"
    config.write_text("[importlinter]\nroot_packages =\n    coursekit\n\n"
                      "[importlinter:contract:upside-down]\nname = upside down\ntype = forbidden\n"
                      "source_modules = coursekit.cli\nforbidden_modules = coursekit.workflow\n")
    done = lint(config)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "coursekit.cli is not allowed to import coursekit.workflow" in done.stdout


# --- sizes -------------------------------------------------------------------------------------------------

PACKAGES = ("coursekit", "isograde", "homework3")
MODULE_LINES, FUNCTION_LINES = 300, 60
MODULE_REASON, FUNCTION_REASON = "# Longer than 300 lines:", "# Longer than 60 lines:"


def oversized(root=REPO):
    """(modules over MODULE_LINES, functions over FUNCTION_LINES) of the packages, but for those whose comment
    (MODULE_REASON in the module, FUNCTION_REASON in the function) says why."""
    import ast
    modules, functions = [], []
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            source = path.read_text()
            lines = source.splitlines()
            name = path.relative_to(root).as_posix()
            if len(lines) > MODULE_LINES and MODULE_REASON not in source:
                modules.append(f"{name}: {len(lines)} lines")
            for node in ast.walk(ast.parse(source)):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    body = lines[node.lineno - 1:node.end_lineno]
                    if len(body) > FUNCTION_LINES and not any(FUNCTION_REASON in line for line in body):
                        functions.append(f"{name}:{node.lineno} {node.name}: {len(body)} lines")
    return modules, functions


def test_modules_and_functions_are_small_or_say_why():
    assert oversized() == ([], [])


def test_the_size_check_finds_a_long_module_and_a_long_function(tmp_path):
    package = tmp_path / "coursekit"
    package.mkdir()
    (package / "long.py").write_text("def f():\n" + "    x = 1\n" * 70 + "\n" * 240)
    (package / "explained.py").write_text(f"{MODULE_REASON} one file on purpose\n" + "x = 1\n" * 310)
    for other in PACKAGES[1:]:
        (tmp_path / other).mkdir()
    assert oversized(tmp_path) == (["coursekit/long.py: 311 lines"], ["coursekit/long.py:1 f: 71 lines"])
