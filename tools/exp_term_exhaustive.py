"""Exhaustive check of the float32 exponential of the Fast sums (`exp_term`, fused
multiply-adds) over every float input it can see, x in [-86.5, 0] (below, the clamp
gives exp(-86.5)): the same bits at every ISA level this CPU runs (the SSE2 baseline
emulates the FMA instruction), and the largest error in ulp against float64 exp.

Run:  python tools/exp_term_exhaustive.py      (~1 minute with three levels; the test
suite samples the same range, tests/test_math.py)
"""
import sys
import time

import numpy as np

from divkern import _core


def main() -> int:
    levels = [isa for isa in _core.isa_compiled() if _core.isa_supported(isa)]
    lo = 0x80000000  # -0.0, then increasingly negative floats
    hi = np.float32(-86.5).view(np.uint32).item() + 1
    chunk = 1 << 25
    worst, worst_x, mismatches, t0 = 0.0, 0.0, 0, time.time()
    for a in range(lo, hi, chunk):
        x = np.arange(a, min(a + chunk, hi), dtype=np.uint64).astype(np.uint32).view(np.float32)
        ys = [_core.math("exp_term", x, isa) for isa in levels]
        for y in ys[1:]:
            mismatches += int(np.count_nonzero(y.view(np.uint32) != ys[0].view(np.uint32)))
        ref = np.exp(x.astype(np.float64))
        err = np.abs(ys[0].astype(np.float64) - ref) / np.spacing(ref.astype(np.float32)).astype(np.float64)
        i = int(np.argmax(err))
        if err[i] > worst:
            worst, worst_x = float(err[i]), float(x[i])
    print(f"levels {', '.join(levels)}: {hi - lo} inputs, {mismatches} differing results, "
          f"max error {worst:.4f} ulp at x = {worst_x!r} ({time.time() - t0:.0f} s)")
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
