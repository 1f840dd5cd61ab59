"""Peak extra memory of one linear_cross_entropy call, divkern against PyTorch.

The measure (as in bench/memory.py): the rise of the process's peak resident set
(VmHWM, reset just before the call through /proc/self/clear_refs) during one call made
after a warm-up call, minus the bytes of what the call returns (the loss and, with
gradients, grad_hidden and grad_weight). Each measurement runs in a fresh interpreter
with MALLOC_MMAP_THRESHOLD_=65536, so every large buffer is a fresh mapping returned to
the OS when freed: nothing left over from the warm-up hides the call's own allocations.

    python bench/lce_memory.py                       # N=4096, H=1024, V=32000 float32
    python bench/lce_memory.py --n 1024 --impl divkern --json

The issue's bound: divkern's figure is at most 10% of N·V·4 bytes (the float32 logits),
with and without gradients, at the default thread count.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys

import numpy as np

IMPLS = ("divkern", "torch")


def _status_kb(field: str) -> int:
    with open("/proc/self/status") as f:
        return int(re.search(rf"^{field}:\s+(\d+) kB", f.read(), re.M).group(1))


def _reset_peak_rss() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def make_inputs(n: int, h: int, v: int, dtype: str = "float32", seed: int = 0):
    rng = np.random.default_rng(seed)
    hidden = rng.standard_normal((n, h), dtype=np.dtype(dtype))
    weight = rng.standard_normal((v, h), dtype=np.dtype(dtype)) / np.dtype(dtype).type(np.sqrt(h))
    target = rng.integers(0, v, n)
    return hidden, weight, target


def make_call(impl: str, hidden, weight, target, grad: bool, threads: int | None):
    """A callable running one loss (+ gradient) evaluation; it returns the output arrays."""
    if impl == "divkern":
        import divkern

        def call():
            out = divkern.linear_cross_entropy(hidden, weight, target, return_grad=grad, threads=threads)
            return list(out) if grad else [out]

        return call
    import torch

    if threads:
        torch.set_num_threads(threads)
    th = torch.from_numpy(hidden).requires_grad_(grad)
    tw = torch.from_numpy(weight).requires_grad_(grad)
    tt = torch.from_numpy(target)

    def call():
        if not grad:
            with torch.no_grad():
                return [torch.nn.functional.cross_entropy(torch.nn.functional.linear(th, tw), tt)]
        th.grad = tw.grad = None
        loss = torch.nn.functional.cross_entropy(torch.nn.functional.linear(th, tw), tt)
        loss.backward()
        return [loss.detach(), th.grad, tw.grad]

    return call


def _nbytes(a) -> int:
    if hasattr(a, "nbytes"):
        return int(a.nbytes)
    return int(a.numel() * a.element_size())  # torch


def _child(arg: dict) -> None:
    hidden, weight, target = make_inputs(arg["n"], arg["h"], arg["v"], arg["dtype"])
    call = make_call(arg["impl"], hidden, weight, target, arg["grad"], arg["threads"])
    out = call()  # warm-up: thread pools, OpenBLAS buffers, lazy imports
    del out
    resettable = _reset_peak_rss()
    rss0 = _status_kb("VmRSS") * 1024
    hwm0 = _status_kb("VmHWM") * 1024
    out = call()
    hwm = _status_kb("VmHWM") * 1024
    out_bytes = sum(_nbytes(a) for a in out)
    rise = hwm - (rss0 if resettable else max(rss0, hwm0)) - out_bytes
    print(json.dumps({**arg, "rss_extra_bytes": rise, "output_bytes": out_bytes, "rss_peak_reset": resettable}))


def measure(impl: str, n: int, h: int, v: int, grad: bool, dtype: str = "float32", threads: int | None = None) -> dict:
    """One measurement in a fresh interpreter."""
    arg = {"impl": impl, "n": n, "h": h, "v": v, "grad": grad, "dtype": dtype, "threads": threads}
    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_="65536")
    proc = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", json.dumps(arg)],
                          env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"memory probe for {impl} failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=4096)
    ap.add_argument("--h", type=int, default=1024)
    ap.add_argument("--v", type=int, default=32000)
    ap.add_argument("--dtype", default="float32")
    ap.add_argument("--impl", action="append", choices=IMPLS, help="default: both (torch when installed)")
    ap.add_argument("--threads", type=int, default=None, help="default: each library's default")
    ap.add_argument("--json", action="store_true", help="one JSON object per line instead of a table")
    args = ap.parse_args()
    impls = args.impl or [i for i in IMPLS if i != "torch" or _have_torch()]
    logits = args.n * args.v * 4
    rows = []
    for impl in impls:
        for grad in (False, True):
            r = measure(impl, args.n, args.h, args.v, grad, args.dtype, args.threads)
            r["fraction_of_logits"] = r["rss_extra_bytes"] / logits
            rows.append(r)
            if args.json:
                print(json.dumps(r), flush=True)
    if not args.json:
        print(f"N={args.n} H={args.h} V={args.v} {args.dtype}; N*V*4 = {logits / 1e6:.1f} MB; "
              f"peak RSS rise minus outputs, after a warm-up call")
        print("| impl | gradients | extra MB | of N·V·4 |")
        print("|---|---|---:|---:|")
        for r in rows:
            print(f"| {r['impl']} | {'yes' if r['grad'] else 'no'} | {r['rss_extra_bytes'] / 1e6:.1f} | "
                  f"{100 * r['fraction_of_logits']:.1f}% |")


def _have_torch() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        _child(json.loads(sys.argv[2]))
    else:
        main()
