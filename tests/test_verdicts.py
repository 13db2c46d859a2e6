"""The engine's verdicts as the tools read them (isograde/verdicts.py): what the grader wrote reads back the
same; anything else in a cell's metadata reads as no verdict, never as a pass."""
import pytest

from isograde.verdicts import VERDICT_KEY, Outcome, Verdict


@pytest.mark.parametrize("outcome", list(Outcome))
def test_a_written_verdict_reads_back_the_same(outcome):
    written = Verdict(outcome, hint="use the cache", hidden=True, student_error="ValueError")
    assert Verdict.read({"metadata": {VERDICT_KEY: written.as_metadata()}}) == written


@pytest.mark.parametrize("entry", [None, "passed", [], {}, {"outcome": "PASSED"}, {"outcome": "full marks"},
                                   {"outcome": 1}, {"hint": "x"}])
def test_anything_else_reads_as_no_verdict(entry):
    assert Verdict.read({"metadata": {VERDICT_KEY: entry}}) is None


@pytest.mark.parametrize("cell", [None, [], {}, {"metadata": None}, {"metadata": []}])
def test_a_cell_of_any_shape_reads_as_no_verdict(cell):
    assert Verdict.read(cell) is None


def test_fields_of_the_wrong_type_are_dropped_not_trusted():
    verdict = Verdict.read({"metadata": {VERDICT_KEY: {"outcome": "failed", "hint": ["<script>"], "hidden": "yes",
                                                       "student_error": 3}}})
    assert verdict == Verdict(Outcome.FAILED, None, False, None)
