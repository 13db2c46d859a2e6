"""Exceptions raised by student code, rebuilt in the grader as instances of the same class where the
grader knows it: built-in and library exceptions by name (never the grader's own tools' classes), the
student's own exception classes as shadows mirroring their ancestry (``isograde.shadows``), marked as the
student's (``student_trace``, ``student_message``) so that the grader never takes them for its own."""
import sys
import weakref

# Library modules whose exception classes the grader rebuilds by name (with the standard library's).
EXCEPTION_MODULES = {"numpy", "scipy", "pandas", "sklearn", "matplotlib", "sympy", "IPython", "nbformat",
                     "pytest", "_pytest", "json", "decimal", "fractions"}
# The grader's own tools: no class of theirs is ever rebuilt from a name the worker sends.
INTERNAL_MODULES = {"isograde", "coursekit", "nbgrader", "traitlets", "tornado", "jupyter_server", "nbclient",
                    "nbconvert", "jupyter_client", "sqlalchemy", "alembic", "zmq"}
SHADOW_EXCEPTIONS = weakref.WeakSet()  # exception classes of the student's, mirrored (isograde.shadows)


class StudentException(Exception):
    """The base of exceptions of the student's whose classes the grader does not know."""


_SYNTHETIC = {}


def synthetic_exception(module, qualname, base):
    key = (module, qualname, base)
    if key not in _SYNTHETIC:
        name = qualname.rsplit(".", 1)[-1] if qualname.rsplit(".", 1)[-1].isidentifier() else "StudentException"
        _SYNTHETIC[key] = type(name, (base,), {"__module__": module, "__qualname__": qualname})
    return _SYNTHETIC[key]


def exception_class_by_name(module, qualname, allowed_roots):
    """The grader's own exception class of that name, if it is one the student may raise as itself."""
    if not isinstance(module, str) or not isinstance(qualname, str):
        return None
    root = module.split(".")[0]
    if root in INTERNAL_MODULES or not (module == "builtins" or root in allowed_roots or root in EXCEPTION_MODULES
                                        or root in sys.stdlib_module_names):
        return None
    found = sys.modules.get(module)
    for part in qualname.split(".") if found is not None else ():
        found = getattr(found, part, None)
    if isinstance(found, type) and issubclass(found, Exception):
        return found
    return None


def rebuild_exception(description, allowed_roots):
    """An exception of the student's, as an instance of the same class where the grader knows it."""
    if not isinstance(description, dict):
        return StudentException("(an error the worker could not describe)")
    message = description.get("message") if isinstance(description.get("message"), str) else ""
    cls = description.get("class")
    mro = [pair for pair in description.get("mro") or [] if isinstance(pair, list) and len(pair) == 2]
    if not (isinstance(cls, type) and issubclass(cls, Exception)):
        cls = None
    elif not (cls in SHADOW_EXCEPTIONS or exception_class_by_name(cls.__module__, cls.__qualname__, allowed_roots) is cls):
        cls = None
    if cls is None:
        base = next((found for found in (exception_class_by_name(m, q, allowed_roots) for m, q in mro[1:])
                     if found is not None), StudentException)
        own = mro[0] if mro else ["builtins", "Exception"]
        cls = synthetic_exception(str(own[0]), str(own[1]), base)
    args = description.get("args")
    error = None
    for attempt in (lambda: cls(*args) if isinstance(args, list) else None, lambda: cls(message)):
        try:
            error = attempt()
        except Exception:
            error = None
        if error is not None:
            break
    if error is None:
        error = cls.__new__(cls)
        error.args = (message,)
    try:
        error.student_trace = description.get("trace") if isinstance(description.get("trace"), str) else ""
        error.student_message = message
    except (AttributeError, TypeError):
        pass
    return error


def raised_by_student(error):
    return isinstance(getattr(error, "student_trace", None), str) and hasattr(error, "student_message")



def is_shadow_exception(value):
    return isinstance(value, type) and value in SHADOW_EXCEPTIONS
