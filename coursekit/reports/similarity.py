"""Similarity of the students' answers: pairs whose answer code is suspiciously alike.

copydetect (winnowing over normalised tokens: names become V/F/O, strings S, comments and blank lines
dropped) compares every pair of students. Only answer cells are compared (the assignment's solution
cells, taken by the master notebook's grade ids, whatever the student's file says about them). The
released notebook's code is boilerplate, and so is the master's solution: the given skeleton and the
one answer every correct student converges on do not count, only the code a student wrote their own
way. A pair is flagged when the larger of its two similarities (the share of a student's own answer
tokens found in the other's) reaches the threshold and enough tokens are shared.

Similarity is a reason to look, not a verdict: short answers to the same exercise resemble each other.
"""
import csv
import io
import os
from dataclasses import dataclass, field
from itertools import combinations

THRESHOLD = 0.6  # share of a student's own (non-boilerplate) answer tokens found in the other's
MIN_SHARED = 80  # filtered characters in common, below which no pair is flagged
MIN_OWN = 30  # filtered characters of a student's own code, below which the student is not compared
NOISE = 12  # copydetect's k: shortest shared run that counts, in filtered characters
# copydetect's guarantee threshold, equal to k: every k-gram is kept (winnowing window 1), so that the
# result does not depend on Python's string hashing (a larger window picks k-grams by hash value)
GUARANTEE = NOISE
CSV_FILE = "similarity.csv"
MARK_START, MARK_END = ">>>", "<<<"
CAVEAT = ("Similarity is a reason to look, not a verdict: answers to the same short exercise resemble "
          "each other, and the skeleton and the expected solution are left out.")


@dataclass
class Pair:
    first: str
    second: str
    similarity: tuple  # (share of first's own tokens in second, share of second's own tokens in first)
    shared: int
    marked: tuple = field(default=("", ""))  # the two answers, shared regions between MARK_START/MARK_END
    slices: tuple = field(default=((), ()))  # [(start, end)] of the shared regions in each answer

    @property
    def score(self):
        return max(self.similarity)

    def flagged(self, threshold=THRESHOLD, min_shared=MIN_SHARED):
        return self.score >= threshold and self.shared >= min_shared


@dataclass
class Result:
    pairs: list  # every compared pair, most similar first
    answers: dict  # {student: their answers as compared}
    skipped: list  # notes on students not compared
    threshold: float = THRESHOLD
    min_shared: int = MIN_SHARED

    @property
    def flagged(self):
        return [p for p in self.pairs if p.flagged(self.threshold, self.min_shared)]


# ---------------------------------------------------------------------------------------------
# The answers of a class
# ---------------------------------------------------------------------------------------------


MAX_ANSWER_CHARS = 100_000  # a student's answers as compared (real ones: a few thousand characters)


def _source(cell):
    from coursekit.studentfiles import as_text

    return as_text(cell.get("source", ""))


def answer_ids(source_notebook):
    """The grade ids of the master notebook's code answer (solution) cells, in order."""
    return [c.metadata["nbgrader"]["grade_id"] for c in source_notebook.cells
            if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("solution")]


def read_answers(path, ids, content=None):
    """{grade id: code} of a submitted notebook's answer cells (the first cell of each id); the file is
    the student's, so it is read as coursekit.studentfiles reads a student's files (no link followed, size
    capped, any JSON survived) and its shape is checked, never trusted. Raises studentfiles.Refused or
    studentfiles.BadNotebook (ValueError) when it is not compared."""
    from coursekit import studentfiles

    if content is None:
        content = studentfiles.read_path(path, studentfiles.MAX_NOTEBOOK_BYTES)
    notebook = studentfiles.parse_notebook(content)
    answers = {}
    for cell in studentfiles.as_list(notebook.get("cells")):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        meta = studentfiles.as_dict(studentfiles.as_dict(cell.get("metadata")).get("nbgrader"))
        grade_id = meta.get("grade_id")
        if isinstance(grade_id, str) and grade_id in ids and grade_id not in answers:
            answers[grade_id] = _source(cell)
    return answers


def document(answers, ids):
    """One student's answers as one text, each cell under a comment naming it (comments never count)."""
    return "\n\n".join(f"# --- {grade_id}\n{answers[grade_id].strip()}" for grade_id in ids if grade_id in answers)


def assignment_notebooks(course_root, assignment):
    """[(notebook file name, release notebook, source notebook)] of the assignment, and notes."""
    from coursekit.submissions import load_course_notebooks

    folder = os.path.join(course_root, "source", assignment)
    names = sorted(n for n in os.listdir(folder) if n.endswith(".ipynb")) if os.path.isdir(folder) else []
    found, notes = [], []
    for name in names:
        try:
            found.append((name, *load_course_notebooks(course_root, assignment, name)))
        except (OSError, ValueError) as error:
            notes.append(f"{name}: not compared, no readable release of it ({type(error).__name__}); "
                         "generate the assignment first")
    if not names:
        notes.append(f"no notebooks in source/{assignment}/: answers not compared")
    return found, notes


def boilerplate(notebooks):
    """The released notebooks' code and the master's solutions: code nobody is flagged for."""
    from coursekit.submissions import solved_answers

    parts = []
    for _, release, source in notebooks:
        ids = answer_ids(source)
        released = {c.metadata.get("nbgrader", {}).get("grade_id"): c.source for c in release.cells}
        # the answers as compared (one document, cells in order), released and solved, then the given code
        parts += [document(released, ids), document(solved_answers(source), ids)]
        parts += [c.source for c in release.cells if c.cell_type == "code"]
    return "\n\n".join(parts)


def class_answers(course_root, assignment, notebooks):
    """({student: answer document over the assignment's notebooks}, notes on unreadable submissions).
    A submission folder that coursekit.studentfiles refuses (a link, a pipe ...) is not read at all."""
    from coursekit import studentfiles

    documents, notes = {}, []
    students, unreadable = studentfiles.student_folders(course_root, assignment)
    if unreadable:
        notes.append(studentfiles.unreadable_note(unreadable))
    for student in students:
        listing, handle = studentfiles.scan_submission(course_root, student, assignment)
        if handle is None:
            if listing.items:
                notes.append(f"{studentfiles.shown(student)}: not compared, {studentfiles.refusal_of(listing)}")
            continue
        try:
            refusal = studentfiles.refusal_of(listing)
            if refusal:
                notes.append(f"{studentfiles.shown(student)}: not compared, {refusal}")
                continue
            parts = []
            for name, _, source in notebooks:
                if not any(item.path == name for item in listing.files):
                    continue
                try:
                    ids = answer_ids(source)
                    content = studentfiles.read_regular(name, handle, studentfiles.MAX_NOTEBOOK_BYTES)
                    parts.append(document(read_answers(None, ids, content), ids))
                except (OSError, ValueError, studentfiles.Refused) as error:
                    notes.append(f"{studentfiles.shown(student)}: {name} not compared, the notebook cannot be read "
                                 f"({str(error)[:150] if isinstance(error, studentfiles.BadNotebook) else type(error).__name__})")
            if parts:
                text = "\n\n".join(parts)
                if len(text) > MAX_ANSWER_CHARS:
                    notes.append(f"{studentfiles.shown(student)}: only the first {MAX_ANSWER_CHARS} characters of "
                                 f"the answers compared ({len(text)} in all)")
                    text = text[:MAX_ANSWER_CHARS]
                documents[student] = text
        finally:
            os.close(handle)
    return documents, notes


# ---------------------------------------------------------------------------------------------
# Comparing (copydetect)
# ---------------------------------------------------------------------------------------------


def fingerprint(text, boilerplate_hashes=None):
    from copydetect import CodeFingerprint

    return CodeFingerprint("answers.py", NOISE, GUARANTEE - NOISE + 1, boilerplate=boilerplate_hashes,
                           language="python", fp=io.StringIO(text))


def compare(documents, boilerplate_text, threshold=THRESHOLD, min_shared=MIN_SHARED):
    """Every pair of ``documents`` ({student: code}) compared; students with too little code of their
    own (after the boilerplate) are listed in ``skipped``, not compared."""
    from copydetect import compare_files
    from copydetect.utils import highlight_overlap

    boilerplate_hashes = list(fingerprint(boilerplate_text).hashes)
    prints, skipped = {}, []
    for student, text in sorted(documents.items()):
        printed = fingerprint(text, boilerplate_hashes)
        if printed.token_coverage < MIN_OWN:
            skipped.append(f"{student}: not compared, too little code of their own beyond the given "
                           "skeleton and the expected solution")
            continue
        prints[student] = printed
    pairs = []
    for first, second in combinations(sorted(prints), 2):
        shared, similarity, slices = compare_files(prints[first], prints[second])
        pair = Pair(first, second, (float(similarity[0]), float(similarity[1])), int(shared))
        if shared:
            pair.slices = tuple([tuple(map(int, region)) for region in s.T] for s in slices)
            pair.marked = tuple(highlight_overlap(documents[name], s, MARK_START, MARK_END)[0]
                                for name, s in ((first, slices[0]), (second, slices[1])))
        else:
            pair.marked = (documents[first], documents[second])
        pairs.append(pair)
    pairs.sort(key=lambda p: (-p.score, -p.shared, p.first, p.second))
    return Result(pairs, documents, skipped, threshold, min_shared)


def class_similarity(course_root, assignment=None, threshold=THRESHOLD):
    """Compare the answers of every submission of ``assignment`` (all its notebooks; default: the course's
    only assignment)."""
    from coursekit.preflight import the_assignment

    assignment = the_assignment(course_root, assignment)
    notebooks, notes = assignment_notebooks(course_root, assignment)
    documents, read_notes = class_answers(course_root, assignment, notebooks)
    result = compare(documents, boilerplate(notebooks), threshold)
    result.skipped = notes + read_notes + result.skipped
    return result


def write_csv(result, path):
    """The flagged pairs, the two answers side by side with the shared regions between >>> and <<<."""
    partial = path + ".partial"
    with open(partial, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow([f"# flagged when the larger similarity >= {result.threshold:.2f} and at least "
                         f"{result.min_shared} characters of normalised code are shared. {CAVEAT} Shared "
                         f"regions are marked {MARK_START} ... {MARK_END}."])
        writer.writerow(["student_a", "student_b", "similarity_a", "similarity_b", "shared_characters",
                         "threshold", "answers_a", "answers_b"])
        for pair in result.flagged:
            writer.writerow([pair.first, pair.second, f"{pair.similarity[0]:.3f}", f"{pair.similarity[1]:.3f}",
                             pair.shared, f"{result.threshold:.2f}", pair.marked[0], pair.marked[1]])
    os.replace(partial, path)
    return path


def segments(text, regions):
    """``text`` cut into [(piece, shared?)] by the shared ``regions`` [(start, end)], for the HTML."""
    pieces, at = [], 0
    for start, end in sorted(regions):
        start, end = max(start, at), max(end, at)
        if start > at:
            pieces.append((text[at:start], False))
        if end > start:
            pieces.append((text[start:end], True))
        at = end
    if at < len(text):
        pieces.append((text[at:], False))
    return pieces
