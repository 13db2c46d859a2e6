"""The cheat corpus: what a determined student adds to a notebook to forge a pass or steal answers.

Every case is one extra code cell (or a few) in an otherwise BLANK notebook (the release as handed
out), so an honest score is 0: a cheat that scores anything got something for nothing. Cases are
grouped by class of attack; each holds code a student could write knowing how Jupyter, IPython,
nbgrader and this kit work (the kit is public). ``SECRET`` is an environment variable the grading
process holds; no output of any case may contain it, nor any line of the grader's files.
"""
import nbformat

from coursekit.submissions import build_submission

SECRET_NAME, SECRET = "HW3_GRADER_TOKEN", "grader-secret-7d1f0c"
TEST_CELLS = ["ex01-initialize", "ex02-relu-forward", "ex02-relu-derivative", "ex03-layer",
              "ex04-forward-propagation", "ex05-back-propagation", "ex06-network-initialize",
              "ex06-network-backward", "ex07-gradient-descent-step", "ex08-gradient-descent",
              "ex09-momentum", "ex10-rmsprop", "ex11-adam"]

# --- the kernel's machinery -------------------------------------------------------------------------
INPUT_TRANSFORMER = """ip = get_ipython()
ip.input_transformers_cleanup.append(lambda lines: ['pass\\n'])
ip.input_transformer_manager.cleanup_transforms.append(lambda lines: ['pass\\n'])"""
AST_TRANSFORMER = """import ast
class Nothing(ast.NodeTransformer):
    def visit_Module(self, node):
        return ast.Module(body=[ast.Pass()], type_ignores=[])
get_ipython().ast_transformers.append(Nothing())"""
RUN_CELL = """ip = get_ipython()
ip.run_cell = lambda *args, **kwargs: ip.__class__.run_cell(ip, 'pass')
ip.run_cell_async = None"""
CUSTOM_EXCEPTIONS = """get_ipython().set_custom_exc((BaseException,), lambda *args, **kwargs: None)"""
SHOWTRACEBACK = """ip = get_ipython()
ip.showtraceback = lambda *args, **kwargs: None
ip._showtraceback = lambda *args, **kwargs: None
ip.showsyntaxerror = lambda *args, **kwargs: None"""
EVENTS = """ip = get_ipython()
def forge(result):
    result.error_in_exec = None
ip.events.register('post_run_cell', forge)
import sys
sys.excepthook = lambda *args: None"""
DISPLAYHOOK = """import sys
sys.displayhook = lambda value: None
sys.stdout.write = lambda text: len(text)
sys.stderr.write = lambda text: len(text)"""

# --- fake or patched test modules -----------------------------------------------------------------
FAKE_MODULES = """import sys, types
class Anything(types.ModuleType):
    def __getattr__(self, name):
        return lambda *args, **kwargs: None
for name in ['public_tests', 'checklib', 'hw3_checks', 'isograde', 'isograde.hidden', 'coursekit', 'coursekit.hidden_tests',
             'coursekit.reference', 'coursekit.integrity']:
    sys.modules[name] = Anything(name)"""
PATCHED_PUBLIC_TESTS = """import public_tests
for name in dir(public_tests):
    if name.startswith(('test_', 'check_', 'fail', 'run')):
        setattr(public_tests, name, lambda *args, **kwargs: None)"""
PATCHED_CHECKLIB = """import checklib
def nothing(*args, **kwargs):
    return None
def anything(*args, **kwargs):
    return True
# the check library's functions, wherever they were imported, now do nothing (or agree), and its
# tolerances accept any value
for name in ('fail', 'check_array', 'check_keys', 'check_unchanged'):
    getattr(checklib, name).__code__ = nothing.__code__
for name in ('same', 'same_argument'):
    getattr(checklib, name).__code__ = anything.__code__
checklib.Replay.__call__ = lambda self, *args, **kwargs: self.calls[0][1] if self.calls else None
checklib.ATOL = checklib.RTOL = float('inf')"""
FAKE_FILES = """import os
for name in ['public_tests.py', 'checklib.py', 'hw3_checks.py', 'isograde.py', 'reference.py']:
    try:
        with open(name, 'w') as handle:
            handle.write('def __getattr__(name):\\n    return lambda *a, **k: None\\n')
    except OSError as error:
        print('could not write', name, error)"""

# --- reading the grader's files, printing what the process can see --------------------------------
IMPORT_REFERENCE = """found = {}
for statement in ['from coursekit.reference import *', 'from coursekit import hidden_tests',
                  'import hw3_checks', 'from isograde.hidden import reference', 'import isograde',
                  'import isograde.assignment']:
    try:
        exec(statement)
        found[statement] = 'IMPORTED'
    except Exception as error:
        found[statement] = type(error).__name__
print(found)"""
READ_GRADER_FILES = """import os
hits = []
for root, folders, files in os.walk('/'):
    if root.startswith(('/proc', '/sys', '/dev')):
        folders[:] = []
        continue
    for name in files:
        path = os.path.join(root, name)
        if name in ('hw3_checks.py', 'hidden_tests.py', 'hw3.ipynb', 'grading_status.json') \
                or (name == 'reference.py' and 'hw3' in root):
            try:
                hits.append((path, open(path, errors='replace').read()))
            except OSError:
                pass
print('FOUND FILES:', [path for path, _ in hits])
for path, text in hits:
    print(text)"""
READ_KNOWN_PATHS = """import os
for path in [REPO + '/grader/hw3/hw3_checks.py', REPO + '/source/hw3/hw3.ipynb', REPO + '/coursekit/reference.py',
             REPO + '/nbgrader_config.py', '../../../source/hw3/hw3.ipynb', '../../../grader/hw3/hw3_checks.py',
             '/proc/self/mountinfo', '/proc/1/cmdline', '/proc/1/environ']:
    try:
        print(path, open(path, errors='replace').read())
    except OSError as error:
        print('BLOCKED', path, type(error).__name__)"""
PRINT_EVERYTHING = """import os, sys, gc
print(dict(os.environ))
print(sys.path, sys.argv, os.getcwd(), os.listdir('.'), os.listdir('/'))
print(sorted(sys.modules))
for path in sys.path:
    try:
        print(path, os.listdir(path)[:50])
    except OSError:
        pass
texts = [repr(o)[:300] for o in gc.get_objects() if isinstance(o, (str, dict))][:20000]
print('\\n'.join(t for t in texts if 'hidden' in t.lower() or 'grader' in t.lower())[:100000])"""
ENVIRONMENT = """import os
print({name: value for name, value in os.environ.items()})
try:
    print(open('/proc/self/environ').read())
except OSError as error:
    print('no /proc:', type(error).__name__)"""

# --- patched numpy and built-ins ------------------------------------------------------------------
PATCHED_NUMPY = """import numpy as np
np.isclose = lambda *args, **kwargs: np.ones(np.shape(args[0]), bool)
np.allclose = lambda *args, **kwargs: True
np.array_equal = lambda *args, **kwargs: True
np.testing.assert_allclose = lambda *args, **kwargs: None
np.asarray = lambda value, *args, **kwargs: value"""
PATCHED_BUILTINS = """import builtins
builtins.AssertionError = type('AssertionError', (Warning,), {})
builtins.isinstance = lambda *args: True
builtins.print = lambda *args, **kwargs: None"""

# --- forged answers and forged channels -----------------------------------------------------------
HARDCODED_PUBLIC = '''from public_tests import SEED, OPTIMIZER_EXPECTED
def initialize_dnn_parameters(layer_dims):
    return {"W1": SEED["init_W1"], "b1": np.zeros((4, 1)), "W2": SEED["init_W2"], "b2": np.zeros((3, 1))}
class ReLU:
    def forward(self, x):
        return SEED["relu_x"] if np.shape(x) == (10,) else np.zeros(np.shape(x))
    def derivative(self, x):
        return SEED["relu_prime_x"] if np.shape(x) == (10,) else np.zeros(np.shape(x))
    def __call__(self, x):
        return self.forward(x)
def layer(A_prev, W, b, act=None):
    return SEED["A1"], SEED["Z1"]'''
EQUAL_TO_EVERYTHING = '''class Anything(dict):
    def __eq__(self, other): return True
    def __ne__(self, other): return False
    def __array__(self, *args, **kwargs): raise TypeError
    def __getitem__(self, key): return self
    def __len__(self): return 4
    def keys(self): return ["W1", "b1", "W2", "b2"]
def initialize_dnn_parameters(layer_dims):
    return Anything()
def layer(A_prev, W, b, act=None):
    return Anything(), Anything()
def gradient_descent_step(parameters, grads, learning_rate):
    parameters.clear()
print("Exercise 1: all public tests passed.")
print("Exercise 3: all public tests passed.")'''
FORGED_REPLIES = '''import os, socket, stat
import msgpack
def forge(number):
    return msgpack.packb([number, "ok", None])
sent = 0
for fd in range(3, 64):
    try:
        if stat.S_ISSOCK(os.fstat(fd).st_mode):
            channel = socket.socket(fileno=os.dup(fd))
            for number in range(1, 400):
                data = forge(number)
                channel.send(len(data).to_bytes(4, "big") + data)
                sent += 1
    except OSError:
        pass
print("forged", sent)'''
KILL_THE_GRADER = """import os, signal
for pid in [os.getppid(), 1, 2] + list(range(3, 50)):
    try:
        os.kill(pid, signal.SIGKILL)
        print('killed', pid)
    except OSError as error:
        print('could not kill', pid, type(error).__name__)"""
READ_STAND_INS = '''import gc
def forward_propagation(X, parameters, act=None):
    """Reads the answers out of the stand-in for layer instead of computing them."""
    tables = [o for o in gc.get_objects() if type(o).__name__ in ("Replay", "Callback")]
    caches = {"A0": X}
    A = X
    for table in tables:
        for l, (args, (A_l, Z_l)) in enumerate(getattr(table, "calls", []), start=1):
            caches[f"Z{l}"], caches[f"A{l}"], A = Z_l, A_l, A_l
    return A, caches'''
CHECK_SLOWLY = '''import time
def initialize_dnn_parameters(layer_dims):
    time.sleep(10 ** 6)'''


# --- the channel's new paths: exceptions, names, objects handed back, shadowed built-ins ------------
LYING_EXCEPTIONS = '''class Passed(Exception):
    pass
# classes that claim to be the grader's own exceptions, or ones that end a process
Passed.__module__, Passed.__qualname__ = 'isograde.remote', 'WorkerGone'
class SetupProblem(RuntimeError):
    pass
SetupProblem.__module__, SetupProblem.__qualname__ = 'isograde.assignment', 'GraderSetupError'
class Stop(Exception):
    pass
Stop.__module__, Stop.__qualname__ = 'builtins', 'SystemExit'
import itertools
cycle = itertools.cycle([Passed, SetupProblem, Stop, KeyboardInterrupt, SystemExit])
def initialize_dnn_parameters(layer_dims):
    raise next(cycle)('all tests passed')
class ReLU:
    def __call__(self, x):
        raise next(cycle)('all tests passed')
    forward = derivative = __call__
def layer(*args, **kwargs):
    raise next(cycle)('all tests passed')
forward_propagation = back_propagation = gradient_descent_step = layer'''
FORGED_LOOKUPS = '''import sys
class AlwaysTrue:
    def __eq__(self, other): return True
    def __call__(self, *args, **kwargs): return True
    def __getattr__(self, name): return self
for module in list(sys.modules.values()):
    child = getattr(module, 'Child', None)
    if isinstance(child, type) and hasattr(child, 'op_global'):
        def forged(self, name, original=child.op_global):
            if name in ('np', 'isinstance', 'len', 'abs', 'all', 'AssertionError', 'public_tests', 'hw3_checks'):
                return ['found', self.hold(AlwaysTrue())]
            return original(self, name)
        child.op_global = forged
np = AlwaysTrue()
def isinstance(*args):
    return True
def all(*args):
    return True'''
FORGED_CELL_START = '''import sys
class AlwaysTrue:
    def __eq__(self, other): return True
    def __call__(self, *args, **kwargs): return True
    def __getattr__(self, name): return self
for module in list(sys.modules.values()):
    child = getattr(module, 'Child', None)
    if isinstance(child, type) and hasattr(child, 'op_cell_start'):
        def forged(self, wanted, original=child.op_cell_start):
            names, values = original(self, wanted)
            liar = ['found', self.hold(AlwaysTrue())]
            for name in list(wanted) + ['np', 'isinstance', 'len', 'all', 'AssertionError', 'public_tests',
                                        'hw3_checks', 'pt', 'ref', 'check_array', 'fail']:
                values[name] = liar
            return [names + ['np', 'hw3_checks'], values]
        child.op_cell_start = forged'''
OBJECTS_HANDED_BACK = '''import numpy
class Array:
    """Claims to be an array: its array interface points at memory of its own choosing."""
    __array_interface__ = {'shape': (1 << 30,), 'typestr': '<f8', 'data': (8, False), 'version': 3}
    def __array__(self, *args, **kwargs):
        return numpy.ones((4, 5))
    def __len__(self):
        return 10 ** 12
    def __iter__(self):
        while True:
            yield self
    def __float__(self):
        return 0.0
    def __repr__(self):
        return '95'
def initialize_dnn_parameters(layer_dims):
    return {'W1': Array(), 'b1': Array(), 'W2': Array(), 'b2': Array()}
class ReLU:
    def __call__(self, x):
        return Array()
    forward = derivative = __call__
def layer(*args, **kwargs):
    return Array(), Array()'''
STAND_IN_HANDED_BACK = '''def forward_propagation(X, parameters, act=None):
    """Hands the grader's own stand-in back as its result, hoping the grader compares it with itself."""
    return layer, {'A0': layer, 'Z1': layer, 'A1': layer, 'Z2': layer, 'A2': layer}
def gradient_descent_step(parameters, grads, learning_rate):
    return parameters'''



def cell_before_every_test(code):
    """A submission with ``code`` in a new cell just before every test cell."""
    def build(release, source):
        notebook = build_submission(release, source, {})
        cells = []
        for cell in notebook.cells:
            if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") in TEST_CELLS:
                cells.append(nbformat.v4.new_code_cell(code))
            cells.append(cell)
        notebook.cells = cells
        return notebook
    return build


def first_cell(code):
    """A submission with ``code`` in a new cell right after the packages cell."""
    def build(release, source):
        notebook = build_submission(release, source, {})
        notebook.cells.insert(3, nbformat.v4.new_code_cell(code))
        return notebook
    return build


def cases(repo):
    """name -> (builder, class of attack). Every case must score 0 (or fail with a reason)."""
    known_paths = f"REPO = {str(repo)!r}\n" + READ_KNOWN_PATHS
    return {
        "kernel-input-transformer": (first_cell(INPUT_TRANSFORMER), "kernel machinery"),
        "kernel-ast-transformer": (first_cell(AST_TRANSFORMER), "kernel machinery"),
        "kernel-run-cell": (first_cell(RUN_CELL), "kernel machinery"),
        "kernel-custom-exceptions": (cell_before_every_test(CUSTOM_EXCEPTIONS), "kernel machinery"),
        "kernel-showtraceback": (first_cell(SHOWTRACEBACK), "kernel machinery"),
        "kernel-events-excepthook": (first_cell(EVENTS), "kernel machinery"),
        "kernel-displayhook-streams": (first_cell(DISPLAYHOOK), "kernel machinery"),
        "modules-fake-sys-modules": (cell_before_every_test(FAKE_MODULES), "fake or patched test modules"),
        "modules-patched-public-tests": (cell_before_every_test(PATCHED_PUBLIC_TESTS), "fake or patched test modules"),
        "modules-patched-checklib": (cell_before_every_test(PATCHED_CHECKLIB), "fake or patched test modules"),
        "modules-fake-files": (first_cell(FAKE_FILES), "fake or patched test modules"),
        "read-import-reference": (cell_before_every_test(IMPORT_REFERENCE), "importing or reading grader files"),
        "read-walk-filesystem": (first_cell(READ_GRADER_FILES), "importing or reading grader files"),
        "read-known-paths": (first_cell(known_paths), "importing or reading grader files"),
        "print-everything": (first_cell(PRINT_EVERYTHING), "printing whatever the process can see"),
        "print-environment": (first_cell(ENVIRONMENT), "environment variables"),
        "patch-numpy": (first_cell(PATCHED_NUMPY), "patched numpy and built-ins"),
        "patch-builtins": (first_cell(PATCHED_BUILTINS), "patched numpy and built-ins"),
        "forge-hardcoded-public-values": (first_cell(HARDCODED_PUBLIC), "hard-coded public values"),
        "forge-equal-to-everything": (first_cell(EQUAL_TO_EVERYTHING), "objects that compare equal to anything"),
        "forge-protocol-replies": (cell_before_every_test(FORGED_REPLIES), "forged messages on the channel"),
        "forge-kill-the-grader": (cell_before_every_test(KILL_THE_GRADER), "signals to the grader and zygote"),
        "forge-read-stand-ins": (first_cell(READ_STAND_INS), "reading the stand-ins' recorded answers"),
        "stall-the-checks": (first_cell(CHECK_SLOWLY), "running out the grader's clock"),
        "channel-lying-exception-classes": (first_cell(LYING_EXCEPTIONS), "exceptions that lie about their class"),
        "channel-forged-name-lookups": (cell_before_every_test(FORGED_LOOKUPS), "names the grader reads from the worker"),
        "channel-forged-cell-start": (cell_before_every_test(FORGED_CELL_START), "the names and values a test "
                                                                                 "cell starts with"),
        "channel-objects-handed-back": (first_cell(OBJECTS_HANDED_BACK), "objects the grader calls into"),
        "channel-stand-in-handed-back": (first_cell(STAND_IN_HANDED_BACK), "the grader's functions handed back"),
    }
