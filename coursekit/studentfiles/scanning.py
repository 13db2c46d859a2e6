"""A submission folder's listing (``scan``): every entry looked at through its folder's descriptor, nothing
followed, counts, depth, sizes and names capped."""
import os
import stat
from dataclasses import dataclass, field

from .reading import (MAX_DEPTH, MAX_ENTRIES, MAX_FILE_BYTES, MAX_NOTEBOOK_BYTES, MAX_TOTAL_BYTES, Refused, kind_of,
                      link_target, mib, name_problem, open_folder, shown)


# ---------------------------------------------------------------------------------------------
# A folder, without following anything
# ---------------------------------------------------------------------------------------------


@dataclass
class Item:
    path: str  # relative to the scanned folder, '/' separators
    kind: str  # "file", "folder", "link", "special"
    size: int = 0
    mtime_ns: int = 0
    target: str = ""  # a link's text (never followed)


@dataclass
class Listing:
    """What ``scan`` found: every item in os.walk's order (a folder's files by name, then its folders),
    and the problems, each (path, sentence)."""
    items: list = field(default_factory=list)
    problems: list = field(default_factory=list)
    exists: bool = True
    truncated: bool = False

    @property
    def files(self):
        return [item for item in self.items if item.kind == "file"]

    def refusal(self):
        """One line naming the first problem (and how many others), or None."""
        if not self.problems:
            return None
        path, sentence = min(self.problems, key=lambda problem: severity(problem[1]))
        more = len(self.problems) - 1
        return (f"refused: {shown(path) if path else 'the submission'} {sentence}"
                + (f" (and {more} other problem{'s' * (more > 1)})" if more else ""))


def severity(sentence):
    """Which problem a refusal names first: what could reach the grader, then the caps, then names."""
    if sentence.startswith(("is a symbolic link", "is a named pipe", "is a socket", "is a character device",
                            "is a block device", "is not a regular file")):
        return 0
    if sentence.startswith("has a name"):
        return 2
    return 1


def scan(folder, base_fd=None, limits=None, ignore=None):
    """List ``folder`` (relative to ``base_fd`` if given) without following links. ``ignore``: a
    function of (relative path, name) telling which entries to leave out entirely (not checked)."""
    limits = dict(DEFAULT_LIMITS, **(limits or {}))
    listing = Listing()
    try:
        handle = open_folder(folder, base_fd)
    except FileNotFoundError:
        listing.exists = False
        return listing
    except Refused as refused:
        listing.problems.append((os.path.basename(folder), str(refused)))
        listing.items.append(Item("", "link", target=link_target(folder, base_fd)))
        return listing
    try:
        return scan_open(handle, limits, ignore, listing)
    finally:
        os.close(handle)


def scan_open(handle, limits=None, ignore=None, listing=None):
    """``scan`` of a folder already open (its descriptor ``handle``, left open)."""
    listing = listing if listing is not None else Listing()
    _scan(handle, "", 0, listing, dict(DEFAULT_LIMITS, **(limits or {})), [0, 0], ignore)
    return listing


DEFAULT_LIMITS = {"entries": MAX_ENTRIES, "depth": MAX_DEPTH, "file": MAX_FILE_BYTES,
                  "notebook": MAX_NOTEBOOK_BYTES, "total": MAX_TOTAL_BYTES}


def _scan(handle, prefix, depth, listing, limits, counts, ignore):
    """counts: [entries seen, bytes of regular files]."""
    names = []
    with os.scandir(handle) as entries:
        for entry in entries:
            if counts[0] + len(names) >= limits["entries"]:
                listing.problems.append(("", f"holds more than {limits['entries']} files and folders"))
                listing.truncated = True
                break
            names.append(entry.name)
    files, folders = [], []
    for name in sorted(names):
        path = prefix + name
        if ignore is not None and ignore(path, name):
            continue
        counts[0] += 1
        problem = name_problem(name)
        try:
            info = os.stat(name, dir_fd=handle, follow_symlinks=False)
        except OSError as error:
            listing.problems.append((path, f"cannot be read ({error.strerror})"))
            continue
        if problem:
            listing.problems.append((path, problem))
        if stat.S_ISLNK(info.st_mode):
            target = link_target(name, handle)
            listing.problems.append((path, f"is a symbolic link (to {shown(target)}); only regular files are read"))
            files.append(Item(path, "link", target=target))
        elif stat.S_ISDIR(info.st_mode):
            folders.append((name, path))
        elif stat.S_ISREG(info.st_mode):
            limit = limits["notebook"] if name.endswith(".ipynb") else limits["file"]
            if info.st_size > limit:
                listing.problems.append((path, f"is larger than {mib(limit)} ({info.st_size} bytes)"))
            counts[1] += info.st_size
            files.append(Item(path, "file", info.st_size, info.st_mtime_ns))
        else:
            listing.problems.append((path, f"is {kind_of(info.st_mode)}; only regular files are read"))
            files.append(Item(path, "special", info.st_size, info.st_mtime_ns, target=kind_of(info.st_mode)))
    total = f"holds more than {mib(limits['total'])} of files"
    if counts[1] > limits["total"] and ("", total) not in listing.problems:
        listing.problems.append(("", total))
    listing.items.extend(files)
    for name, path in folders:
        listing.items.append(Item(path, "folder"))
        if depth + 1 > limits["depth"]:
            listing.problems.append((path, f"is nested more than {limits['depth']} folders deep"))
            listing.truncated = True
            continue
        try:
            child = open_folder(name, handle)
        except (Refused, OSError) as error:  # swapped since the look
            listing.problems.append((path, str(error)))
            continue
        try:
            _scan(child, path + "/", depth + 1, listing, limits, counts, ignore)
        finally:
            os.close(child)
