"""The requests about the student's objects: call, read and set attributes and items, operators,
iteration, their source and signature. Results go back through ``Holding.as_data``."""
import contextlib
import inspect
import operator

from .holding import MUTABLE_DATA_TYPES

UNARY = {"len": len, "iter": iter, "next": next, "bool": bool, "str": str, "repr": repr, "int": int,
         "float": float, "complex": complex, "index": operator.index, "abs": abs, "neg": operator.neg,
         "pos": operator.pos, "invert": operator.invert, "reversed": reversed, "round": round,
         "enter": lambda obj: obj.__enter__(), "dir": lambda obj: sorted(str(n) for n in dir(obj)),
         "bytes": bytes, "array": lambda obj: __import__("numpy").asarray(obj)}
BINARY = {name: getattr(operator, name) for name in (
    "add", "sub", "mul", "matmul", "truediv", "floordiv", "mod", "pow", "lshift", "rshift", "and_", "or_",
    "xor", "iadd", "isub", "imul", "imatmul", "itruediv", "ifloordiv", "imod", "ipow", "ilshift", "irshift",
    "iand", "ior", "ixor")}
BINARY.update(divmod=divmod, format=format, round=round, exit=lambda obj, args: obj.__exit__(*args))


class ObjectOps:
    """Requests on objects the grader holds handles to (the grader sends them back as ``Ref``)."""

    def op_call(self, target, args, kwargs):
        mutable = {key: (value, self.codec.pack(value)) for key, value in
                   (*enumerate(args), *kwargs.items()) if isinstance(value, MUTABLE_DATA_TYPES.types)
                   and id(value) not in self.numbers}
        result = target(*args, **kwargs)
        changed = {}
        for key, (value, before) in mutable.items():
            with contextlib.suppress(Exception):
                if self.codec.pack(value) != before:
                    changed[key] = value
        return [self.as_data(result), changed] if changed else [self.as_data(result)]

    def op_getattr(self, target, name):
        return self.as_data(getattr(target, name))

    def op_setattr(self, target, name, value):
        setattr(target, name, value)

    def op_delattr(self, target, name):
        delattr(target, name)

    def op_getitem(self, target, key):
        return self.as_data(target[key])

    def op_setitem(self, target, key, value):
        target[key] = value

    def op_delitem(self, target, key):
        del target[key]

    def op_unary(self, target, name):
        return self.as_data(UNARY[name](target))

    def op_binary(self, name, first, second):
        return self.as_data(BINARY[name](first, second))

    def op_iterate(self, target, count):
        """Up to ``count`` next items of an iterator (fewer at its end)."""
        items = []
        for _ in range(count):
            try:
                items.append(next(target))
            except StopIteration:
                return [self.as_data(items), True]
        return [self.as_data(items), False]

    def op_fetch(self, target):
        return self.as_data(target, top=True)

    def op_put(self, value):
        return self.hold(value)

    def op_source(self, target):
        return inspect.getsource(target)

    def op_signature(self, target):
        parameters = []
        for parameter in inspect.signature(target).parameters.values():
            default = None if parameter.default is inspect.Parameter.empty else self.as_data(parameter.default)
            parameters.append([parameter.name, int(parameter.kind), parameter.default is not inspect.Parameter.empty,
                               default])
        return parameters

    def op_new(self, cls, attributes=None):
        instance = cls.__new__(cls)
        for name, value in (attributes or {}).items():  # in order, each through the class's own setattr
            setattr(instance, name, value)
        return self.hold(instance)
