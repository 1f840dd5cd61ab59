"""The kernels keep their tiles and block buffers in a per-thread scratch arena, not on
the worker's stack: musl's threads get 128 KiB, and OpenMP workers get OMP_STACKSIZE.
Every kernel path runs here on workers with 64 KiB stacks (it needed ~100 KiB before)."""

import os
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import numpy as np, divkern
    rng = np.random.default_rng(0)
    for dt in (np.float32, np.float64):
        x = rng.standard_normal((8, 100_003)).astype(dt)
        b = rng.random((8, 100_003)).astype(dt)
        g = rng.standard_normal((8, 30_000)).astype(dt)[:, ::3]
        lp = divkern.log_softmax(x[:, :3000], axis=1)
        for threads in (2, 2, 2):
            divkern.logsumexp(x, axis=1, b=b, threads=threads)           # weighted, chunked rows
            divkern.logsumexp(g, axis=1, b=g * 0 + 1, threads=threads)   # weighted, gathered
            divkern.softmax(g, axis=1, threads=threads)                  # gathered second pass
            divkern.log_softmax(x, axis=1, threads=threads)              # chunked second pass
            divkern.logsumexp(rng.standard_normal((5000, 100)).astype(dt), axis=1, threads=threads)
            divkern.logsumexp(rng.standard_normal((5000, 3)).astype(dt) * 1e-3, axis=1, threads=threads)
            divkern.logsumexp(np.tile(lp, (4, 1)), axis=1, threads=threads)  # near-zero long rows
            divkern.softmax(rng.standard_normal((3000, 700)).astype(dt), axis=0, threads=threads)
    print("ok")
    """
)


def test_kernels_run_on_small_worker_stacks():
    env = dict(os.environ, OMP_STACKSIZE="64K", OMP_NUM_THREADS="2")
    r = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and r.stdout.strip() == "ok", (r.returncode, r.stdout[-500:], r.stderr[-2000:])
