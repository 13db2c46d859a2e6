"""IPython without a kernel: run a cell as Jupyter would and keep its outputs as nbformat-shaped data.

Used on both sides of the channel: the student's worker runs the notebook's own cells with it, the
grader runs test cells with it (magics, ``!cmd``, the value of the last line as a result, ``display``,
inline figures: what a Jupyter kernel, and so nbgrader's Execute, would produce). Outputs are plain
dicts: ``{"output_type": "stream", "name", "text"}``, ``display_data``/``execute_result`` with
``data`` and ``metadata``, ``error`` with ``ename``, ``evalue``, ``traceback``. This file is mounted
into the sandbox as it is: it imports only the standard library and IPython.
"""
import contextlib
import io
import sys
import traceback

from IPython.core.displayhook import DisplayHook
from IPython.core.displaypub import DisplayPublisher
from IPython.core.interactiveshell import InteractiveShell
from traitlets import Type

TEXT_LIMIT = 100_000          # characters of each stream kept per cell
DATA_LIMIT = 8 * 1024 * 1024  # characters of rich output (images, HTML...) kept per cell
OUTPUTS_LIMIT = 200           # outputs kept per cell


def _text(value, limit=2000):
    try:
        text = str(value)
    except BaseException:
        return "(a value whose text could not be read)"
    return text if len(text) <= limit else text[:limit] + f" [... {len(text) - limit} more characters]"


class Outputs:
    """The outputs of one cell, capped, in order. ``student`` marks text the student's code printed
    while the grader ran a test (the grader's own text is not marked)."""

    def __init__(self):
        self.items, self.sizes, self.data_size, self.dropped = [], {}, 0, 0

    def stream(self, name, text, origin=None):
        if not text:
            return
        kept = self.sizes.get(name, 0)
        if kept >= TEXT_LIMIT:
            self.dropped += len(text)
            return
        if kept + len(text) > TEXT_LIMIT:
            self.dropped += kept + len(text) - TEXT_LIMIT
            text = text[:TEXT_LIMIT - kept]
        self.sizes[name] = kept + len(text)
        last = self.items[-1] if self.items else None
        if (last and last["output_type"] == "stream" and last["name"] == name
                and last.get("origin") == origin):
            last["text"] += text
        elif len(self.items) < OUTPUTS_LIMIT:
            output = {"output_type": "stream", "name": name, "text": text}
            if origin:
                output["origin"] = origin
            self.items.append(output)

    def rich(self, kind, data, metadata=None, execution_count=None):
        if not isinstance(data, dict):
            return
        size = sum(len(v) if isinstance(v, str) else len(str(v)) for v in data.values())
        if self.data_size + size > DATA_LIMIT or len(self.items) >= OUTPUTS_LIMIT:
            self.dropped += size
            return
        self.data_size += size
        output = {"output_type": kind, "data": data, "metadata": metadata or {}}
        if kind == "execute_result":
            output["execution_count"] = execution_count
        self.items.append(output)

    def error(self, ename, evalue, lines):
        self.items.append({"output_type": "error", "ename": ename, "evalue": evalue, "traceback": list(lines)})

    def clear(self):
        self.items, self.sizes, self.data_size = [], {}, 0

    def take(self):
        items = self.items
        if self.dropped:
            items.append({"output_type": "stream", "name": "stdout",
                          "text": f"\n[... {self.dropped} more characters of output not kept]\n"})
        self.items, self.sizes, self.data_size, self.dropped = [], {}, 0, 0
        return items


class OutputStream(io.TextIOBase):
    """sys.stdout / sys.stderr while a cell runs: writes go to the current Outputs."""

    def __init__(self, shell, name):
        self.shell, self.name = shell, name

    def writable(self):
        return True

    def write(self, text):
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        self.shell.outputs.stream(self.name, text, self.shell.stream_origin)
        return len(text)

    def isatty(self):
        return False

    @property
    def encoding(self):
        return "utf-8"


class CollectingPublisher(DisplayPublisher):
    def publish(self, data, metadata=None, source=None, *, transient=None, update=False, **kwargs):
        self.shell.outputs.rich("display_data", dict(data or {}), dict(metadata or {}))

    def clear_output(self, wait=False):
        self.shell.outputs.clear()


class CollectingDisplayHook(DisplayHook):
    """The value of a cell's last line becomes an ``execute_result``, as in a kernel."""

    def start_displayhook(self):
        pass

    def write_output_prompt(self):
        pass

    def write_format_data(self, format_dict, md_dict=None):
        self.shell.outputs.rich("execute_result", dict(format_dict), dict(md_dict or {}), self.prompt_count)

    def finish_displayhook(self):
        pass


class CollectingShell(InteractiveShell):
    """An InteractiveShell whose outputs are collected per cell instead of printed."""

    outputs = None
    stream_origin = None

    def __init__(self, **kwargs):
        kwargs.setdefault("display_pub_class", CollectingPublisher)
        super().__init__(**kwargs)
        self.outputs = Outputs()

    displayhook_class = Type(CollectingDisplayHook)

    def atexit_operations(self):
        pass  # nothing to save: no history, no files

    def enable_gui(self, gui=None):
        pass

    def run(self, source):
        """Run one cell; returns its outputs (a list of dicts)."""
        self.outputs.take()
        saved = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = OutputStream(self, "stdout"), OutputStream(self, "stderr")
        try:
            with contextlib.suppress(BaseException):
                self.run_cell(source, store_history=True, silent=False)
        finally:
            sys.stdout, sys.stderr = saved
        return self.outputs.take()

    def showtraceback(self, exc_tuple=None, filename=None, tb_offset=None, exception_only=False,
                      running_compiled_code=False):
        # IPython's own formatter takes ~0.1 s per error (a blank notebook raises a dozen): frames of
        # the notebook's cells only, formatted by the standard library
        etype, value, tb = exc_tuple or sys.exc_info()
        self.record_error(etype, value, tb)

    def _format_exception_for_storage(self, exception, filename=None, running_compiled_code=False):
        # IPython 9 also formats every error of a cell for its history, with its full (slow) formatter;
        # this shell keeps no history: only the name and message, as that method's own return value
        return {"ename": type(exception).__name__, "evalue": _text(exception), "traceback": []}

    def record_error(self, etype, value, tb):
        name = getattr(etype, "__name__", "Error")
        render = getattr(value, "_render_traceback_", None)
        lines = None
        if callable(render):
            with contextlib.suppress(BaseException):
                rendered = render()
                if isinstance(rendered, list) and all(isinstance(line, str) for line in rendered):
                    lines = rendered
        if lines is None:
            frames = [f for f in traceback.extract_tb(tb) if self.shown_frame(f.filename)] if tb else []
            lines = traceback.format_list(frames[-8:]) + [f"{name}: {_text(value)}"]
        self.outputs.error(name, _text(value), lines)

    def shown_frame(self, filename):
        return filename.startswith("<") or "ipykernel" in filename or "ipython-input" in filename

    def showsyntaxerror(self, filename=None, running_compiled_code=False):
        etype, value, _ = sys.exc_info()
        self.outputs.error(getattr(etype, "__name__", "SyntaxError"), _text(value),
                           "".join(traceback.format_exception_only(etype, value))[-2000:].splitlines())

    def showindentationerror(self):
        self.showsyntaxerror()


def new_shell(cls=CollectingShell, **kwargs):
    """The process's one shell (``display()`` and ``get_ipython()`` find it), without history on disk."""
    from traitlets.config import Config
    config = Config()
    config.HistoryManager.enabled = False  # no history.sqlite anywhere
    config.InteractiveShell.colors = "nocolor"
    return cls.instance(config=config, **kwargs)
