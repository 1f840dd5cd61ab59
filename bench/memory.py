"""Peak extra memory of one call, measured in a fresh subprocess per implementation.

Two measures, both net of the call's own output (and of the input, which exists before):

* rss: the rise of the process's peak resident set (VmHWM in /proc/self/status) during the
  call, with the peak reset just before it (writing 5 to /proc/self/clear_refs). It sees
  every allocation: NumPy's, torch's, and C++ scratch inside an extension.
* traced: tracemalloc's peak during the call. NumPy reports its array buffers to
  tracemalloc; torch and plain C++ malloc do not, so it is only given for NumPy-based
  implementations (divkern, SciPy).

The child runs with a fixed glibc mmap threshold (MALLOC_MMAP_THRESHOLD_), so every large
buffer is a fresh mapping, returned to the OS when freed: memory left over from one call
cannot hide the next call's allocations.

Parent: ``measure(impl_name, case_indices, quick, threads)``.
Child:  ``python bench/memory.py '<json>'`` prints one JSON object per case.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))


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


def measure(impl: str, case_indices: list[int], quick: bool, threads: int) -> list[dict]:
    """Run the child for one implementation over the given cases; one dict per case."""
    arg = json.dumps({"impl": impl, "cases": case_indices, "quick": quick, "threads": threads})
    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_="131072")
    proc = subprocess.run(
        [sys.executable, os.path.join(_HERE, "memory.py"), arg],
        env=env, capture_output=True, text=True, check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"memory probe for {impl} failed:\n{proc.stderr}")
    return [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]


def _child(arg: dict) -> None:
    import tracemalloc

    from cases import CASES, load_impls, set_threads

    impl = load_impls([arg["impl"]])[arg["impl"]]
    set_threads(arg["threads"])
    tracemalloc.start()
    for i in arg["cases"]:
        case = CASES[i].scaled(arg["quick"])
        if case.op not in impl.ops:  # torch: no divergence ops
            continue
        x = impl.prepare(case.make_input())
        fn = impl.ops[case.op]
        out = fn(x, case.axis)  # warm-up: thread pools, lazy imports
        del out
        resettable = _reset_peak_rss()
        rss0 = _status_kb("VmRSS") * 1024
        hwm0 = _status_kb("VmHWM") * 1024
        tracemalloc.reset_peak()
        traced0 = tracemalloc.get_traced_memory()[0]
        out = fn(x, case.axis)
        traced_peak = tracemalloc.get_traced_memory()[1]
        hwm = _status_kb("VmHWM") * 1024
        out_bytes = impl.to_numpy(out).nbytes
        del out, x
        # Without a resettable peak, the peak so far may predate the call: then only a
        # rise above it is seen, and the figure is a lower bound.
        rss = hwm - (rss0 if resettable else max(rss0, hwm0)) - out_bytes
        traced = traced_peak - traced0 - out_bytes if impl.traced else None
        print(json.dumps({"case": i, "rss_extra_bytes": rss, "traced_extra_bytes": traced,
                          "rss_peak_reset": resettable}), flush=True)


if __name__ == "__main__":
    sys.path.insert(0, _HERE)
    _child(json.loads(sys.argv[1]))
