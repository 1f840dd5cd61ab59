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


def demo(name):
    def register(fn):
        _DEMOS.append((name, fn))
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
    for name, fn in _DEMOS:
        print(name)
        header = f"  {'operation':40s} {'divkern':>10s} {'SciPy':>10s} {'speed-up':>9s}  check vs SciPy (float64)"
        print(header)
        print("  " + "-" * (len(header) - 2))
        for label, t_ours, t_ref, err in fn(scipy_special):
            ref = f"{t_ref * 1e3:8.1f}ms" if t_ref is not None else f"{'-':>10s}"
            speed = f"{t_ref / t_ours:8.1f}x" if t_ref is not None else f"{'-':>9s}"
            print(f"  {label:40s} {t_ours * 1e3:8.2f}ms {ref} {speed}  {err}")
        print()
    return 0
