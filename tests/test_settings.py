"""The commands' settings are declared once (coursekit.settings, traitlets): nbgrader_config.py sets them, the
option of the same name overrides them for one run, and --help names each with its default and its config name."""
import argparse
import json
import shutil
import subprocess
import sys
import zipfile

import pytest
from traitlets.config import Config

from commands import ok
from coursekit import gradebook as grading
from coursekit import settings
from coursekit.settings import GradeOnSubmit

COMMANDS = [settings.GradeCommand, settings.FeedbackCommand, settings.GradescopeCommand, settings.ExportCommand,
            settings.ReportCommand, GradeOnSubmit]


@pytest.mark.parametrize("configurable", COMMANDS, ids=lambda c: c.__name__)
def test_every_setting_says_what_it_is(configurable):
    traits = configurable.class_traits(config=True)
    assert traits and all(len(trait.help) > 20 for trait in traits.values())


@pytest.mark.parametrize("command, configurable", [("grade", settings.GradeCommand),
                                                   ("feedback", settings.FeedbackCommand),
                                                   ("gradescope", settings.GradescopeCommand),
                                                   ("export", settings.ExportCommand),
                                                   ("report", settings.ReportCommand)])
def test_help_names_each_setting_its_default_and_where_it_is_set(command, configurable):
    done = subprocess.run([sys.executable, "-m", "coursekit", command, "--help"], capture_output=True, text=True)
    text = " ".join(done.stdout.split())
    for name, trait in configurable.class_traits(config=True).items():
        assert f"--{name.replace('_', '-')}" in text
        assert f"c.{configurable.__name__}.{name} in nbgrader_config.py" in text
        assert "default:" in text


def test_the_course_sets_and_the_option_overrides():
    config = Config()
    config.GradescopeCommand.time_limit = 600
    assert settings.resolved(settings.GradescopeCommand, config, argparse.Namespace(time_limit=None)).time_limit == 600
    assert settings.resolved(settings.GradescopeCommand, config, argparse.Namespace(time_limit=30)).time_limit == 30
    assert settings.resolved(settings.GradescopeCommand, Config(), argparse.Namespace()).time_limit == 1200
    assert settings.resolved(settings.GradeCommand, Config(), argparse.Namespace(jobs=None)).jobs >= 1


def test_the_gradescope_time_limit_comes_from_the_course_unless_the_option_says(tmp_path, repo):
    course = grading.new_course(tmp_path / "course", repo)
    shutil.copy(repo / "requirements.txt", course)  # the autograder installs the course's pinned packages
    with open(course / "nbgrader_config.py", "a") as config:
        config.write("\nc.GradescopeCommand.time_limit = 600\nc.GradescopeCommand.visibility = 'hidden'\n")

    def built(*options):
        ok(course, "gradescope", "hw3", "--output", str(tmp_path / "a.zip"), *options)
        with zipfile.ZipFile(tmp_path / "a.zip") as archive:
            return json.loads(archive.read("autograder_settings.json"))

    assert (built()["time_limit"], built()["visibility"]) == (600, "hidden")
    assert built("--time-limit", "300")["time_limit"] == 300


def test_the_export_and_report_files_are_the_courses_unless_the_option_says(tmp_path, repo):
    """Named in nbgrader_config.py (relative to the course), overridden by an option (relative to where it runs);
    new-term archives the course's own names."""
    course = grading.new_course(tmp_path / "course", repo)
    shutil.copytree(repo / "samples" / "submitted" / "sample-full-marks", course / "submitted" / "ann")
    with open(course / "nbgrader_config.py", "a") as config:
        config.write("\nc.ExportCommand.to = 'term1-grades.csv'\nc.ExportCommand.lms_to = 'term1-canvas.csv'\n"
                     "c.ReportCommand.output = 'term1-report.html'\n")
    ok(course, "grade", "hw3", "--quiet")
    for command in ("export", "report"):
        ok(course, command, "hw3")
    written = {path.name for path in course.iterdir() if path.name.startswith("term1-")}
    assert written == {"term1-grades.csv", "term1-canvas.csv", "term1-report.html"}
    assert not (course / "grades_by_exercise.csv").exists() and not (course / "report.html").exists()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    done = subprocess.run([sys.executable, "-m", "coursekit", "export", "hw3", "--course", str(course), "--to", "a.csv"],
                          cwd=elsewhere, capture_output=True, text=True)
    assert done.returncode == 0 and (elsewhere / "a.csv").is_file(), done.stdout + done.stderr
    ok(course, "new-term")
    assert not [path for path in course.iterdir() if path.name.startswith("term1-")]
    assert len(list((course / "archive").rglob("term1-report.html"))) == 1
