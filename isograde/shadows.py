"""Handles and shadow classes built from the worker's descriptions of its objects.

The worker describes each object the first time it sends it: a class by its names and bases, anything else
by its class (and, for a bound method, its object and function). ``Registry`` turns those descriptions into
``isograde.proxy`` handles: one per object, so ``is`` means the same object; a class of the student's becomes
a shadow class of the same name and module (an exception class of the student's a shadow exception class,
``isograde.exceptions``); a library class becomes a named shadow its instances' handles belong to.
"""
from isograde.exceptions import SHADOW_EXCEPTIONS, StudentException
from isograde.proxy import Handle, HandleType, _RemoteDoc, is_handle


_LIBRARY_SHADOWS = {}


def library_shadow(module, qualname):
    """The class of handles to instances of a library class (a generator, a function, a Figure)."""
    key = (module, qualname)
    if key not in _LIBRARY_SHADOWS:
        name = qualname.rsplit(".", 1)[-1] if qualname.rsplit(".", 1)[-1].isidentifier() else "object"
        _LIBRARY_SHADOWS[key] = HandleType(name, (Handle,), {"__module__": module, "__qualname__": qualname,
                                                              "__slots__": (), "_ig_class_number": None,
                                                              "__doc__": _RemoteDoc()})
    return _LIBRARY_SHADOWS[key]


class Registry:
    """The handles of one worker, by number: one handle per object, so ``is`` means the same object."""

    def __init__(self, worker, allowed_roots):
        self.worker, self.allowed_roots = worker, allowed_roots
        self.objects = {}
        self.numbers = {}  # id(shadow exception class) -> number

    def known(self, number):
        return number in self.objects

    def get(self, number):
        return self.objects.get(number)

    def build(self, number, info):
        if number in self.objects:
            return self.objects[number]
        info = info if isinstance(info, dict) else {}
        if "class" in info or "library" in info:
            made = self._shadow_class(number, info)
        else:
            made = self._instance(number, info)
        self.objects[number] = made
        return made

    def _shadow_class(self, number, info):
        if "library" in info:
            module, qualname = (info["library"] + ["", ""])[:2]
            return library_shadow(str(module), str(qualname))
        module, qualname, name = [str(part) for part in (list(info.get("class") or []) + ["", "", ""])[:3]]
        name = name if name.isidentifier() else "StudentClass"
        bases = [base for base in info.get("bases") or [] if isinstance(base, type)]
        namespace = {"__module__": module, "__qualname__": qualname, "_ig_class_worker": self.worker,
                     "_ig_class_number": number}
        if info.get("exception"):
            exception_bases = tuple(base for base in bases if issubclass(base, Exception)) or (StudentException,)
            try:
                cls = type(name, exception_bases, namespace)
            except TypeError:
                cls = type(name, (StudentException,), namespace)
            SHADOW_EXCEPTIONS.add(cls)
            self.numbers[id(cls)] = number
            return cls
        shadow_bases = tuple(base for base in bases if isinstance(base, HandleType)
                             and type.__getattribute__(base, "_ig_class_number") is not None) or (Handle,)
        namespace.update(__slots__=(), __doc__=_RemoteDoc())
        if isinstance(info.get("fields"), list) and all(isinstance(f, str) for f in info["fields"]):
            namespace["_ig_fields"] = tuple(info["fields"])
        try:
            return HandleType(name, shadow_bases, namespace)
        except TypeError:  # bases whose order Python refuses
            return HandleType(name, (Handle,), namespace)

    def _instance(self, number, info):
        kind = info.get("type")
        if isinstance(kind, HandleType):
            shadow = kind
        elif isinstance(kind, type):
            shadow = library_shadow(kind.__module__, kind.__qualname__)
        elif isinstance(kind, UnknownLibrary):
            shadow = library_shadow(kind.module, kind.qualname)
        else:
            shadow = library_shadow("builtins", "object")
        handle = object.__new__(shadow)
        object.__setattr__(handle, "_ig_worker", self.worker)
        object.__setattr__(handle, "_ig_number", number)
        method = info.get("method")
        object.__setattr__(handle, "_ig_method", tuple(method) if isinstance(method, list) and len(method) == 2
                           and all(is_handle(m) for m in method) else None)
        return handle

    def number_of_class(self, cls):
        return self.numbers.get(id(cls)) if cls in SHADOW_EXCEPTIONS else None


class UnknownLibrary:
    """A library name the grader does not resolve (a module it may not import): usable only as a name."""

    def __init__(self, module, qualname):
        self.module, self.qualname = module, qualname

    def __repr__(self):
        return f"<{self.module}.{self.qualname} (not available to the grader)>"

    def __call__(self, *args, **kwargs):
        raise TypeError(f"{self.module}.{self.qualname} is not available to the grader")
