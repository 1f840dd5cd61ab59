"""The benchmark cases and the implementations compared on them.

A case is one operation on one standard-normal array (fixed seed); an implementation maps
each operation to a callable ``f(input, axis)``. The same cases and implementations are
used by the timing loop (run.py) and the memory probe (memory.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

SEED = 0
QUICK_SCALE = 8  # --quick divides the first dimension by this


@dataclass(frozen=True)
class Case:
    op: str  # logsumexp | softmax | log_softmax | entropy | entropy_pq | jensenshannon | rel_entr
    shape: tuple[int, int]
    axis: int
    dtype: str = "float32"
    family: str = "lse"  # the log-sum-exp family of kernels
    # "normal": standard-normal logits; "logprobs": their log_softmax along `axis` (results
    # near zero, which the kernels recompute accurately); "shifted": normal + 10; "probs":
    # the divergence family's pair (p, q) of uniform [0, 1) arrays (unnormalised distributions)
    data: str = "normal"

    @property
    def label(self) -> str:
        extra = "" if self.data in ("normal", "probs") else f" {self.data}"
        return f"{self.op} {self.dtype} ({self.shape[0]}, {self.shape[1]}) axis={self.axis}{extra}"

    def scaled(self, quick: bool) -> "Case":
        if not quick:
            return self
        rows = max(1, self.shape[0] // QUICK_SCALE)
        return Case(self.op, (rows, self.shape[1]), self.axis, self.dtype, self.family, self.data)

    def make_input(self):
        rng = np.random.default_rng(SEED)
        if self.data == "probs":
            return tuple(rng.random(self.shape, dtype=np.dtype(self.dtype)) for _ in range(self.operands))
        x = rng.standard_normal(self.shape, dtype=np.dtype(self.dtype))
        if self.data == "logprobs":
            x -= np.log(np.exp(x.astype(np.float64)).sum(axis=self.axis, keepdims=True)).astype(x.dtype)
        elif self.data == "shifted":
            x += x.dtype.type(10)
        return x

    @property
    def operands(self) -> int:
        return 1 if self.op == "entropy" or self.family != "divergence" else 2

    @property
    def input_bytes(self) -> int:
        return self.operands * self.shape[0] * self.shape[1] * np.dtype(self.dtype).itemsize

    @property
    def output_bytes(self) -> int:
        one = self.shape[0] * self.shape[1] * np.dtype(self.dtype).itemsize
        if self.op in ("softmax", "log_softmax", "rel_entr"):
            return one
        return one // self.shape[self.axis]


# The targets (float32 unless said). --only matches these full-size labels.
CASES = [
    Case("logsumexp", (4096, 32000), -1),
    Case("logsumexp", (1_000_000, 16), -1),
    Case("logsumexp", (64, 1_000_000), -1),
    Case("logsumexp", (4096, 32000), -1, "float64"),
    Case("logsumexp", (32000, 4096), 0),  # reduce along axis 0 of a C-ordered array
    Case("logsumexp", (1_000_000, 16), 0),
    Case("softmax", (4096, 32000), -1),
    Case("log_softmax", (4096, 32000), -1),
    # results near zero (log-probabilities; N(0,1) rows of 3 against the same rows + 10)
    Case("logsumexp", (2048, 32000), -1, data="logprobs"),
    Case("logsumexp", (2048, 32000), -1),
    Case("logsumexp", (1_000_000, 16), -1, data="logprobs"),
    Case("logsumexp", (1_000_000, 3), -1),
    Case("logsumexp", (1_000_000, 3), -1, data="shifted"),
    # the divergence family (float64, SciPy's default): stats.entropy, jensenshannon, rel_entr
    Case("entropy_pq", (1000, 10000), 0, "float64", "divergence", "probs"),
    Case("jensenshannon", (1000, 10000), 0, "float64", "divergence", "probs"),
    Case("entropy_pq", (1000, 10000), 1, "float64", "divergence", "probs"),
    Case("jensenshannon", (1000, 10000), 1, "float64", "divergence", "probs"),
    Case("entropy", (1000, 10000), 0, "float64", "divergence", "probs"),
    Case("jensenshannon", (1000, 10000), 0, "float32", "divergence", "probs"),
    Case("rel_entr", (1000, 10000), -1, "float64", "divergence", "probs"),
]


@dataclass
class Impl:
    name: str
    ops: dict[str, Callable]  # op -> f(input, axis); the divergence family's input is (p, q)
    prepare: Callable = lambda x: x  # NumPy array -> the library's input, without a copy
    to_numpy: Callable = np.asarray
    min_runs: int = 5
    traced: bool = True  # do its allocations go through NumPy (visible to tracemalloc)?


def load_impls(names=("divkern", "scipy", "torch")) -> dict[str, Impl]:
    """The implementations that can be imported here, divkern first."""
    impls = {}

    def scipy_style(module):  # divkern and scipy.special share the calling convention
        return {op: (lambda f: lambda x, axis: f(x, axis=axis))(getattr(module, op))
                for op in ("logsumexp", "softmax", "log_softmax")}

    def divergence_style(special, entropy, jensenshannon):
        return {
            "entropy": lambda x, axis: entropy(x[0], axis=axis),
            "entropy_pq": lambda x, axis: entropy(x[0], x[1], axis=axis),
            "jensenshannon": lambda x, axis: jensenshannon(x[0], x[1], axis=axis),
            "rel_entr": lambda x, axis: special.rel_entr(x[0], x[1]),
        }

    if "divkern" in names:
        import divkern
        import divkern.spatial.distance
        import divkern.stats

        impls["divkern"] = Impl("divkern", {**scipy_style(divkern), **divergence_style(
            divkern.special, divkern.stats.entropy, divkern.spatial.distance.jensenshannon)})
    if "scipy" in names:
        import scipy.spatial.distance
        import scipy.special as sp
        import scipy.stats

        impls["scipy"] = Impl("scipy", {**scipy_style(sp), **divergence_style(
            sp, scipy.stats.entropy, scipy.spatial.distance.jensenshannon)}, min_runs=3)  # slow: at least 3 runs
    if "torch" in names:
        try:
            import torch
        except ImportError:
            pass
        else:
            impls["torch"] = Impl(
                "torch",
                {
                    "logsumexp": lambda t, axis: torch.logsumexp(t, dim=axis),
                    "softmax": lambda t, axis: torch.softmax(t, dim=axis),
                    "log_softmax": lambda t, axis: torch.log_softmax(t, dim=axis),
                },
                prepare=torch.from_numpy,
                to_numpy=lambda t: t.numpy(),
                traced=False,
            )
    return impls


def set_threads(n: int) -> None:
    """Give divkern and torch the same thread count (SciPy/NumPy ufuncs are single-threaded)."""
    import divkern

    divkern.set_num_threads(n)
    try:
        import torch
    except ImportError:
        return
    torch.set_num_threads(n)
