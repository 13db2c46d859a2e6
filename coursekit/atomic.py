"""Write a result file so that readers see the old one or the complete new one, never a part."""
import contextlib
import os
import tempfile


@contextlib.contextmanager
def atomic_file(path, newline="", encoding="utf-8", binary=False):
    """Open a temporary file beside ``path`` for writing (text, or bytes with ``binary``); on success it
    replaces ``path`` (after reaching the disk), on any error it is removed and ``path`` is left as it was."""
    folder = os.path.dirname(os.path.abspath(path))
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(path)}.", suffix=".partial")
    try:
        with (os.fdopen(handle, "wb") if binary else os.fdopen(handle, "w", newline=newline, encoding=encoding)) \
                as stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def write_bytes(path, content):
    """Replace ``path`` with ``content`` (bytes), as ``atomic_file`` does."""
    with atomic_file(path, binary=True) as stream:
        stream.write(content)
