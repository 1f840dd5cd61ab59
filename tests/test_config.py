# Runtime configuration: show_config, threads (set_num_threads, DIVKERN_NUM_THREADS,
# threadpoolctl), ISA selection (DIVKERN_ISA, checked in fresh interpreters because it is
# applied at import), and that kernels release the GIL.
import io
import os
import subprocess
import sys
import threading

import numpy as np
import pytest

import divkern
from divkern import _core
from conftest import AVAILABLE_ISAS


def run_python(code, **env):
    full = dict(os.environ)
    full.pop("DIVKERN_ISA", None)
    full.pop("DIVKERN_NUM_THREADS", None)
    full.update(env)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=full, timeout=120)


def test_show_config_lists_everything():
    buf = io.StringIO()
    divkern.show_config(file=buf)
    text = buf.getvalue()
    assert f"divkern {divkern.__version__}" in text
    for key in ("CPU", "ISA compiled", "ISA supported", "ISA in use", "OpenMP", "threads", "CUDA"):
        assert key in text
    assert divkern.get_isa() in text


def test_isa_levels_reported():
    compiled = _core.isa_compiled()
    assert compiled[0] == "baseline"
    assert divkern.get_isa() in AVAILABLE_ISAS
    assert set(AVAILABLE_ISAS) <= set(compiled)


def test_set_num_threads_roundtrip():
    before = divkern.get_num_threads()
    try:
        divkern.set_num_threads(1)
        assert divkern.get_num_threads() == 1
        divkern.set_num_threads(3)
        assert divkern.get_num_threads() == (3 if _core.have_openmp() else 1)
    finally:
        divkern.set_num_threads(before)


@pytest.mark.skipif(not _core.have_openmp(), reason="built without OpenMP")
def test_threadpoolctl_limits_divkern():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    x = np.random.default_rng(0).standard_normal((64, 20000)).astype(np.float32)
    expected = divkern.logsumexp(x, axis=1)
    with threadpoolctl.threadpool_limits(limits=1, user_api="openmp"):
        assert divkern.get_num_threads() == 1
        np.testing.assert_array_equal(divkern.logsumexp(x, axis=1), expected)
    assert divkern.get_num_threads() >= 1
    apis = {info["internal_api"] for info in threadpoolctl.threadpool_info()}
    assert "openmp" in apis


@pytest.mark.skipif(not _core.have_openmp(), reason="built without OpenMP")
def test_env_num_threads():
    r = run_python("import divkern; print(divkern.get_num_threads())", DIVKERN_NUM_THREADS="3")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "3"


def test_env_num_threads_invalid():
    r = run_python("import divkern", DIVKERN_NUM_THREADS="zero")
    assert r.returncode != 0
    assert "DIVKERN_NUM_THREADS" in r.stderr


@pytest.mark.parametrize("isa", AVAILABLE_ISAS)
def test_env_isa_forces_level(isa):
    r = run_python("import divkern, numpy as np; print(divkern.get_isa()); print(float(divkern.logsumexp(np.arange(10.))))",
                   DIVKERN_ISA=isa.upper())
    assert r.returncode == 0, r.stderr
    lines = r.stdout.split()
    assert lines[0] == isa
    assert float(lines[1]) == pytest.approx(9.45862974442671, rel=1e-15)


def test_env_isa_unknown_is_a_clear_error():
    r = run_python("import divkern", DIVKERN_ISA="sse9")
    assert r.returncode != 0
    assert "DIVKERN_ISA" in r.stderr and "unknown ISA level" in r.stderr


def test_env_isa_unsupported_is_a_clear_error():
    unsupported = [i for i in _core.isa_compiled() if i not in AVAILABLE_ISAS]
    if not unsupported:
        pytest.skip("this CPU runs every compiled level")
    r = run_python("import divkern", DIVKERN_ISA=unsupported[0])
    assert r.returncode != 0
    assert "cannot run" in r.stderr


def test_kernels_release_the_gil():
    # Another Python thread must run *during* one long kernel call: with the GIL held it
    # could only run before or after it.
    import time

    x = np.random.default_rng(0).standard_normal((4096, 20000)).astype(np.float32)
    stamps = []
    done = threading.Event()

    def spin():
        while not done.is_set():
            stamps.append(time.perf_counter())

    t = threading.Thread(target=spin)
    t.start()
    while not stamps:
        time.sleep(0.001)
    t0 = time.perf_counter()
    divkern.logsumexp(x, axis=1, threads=1)
    t1 = time.perf_counter()
    done.set()
    t.join()
    margin = 0.2 * (t1 - t0)
    inside = [s for s in stamps if t0 + margin < s < t1 - margin]
    assert inside, f"no Python progress during a {1e3 * (t1 - t0):.0f} ms call"


def test_set_num_threads_type_errors_say_what_is_accepted():
    # None is refused by set_num_threads, so its message must not offer it
    for bad in (2.0, None, "2", True):
        with pytest.raises(TypeError, match=r"^n: expected a positive integer, got ") as e:
            divkern.set_num_threads(bad)
        assert "None" not in str(e.value).split(", got ")[0]


def test_env_num_threads_large_is_clipped():
    r = run_python("import divkern; from divkern._validate import MAX_THREADS; "
                   "print(divkern.get_num_threads(), MAX_THREADS)", DIVKERN_NUM_THREADS="100000")
    assert r.returncode == 0, r.stderr
    got, cap = r.stdout.split()
    assert got == (cap if _core.have_openmp() else "1")
