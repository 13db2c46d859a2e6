"""isograde: grade notebooks with the student's code in a sandboxed worker and every verdict outside it."""
import sys


def skip_slow_optional_imports():
    """Call before nbformat or nbgrader is imported, in a process that only grades: jsonschema then
    does without its optional rfc3987-syntax format checker, which builds a parser grammar at import
    (about 1.1 s of every grading process's start) for IRI formats no nbgrader or nbformat schema uses."""
    if "jsonschema" not in sys.modules:
        sys.modules.setdefault("rfc3987_syntax", None)
