"""Grade one notebook: the student's cells run in a worker, the test cells here, verdicts as outputs.

Cells are taken in the notebook's order. A code cell of the student's runs in the worker; its outputs
(text, figures, the last line's value, its error) are the student's, as a kernel would record them. A
test cell runs the course's version of it here (``isograde.testcell``), against the student's names;
its outputs are what the test printed, displayed or raised, in the form nbgrader scores
(``nbgrader.utils.determine_grade``: an error or stderr output is 0 points, a number as the last value
partial credit, anything else full points). Cells tagged ``skip-execution`` are not run: they keep the
outputs the student submitted, marked as such.

A cell or check that runs past its time limit, or code that ends the worker, costs that cell only: the
worker is replaced by a fresh one, which re-runs the earlier cells (without the one that failed). The
whole notebook has a time budget too (``submission_timeout``): cells left when it is spent are not run.
"""
import contextlib
import dataclasses
import time

from isograde.exceptions import raised_by_student
from isograde.assignment import hidden_lines, is_skipped, is_test_cell, nbgrader_of
from isograde.deadline import interrupt_after
from isograde.reference import ReferenceUnavailable
from isograde.files import FolderSync
from isograde.remote import WorkerGone
from isograde.outputs import SUBMITTED_NOTE, _as_submitted, _error, _outputs_by_id, student_output, test_output  # noqa: F401
from isograde.testcell import TestSession
from isograde.verdicts import VERDICT_KEY, Outcome, Verdict  # noqa: F401 (the engine's contract, also read here)

MAX_RESTARTS = 4


class Timings(dict):
    """Seconds spent per phase, added up."""

    @contextlib.contextmanager
    def phase(self, name):
        started = time.perf_counter()
        try:
            yield
        finally:
            self[name] = self.get(name, 0.0) + time.perf_counter() - started


@dataclasses.dataclass
class Limits:
    cell_timeout: float = 60           # seconds per student cell
    check_timeout: float = 30          # seconds per test cell
    submission_timeout: float = 600   # seconds for the whole notebook
    environment: dict = dataclasses.field(default_factory=dict)  # variables the student's process sees


class NotebookGrader:
    def __init__(self, assignment, zygote, folder=None, limits=None, timings=None):
        self.assignment, self.zygote = assignment, zygote
        self.limits = limits or Limits()
        self.timings = timings if timings is not None else Timings()
        self.files = FolderSync(folder, assignment.source_files())
        self.folder = folder
        self.worker, self.restarts, self.broken = None, 0, set()
        self.session = TestSession(assignment)
        self.deadline = None

    def grade(self, notebook, submitted=None):
        """Fill in every code cell's outputs; ``submitted`` is the notebook as the student handed it in."""
        submitted_outputs = _outputs_by_id(submitted) if submitted is not None else {}
        self.deadline = time.monotonic() + self.limits.submission_timeout
        count = 0
        try:
            for index, cell in enumerate(notebook.cells):
                if cell.cell_type != "code":
                    continue
                count += 1
                cell.execution_count = count
                if is_test_cell(cell) and nbgrader_of(cell).get("grade_id") in self.assignment.skipped_ids:
                    cell.outputs = []  # the master tags it skip-execution: never run, as nbclient does
                    cell.execution_count = None
                elif is_test_cell(cell):
                    cell.outputs = self.check(index, cell, notebook)
                elif is_skipped(cell, self.assignment.skipped_ids):
                    cell.outputs = _as_submitted(submitted_outputs.get(nbgrader_of(cell).get("grade_id")))
                    cell.execution_count = None
                elif cell.source.strip():
                    cell.outputs = self.run(index, cell, notebook)
                else:
                    cell.outputs = []
            if self.worker is not None and not self.worker.gone:
                with contextlib.suppress(Exception, WorkerGone):
                    self.files.pull(self.worker, self.worker.fingerprint)  # files the notebook wrote stay
        finally:
            if self.worker is not None:
                with self.timings.phase("sandbox"):
                    self.zygote.finish()
                self.worker = None
        return notebook

    def remaining(self):
        return self.deadline - time.monotonic() if self.deadline is not None else float("inf")

    # the student's cells --------------------------------------------------------------------------
    def fresh_worker(self, notebook, upto):
        """A new worker that has run the student's cells before cell ``upto`` (but broken ones)."""
        with self.timings.phase("sandbox"):
            if self.worker is not None:
                self.zygote.finish(kill=True)
            self.worker = self.session.worker = self.zygote.spawn(environment=self.limits.environment,
                                                                  allowed_roots=self.assignment.names.roots)
            self.files.start(self.worker)
        for index, cell in enumerate(notebook.cells[:upto]):
            if self._runnable(index, cell):
                self._execute(cell.source)

    def _runnable(self, index, cell):
        return (cell.cell_type == "code" and cell.source.strip() and not is_test_cell(cell)
                and not is_skipped(cell, self.assignment.skipped_ids) and index not in self.broken)

    def _execute(self, source):
        limit = min(self.limits.cell_timeout, max(self.remaining(), 0.001))
        with self.timings.phase("student cells"), self.worker.time_limit(limit):
            return self.worker.run_cell(source)

    def run(self, index, cell, notebook):
        if self.remaining() <= 0:
            return [_error("TimeBudgetExceeded", self._budget_message())]
        try:
            if self.worker is None:
                if self.restarts > MAX_RESTARTS:
                    return [_error("WorkerDied", "your notebook ended or stalled the worker too many times; "
                                                 "this cell was not run.")]
                self.fresh_worker(notebook, index)
            outputs = self._execute(cell.source)
        except WorkerGone as gone:
            self.broken.add(index)
            self._replace_worker(notebook, index + 1)
            name = "CellTimeoutError" if gone.kind == "timeout" else "WorkerDied"
            return [_error(name, f"{gone.reason}; the grader went on without this cell.")]
        return [output for output in (student_output(o) for o in outputs) if output is not None]

    def _replace_worker(self, notebook, upto):
        self.restarts += 1
        if self.restarts > MAX_RESTARTS or self.remaining() <= 0:
            self._drop_worker()
            return
        try:
            self.fresh_worker(notebook, upto)
        except WorkerGone:
            self._drop_worker()

    def _drop_worker(self):
        if self.worker is not None:
            with contextlib.suppress(Exception):
                self.zygote.finish(kill=True)
        self.worker = self.session.worker = None

    def _budget_message(self):
        return (f"the notebook's time budget ({self.limits.submission_timeout:.0f} s for all its cells) was "
                "used up before this cell: it was not run.")

    # the grader's checks ----------------------------------------------------------------------------
    def check(self, index, cell, notebook):
        grade_id = nbgrader_of(cell).get("grade_id")
        verdict = Verdict()
        cell.metadata[VERDICT_KEY] = verdict.as_metadata()
        source = self.assignment.tests.get(grade_id)
        if source is None:
            verdict.outcome = Outcome.SETUP
            cell.metadata[VERDICT_KEY] = verdict.as_metadata()
            return [_error("UnknownTestCell", f"{grade_id!r} is not a test cell of this assignment.")]
        if self.remaining() <= 0:
            verdict.outcome = Outcome.NOT_RUN
            cell.metadata[VERDICT_KEY] = verdict.as_metadata()
            return [_error("TimeBudgetExceeded", self._budget_message())]
        if self.worker is None and self.restarts <= MAX_RESTARTS:
            try:
                self.fresh_worker(notebook, index)
            except WorkerGone as gone:
                self._drop_worker()
                verdict.outcome = Outcome.WORKER_DIED
                cell.metadata[VERDICT_KEY] = verdict.as_metadata()
                return [_error("WorkerDied", gone.reason)]
        worker = self.worker
        limit = min(self.limits.check_timeout, max(self.remaining(), 0.001))
        with self.timings.phase("checks"):
            outputs, error = self._run_test(source, worker, limit)
        if isinstance(error, WorkerGone) or (worker is not None and worker.gone):
            self._replace_worker(notebook, index)
        verdict = self._verdict(error, source)
        cell.metadata[VERDICT_KEY] = verdict.as_metadata()
        return outputs

    def _run_test(self, source, worker, limit):
        """Outputs and the exception that ended the test (None if none)."""
        if worker is not None:
            with contextlib.suppress(Exception):
                self.files.pull(worker, worker.fingerprint)
            worker.before_request = self.files.push
            worker.after_request = lambda w: self.files.pull(w, w.fingerprint)
            worker.budget.check = 0
        error = None
        try:
            with (worker.time_limit(limit) if worker is not None else contextlib.nullcontext()), \
                    interrupt_after(limit + 1, CheckTimeout):
                raw = self.session.run(source, self.folder)
            error = _shell_error()
        except (WorkerGone, CheckTimeout) as stopped:  # ended outside the test's own code
            raw, error = [], stopped
        finally:
            if worker is not None:
                worker.before_request = worker.after_request = None
        outputs = [output for output in (test_output(o) for o in raw) if output is not None]
        if isinstance(error, (WorkerGone, CheckTimeout)) and not any(o.output_type == "error" for o in outputs):
            name = "CellTimeoutError" if isinstance(error, CheckTimeout) or error.kind == "timeout" else "WorkerDied"
            outputs.append(_error(name, getattr(error, "reason", None) or "timed out: the test was still running "
                                                                           "at the time limit"))
        return outputs, error

    def _verdict(self, error, source):
        verdict = Verdict()
        if error is None:
            return verdict
        if isinstance(error, CheckTimeout) or (isinstance(error, WorkerGone) and error.kind == "timeout"):
            verdict.outcome = Outcome.TIMEOUT
        elif isinstance(error, WorkerGone):
            verdict.outcome = Outcome.WORKER_DIED
        elif isinstance(error, ReferenceUnavailable):
            verdict.outcome = Outcome.SETUP
        else:
            verdict.outcome = Outcome.FAILED
        if raised_by_student(error):
            verdict.student_error = type(error).__name__
        elif isinstance(error, AssertionError):
            hint = getattr(error, "hint", None)
            verdict.hint = hint if isinstance(hint, str) else None
        line = _failing_line(error)
        verdict.hidden = line is not None and line in hidden_lines(source)
        return verdict


class CheckTimeout(BaseException):
    """The test's own code (in the grader) ran past the cell's time limit."""

    def __str__(self):
        return "timed out: the test was still running at the time limit"


def _shell_error():
    from isograde.testcell import grader_shell
    return grader_shell().last_error


def _failing_line(error):
    """The line of the test cell from which the exception came (None if unknown)."""
    import traceback
    if error is None or error.__traceback__ is None:
        return None
    lines = [f.lineno for f in traceback.extract_tb(error.__traceback__) if f.filename.startswith("<ipython-input-")]
    return lines[0] if lines else None
