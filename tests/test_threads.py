# Thread reliability: divkern in forked children (multiprocessing's fork start method,
# os.fork), thread settings that hold for every Python thread and leave other OpenMP users
# alone, and thread counts clipped to divkern's maximum instead of exhausting the OS.
#
# Scenarios that could hang or kill the interpreter run in a fresh interpreter in its own
# session, under a timeout that kills the whole process group (forked children included):
# a hang becomes a test failure, never a stuck suite. No test looks at timings.
import os
import signal
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest

import divkern
from divkern import _core

needs_openmp = pytest.mark.skipif(not _core.have_openmp(), reason="built without OpenMP")
needs_fork = pytest.mark.skipif(not hasattr(os, "fork"), reason="no os.fork on this platform")

TIMEOUT = 60  # seconds; the scenarios take well under one when they work


def run_script(code, timeout=TIMEOUT, **env):
    """Run `code` in a fresh interpreter; a hang is killed with its process group."""
    full = dict(os.environ)
    for key in ("DIVKERN_ISA", "DIVKERN_NUM_THREADS", "OMP_NUM_THREADS"):
        if key in os.environ and key not in env:
            full.pop(key)
    full.update(env)
    proc = subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=full, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        pytest.fail(f"hung (killed after {timeout} s)\nstdout:\n{out}\nstderr:\n{err}")
    finally:
        try:  # forked children left behind by a failed scenario
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    return proc.returncode, out, err


# ---------------------------------------------------------------------------------- fork

# The parent runs a threaded call first (libgomp then keeps a pool of worker threads,
# which a forked child does not have), then its children run threaded calls too.
FORK_PRELUDE = """
    import os, multiprocessing as mp
    import numpy as np, divkern
    x = np.random.default_rng(0).standard_normal((64, 20000)).astype(np.float32)
    expected = divkern.logsumexp(x, axis=1, threads=1)
    assert np.array_equal(divkern.logsumexp(x, axis=1, threads=2), expected)

    def child(i):
        a = divkern.logsumexp(x, axis=1, threads=2)
        b = divkern.softmax(x, axis=1)  # default threads
        return bool(np.array_equal(a, expected)) and bool(np.allclose(b.sum(axis=1), 1, rtol=1e-5)), \\
            divkern.get_num_threads()
"""


@needs_openmp
@needs_fork
def test_fork_pool_after_threaded_call():
    rc, out, err = run_script(FORK_PRELUDE + """
    with mp.get_context("fork").Pool(2) as pool:
        results = pool.map(child, range(4))
    assert all(ok for ok, _ in results), results
    assert all(n == 1 for _, n in results), results  # children run serially
    assert np.array_equal(divkern.logsumexp(x, axis=1, threads=2), expected)  # the parent still threads
    print("ok")
    """)
    assert rc == 0 and out.split() == ["ok"], err


@needs_openmp
@needs_fork
def test_os_fork_after_threaded_call():
    rc, out, err = run_script(FORK_PRELUDE + """
    pid = os.fork()
    if pid == 0:
        try:
            ok, n = child(0)
            divkern.set_num_threads(2)  # accepted, and still serial
            ok = ok and n == 1 and divkern.get_num_threads() == 1 and child(1)[0]
        finally:
            os._exit(0 if ok else 3)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, status
    print("ok")
    """)
    assert rc == 0 and out.split() == ["ok"], err


# ------------------------------------------------------- settings across Python threads


def in_thread(fn):
    result = []
    t = threading.Thread(target=lambda: result.append(fn()))
    t.start()
    t.join()
    return result[0]


# prints the default thread count on the main thread and on another thread
BOTH_THREADS = """
import threading, divkern
seen = []
t = threading.Thread(target=lambda: seen.append(divkern.get_num_threads()))
t.start(); t.join()
print(divkern.get_num_threads(), seen[0])
"""


@needs_openmp
def test_env_setting_holds_in_other_threads():
    rc, out, err = run_script(BOTH_THREADS, DIVKERN_NUM_THREADS="1")
    assert rc == 0, err
    assert out.split() == ["1", "1"]


@needs_openmp
def test_set_num_threads_holds_in_other_threads():
    before = divkern.get_num_threads()
    try:
        divkern.set_num_threads(1)
        assert in_thread(divkern.get_num_threads) == 1
        divkern.set_num_threads(3)
        assert in_thread(divkern.get_num_threads) == 3
        assert divkern.get_num_threads() == 3
    finally:
        divkern.set_num_threads(before)


def openmp_limits():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    infos = [i for i in threadpoolctl.threadpool_info() if i["user_api"] == "openmp"]
    if not infos:
        pytest.skip("threadpoolctl finds no OpenMP library")
    return [(i["filepath"], i["num_threads"]) for i in infos]


@needs_openmp
def test_set_num_threads_leaves_openmp_alone():
    # divkern's setting is its own: the OpenMP limit of the calling thread, which every
    # other OpenMP user in the process shares, does not change.
    before, limits = divkern.get_num_threads(), openmp_limits()
    try:
        for n in (1, 3):
            divkern.set_num_threads(n)
            assert openmp_limits() == limits
    finally:
        divkern.set_num_threads(before)


@needs_openmp
def test_threadpoolctl_limits_the_calling_thread():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    before = divkern.get_num_threads()
    x = np.random.default_rng(1).standard_normal((64, 20000))
    expected = divkern.logsumexp(x, axis=1, threads=1)

    def limited():
        with threadpoolctl.threadpool_limits(limits=1, user_api="openmp"):
            inner = divkern.get_num_threads(), in_thread(divkern.get_num_threads)
            same = np.array_equal(divkern.logsumexp(x, axis=1), expected)
        return inner, same, divkern.get_num_threads()

    # A thread limit equal to OpenMP's default for the process (that of a new thread)
    # cannot be told from no limit (get_num_threads' docstring): 1 must differ from it.
    fresh = in_thread(lambda: [i["num_threads"] for i in threadpoolctl.threadpool_info()
                               if i["user_api"] == "openmp"])
    if 1 in fresh:
        pytest.skip("OpenMP's default is one thread here")
    try:
        divkern.set_num_threads(3)  # above the machine's cores is allowed, and still limited
        # on the main thread and on another Python thread; a limit on one thread leaves the
        # others at divkern's setting, and ends with its block
        assert limited() == ((1, 3), True, 3)
        assert in_thread(limited) == ((1, 3), True, 3)
        assert divkern.get_num_threads() == 3
    finally:
        divkern.set_num_threads(before)


@needs_openmp
def test_omp_num_threads_is_the_initial_default():
    rc, out, err = run_script(BOTH_THREADS, OMP_NUM_THREADS="3")
    assert rc == 0, err
    assert out.split() == ["3", "3"]


# ------------------------------------------------------------------------ thread counts


def test_max_threads_documented_bounds():
    from divkern._validate import MAX_THREADS

    assert MAX_THREADS == _core.max_threads()
    assert 1 <= MAX_THREADS <= 1024
    if _core.have_openmp():
        assert MAX_THREADS == min(1024, 4 * (os.cpu_count() or 1))


def test_huge_thread_counts_are_clipped():
    from divkern._validate import MAX_THREADS, check_threads

    assert check_threads(10**6) == MAX_THREADS
    assert check_threads(2**70) == MAX_THREADS
    assert check_threads(np.int64(2**40)) == MAX_THREADS
    assert check_threads(MAX_THREADS) == MAX_THREADS
    x = np.arange(12.0).reshape(3, 4)
    for fn in (divkern.logsumexp, divkern.softmax, divkern.log_softmax):
        np.testing.assert_array_equal(fn(x, axis=1, threads=10**6), fn(x, axis=1, threads=1))
    before = divkern.get_num_threads()
    try:
        divkern.set_num_threads(10**6)
        assert divkern.get_num_threads() == (MAX_THREADS if _core.have_openmp() else 1)
    finally:
        divkern.set_num_threads(before)


@needs_openmp
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_AS and /proc are Linux's")
def test_thread_count_never_exhausts_the_os():
    # 4096 work units asked for with threads=65536 (the old maximum). The address space is
    # limited to room for about 1100 threads of 1 MiB stacks: more than divkern's maximum
    # (at most 1024), far fewer than the threads asked for. Without the cap libgomp cannot
    # create them all and exits the interpreter ("Thread creation failed").
    rc, out, err = run_script("""
    import resource
    import numpy as np, divkern

    def status(key):
        for line in open("/proc/self/status"):
            if line.startswith(key + ":"):
                return int(line.split()[1])

    x = np.random.default_rng(2).standard_normal((4096, 2, 16)).astype(np.float32)
    expected = divkern.logsumexp(x, axis=1, threads=1)
    base = status("Threads")
    room = (status("VmSize") << 10) + 1100 * (1 << 20) + (256 << 20)
    resource.setrlimit(resource.RLIMIT_AS, (room, resource.getrlimit(resource.RLIMIT_AS)[1]))
    got = divkern.logsumexp(x, axis=1, threads=65536)
    assert np.array_equal(got, expected)
    assert status("Threads") <= base + 1024, status("Threads")
    print("ok")
    """, OMP_STACKSIZE="1M", MALLOC_ARENA_MAX="2", OPENBLAS_NUM_THREADS="1")
    assert rc == 0 and out.split() == ["ok"], f"rc={rc}\n{err}"
