"""Time limits for the grader's own Python code (a test cell's, the master's): one watchdog thread per
process raises an exception in a thread whose deadline has passed. It interrupts Python code only: a
blocking call is interrupted when it returns to Python (the channel to the worker has its own timeouts)."""
import contextlib
import ctypes
import threading
import time


class TimeLimitReached(BaseException):
    """Raised in a thread whose block ran past its limit (a BaseException: ``except Exception`` in the code
    being timed does not swallow it)."""


class _Watchdog(threading.Thread):
    """One thread per process that raises an exception in a thread whose deadline has passed (Python code
    only: a blocking call is interrupted when it returns to Python). Deadlines nest."""

    def __init__(self):
        super().__init__(daemon=True, name="isograde-watchdog")
        self.condition = threading.Condition()
        self.deadlines = []  # (monotonic time, thread id, exception, fired event), in order of setting

    def run(self):
        with self.condition:
            while True:
                if not self.deadlines:
                    self.condition.wait()
                    continue
                when, target, exception, fired = min(self.deadlines, key=lambda d: d[0])
                delay = when - time.monotonic()
                if delay > 0:
                    self.condition.wait(delay)
                    continue
                self.deadlines.remove((when, target, exception, fired))
                fired.set()
                ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(target), ctypes.py_object(exception))

    def add(self, entry):
        with self.condition:
            self.deadlines.append(entry)
            self.condition.notify()

    def remove(self, entry):
        with self.condition:
            if entry in self.deadlines:
                self.deadlines.remove(entry)


_WATCHDOG = None
_WATCHDOG_LOCK = threading.Lock()


@contextlib.contextmanager
def interrupt_after(seconds, exception=TimeLimitReached):
    """Raise ``exception`` in this thread if the block runs past ``seconds`` (Python code only)."""
    global _WATCHDOG
    with _WATCHDOG_LOCK:
        if _WATCHDOG is None or not _WATCHDOG.is_alive():
            _WATCHDOG = _Watchdog()
            _WATCHDOG.start()
    entry = (time.monotonic() + seconds, threading.get_ident(), exception, threading.Event())
    _WATCHDOG.add(entry)
    try:
        yield
    finally:
        _WATCHDOG.remove(entry)
        if entry[3].is_set():  # the block ended as the watchdog fired: drop an exception still pending
            ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(entry[1]), None)
