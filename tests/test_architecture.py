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
