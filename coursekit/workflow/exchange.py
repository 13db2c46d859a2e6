"""nbgrader's collect, copying from the exchange only what a submission may hold.

nbgrader's ``ExchangeCollect`` copies each student's folder from the exchange's ``inbound/`` with
``shutil.copytree``: a symbolic link the student put there (to the instructor's ``grader/hw3/hw3_checks.py``,
to ``/etc/shadow``) is followed with the instructor's rights and its target lands in ``submitted/`` as
a regular file; a named pipe stops the collect of the whole class; a folder named ``..+hw3+...`` is
copied outside ``submitted/``; one folder whose name does not parse (``me+hw3+garbage``) stops it too.
The inbound folder belongs to the student, who may change it while it is copied.

``SafeExchangeCollect`` (the course's nbgrader_config.py sets ``c.ExchangeFactory.collect`` to it) keeps
nbgrader's choice of which submission to collect and what to ignore (``CourseDirectory.ignore`` and
``include``), and copies through ``coursekit.studentfiles``: folders opened without following, regular files
only, each read with ``O_NOFOLLOW | O_NONBLOCK`` and checked again once open (a hard link, another name
of a file elsewhere, is refused here too), sizes, counts and names capped. A submission that holds anything else is not copied: its folder in ``submitted/`` then holds
only ``.coursekit-refused`` (the reason, one line naming the file) and its ``timestamp.txt``, so that
``grade`` fails it with that reason and ``status``, the export and the report show it. The new copy is
made beside the old one and put in its place once complete. A student id that is not a plain name is
not collected (logged), nor a folder named for a student whose local account does not own it
(``coursekit.workflow.exchangeowner``: another student handing in as them).
"""
import contextlib
import fnmatch
import glob
import os
import shutil

from nbgrader.exchange.default.collect import ExchangeCollect, groupby
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.utils import check_mode, parse_utc

from coursekit import studentfiles
from coursekit.workflow.exchangeowner import forged_by
from coursekit.workflow.serve import Ledger


class SafeExchangeCollect(ExchangeCollect):
    """nbgrader's default collect, without following anything a student put in the exchange."""

    def _path_to_record(self, path):
        """nbgrader's record of an inbound folder name, or None (logged) for a name that does not parse:
        one student's odd folder must not stop the collect of the others."""
        filename = os.path.split(path)[1]
        parts = filename.rsplit("+", 3)
        if len(parts) < 3:
            self.log.warning("Skipping %s in the exchange: not <student>+<assignment>+<timestamp>",
                             studentfiles.shown(filename))
            return None
        try:
            timestamp = parse_utc(parts[2])
        except Exception:  # dateutil's ParserError, ValueError, OverflowError ...
            self.log.warning("Skipping %s in the exchange: %r is not a timestamp", studentfiles.shown(filename),
                             studentfiles.shown(parts[2]))
            return None
        return {"username": parts[0], "filename": filename, "timestamp": timestamp}

    def init_src(self):
        """nbgrader's init_src, with names that do not parse skipped instead of failing the collect."""
        if self.coursedir.course_id == "":
            self.fail("No course id specified. Re-run with --course flag.")
        self.course_path = os.path.join(self.root, self.coursedir.course_id)
        self.inbound_path = os.path.join(self.course_path, "inbound")
        if not os.path.isdir(self.inbound_path):
            self.fail("Course not found: {}".format(self.inbound_path))
        if not check_mode(self.inbound_path, read=True, execute=True):
            self.fail("You don't have read permissions for the directory: {}".format(self.inbound_path))
        student_id = self.coursedir.student_id if self.coursedir.student_id else "*"
        pattern = os.path.join(self.inbound_path, "{}+{}+*".format(student_id, self.coursedir.assignment_id))
        records = [record for record in map(self._path_to_record, glob.glob(pattern)) if record]
        refused = Ledger(self.coursedir.root).refused()  # submissions serve did not grade (attempts, wait): left
        records = [record for record in records if record["filename"] not in refused and not self._forged(record)]
        usergroups = groupby(records, lambda item: item["username"])
        with Gradebook(self.coursedir.db_url, self.coursedir.course_id) as gb:
            try:
                self.duedate = gb.find_assignment(self.coursedir.assignment_id).duedate
            except MissingEntry:
                self.duedate = None
        if self.duedate is None or not self.before_duedate:
            self.src_records = [self._sort_by_timestamp(v)[0] for v in usergroups.values()]
        else:
            self.src_records = []
            for v in usergroups.values():
                records = self._sort_by_timestamp(v)
                before = [record for record in records if record["timestamp"] <= self.duedate]
                self.src_records.append(before[0] if before else records[0])

    def _forged(self, record):
        owner = forged_by(self.inbound_path, record["filename"], record["username"])
        if owner:
            self.log.error("Not collecting %s: it belongs to the account %s, not to %s's",
                           studentfiles.shown(record["filename"]), studentfiles.shown(owner),
                           studentfiles.shown(record["username"]))
        return bool(owner)

    def copy_files(self):
        """nbgrader's copy_files, for the submissions whose student id is a plain name."""
        kept = []
        for record in self.src_records:
            problem = studentfiles.name_problem(record["username"])
            if problem or not record["username"] or record["username"].startswith("."):
                self.log.error("Not collecting %s: the student id %s cannot be a folder of submitted/ (%s)",
                               studentfiles.shown(record["filename"]), studentfiles.shown(record["username"]),
                               problem or "it is empty or starts with a dot")
                continue
            kept.append(record)
        self.src_records = kept
        super().copy_files()

    def do_copy(self, src, dest, log=None):
        """Copy the inbound folder ``src`` to ``dest`` (submitted/<student>/<assignment>) through
        coursekit.studentfiles; a folder holding anything else is replaced by the reason it was refused."""
        folder, name = os.path.split(os.path.normpath(src))
        student = os.path.basename(os.path.dirname(os.path.normpath(dest)))
        staging = os.path.join(os.path.dirname(dest), f".{os.path.basename(dest)}.collect-{os.getpid()}")
        shutil.rmtree(staging, ignore_errors=True)
        os.makedirs(staging)
        try:
            refusal = self._copy_checked(folder, name, staging)
            if refusal:
                self.log.error("Refused the submission of %s (%s): %s", student, studentfiles.shown(name), refusal)
                shutil.rmtree(staging)
                os.makedirs(staging)
                self._write_refusal(folder, name, staging, refusal)
            self._set_modes(staging)
            if os.path.lexists(dest):
                shutil.rmtree(dest)
            os.rename(staging, dest)
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def _limits(self):
        limits = {}
        if self.coursedir.max_file_size:
            limits["file"] = min(studentfiles.MAX_FILE_BYTES, 1000 * self.coursedir.max_file_size)
            limits["notebook"] = min(studentfiles.MAX_NOTEBOOK_BYTES, 1000 * self.coursedir.max_file_size)
        if self.coursedir.max_dir_size:
            limits["total"] = min(studentfiles.MAX_TOTAL_BYTES, 1000 * self.coursedir.max_dir_size)
        return limits

    def _ignored(self, path, name):
        """nbgrader's CourseDirectory.ignore (any entry) and include (files): left out, not checked."""
        return any(fnmatch.fnmatch(name, pattern) for pattern in self.coursedir.ignore)

    def _copy_checked(self, folder, name, staging):
        """Copy into ``staging``; returns why the submission is refused, or None."""
        base = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        limits = dict(studentfiles.DEFAULT_LIMITS, **self._limits())
        try:
            listing = studentfiles.scan(name, base, limits, self._ignored)
            refusal = listing.refusal()
            if refusal:
                return refusal.removeprefix("refused: ")
            if any(item.path == studentfiles.REFUSED_MARKER for item in listing.files):
                return f"{studentfiles.REFUSED_MARKER} is a name the kit keeps for itself"
            handle = studentfiles.open_folder(name, base)
            budget = limits["total"]
            try:
                for item in listing.items:
                    target = os.path.join(staging, *item.path.split("/"))
                    if item.kind == "folder":
                        os.makedirs(target, exist_ok=True)
                        continue
                    if self.coursedir.include and not any(fnmatch.fnmatch(os.path.basename(item.path), pattern)
                                                          for pattern in self.coursedir.include):
                        continue
                    try:
                        content = studentfiles.read_relative(handle, item.path, max(limits["file"], limits["notebook"]),
                                                          hard_links=False)
                    except studentfiles.Refused as refused:  # a hard link, or changed since it was listed
                        return f"{studentfiles.shown(item.path)} {refused}"
                    budget -= len(content)
                    if budget < 0:  # grew since it was listed
                        return f"the submission holds more than {studentfiles.mib(limits['total'])} of files"
                    with open(target, "xb") as stream:
                        stream.write(content)
            finally:
                os.close(handle)
        except studentfiles.Refused as refused:  # the folder itself was swapped for a link since it was listed
            return f"{studentfiles.shown(refused.path or name)} {refused} (while it was collected)"
        except OSError as error:
            return f"could not be read ({error.strerror})"
        finally:
            os.close(base)
        return None

    def _write_refusal(self, folder, name, staging, refusal):
        with open(os.path.join(staging, studentfiles.REFUSED_MARKER), "w", encoding="utf-8") as stream:
            stream.write(refusal + "\n")
            stream.write(f"(nbgrader collect of {studentfiles.shown(name, 200)}: nothing of it was copied)\n")
        with contextlib.suppress(studentfiles.Refused, OSError):  # nbgrader's --update compares it
            base = studentfiles.open_folder(os.path.join(folder, name))
            try:
                stamp = studentfiles.read_regular("timestamp.txt", base, 1024)
            finally:
                os.close(base)
            with open(os.path.join(staging, "timestamp.txt"), "wb") as stream:
                stream.write(stamp)

    def _set_modes(self, staging):
        extra = 0o060 if self.coursedir.groupshared else 0
        for root, folders, files in os.walk(staging):
            os.chmod(root, 0o755 | extra | (0o2000 if extra else 0))
            for file in files:
                os.chmod(os.path.join(root, file), 0o644 | extra)
