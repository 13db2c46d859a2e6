"""Each attempt's variant: the inputs of the hidden checks that draw them from ``checklib.variant(seed)`` (set by
``GradeInSandbox`` when ``c.GradeInSandbox.variants`` is on).

The variant is a digest of the course's key, the student, the assignment and every file the student handed in
(names and bytes, hidden files included): not a time the student could write, and no file left out, so that a
submission changed in any way (a notebook, or a file beside it that the notebook reads its answers from) to
answer the inputs an earlier attempt's feedback showed is checked on inputs of its own.
"""
import hashlib
import os
import stat

MAX_FILES = 10000  # beyond: the names of the rest still count (the kit's collect refuses such a folder anyway)
MAX_BYTES = 512 * 1024 * 1024


def attempt_variant(key, info, folder):
    """The variant of one attempt (checklib.VARIANT) whose files are in ``folder`` (None: none readable)."""
    digest = hashlib.sha256()
    for part in (key, info.get("student", ""), info.get("assignment", ""), info.get("notebook", "")):
        digest.update(str(part).encode() + b"\0")
    digest.update(folder_digest(folder) if folder else b"")
    return digest.hexdigest()


def folder_digest(folder):
    """SHA-256 over the relative name, kind and bytes of everything under ``folder``, in name order; nothing is
    followed (a link counts by its target's name, a pipe or device by its kind) and nothing blocks."""
    digest, budget, count = hashlib.sha256(), [MAX_BYTES], [0]

    def walk(path, prefix):
        try:
            with os.scandir(path) as listing:
                entries = sorted(listing, key=lambda entry: entry.name)
        except OSError:
            return
        for entry in entries:
            name = prefix + entry.name
            digest.update(name.encode("utf-8", "surrogateescape") + b"\0")
            try:
                mode = entry.stat(follow_symlinks=False).st_mode
            except OSError:
                continue
            if stat.S_ISDIR(mode):
                digest.update(b"d")
                walk(entry.path, name + "/")
            elif stat.S_ISREG(mode) and count[0] < MAX_FILES:
                count[0] += 1
                digest.update(b"f" + _file_digest(entry.path, budget))
            elif stat.S_ISLNK(mode):
                digest.update(b"l" + os.readlink(entry.path).encode("utf-8", "surrogateescape"))
            else:
                digest.update(b"o")

    walk(folder, "")
    return digest.digest()


def _file_digest(path, budget):
    digest = hashlib.sha256()
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return b"?"
    with os.fdopen(descriptor, "rb") as stream:
        while budget[0] > 0:
            block = stream.read(min(1 << 20, budget[0]))
            if not block:
                break
            budget[0] -= len(block)
            digest.update(block)
    return digest.digest()
