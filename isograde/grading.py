"""Grade one notebook: the student's cells run in a worker, the checks run here, verdicts as outputs.

Cells are taken in the notebook's order. A code cell of the student's runs in the worker (its printed
output is kept as the student's); a test cell runs the master's version of it here, in the grader,
with the assignment's names bound to handles of the student's objects; its outputs are the grader's
verdict, in the form nbgrader scores (``nbgrader.utils.determine_grade``): an error output for a
failure (0 points), printed text for a pass (full points). Cells tagged ``skip-execution`` are not
run: they keep the outputs the student submitted, marked as such.

A cell or check that runs past its time limit, or code that ends the worker, costs that cell only: the
worker is replaced by a fresh one, which re-runs the earlier cells (without the one that failed).
"""
import contextlib
import io
import time
import warnings

from nbformat.v4 import new_output

from isograde.assignment import GraderSetupError, StudentNamespace, is_skipped, is_test_cell, nbgrader_of
from isograde.remote import StudentError, WorkerGone

MAX_RESTARTS = 4
# A test cell's metadata key for what the grader itself concluded, apart from the message text (which
# can quote the student's own words): {"hint": the hint the check attached to its AssertionError}.
VERDICT_KEY = "isograde"

SUBMITTED_NOTE = "[Output as the student submitted it: the grader does not run this cell.]\n"
SAFE_MIME = ("text/plain", "image/png")


class Timings(dict):
    """Seconds spent per phase, added up."""

    @contextlib.contextmanager
    def phase(self, name):
        started = time.perf_counter()
        try:
            yield
        finally:
            self[name] = self.get(name, 0.0) + time.perf_counter() - started


class NotebookGrader:
    def __init__(self, assignment, zygote, files, cell_timeout=60, check_timeout=30, timings=None):
        self.assignment, self.zygote, self.files = assignment, zygote, files
        self.cell_timeout, self.check_timeout = cell_timeout, check_timeout
        self.timings = timings if timings is not None else Timings()
        self.worker, self.restarts, self.broken = None, 0, set()

    def grade(self, notebook, submitted=None):
        """Fill in every code cell's outputs; ``submitted`` is the notebook as the student handed it in."""
        submitted_outputs = _outputs_by_id(submitted) if submitted is not None else {}
        count = 0
        try:
            for index, cell in enumerate(notebook.cells):
                if cell.cell_type != "code":
                    continue
                count += 1
                cell.execution_count = count
                if is_test_cell(cell):
                    cell.outputs = self.check(index, cell, notebook)
                elif is_skipped(cell, self.assignment.skipped_ids):
                    cell.outputs = _as_submitted(submitted_outputs.get(nbgrader_of(cell).get("grade_id")))
                    cell.execution_count = None
                elif cell.source.strip():
                    cell.outputs = self.run(index, cell, notebook)
                else:
                    cell.outputs = []
        finally:
            if self.worker is not None:
                with self.timings.phase("sandbox"):
                    self.zygote.finish()
                self.worker = None
        return notebook

    # the student's cells --------------------------------------------------------------------------
    def fresh_worker(self, notebook, upto):
        """A new worker that has run the student's cells before cell ``upto`` (but broken ones)."""
        with self.timings.phase("sandbox"):
            if self.worker is not None:
                self.zygote.finish(kill=True)
            self.worker = self.zygote.spawn()
            self.worker.write_files(self.files)
        for index, cell in enumerate(notebook.cells[:upto]):
            if self._runnable(index, cell):
                with contextlib.suppress(StudentError):  # reported when the cell ran the first time
                    self._execute(index, cell.source)

    def _runnable(self, index, cell):
        return (cell.cell_type == "code" and cell.source.strip() and not is_test_cell(cell)
                and not is_skipped(cell, self.assignment.skipped_ids) and index not in self.broken)

    def _execute(self, index, source):
        with self.timings.phase("student cells"), self.worker.time_limit(self.cell_timeout):
            return self.worker.run_cell(source)

    def run(self, index, cell, notebook):
        if self.worker is None:
            self.fresh_worker(notebook, index)
        try:
            result = self._execute(index, cell.source)
        except WorkerGone as gone:
            self.broken.add(index)
            self._replace_worker(notebook, index + 1)
            return [_error("CellTimeoutError" if "timed out" in gone.reason else "WorkerDied",
                           f"{gone.reason}; the grader went on without this cell.")]
        except StudentError as error:  # the notebook broke the worker's own machinery (e.g. built-ins)
            return [_error("WorkerBroken", f"the worker could not run this cell ({error.remote_type}: {error}); "
                                           "an earlier cell may have replaced what Python itself needs.")]
        outputs = []
        if result["stdout"]:
            outputs.append(new_output("stream", name="stdout", text=result["stdout"]))
        if result["stderr"]:
            outputs.append(new_output("stream", name="stderr", text=result["stderr"]))
        if result["error"]:
            name, message, trace = result["error"]
            outputs.append(_error(name, message, trace))
        return outputs

    def _replace_worker(self, notebook, upto):
        self.restarts += 1
        if self.restarts > MAX_RESTARTS:
            self.worker = None
            return
        try:
            self.fresh_worker(notebook, upto)
        except WorkerGone:
            self.worker = None

    # the grader's checks ----------------------------------------------------------------------------
    def check(self, index, cell, notebook):
        grade_id = nbgrader_of(cell).get("grade_id")
        cell.metadata[VERDICT_KEY] = {"hint": None}  # always the grader's: whatever the file held is replaced
        source = self.assignment.tests.get(grade_id)
        if source is None:
            return [_error("UnknownTestCell", f"{grade_id!r} is not a test cell of this assignment.")]
        if self.worker is None and self.restarts <= MAX_RESTARTS:
            try:
                self.fresh_worker(notebook, index)
            except WorkerGone as gone:
                self.worker = None
                return [_error("WorkerDied", gone.reason)]
        if self.worker is None:
            return [_error("WorkerDied", "your notebook ended or stalled the worker too many times; "
                                         "this check was not run.")]
        namespace = StudentNamespace(self.worker, self.assignment.student_names, self.assignment.modules.builtins)
        printed = io.StringIO()
        try:
            with self.timings.phase("checks"), self.worker.time_limit(self.check_timeout), \
                    contextlib.redirect_stdout(printed), contextlib.redirect_stderr(io.StringIO()), \
                    warnings.catch_warnings():
                warnings.simplefilter("ignore")  # the reference's own warnings are not the student's business
                exec(compile(source, f"<test cell {grade_id}>", "exec"), namespace)
        except AssertionError as failure:
            hint = getattr(failure, "hint", None)
            cell.metadata[VERDICT_KEY] = {"hint": hint if isinstance(hint, str) else None}
            self._replace_if_gone(notebook, index)
            return _printed(printed) + [_error("AssertionError", str(failure), _rendered(failure))]
        except WorkerGone as gone:
            self._replace_worker(notebook, index)
            return _printed(printed) + [_error("CellTimeoutError" if "timed out" in gone.reason else "WorkerDied",
                                               gone.reason)]
        except StudentError as error:
            self._replace_if_gone(notebook, index)
            return _printed(printed) + [_error(error.remote_type, f"your code raised {error.remote_type}: {error}")]
        except ImportError as error:  # the checks cannot run at all: a setup error, never a student's 0
            raise GraderSetupError(f"test cell {grade_id}: {error}; the checks import it from "
                                   f"{self.assignment.grader_folder} or {self.assignment.source_folder}") from None
        except NameError as error:
            self._replace_if_gone(notebook, index)
            return _printed(printed) + [_error("NameError", f"{error}: the notebook does not define it.")]
        except Exception as error:  # a value the checks could not handle is a wrong answer, never a pass
            self._replace_if_gone(notebook, index)
            return _printed(printed) + [_error(type(error).__name__, f"the grader could not check your answer: {error}")]
        self._replace_if_gone(notebook, index)
        return _printed(printed) or [new_output("stream", name="stdout", text="Passed.\n")]

    def _replace_if_gone(self, notebook, index):
        if self.worker is not None and self.worker.gone:
            self._replace_worker(notebook, index)


def _printed(buffer):
    text = buffer.getvalue()
    return [new_output("stream", name="stdout", text=text)] if text else []


def _rendered(failure):
    """The lines a failure shows in a notebook, when it renders itself (IPython's ``_render_traceback_``,
    as the checks' failures do), so that feedback holds what the student reads in the notebook; else None.
    The failure was raised by the checks in this process, never by the student's code."""
    render = getattr(failure, "_render_traceback_", None)
    if not callable(render):
        return None
    lines = render()
    return "\n".join(lines) if isinstance(lines, list) and all(isinstance(line, str) for line in lines) else None


def _error(name, message, trace=None):
    lines = trace.splitlines() if trace else [f"{name}: {message}"]
    return new_output("error", ename=name, evalue=message, traceback=lines)


def _outputs_by_id(notebook):
    """The submitted outputs of each nbgrader code cell (the file is the student's: trust no shape)."""
    try:
        return {nbgrader_of(c).get("grade_id"): c.get("outputs", []) for c in notebook.cells
                if c.get("cell_type") == "code" and nbgrader_of(c).get("grade_id")}
    except (AttributeError, TypeError):
        return {}


def _as_submitted(outputs):
    """The student's own outputs of a cell the grader does not run: text and PNG images only (no
    HTML or script reaches the instructor's browser), after a note that says where they come from."""
    kept = [new_output("stream", name="stdout", text=SUBMITTED_NOTE)]
    for output in outputs if isinstance(outputs, list) else []:
        if not isinstance(output, dict) or not isinstance(output.get("data", {}), dict):
            continue
        kind = output.get("output_type")
        if kind == "stream" and isinstance(output.get("text"), str):
            kept.append(new_output("stream", name="stdout", text=output["text"]))
        elif kind in ("display_data", "execute_result"):
            data = {k: v for k, v in output.get("data", {}).items() if k in SAFE_MIME and isinstance(v, str)}
            if "image/png" in data and not data["image/png"].lstrip().startswith("iVBORw0KGgo"):
                data.pop("image/png")  # not a PNG
            if data:
                kept.append(new_output("display_data", data=data))
    return kept
