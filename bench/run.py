"""divkern vs SciPy vs PyTorch (CPU), side by side on the same data, in one run.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python bench/run.py [--quick] [--out DIR]
        [--only SUBSTRING] [--threads N] [--probe auto|dk_bench|numpy]

Writes DIR/latest.{csv,md,png} (DIR/quick.* with --quick); see bench/README.md.
"""

from __future__ import annotations

import argparse
import datetime
import functools
import math
import os
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import memory  # noqa: E402
import report  # noqa: E402
from cases import CASES, load_impls, set_threads  # noqa: E402

RTOL = {"float32": 1e-5, "float64": 1e-12}  # divkern vs SciPy; torch gets 10x more slack
PROBE_BYTES = 512 * 2**20
BUDGET_S = {False: 3.0, True: 0.25}  # per implementation and case, once the minimum runs are done
MAX_RUNS = {False: 30, True: 10}


# --- environment --------------------------------------------------------------------------

def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            m = re.search(r"^model name\s*:\s*(.+)$", f.read(), re.M)
        return m.group(1).strip() if m else "unknown"
    except OSError:
        return "unknown"


def git_sha() -> str:
    def git(*a):
        return subprocess.run(["git", "-C", REPO, *a], capture_output=True, text=True).stdout.strip()

    sha = git("rev-parse", "--short=12", "HEAD") or "unknown"
    source = ["csrc", "python", "CMakeLists.txt", "pyproject.toml"]
    dirty = git("status", "--porcelain", "--untracked-files=no", "--", *source)
    return sha + ("+dirty" if dirty else "")


def environment(threads: int, quick: bool) -> dict:
    import divkern
    import scipy

    try:
        import torch

        torch_version = torch.__version__
    except ImportError:
        torch_version = ""
    return {
        "threads": threads, "cpu_model": cpu_model(), "isa": divkern.get_isa(),
        "numpy_version": np.__version__, "scipy_version": scipy.__version__,
        "torch_version": torch_version, "divkern_version": divkern.__version__,
        "git_sha": git_sha(), "timestamp": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "mode": "quick" if quick else "full",
    }


# --- read bandwidth -----------------------------------------------------------------------

def probe_dk_bench(threads: int, isa: str):
    exe = os.path.join(REPO, "build", "dev", "dk_bench")
    if not os.access(exe, os.X_OK):
        return None
    cmd = [exe, "--only", "none", "--reps", "1", "--threads", str(threads), "--isa", isa]
    out = subprocess.run(cmd, capture_output=True, text=True).stdout
    m = re.search(r"read bandwidth ([\d.]+) GB/s", out.splitlines()[0] if out else "")
    if not m:
        return None
    return float(m.group(1)), f"build/dev/dk_bench (512 MB float32 streamed with {isa} loads, {threads} threads, best of 7)"


def probe_numpy(threads: int):
    x = np.ones(PROBE_BYTES // 4, dtype=np.float32)
    chunks = np.array_split(x, threads)
    best = math.inf
    with ThreadPoolExecutor(threads) as pool:  # np.max releases the GIL
        for _ in range(7):
            t0 = time.perf_counter()
            list(pool.map(np.max, chunks))
            best = min(best, time.perf_counter() - t0)
    return x.nbytes / best / 1e9, (f"NumPy np.max over 512 MB float32 split over {threads} Python threads, "
                                   "best of 7 (a lower bound of the read bandwidth)")


def read_bandwidth(threads: int, isa: str, probe: str):
    result = probe_dk_bench(threads, isa) if probe in ("auto", "dk_bench") else None
    if result is None and probe != "numpy":
        if probe == "dk_bench":
            sys.exit("build/dev/dk_bench is not built or printed no bandwidth (see bench/README.md)")
        print("build/dev/dk_bench is not built: using the NumPy read-bandwidth probe", file=sys.stderr)
    return result or probe_numpy(threads)


# --- timing -------------------------------------------------------------------------------

def time_calls(fn, min_runs: int, quick: bool) -> list[float]:
    """Times of repeated calls (the caller has done the warm-up call)."""
    times: list[float] = []
    start = time.perf_counter()
    while len(times) < min_runs or (len(times) < MAX_RUNS[quick] and time.perf_counter() - start < BUDGET_S[quick]):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times


def max_rel_err(got: np.ndarray, ref: np.ndarray) -> float:
    ref64 = ref.astype(np.float64)
    return float(np.max(np.abs(got.astype(np.float64) - ref64) / np.maximum(np.abs(ref64), np.finfo(ref.dtype).tiny)))


def check(name: str, got: np.ndarray, ref: np.ndarray, case) -> float:
    """Compare one implementation's output with SciPy's; divkern must agree, torch may warn."""
    rtol = RTOL[case.dtype] * (1 if name == "divkern" else 10)
    # log-sum-exp results near zero (log-probabilities, short rows) are compared absolutely: SciPy's
    # own error there is ~1 ulp of the sum, far from its relative precision of the result
    # the divergences likewise: SciPy's error is ~1 ulp of the terms (its normalised inputs are rounded)
    atol = rtol if case.op == "logsumexp" else 1e-15 if case.family == "divergence" else 0
    same = got.shape == ref.shape and got.dtype == ref.dtype
    err = max_rel_err(got, ref) if got.shape == ref.shape else math.inf
    if not (same and np.allclose(got, ref, rtol=rtol, atol=atol)):
        msg = (f"{name} disagrees with SciPy on {case.label}: shape {got.shape} vs {ref.shape}, "
               f"dtype {got.dtype} vs {ref.dtype}, max relative error {err:.3g} (rtol {rtol:g})")
        if name == "divkern":
            raise SystemExit("ERROR: " + msg)
        print("WARNING: " + msg, file=sys.stderr)
    return err


def run_case(case, impls: dict, quick: bool) -> dict[str, dict]:
    """{impl: row} for one case."""
    x = case.make_input()
    impls = {n: im for n, im in impls.items() if case.op in im.ops}  # torch has no divergence ops
    calls = {n: functools.partial(im.ops[case.op], im.prepare(x), case.axis) for n, im in impls.items()}
    # The first call of each implementation is its warm-up and is checked against SciPy's.
    ref = np.asarray(impls["scipy"].to_numpy(calls["scipy"]()))
    errors = {"scipy": 0.0}
    for name in impls:
        if name != "scipy":
            errors[name] = check(name, np.asarray(impls[name].to_numpy(calls[name]())), ref, case)
    del ref
    rows = {}
    for name, im in impls.items():
        t = time_calls(calls[name], im.min_runs, quick)
        rows[name] = {
            "family": case.family, "op": case.op, "impl": name, "dtype": case.dtype,
            "shape": f"{case.shape[0]}x{case.shape[1]}", "axis": case.axis,
            "median_s": float(np.median(t)), "min_s": min(t), "n_runs": len(t),
            "input_bytes": case.input_bytes, "output_bytes": case.output_bytes, "max_rel_err": errors[name],
        }
        print(f"  {name:8s} median {rows[name]['median_s'] * 1e3:9.2f} ms  min {min(t) * 1e3:9.2f} ms  "
              f"runs {len(t):2d}  max rel err vs SciPy {errors[name]:.2g}", flush=True)
    return rows


# --- main ---------------------------------------------------------------------------------

def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="first dimension of every case / 8")
    p.add_argument("--out", default=os.path.join(HERE, "results"), help="output folder (default bench/results)")
    p.add_argument("--only", default="", help="cases whose full-size label contains this text, "
                   "e.g. 'softmax', 'float64', '(1000000, 16) axis=0'")
    p.add_argument("--threads", type=int, help="threads for divkern and torch (default divkern.get_num_threads())")
    p.add_argument("--probe", choices=["auto", "dk_bench", "numpy"], default="auto",
                   help="read-bandwidth probe (auto: dk_bench if built, else NumPy)")
    a = p.parse_args()

    for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        if var in os.environ:
            print(f"WARNING: {var}={os.environ[var]} is set and can slow NumPy; run with "
                  "env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python bench/run.py", file=sys.stderr)

    import divkern

    impls = load_impls()
    threads = a.threads or divkern.get_num_threads()
    set_threads(threads)
    env = environment(threads, a.quick)
    selected = [i for i, c in enumerate(CASES) if a.only in c.label]
    if not selected:
        sys.exit(f"no case matches --only {a.only!r}; cases: " + "; ".join(c.label for c in CASES))
    if "torch" not in impls:
        print("torch is not importable: comparing with SciPy only", file=sys.stderr)

    bw_before, probe = read_bandwidth(threads, env["isa"], a.probe)
    print(f"{env['cpu_model']} | ISA {env['isa']} | threads {threads} | git {env['git_sha']}")
    print(f"read bandwidth {bw_before:.1f} GB/s, probe: {probe}")

    results = {}  # case index -> {impl: row}
    for i in selected:
        case = CASES[i].scaled(a.quick)
        print(case.label, flush=True)
        results[i] = run_case(case, impls, a.quick)

    print("peak extra memory (fresh process per implementation) ...", flush=True)
    for name in impls:
        for m in memory.measure(name, selected, a.quick, threads):
            row = results[m["case"]][name]
            row["peak_extra_bytes"] = m["rss_extra_bytes"]
            row["traced_extra_bytes"] = math.nan if m["traced_extra_bytes"] is None else m["traced_extra_bytes"]
            if not m["rss_peak_reset"]:
                print("WARNING: /proc/self/clear_refs not writable: peak RSS figures are lower bounds",
                      file=sys.stderr)
    rows = [row for per_impl in results.values() for row in per_impl.values()]
    # The probe is repeated after the cases and the better figure kept: on a busy machine a
    # single probe can land in a slow moment and understate the limit.
    bw_after, _ = read_bandwidth(threads, env["isa"], a.probe)
    bw = max(bw_before, bw_after)
    probe += f"; best of before/after the cases: {bw_before:.1f} / {bw_after:.1f} GB/s"
    print(f"read bandwidth after the cases {bw_after:.1f} GB/s")
    for r in rows:
        r.update(env, read_bw_gbs=bw, bw_probe=probe)

    os.makedirs(a.out, exist_ok=True)
    stem = os.path.join(a.out, "quick" if a.quick else "latest")
    report.write(rows, stem + ".csv")
    loaded = report.load(stem + ".csv")
    md = report.render(loaded)
    with open(stem + ".md", "w") as f:
        f.write(md)
    try:
        report.plot(loaded, stem + ".png")
    except ImportError:  # matplotlib is optional
        print("matplotlib is not importable: no plot", file=sys.stderr)
    print()
    print(md)
    print(f"wrote {stem}.csv, {stem}.md, {stem}.png")


if __name__ == "__main__":
    main()
