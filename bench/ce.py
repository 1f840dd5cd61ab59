"""Cross-entropy and logit divergences: divkern against PyTorch (CPU) and NumPy/SciPy
compositions, side by side in one run, with the read bandwidth of the machine.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python bench/ce.py [--threads 2] [--quick]

Prints a Markdown table (best of a few calls after a warm-up call) for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run import cpu_model, git_sha, read_bandwidth  # noqa: E402

import divkern  # noqa: E402


def best(fn, reps: int) -> float:
    fn()
    t = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        t.append(time.perf_counter() - t0)
    return min(t)


def numpy_ce(x, t):
    from scipy.special import log_softmax

    return -np.mean(np.take_along_axis(log_softmax(x, axis=-1), t[:, None], axis=-1))


def numpy_kl(x, y):
    from scipy.special import rel_entr, softmax

    return np.sum(rel_entr(softmax(x, axis=-1), softmax(y, axis=-1)), axis=-1)


def numpy_jsd(x, y):
    from scipy.special import rel_entr, softmax

    p, q = softmax(x, axis=-1), softmax(y, axis=-1)
    m = 0.5 * (p + q)
    return 0.5 * np.sum(rel_entr(p, m), axis=-1) + 0.5 * np.sum(rel_entr(q, m), axis=-1)


def numpy_entropy(x):
    from scipy.special import entr, softmax

    return np.sum(entr(softmax(x, axis=-1)), axis=-1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--quick", action="store_true", help="rows / 8")
    ap.add_argument("--reps", type=int, default=3)
    args = ap.parse_args()
    import torch
    import torch.nn.functional as F

    th = args.threads
    torch.set_num_threads(th)
    divkern.set_num_threads(th)
    scale = 8 if args.quick else 1
    rng = np.random.default_rng(0)
    bw, how = read_bandwidth(th, divkern.get_isa(), "auto")
    rows = []

    def add(name, shape, ours, anchor_name, anchor, nbytes=None):
        a = best(ours, args.reps)
        b = best(anchor, args.reps)
        gbs = f"{nbytes / a / 1e9:.1f} ({100 * nbytes / a / 1e9 / bw:.0f}%)" if nbytes else ""
        rows.append((name, shape, f"{a * 1e3:.1f}", anchor_name, f"{b * 1e3:.1f}", f"{b / a:.2f}x", gbs))
        print(rows[-1], flush=True)

    for n, c in [(4096 // scale, 32000), (1_000_000 // scale, 16)]:
        x = rng.standard_normal((n, c), dtype=np.float32)
        t = rng.integers(0, c, n)
        xt, tt = torch.from_numpy(x), torch.from_numpy(t)
        g = np.empty_like(x)

        def torch_fb():
            xr = xt.detach().requires_grad_(True)
            F.cross_entropy(xr, tt).backward()

        shape = f"({n}, {c}) f32"
        add("cross_entropy loss", shape, lambda: divkern.cross_entropy(x, t), "torch forward",
            lambda: F.cross_entropy(xt, tt), x.nbytes)
        add("cross_entropy loss + grad", shape, lambda: divkern.cross_entropy(x, t, return_grad=True, out_grad=g),
            "torch forward + backward", torch_fb)
        if c > 16:
            add("cross_entropy loss", shape, lambda: divkern.cross_entropy(x, t), "SciPy log_softmax + take",
                lambda: numpy_ce(x, t))

    n, c = 4096 // scale, 32000
    x = rng.standard_normal((n, c), dtype=np.float32)
    y = x + np.float32(0.5) * rng.standard_normal((n, c), dtype=np.float32)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    shape = f"({n}, {c}) f32"

    def t_kl(a, b):
        return F.kl_div(F.log_softmax(b, -1), F.log_softmax(a, -1), reduction="none", log_target=True).sum(-1)

    def t_jsd(a, b):
        p, q = F.log_softmax(a, -1), F.log_softmax(b, -1)
        m = torch.logsumexp(torch.stack([p, q]), 0) - np.log(2.0)
        return 0.5 * F.kl_div(m, p, reduction="none", log_target=True).sum(-1) + 0.5 * F.kl_div(
            m, q, reduction="none", log_target=True).sum(-1)

    def t_ent(a):
        return -(torch.softmax(a, -1) * torch.log_softmax(a, -1)).sum(-1)

    def fb(f, *arrs):
        def run():
            rs = [a.detach().requires_grad_(True) for a in arrs]
            f(*rs).sum().backward()
        return run

    add("kl_logits", shape, lambda: divkern.kl_logits(x, y), "torch log_softmax + kl_div", lambda: t_kl(xt, yt), 2 * x.nbytes)
    add("kl_logits + grads", shape, lambda: divkern.kl_logits(x, y, return_grad="both"), "torch forward + backward",
        fb(t_kl, xt, yt))
    add("kl_logits", shape, lambda: divkern.kl_logits(x, y), "SciPy softmax + rel_entr", lambda: numpy_kl(x, y))
    add("jsd_logits", shape, lambda: divkern.jsd_logits(x, y), "torch composition", lambda: t_jsd(xt, yt), 2 * x.nbytes)
    add("jsd_logits + grads", shape, lambda: divkern.jsd_logits(x, y, return_grad="both"), "torch forward + backward",
        fb(t_jsd, xt, yt))
    add("jsd_logits", shape, lambda: divkern.jsd_logits(x, y), "SciPy softmax + rel_entr", lambda: numpy_jsd(x, y))
    add("softmax_entropy", shape, lambda: divkern.softmax_entropy(x), "torch softmax * log_softmax", lambda: t_ent(xt),
        x.nbytes)
    add("softmax_entropy", shape, lambda: divkern.softmax_entropy(x), "SciPy softmax + entr", lambda: numpy_entropy(x))

    print()
    print(f"CPU: {cpu_model()}; ISA level {divkern.get_isa()}; {th} threads; divkern {git_sha()}, "
          f"torch {torch.__version__}, NumPy {np.__version__}")
    print(f"Read bandwidth {bw:.1f} GB/s: {how}")
    print()
    print("| function | shape | divkern ms | anchor | anchor ms | speed-up | divkern GB/s (of read bw) |")
    print("|---|---|---:|---|---:|---:|---:|")
    for r in rows:
        print("| " + " | ".join(r) + " |")


if __name__ == "__main__":
    main()
