"""Turn a benchmark CSV (written by run.py) into the markdown table and the speedup plot.

    python bench/report.py bench/results/latest.csv [--md OUT.md] [--png OUT.png]

Without --md the markdown is printed.
"""

from __future__ import annotations

import argparse
import csv
import math

FIELDS = [
    "family", "op", "impl", "dtype", "shape", "axis", "threads",
    "median_s", "min_s", "n_runs", "peak_extra_bytes", "traced_extra_bytes",
    "input_bytes", "output_bytes", "max_rel_err", "read_bw_gbs", "bw_probe",
    "cpu_model", "isa", "numpy_version", "scipy_version", "torch_version", "divkern_version",
    "git_sha", "timestamp", "mode",
]
NUMERIC = {"median_s", "min_s", "peak_extra_bytes", "traced_extra_bytes", "input_bytes",
           "output_bytes", "max_rel_err", "read_bw_gbs"}
IMPLS = ["divkern", "scipy", "torch"]
TITLES = {"divkern": "divkern", "scipy": "SciPy", "torch": "torch"}
MB = 1e6


def load(path: str) -> list[dict]:
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    for r in rows:
        for k in NUMERIC:
            r[k] = float(r[k]) if r.get(k) not in (None, "") else math.nan
    return rows


def write(rows: list[dict], path: str) -> None:
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, FIELDS)
        w.writeheader()
        for r in rows:
            w.writerow({k: ("" if isinstance(r.get(k), float) and math.isnan(r[k]) else r.get(k, ""))
                        for k in FIELDS})


def by_case(rows: list[dict]) -> dict[str, dict[str, dict]]:
    """{case label: {impl: row}}, in the order the cases were run."""
    cases: dict[str, dict[str, dict]] = {}
    for r in rows:
        rows_, cols = r["shape"].split("x")
        label = f"{r['op']} {r['dtype']} ({rows_}, {cols}) axis={r['axis']}"
        cases.setdefault(label, {})[r["impl"]] = r
    return cases


def speedups(impls: dict[str, dict], stat: str = "median_s") -> dict[str, float]:
    """How many times faster divkern is than the others, by median (or best: stat="min_s")."""
    dk = impls["divkern"][stat]
    return {o: impls[o][stat] / dk if o in impls else math.nan for o in ("scipy", "torch")}


def _f(v: float, fmt: str) -> str:
    return "n/a" if v is None or math.isnan(v) else format(v, fmt)


def _ms(row: dict | None) -> str:
    if row is None:
        return "n/a"
    fmt = ".1f" if row["min_s"] >= 0.01 else ".2f"
    return f"{row['median_s'] * 1e3:{fmt}} ({row['min_s'] * 1e3:{fmt}})"


def _x(median: float, best: float) -> str:
    return "n/a" if math.isnan(median) else f"{median:.1f}x ({best:.1f}x)"


def _mem(row: dict | None) -> str:
    if row is None:
        return "n/a"
    # page-granular RSS can dip a few kB below zero: shown as 0.0 (the CSV keeps the raw bytes)
    rss = _f(max(row["peak_extra_bytes"], 0.0) / MB, ".1f")
    traced = row["traced_extra_bytes"]
    return rss if math.isnan(traced) else f"{rss} ({max(traced, 0.0) / MB:.1f})"


def render(rows: list[dict]) -> str:
    r0 = rows[0]
    quick = r0["mode"] == "quick"
    impls_present = [i for i in IMPLS if any(r["impl"] == i for r in rows)]
    lines = [
        f"# divkern benchmark ({r0['mode']} run)",
        "",
        f"- CPU: {r0['cpu_model']}; divkern ISA: {r0['isa']}; threads: {r0['threads']} "
        "(divkern and torch; SciPy/NumPy are single-threaded)",
        f"- read bandwidth: {r0['read_bw_gbs']:.1f} GB/s, measured in the same run by {r0['bw_probe']}",
        f"- numpy {r0['numpy_version']}, scipy {r0['scipy_version']}, torch {r0['torch_version'] or 'n/a'}, "
        f"divkern {r0['divkern_version']} (git {r0['git_sha']}); {r0['timestamp']}",
        "- data: standard normal, fixed seed; divkern's and torch's outputs checked against SciPy's "
        "before timing (max relative error in the CSV)",
    ]
    if quick:
        lines.append("- **quick run**: first dimension divided by 8; inputs may fit in the last-level cache, "
                     "so GB/s can exceed the read bandwidth")
    lines += [
        "",
        "## Time per call",
        "",
        "Wall time per call in ms, median (best) of repeated calls (at least 5 runs, 3 for SciPy, "
        "after a warm-up call); divkern's speedup, ratio of the medians (ratio of the best times); "
        "divkern's input read rate in its best run, also as a fraction of the read bandwidth above.",
        "",
        "| case | " + " | ".join(f"{TITLES[i]} ms" for i in impls_present)
        + " | vs SciPy | vs torch | divkern GB/s | of read bw |",
        "|---|" + "---:|" * (len(impls_present) + 4),
    ]
    cases = by_case(rows)
    for label, impls in cases.items():
        dk = impls["divkern"]
        med, best = speedups(impls), speedups(impls, "min_s")
        gbs = dk["input_bytes"] / dk["min_s"] / 1e9
        lines.append(
            f"| {label} | " + " | ".join(_ms(impls.get(i)) for i in impls_present)
            + f" | {_x(med['scipy'], best['scipy'])} | {_x(med['torch'], best['torch'])}"
            + f" | {gbs:.1f} | {gbs / dk['read_bw_gbs']:.0%} |"
        )
    lines += [
        "",
        "## Peak extra memory of one call",
        "",
        "MB allocated at the peak of one call beyond its input and its output: the rise of the "
        "peak resident set (VmHWM, reset just before the call, fresh process per implementation), "
        "and in parentheses tracemalloc's peak (NumPy allocations only; n/a for torch, "
        "whose allocator tracemalloc does not see).",
        "",
        "| case | input MB | output MB | " + " | ".join(TITLES[i] for i in impls_present)
        + " | SciPy extra / input |",
        "|---|" + "---:|" * (len(impls_present) + 3),
    ]
    for label, impls in cases.items():
        dk, sp = impls["divkern"], impls.get("scipy")
        ratio = sp["peak_extra_bytes"] / sp["input_bytes"] if sp else math.nan
        lines.append(
            f"| {label} | {dk['input_bytes'] / MB:.1f} | {dk['output_bytes'] / MB:.2f} | "
            + " | ".join(_mem(impls.get(i)) for i in impls_present) + f" | {_f(ratio, '.1f')}x |"
        )
    return "\n".join(lines) + "\n"


def plot(rows: list[dict], path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    cases = by_case(rows)
    labels = [lab.replace(" ", "\n", 1).replace(" axis=", "\naxis=").replace("float", "f") for lab in cases]
    series = {o: [speedups(impls)[o] for impls in cases.values()] for o in ("scipy", "torch")}
    series = {o: v for o, v in series.items() if not all(math.isnan(x) for x in v)}
    fig, ax = plt.subplots(figsize=(max(8, 1.4 * len(labels)), 5))
    width = 0.8 / len(series)
    for k, (other, values) in enumerate(series.items()):
        xs = [i + (k - (len(series) - 1) / 2) * width for i in range(len(labels))]
        bars = ax.bar(xs, values, width, label=f"vs {TITLES[other]}")
        ax.bar_label(bars, labels=[_f(v, ".1f") for v in values], fontsize=7)
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    ax.set_ylabel("divkern speedup (ratio of median times)")
    ax.set_xticks(range(len(labels)), labels, fontsize=7)
    r0 = rows[0]
    ax.set_title(f"divkern speedup ({r0['mode']} run) - {r0['cpu_model']}, {r0['isa']}, "
                 f"{r0['threads']} threads", fontsize=9)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("csv")
    p.add_argument("--md", help="write the markdown here (default: print it)")
    p.add_argument("--png", help="also write the speedup plot here")
    a = p.parse_args()
    rows = load(a.csv)
    md = render(rows)
    if a.md:
        with open(a.md, "w") as f:
            f.write(md)
    else:
        print(md, end="")
    if a.png:
        plot(rows, a.png)


if __name__ == "__main__":
    main()
