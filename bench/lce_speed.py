"""divkern.linear_cross_entropy against PyTorch's F.linear + F.cross_entropy (forward, and
forward + backward), side by side in one run, on the same data and thread count, with the
peak extra memory of each (bench/lce_memory.py, a fresh interpreter per measurement).

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python bench/lce_speed.py
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python bench/lce_speed.py --n 1024 --repeat 3

Timings are interleaved (divkern, torch, divkern, torch, ...) after a warm-up call of
each, and the median is reported, so that a noisy neighbour slows both alike.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lce_memory  # noqa: E402


def cpu_model() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=4096)
    ap.add_argument("--h", type=int, default=1024)
    ap.add_argument("--v", type=int, default=32000)
    ap.add_argument("--dtype", default="float32")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--no-memory", action="store_true", help="skip the memory measurements")
    args = ap.parse_args()
    for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        if var in os.environ:
            print(f"warning: {var} is set; it changes OpenBLAS's kernels (run with env -u {var})")

    import torch

    import divkern
    from divkern import _core

    torch.set_num_threads(args.threads)
    hidden, weight, target = lce_memory.make_inputs(args.n, args.h, args.v, args.dtype)
    print(f"CPU: {cpu_model()} ({os.cpu_count()} logical CPUs), divkern ISA {divkern.get_isa()}, "
          f"OpenBLAS {_core.blas_corename()}; torch {torch.__version__}, {args.threads} threads")
    print(f"N={args.n} H={args.h} V={args.v} {args.dtype}; median of {args.repeat} interleaved runs")
    print()
    print("| case | divkern s | torch s | divkern / torch | divkern extra MB | torch extra MB |")
    print("|---|---:|---:|---:|---:|---:|")
    for grad in (False, True):
        calls = {impl: lce_memory.make_call(impl, hidden, weight, target, grad, args.threads)
                 for impl in lce_memory.IMPLS}
        times = {impl: [] for impl in calls}
        for impl, call in calls.items():
            call()  # warm-up
        for _ in range(args.repeat):
            for impl, call in calls.items():
                t0 = time.perf_counter()
                out = call()
                times[impl].append(time.perf_counter() - t0)
                del out
        med = {impl: statistics.median(t) for impl, t in times.items()}
        mem = {impl: "" for impl in calls}
        if not args.no_memory:
            for impl in calls:
                r = lce_memory.measure(impl, args.n, args.h, args.v, grad, args.dtype, args.threads)
                mem[impl] = f"{r['rss_extra_bytes'] / 1e6:.1f}"
        label = "forward + backward" if grad else "forward (loss only)"
        print(f"| {label} | {med['divkern']:.3f} | {med['torch']:.3f} | {med['divkern'] / med['torch']:.2f} | "
              f"{mem['divkern']} | {mem['torch']} |", flush=True)


if __name__ == "__main__":
    main()
