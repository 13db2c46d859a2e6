"""The grader's side of the check library: ``RemoteSide`` carries out ``checklib.LocalSide``'s methods in the
student's worker, with the stand-ins ``Replay`` and ``Spy`` answered and compared in the grader (``matches``, with
the check library's tolerances)."""
import contextlib

import numpy as np

from isograde import checklib, proxy
from isograde.worker import wire

SPY_LOG = 1000  # calls a spy keeps (it counts the rest)

class RemoteSide:
    """``checklib.LocalSide``'s methods, carried out in the student's worker (the same names and
    signatures: ``tests/test_checklib.py`` compares them)."""

    def __init__(self, worker):
        self.worker = worker

    def put(self, value):
        return self.worker.request("put", value)

    def fetch(self, value):
        return self.worker.request("fetch", value) if proxy.is_handle(value) else value

    @contextlib.contextmanager
    def seeded(self, seed):
        self.worker.request("seed", int(seed))
        try:
            yield
        finally:
            if not self.worker.gone:
                self.worker.request("unseed")

    @contextlib.contextmanager
    def replaced(self, thing, **stand_ins):
        token = self.worker.request("patch", thing, stand_ins)
        try:
            yield
        finally:
            if not self.worker.gone:
                self.worker.request("unpatch", token)

    def new(self, cls, **attributes):
        return self.worker.request("new", cls, attributes)

    def replay(self, exercise, name, calls, hint=None, parameters=None, atol=checklib.ATOL, rtol=checklib.RTOL):
        return self._stand_in(Replay(exercise, name, calls, hint, parameters, atol, rtol), name)

    def spy(self, returns=None, update=None, into=None):
        return self._stand_in(Spy(returns, update, into), "spy")

    def calls(self, spy):
        """The calls the spy received, as the grader logged them (the student's process cannot
        change this log)."""
        answerer = self.worker.callbacks[self.worker.stand_ins[spy]][0]
        return [[list(args), dict(kwargs)] for args, kwargs in answerer.calls]

    def _stand_in(self, answerer, name):
        number = len(self.worker.callbacks) + 1
        self.worker.callbacks[number] = (answerer, answerer.answer)
        handle = self.worker.request("make", wire.StandIn("callback", {"id": number, "name": name}))
        self.worker.stand_ins[handle] = number
        return handle

    def namespace(self, call=None, **attributes):
        return self.worker.request("make", wire.StandIn("namespace", {"attributes": attributes, "call": call}))

    def same(self, first, second):
        """``first is second`` in the student's process, or the same bound method: decided here."""
        if not proxy.is_handle(first) or not proxy.is_handle(second):
            return first is second
        return proxy.same_object(first, second) and (proxy.number_of(first) == proxy.number_of(second) or
                                                     object.__getattribute__(first, "_ig_method") is not None)


class Replay:
    """The grader's half of a replayed function: the recorded calls and their results. A call whose
    arguments match none of them (``matches``, within the stand-in's ``atol`` and ``rtol``) is refused
    with the exercise's message. With ``parameters`` (the names of the function it stands for), keyword
    arguments are bound to positions as Python binds them, so a call in any style matches."""

    def __init__(self, exercise, name, calls, hint=None, parameters=None, atol=checklib.ATOL, rtol=checklib.RTOL):
        self.exercise, self.name, self.hint = exercise, name, hint
        self.parameters = list(parameters) if parameters else None
        self.atol, self.rtol = float(atol), float(rtol)
        self.calls = [(tuple(args), result) for args, result in calls]
        self.count = 0

    def bound(self, args, kwargs):
        return checklib.bound_positionally(self.parameters, args, kwargs)

    def answer(self, args, kwargs):
        positional = self.bound(args, kwargs)
        if positional is not None:
            for expected, result in self.calls:
                if len(positional) >= len(expected) and all(matches(a, e, self.atol, self.rtol)
                                                             for a, e in zip(positional, expected)):
                    self.count += 1
                    return result, None
        shown = [_summary(a) for a in args] + [f"{k}={_summary(v)}" for k, v in kwargs.items()]
        raise AssertionError(f"Exercise {self.exercise}: {self.name} was called with unexpected arguments "
                             f"({', '.join(shown)})." + (f"\nHint: {self.hint}" if self.hint else ""))


def _summary(value):
    """A short view of an argument: the first entries of an array, else the kind of value."""
    if isinstance(value, np.ndarray):
        return checklib.preview(value, 4)
    return "an object" if proxy.is_handle(value) else type(value).__name__


class Spy:
    """The grader's half of a spy: it logs the first calls (SPY_LOG; it counts the rest) and gives
    the same answer to every call."""

    def __init__(self, returns, update, into=None):
        self.returns, self.update, self.into, self.calls, self.count = returns, update, into, [], 0

    def answer(self, args, kwargs):
        self.count += 1
        if len(self.calls) < SPY_LOG:
            self.calls.append((args, kwargs))
        return self.returns, self.update, self.into


def matches(received, expected, atol=checklib.ATOL, rtol=checklib.RTOL):
    """Does a received argument match a recorded one? Arrays by shape and value (within ``atol`` and
    ``rtol``, the stand-in's), containers item by item, handles by identity, plain values by equality:
    ``checklib.same_argument`` on the grader's side, where a received object is a handle."""
    if isinstance(expected, np.ndarray):
        if not isinstance(received, (np.ndarray, int, float, list, tuple)):
            return False
        try:
            values = np.asarray(received, dtype=float)
        except (TypeError, ValueError):
            return False
        return values.shape == expected.shape and bool(np.allclose(values, expected, atol=atol, rtol=rtol))
    if isinstance(expected, (list, tuple)):
        return (isinstance(received, (list, tuple)) and len(received) == len(expected)
                and all(matches(r, e, atol, rtol) for r, e in zip(received, expected)))
    if isinstance(expected, dict):
        return (isinstance(received, dict) and set(received) == set(expected)
                and all(matches(received[k], v, atol, rtol) for k, v in expected.items()))
    if proxy.is_handle(expected):
        return received is expected
    return type(received) in (int, float, bool, str, type(None)) and received == expected
