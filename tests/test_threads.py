# Thread reliability: divkern in forked children (multiprocessing's fork start method,
# os.fork).
#
# Scenarios that could hang or kill the interpreter run in a fresh interpreter in its own
# session, under a timeout that kills the whole process group (forked children included):
# a hang becomes a test failure, never a stuck suite. No test looks at timings.
import os
import signal
import subprocess
import sys
import textwrap

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
