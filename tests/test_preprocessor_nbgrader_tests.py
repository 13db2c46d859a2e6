"""nbgrader's own unit tests of SaveAutoGrades and GetGrades (shipped in the installed package), run with the
kit's replacements in their place: the same tests, the same notebooks, the kit's preprocessors."""
import pytest
from nbgrader.preprocessors import SaveCells
from nbgrader.tests.preprocessors import test_getgrades, test_saveautogrades
from nbgrader.tests.preprocessors.conftest import db  # noqa: F401 (nbgrader's fixture: a fresh gradebook file)

from isograde.preprocessor import GetGradesAtOnce, SaveAutoGradesAtOnce

gradebook = test_getgrades.gradebook
resources = test_getgrades.resources


@pytest.fixture
def preprocessors():
    return SaveCells(), SaveAutoGradesAtOnce(), GetGradesAtOnce()


class TestSaveAutoGradesAtOnce(test_saveautogrades.TestSaveAutoGrades):
    """nbgrader's TestSaveAutoGrades, with SaveAutoGradesAtOnce as preprocessors[1]."""


class TestGetGradesAtOnce(test_getgrades.TestGetGrades):
    """nbgrader's TestGetGrades, with SaveAutoGradesAtOnce and GetGradesAtOnce as preprocessors[1] and [2]."""


def test_the_kits_preprocessors_are_the_ones_tested(preprocessors):
    assert [type(p) for p in preprocessors[1:]] == [SaveAutoGradesAtOnce, GetGradesAtOnce]
