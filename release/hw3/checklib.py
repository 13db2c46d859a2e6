"""The check library: what an assignment's public tests and the grader's hidden checks share.

This file is the engine's ``isograde/checklib.py``. The course kit's ``release`` command copies it,
unchanged, beside each assignment's master notebook (``source/<assignment>/checklib.py``) and into
the student version (``release/<assignment>/checklib.py``); an assignment's ``public_tests.py`` and
hidden checks import it as ``checklib``. It needs the standard library and numpy only: it runs in the
student's kernel too.

A test reaches the student's code only through the *side* of the thing it tests
(``student_side(thing)``):

- in the student's notebook (JupyterLab, nbgrader's Validate) the side is ``LOCAL``, a ``LocalSide``:
  the student's code runs in this very process, and the stand-ins are this module's ``Replay``,
  ``Spy`` and ``Namespace``;
- in the grader the student's code runs in a sandboxed process; the thing under test is a handle
  whose ``__student_side__`` is the grader's ``isograde.remoteside.RemoteSide``, with the same methods
  (a test of the engine checks it), whose stand-ins are answered by the grader.

So the same test gives the same verdict and the same message in both places. The grader never loads
the student's copy of this file: it loads the engine's own (``isograde.assignment.AssignmentModules``).

Tolerances: ``ATOL`` and ``RTOL`` are the defaults of every comparison (``check_array``, ``same``)
and of every stand-in's matching of its arguments (``side.replay``, on both sides). A test that needs
others passes them, ``check_array(..., atol=1e-6, rtol=1e-4)`` or ``side.replay(..., atol=..., rtol=...)``;
do not reassign the module's values (the grader's side reads the engine's).

Variants: a hidden check that draws its inputs from ``variant(seed)`` instead of ``seed`` gets, in the kit's
grader, inputs of its own for each attempt (``GradeInSandbox.variants``: the grader sets ``VARIANT`` from the
submission it grades, so that a regrade draws the same); everywhere else (the instructor's kernel, stock
nbgrader, the students' public tests) ``variant(seed)`` is ``seed``.

One file of more than 300 lines on purpose: it is handed to students as one file beside the notebook.
"""
# Longer than 300 lines: the library ships as one file beside each assignment's notebook (the students' public
# tests import it from their own folder as `checklib`), so it stays one module.
import contextlib
import hashlib
import inspect
import linecache
import sys

import numpy as np

ATOL = 1e-6
RTOL = 1e-5
VARIANT = None  # the attempt's variant (a string), set by the grader only: see variant()
HINT_ATOL = 1e-7  # a known mistake is named only when the result is that mistake's, more closely (hint_for)
HINT_RTOL = 1e-6


# ---------------------------------------------------------------------------------------------
# Failures
# ---------------------------------------------------------------------------------------------

class ExerciseFailed(AssertionError):
    """A failing test: what is wrong in which exercise, a hint, and where the student's code raised.

    It renders itself in the notebook (IPython's ``_render_traceback_``), so a student reads the
    message, the hint and at most the one line of their own code that raised, not the frames of the
    tests; nbgrader's Validate shows what the notebook shows. ``str()`` of it is the message and the
    hint, the form in which the grader reports it in feedback.
    """

    def __init__(self, text, origin=None):
        super().__init__(text)
        self.origin = origin

    def _render_traceback_(self):
        lines = str(self).splitlines()
        if self.origin:
            lines.append(self.origin)
        return lines


def fail(exercise, message, hint=None, origin=None):
    """Raise the failure a student reads: exercise, what is wrong, and how to look for it."""
    __tracebackhide__ = True  # under pytest, the helpers' frames are hidden too
    text = f"Exercise {exercise}: {message}"
    if hint:
        text += f"\nHint: {hint}"
    failure = ExerciseFailed(text, origin)
    failure.hint = hint  # the grader records it apart from the text (the class report counts hints)
    raise failure from None


def passed(exercise):
    print(f"Exercise {exercise}: all public tests passed.")


def student_line(trace):
    """Where the student's own code raised, as one line of text, or None.

    The student's code is what the notebook defines: frames whose module is ``__main__`` (the
    notebook's namespace). The innermost such frame of ``trace`` is the line that raised or called
    what raised."""
    found = None
    while trace is not None:
        if trace.tb_frame.f_globals.get("__name__") == "__main__":
            found = trace.tb_frame.f_code.co_name, trace.tb_frame.f_code.co_filename, trace.tb_lineno
        trace = trace.tb_next
    if found is None:
        return None
    name, filename, line_number = found
    text = linecache.getline(filename, line_number).strip()
    where = "in your cell" if name == "<module>" else f"in {name}()"
    return f"Your code, {where}, line {line_number}: {text}" if text else None


def run(exercise, what, function, *args, **kwargs):
    """Call student code; turn an exception into a failure that says what raised it and where in the
    student's code (raised outside the except block, so the student reads one short message, not two
    chained tracebacks).

    An exception from the student's process (when the grader runs the tests) names its type in
    ``remote_type`` and is read as that exception raised here; a stand-in's failure raised there
    ("Exercise N: ...") becomes the same failure raised here."""
    try:
        return function(*args, **kwargs)
    except Exception as error:
        remote_type = getattr(error, "remote_type", None)
        origin = student_line(error.__traceback__)
        if isinstance(error, ExerciseFailed):  # a stand-in's failure, raised through the student's code
            error.origin = error.origin or origin
            raise
        problem = _problem(what, error, remote_type)
        if remote_type == "NotImplementedError" or isinstance(error, NotImplementedError):
            origin = None  # the message already says which line to replace
    fail(exercise, problem, origin=origin)


def _problem(what, error, remote_type):
    """What ``run`` reports about an exception raised by student code (here or in its process)."""
    if remote_type == "NotImplementedError" or (remote_type is None and isinstance(error, NotImplementedError)):
        return (f"{what} raised NotImplementedError: replace the `raise NotImplementedError()` "
                "line with your code.")
    message = str(error)
    if remote_type == "AssertionError" and message.startswith("Exercise "):
        return message.partition(": ")[2]
    return f"{what} raised {remote_type or type(error).__name__}: {message}"


# ---------------------------------------------------------------------------------------------
# Comparisons (of plain data: what ``side.fetch`` returns)
# ---------------------------------------------------------------------------------------------

def same(received, expected, atol=ATOL, rtol=RTOL):
    """Whether ``received`` has the shape and values of ``expected`` (to name a known mistake)."""
    try:
        values = np.asarray(received, dtype=float)
    except (TypeError, ValueError):
        return False
    return values.shape == np.shape(expected) and bool(np.allclose(values, expected, atol=atol, rtol=rtol))


def hint_for(received, variants, default=None, atol=HINT_ATOL, rtol=HINT_RTOL):
    """The hint of the first known mistake (``{hint: what that mistake returns}``) whose result matches
    what the student returned, else ``default``. The tolerances are tighter than the checks' own, so
    that a mistake is named only when the student's result is that mistake's."""
    for hint, variant in variants.items():
        try:
            if np.shape(received) == np.shape(variant) and np.allclose(received, variant, atol=atol, rtol=rtol):
                return hint
        except (TypeError, ValueError):
            continue
    return default


def preview(array, entries=6):
    """A short, readable view of an array: its first few entries, flattened."""
    flat = np.asarray(array).ravel()
    shown = np.array2string(flat[:entries], precision=8, separator=", ")
    return shown[:-1] + (", ...]" if flat.size > entries else "]")


def check_array(exercise, name, received, expected, hint=None, atol=ATOL, rtol=RTOL):
    """Fail unless ``received`` (plain data) is a numeric array of the expected shape and values."""
    __tracebackhide__ = True
    expected = np.asarray(expected, dtype=float)
    if received is None:
        fail(exercise, f"{name} is None; expected an array of shape {expected.shape}.",
             hint or "Did you forget a return statement, or to store the result?")
    try:
        values = np.asarray(received, dtype=float)
    except Exception:  # not numbers (a string, a dict, ragged lists, an object of the student's process)
        fail(exercise, f"{name} should be a numeric array; received {type(received).__name__}: {received!r:.200}.",
             hint)
    if values.shape != expected.shape:
        fail(exercise, f"{name} has shape {values.shape}; expected {expected.shape}.", hint)
    if not np.all(np.isfinite(values)) and np.all(np.isfinite(expected)):
        fail(exercise, f"{name} contains NaN or inf: {preview(values)}.", hint)
    close = np.isclose(values, expected, atol=atol, rtol=rtol)
    if not np.all(close):
        index = np.unravel_index(np.argmin(close), values.shape)
        fail(exercise,
             f"{name} has the right shape {values.shape} but wrong values "
             f"({int(np.size(close) - np.sum(close))} of {np.size(close)} entries differ).\n"
             f"  expected: {preview(expected)}\n"
             f"  received: {preview(values)}\n"
             f"  first difference at index {tuple(int(i) for i in index)}: "
             f"expected {expected[index]:.8g}, received {values[index]:.8g}",
             hint)


def check_keys(exercise, name, received, expected_keys, hint=None):
    """Fail unless ``received`` (plain data) is a dict with exactly the expected keys."""
    __tracebackhide__ = True
    if not isinstance(received, dict):
        fail(exercise, f"{name} should be a dict; received {type(received).__name__}.", hint)
    missing = _sorted(set(expected_keys) - set(received))
    extra = _sorted(set(received) - set(expected_keys))
    if missing or extra:
        fail(exercise, f"{name} has keys {_sorted(received)}; expected {_sorted(expected_keys)} "
                       f"(missing {missing}, unexpected {extra}).", hint)


def check_unchanged(exercise, what, received, original, hint=None):
    """Fail if a dict of arrays that the code under test received (``received``, fetched back) differs
    from ``original``: ``what`` says what changed it, as in "back_propagation changed caches"."""
    __tracebackhide__ = True
    for key, value in original.items():
        if not isinstance(received, dict) or not np.array_equal(received.get(key), value):
            fail(exercise, f"{what}['{key}'] in place.", hint)


def _sorted(keys):
    """Keys in order, even when they mix types that do not compare (such as 'W1' and 1)."""
    try:
        return sorted(keys)
    except TypeError:
        return sorted(keys, key=repr)


def float_copies(arrays):
    """Float copies of a dict of arrays, so that nobody else's changes reach them."""
    return {key: np.array(value, dtype=float) for key, value in arrays.items()}


def attribute(thing, name):
    """``thing.name``, or None if ``thing`` has no such attribute (here or in the student's process)."""
    try:
        return getattr(thing, name)
    except Exception as error:
        if isinstance(error, AttributeError) or getattr(error, "remote_type", None) == "AttributeError":
            return None
        raise


def attribute_data(side, thing, name):
    """``thing.name`` as plain data (fetched from ``side``), or None when it has no such attribute."""
    return side.fetch(attribute(thing, name))


def bind(signature_of, args, kwargs):
    """Map a recorded call's arguments to parameter names, as Python would."""
    return inspect.signature(signature_of).bind(*args, **kwargs).arguments


def arguments_of(exercise, name, signature_of, call):
    """A recorded call (``[args, kwargs]``, from ``side.calls``) by parameter name, as Python would bind
    it to ``signature_of``; a failure of the exercise when the call does not fit."""
    try:
        return bind(signature_of, *call)
    except TypeError as error:
        fail(exercise, f"{name} was called with arguments that do not fit its signature: {error}.")


# ---------------------------------------------------------------------------------------------
# Stand-ins on the student's side (the grader's are in isograde/remoteside.py)
# ---------------------------------------------------------------------------------------------

class Replay:
    """A stand-in for a function the code under test should call: given the expected arguments of
    each call, it returns the recorded result, and fails with a clear message on any other call.
    ``parameters`` names the arguments of the function it stands for: a call that passes them by
    keyword matches as the same call by position. Arrays match within ``atol`` and ``rtol``."""

    def __init__(self, exercise, name, calls, hint=None, parameters=None, atol=ATOL, rtol=RTOL):
        self.exercise, self.name, self.calls, self.hint = exercise, name, list(calls), hint
        self.parameters = list(parameters) if parameters else None
        self.atol, self.rtol = atol, rtol
        self.count = 0

    def __call__(self, *args, **kwargs):
        positional = bound_positionally(self.parameters, args, kwargs)
        for expected_args, result in self.calls if positional is not None else ():
            if len(positional) >= len(expected_args) and all(same_argument(a, e, self.atol, self.rtol)
                                                             for a, e in zip(positional, expected_args)):
                self.count += 1
                return _copy(result)
        shown = ", ".join([preview(a, 4) if _is_array(a) else type(a).__name__ for a in args] +
                          [f"{k}={preview(v, 4) if _is_array(v) else type(v).__name__}" for k, v in kwargs.items()])
        fail(self.exercise, f"{self.name} was called with unexpected arguments ({shown}).", self.hint)


def bound_positionally(parameters, args, kwargs):
    """The arguments of a call in the order of ``parameters`` (None if they do not bind to them)."""
    if not kwargs:
        return list(args)
    if not parameters:
        return None
    values = dict(zip(parameters, args))
    for key, value in kwargs.items():
        if key not in parameters or key in values:
            return None
        values[key] = value
    positional = []
    for name in parameters:
        if name not in values:
            break
        positional.append(values[name])
    return positional if len(positional) == len(values) else None


def _is_array(value):
    return isinstance(value, np.ndarray)


_SCALARS = (bool, int, float, str, type(None), np.generic)


def same_argument(received, expected, atol=ATOL, rtol=RTOL):
    """Whether a stand-in received what it expects: arrays by shape and values, lists, tuples and
    dicts entry by entry, plain scalars and strings by value, anything else by identity."""
    if _is_array(expected):
        try:
            values = np.asarray(received, dtype=float)
        except (TypeError, ValueError):
            return False
        return values.shape == expected.shape and bool(np.allclose(values, expected, atol=atol, rtol=rtol))
    if isinstance(expected, (list, tuple)):
        return (isinstance(received, (list, tuple)) and len(received) == len(expected)
                and all(same_argument(r, e, atol, rtol) for r, e in zip(received, expected)))
    if isinstance(expected, dict):
        return (isinstance(received, dict) and received.keys() == expected.keys()
                and all(same_argument(received[key], value, atol, rtol) for key, value in expected.items()))
    if received is expected:
        return True
    return isinstance(expected, _SCALARS) and isinstance(received, _SCALARS) and bool(received == expected)


def _copy(value):
    """A copy of recorded data, so that code changing what it received cannot change the record."""
    if isinstance(value, (list, tuple)):
        items = [_copy(item) for item in value]
        return tuple(items) if isinstance(value, tuple) else items
    if isinstance(value, dict):
        return {key: _copy(item) for key, item in value.items()}
    return value.copy() if _is_array(value) else value


class Spy:
    """A stand-in that records its calls and returns ``returns``; given ``update`` (a dict), it also
    updates its first argument with a copy of ``update`` when that argument is a dict (passed by
    position, or by keyword under the name ``into``)."""

    def __init__(self, returns=None, update=None, into=None):
        self.calls, self.returns, self.update, self.into = [], returns, update, into

    def __call__(self, *args, **kwargs):
        self.calls.append((args, kwargs))
        target = args[0] if args else kwargs.get(self.into) if self.into else None
        if isinstance(self.update, dict) and isinstance(target, dict):
            target.update(_copy(self.update))
        return self.returns


class Namespace:
    """An object with the given attributes; calling it calls the attribute named ``call``."""

    def __init__(self, call, attributes):
        self.__dict__.update(attributes)
        self._call = call

    def __call__(self, *args, **kwargs):
        return getattr(self, self._call)(*args, **kwargs)


def namespace_of(thing):
    """The global namespace in which a notebook function or class looks up other names."""
    candidates = [thing] + [value for value in vars(thing).values()] if inspect.isclass(thing) else [thing]
    for candidate in candidates:
        candidate = getattr(candidate, "__func__", candidate)
        if inspect.isfunction(candidate):
            return candidate.__globals__
    return sys.modules["__main__"].__dict__


@contextlib.contextmanager
def replaced(thing, **stand_ins):
    """Rebind names that ``thing`` looks up (``layer``, ``back_propagation``, ...) for the duration
    of a test, and restore the student's own definitions afterwards."""
    namespace = namespace_of(thing)
    saved = {name: namespace[name] for name in stand_ins if name in namespace}
    namespace.update(stand_ins)
    try:
        yield
    finally:
        for name in stand_ins:
            if name in saved:
                namespace[name] = saved[name]
            else:
                namespace.pop(name, None)


def variant(seed):
    """The seed to draw inputs from: ``seed`` itself, or in the grader a number in [0, 2**31) that the attempt's
    ``VARIANT`` and ``seed`` decide (SHA-256 of both): another attempt draws other inputs, a regrade the same."""
    if VARIANT is None:
        return seed
    digest = hashlib.sha256(f"{VARIANT}/{seed}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % 2**31


@contextlib.contextmanager
def seeded(seed):
    """Seed numpy's global generator for code that draws from it, and restore its state afterwards,
    so that a test neither depends on nor disturbs the random numbers of the notebook."""
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(state)


# ---------------------------------------------------------------------------------------------
# The student's side
# ---------------------------------------------------------------------------------------------

class LocalSide:
    """Where the student's code runs when the tests run in the student's own notebook: right here.

    The grader runs the same tests with the student's code in another, sandboxed process; there the
    function under test is a handle whose ``__student_side__`` is the grader's remote side, with the
    same methods. Tests reach the student's process only through these methods:

    - ``put(value)``: a live copy of ``value`` in the student's process (here: ``value`` itself); put
      what the code under test should change in place or receive by identity, then ``fetch`` it;
    - ``fetch(value)``: plain data (numbers, strings, lists, tuples, dicts, numpy arrays);
    - ``seeded(seed)``: seed the student's ``np.random`` for a block and restore it afterwards;
    - ``replaced(thing, **stand_ins)``: rebind names that ``thing`` looks up, for a block;
    - ``new(cls, **attributes)``: an instance made without running ``__init__``, with these attributes
      set in order (one request to the student's process, not one per attribute);
    - ``replay(exercise, name, calls, hint=None, parameters=None, atol=ATOL, rtol=RTOL)``: a stand-in
      function answering recorded calls (``parameters``: the names of the function's arguments, for
      calls by keyword; arrays match within ``atol`` and ``rtol``);
    - ``spy(returns=None, update=None, into=None)``: a stand-in that records its calls (``calls(spy)``),
      returns ``returns`` and, given ``update``, updates its first argument (a dict; by keyword: the
      one named ``into``) with it;
    - ``namespace(call=None, **attributes)``: an object with these attributes (callable as ``call``);
    - ``same(a, b)``: ``a is b`` (or equal bound methods) in the student's process.
    """

    def put(self, value):
        return value

    def fetch(self, value):
        return value

    def seeded(self, seed):
        return seeded(seed)

    def replaced(self, thing, **stand_ins):
        return replaced(thing, **stand_ins)

    def new(self, cls, **attributes):
        instance = cls.__new__(cls)
        for name, value in attributes.items():
            setattr(instance, name, value)
        return instance

    def replay(self, exercise, name, calls, hint=None, parameters=None, atol=ATOL, rtol=RTOL):
        return Replay(exercise, name, list(calls), hint=hint, parameters=parameters, atol=atol, rtol=rtol)

    def spy(self, returns=None, update=None, into=None):
        return Spy(returns=returns, update=update, into=into)

    def calls(self, spy):
        return [[list(args), dict(kwargs)] for args, kwargs in spy.calls]

    def namespace(self, call=None, **attributes):
        return Namespace(call, attributes)

    def same(self, first, second):
        return first is second or (callable(first) and first == second)


LOCAL = LocalSide()


def student_side(thing):
    """The side on which ``thing`` (the function or class under test) lives."""
    return getattr(thing, "__student_side__", None) or LOCAL
