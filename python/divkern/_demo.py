"""The demo behind `python -m divkern`: every kernel family on built-in synthetic data,
checked against SciPy when it is installed, timed side by side with it.

A family adds itself with @demo("name"); its function returns rows of
(operation, divkern seconds, reference seconds or None, max error description).
"""

from __future__ import annotations

import time

import numpy as np

import divkern

_DEMOS = []


def demo(name, reference="SciPy"):
    def register(fn):
        _DEMOS.append((name, reference, fn))
        return fn

    return register


def best_time(fn, repeat=3):
    fn()
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def _ulp_error(actual, reference, dtype):
    ref = np.asarray(reference, dtype=np.float64)
    spacing = np.spacing(np.abs(ref.astype(dtype))).astype(np.float64)
    spacing = np.maximum(spacing, np.finfo(dtype).smallest_subnormal)
    return float(np.max(np.abs(np.asarray(actual, np.float64) - ref) / spacing))


@demo("log-sum-exp family (divkern.logsumexp, softmax, log_softmax)")
def _logsumexp_family(scipy_special):
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((2048, 8192), dtype=np.float32) * 3
    rows = []
    cases = [
        ("logsumexp  (2048, 8192) f32, axis=-1", lambda m: m.logsumexp(logits, axis=-1), "lse"),
        ("logsumexp  (8192, 2048) f32, axis=0", lambda m: m.logsumexp(logits.reshape(8192, 2048), axis=0), "lse"),
        ("softmax    (2048, 8192) f32, axis=-1", lambda m: m.softmax(logits, axis=-1), "softmax"),
        ("log_softmax(2048, 8192) f32, axis=-1", lambda m: m.log_softmax(logits, axis=-1), "log"),
    ]
    for label, call, kind in cases:
        ours = call(divkern)
        t_ours = best_time(lambda: call(divkern))
        t_ref, err = None, "SciPy not installed"
        if scipy_special is not None:
            t_ref = best_time(lambda: call(scipy_special), repeat=1)
            # the reference: SciPy in float64 on the same float32 inputs
            ref = call(_Float64(scipy_special))
            if kind == "softmax":
                err = f"max rel. error {float(np.max(np.abs(ours - ref) / np.maximum(ref, 1e-30))):.1e}"
            else:
                err = f"max error {_ulp_error(ours, ref, np.float32):.2f} ulp"
        rows.append((label, t_ours, t_ref, err))
    return rows


@demo("cross-entropy and logit divergences (divkern.cross_entropy, kl_logits, ...)", reference="torch")
def _cross_entropy_family(scipy_special):
    try:
        import torch
        import torch.nn.functional as F
    except ImportError:
        return [("(PyTorch not installed: pip install torch==2.13.0)", 0.0, None, "-")]
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1024, 32000), dtype=np.float32) * 3
    y = x + rng.standard_normal(x.shape, dtype=np.float32)
    t = rng.integers(0, x.shape[1], x.shape[0])
    x64, y64, t64 = torch.from_numpy(x.astype(np.float64)), torch.from_numpy(y.astype(np.float64)), torch.from_numpy(t)
    xt, yt, tt = torch.from_numpy(x), torch.from_numpy(y), torch.from_numpy(t)

    def kl(a, b):
        return F.kl_div(F.log_softmax(b, -1), F.log_softmax(a, -1), reduction="none", log_target=True).sum(-1)

    def ce_grad():
        xr = xt.detach().requires_grad_(True)
        F.cross_entropy(xr, tt).backward()

    cases = [
        ("cross_entropy (1024, 32000) f32", lambda: divkern.cross_entropy(x, t),
         lambda: F.cross_entropy(xt, tt), lambda: F.cross_entropy(x64, t64).item()),
        ("  + gradient", lambda: divkern.cross_entropy(x, t, return_grad=True)[0], ce_grad,
         lambda: F.cross_entropy(x64, t64).item()),
        ("kl_logits     (1024, 32000) f32", lambda: divkern.kl_logits(x, y), lambda: kl(xt, yt),
         lambda: kl(x64, y64).numpy()),
        ("softmax_entropy (1024, 32000) f32", lambda: divkern.softmax_entropy(x),
         lambda: -(torch.softmax(xt, -1) * torch.log_softmax(xt, -1)).sum(-1),
         lambda: (-(torch.softmax(x64, -1) * torch.log_softmax(x64, -1)).sum(-1)).numpy()),
    ]
    rows = []
    for label, ours, anchor, exact in cases:
        got = np.asarray(ours(), np.float64)
        ref = np.asarray(exact(), np.float64)
        err = float(np.max(np.abs(got - ref) / np.maximum(np.abs(ref), 1e-30)))
        rows.append((label, best_time(ours), best_time(anchor, repeat=1), f"max rel. error {err:.1e}"))
    return rows


class _Float64:
    """Calls a scipy.special-like module on float64 copies of float32 arguments."""

    def __init__(self, module):
        self.module = module

    def __getattr__(self, name):
        f = getattr(self.module, name)
        return lambda x, **kw: f(np.asarray(x, dtype=np.float64), **kw)


def main() -> int:
    divkern.show_config()
    try:
        import scipy.special as scipy_special
    except ImportError:
        scipy_special = None
    print()
    for name, reference, fn in _DEMOS:
        print(name)
        header = (f"  {'operation':40s} {'divkern':>10s} {reference:>10s} {'speed-up':>9s}  "
                  f"check vs {reference} (float64)")
        print(header)
        print("  " + "-" * (len(header) - 2))
        for label, t_ours, t_ref, err in fn(scipy_special):
            ref = f"{t_ref * 1e3:8.1f}ms" if t_ref is not None else f"{'-':>10s}"
            speed = f"{t_ref / t_ours:8.1f}x" if t_ref is not None else f"{'-':>9s}"
            print(f"  {label:40s} {t_ours * 1e3:8.2f}ms {ref} {speed}  {err}")
        print()
    return 0
