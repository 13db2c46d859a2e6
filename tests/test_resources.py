"""Resource attacks on the engine: what a worker can pin, fill or send stays bounded, and nothing of one
student's worker is visible to the next.

Each test drives the sandboxed zygote directly (fast and exact); tests/test_sandbox.py grades the same
classes of attack through the kit's grade command beside honest students.
"""
import os
import resource
import time

import pytest

from isograde import sandbox
from isograde.grading import Limits
from isograde.remote import WorkerGone
from isograde.zygote import Zygote
from test_idioms import answer, check_cell, grade, outputs_of, passes


@pytest.fixture(scope="module")
def zygote():
    zygote = Zygote(sandboxed=True, secrets=[], memory=3 * 1024**3)
    yield zygote
    zygote.close()


def printed(outputs):
    return "".join(o.get("text", "") for o in outputs if o["output_type"] == "stream") + \
        "".join(f"{o['ename']}: {o['evalue']}" for o in outputs if o["output_type"] == "error")


def host_shm_segments():
    with open("/proc/sysvipc/shm") as handle:
        return len(handle.read().splitlines()) - 1


SHM = """import ctypes
libc = ctypes.CDLL(None, use_errno=True)
libc.shmat.restype = ctypes.c_void_p
made = []
for key in (4242, 4243, 4244):
    segment = libc.shmget(key, {size}, 0o1000 | 0o666)
    if segment >= 0:
        address = libc.shmat(segment, None, 0)
        ctypes.memset(address, 7, {size})
        made.append(segment)
print('made', len(made))
"""
SHM_READ = """import ctypes
libc = ctypes.CDLL(None, use_errno=True)
print('found', [libc.shmget(key, 0, 0o666) for key in (4242, 4243, 4244)])
"""


def test_shared_memory_dies_with_its_worker_and_the_next_worker_sees_none(zygote):
    before = host_shm_segments()
    worker = zygote.spawn()
    assert "made 3" in printed(worker.run_cell(SHM.format(size=256 * 1024**2)))
    assert host_shm_segments() == before  # the segments live in the worker's own IPC namespace
    found = printed(zygote.spawn().run_cell(SHM_READ))
    assert "found [-1, -1, -1]" in found, found
    zygote.finish()
    assert host_shm_segments() == before


@pytest.mark.parametrize("folder", ["/tmp", "/dev/shm"])
def test_a_workers_tmp_is_its_own_and_bounded(zygote, folder):
    code = f"""import os
written = 0
try:
    for number in range(4096):
        with open('{folder}/fill-' + str(number), 'wb') as handle:
            handle.write(b'x' * (1 << 20))
        written += 1
except OSError as error:
    print('stopped', type(error).__name__, error.errno)
print('MiB written', written)
"""
    result = printed(zygote.spawn().run_cell(code))
    written = int(result.split("MiB written ")[1].split()[0])
    assert "stopped OSError 28" in result and written <= 520, result  # ENOSPC at the 512 MiB cap
    assert "MiB written 0" in printed(zygote.spawn().run_cell(
        f"import os\nprint('MiB written', len([n for n in os.listdir('{folder}') if n.startswith('fill-')]))"))
    zygote.finish()


@pytest.mark.skipif(os.geteuid() != 0 or sandbox.MemoryGroup.create(1 << 30) is None,
                    reason="memory cgroups need root and a writable cgroup hierarchy")
def test_memory_of_all_a_workers_processes_counts_against_one_limit(zygote):
    """3.5 GiB touched: within the worker's address-space limit (6 GiB), beyond the 3 GiB of its memory
    cgroup (which also counts its other processes, its /tmp and its shared memory): the kernel ends the
    worker, the grader goes on."""
    code = """block = bytearray(3584 * 1024 ** 2)
for offset in range(0, len(block), 4096):
    block[offset] = 1
print('survived')
"""
    worker = zygote.spawn()
    with pytest.raises(WorkerGone):
        with worker.time_limit(60):
            worker.run_cell(code)
    assert "next" in printed(zygote.spawn().run_cell("print('next')"))
    zygote.finish()


def test_a_forged_frame_is_refused_without_filling_the_graders_memory(zygote):
    """A frame of 60 MiB of empty lists would decode into gigabytes of Python lists: refused."""
    code = """import os, socket, stat, msgpack
payload = msgpack.packb([[]] * (60 * 1024 * 1024 // 1))[:60 * 1024 * 1024]
for fd in range(3, 64):
    try:
        if stat.S_ISSOCK(os.fstat(fd).st_mode):
            channel = socket.socket(fileno=os.dup(fd))
            channel.sendall(len(payload).to_bytes(4, 'big') + payload)
    except OSError:
        pass
"""
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    worker = zygote.spawn()
    with pytest.raises(WorkerGone, match="malformed|too many"):
        worker.run_cell(code)
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before  # KiB
    assert grown < 400 * 1024, f"the grader grew by {grown // 1024} MiB"
    zygote.finish()


def test_a_flood_of_calls_with_large_arguments_ends_at_the_budget(zygote):
    worker = zygote.spawn()
    spy = worker.side.spy()
    worker.run_cell("import numpy as np\ndef flood(f):\n    big = np.ones(4 * 1024 * 1024)\n"
                    "    for _ in range(100):\n        f(big)")
    with pytest.raises(WorkerGone, match="more data"):
        worker.lookup("flood")(spy)
    answerer = worker.callbacks[worker.stand_ins[spy]][0]
    assert answerer.count < 10 and len(answerer.calls) <= answerer.count
    zygote.finish()


def test_a_notebook_of_slow_cells_ends_within_its_time_budget():
    zygote = Zygote(sandboxed=True, secrets=[])
    cells = [answer("import time\ntime.sleep(3)", f"slow-{n}") for n in range(20)] + [check_cell("assert True", "t")]
    try:
        started = time.monotonic()
        notebook = grade(zygote, cells, limits=Limits(cell_timeout=2, check_timeout=2, submission_timeout=8))
        elapsed = time.monotonic() - started
    finally:
        zygote.close()
    assert elapsed < 20, elapsed
    last = outputs_of(notebook, "t")
    assert last[0].ename == "TimeBudgetExceeded" and not passes(notebook, "t")
