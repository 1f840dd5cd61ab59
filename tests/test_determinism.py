# Results are bitwise identical for any thread count and at every ISA level this CPU
# runs: block, chunk and lane structure are fixed by the shape, never by the machine.
# Shapes are chosen to exercise every kernel path: short rows (one row per SIMD lane),
# long rows split into chunks, column reductions split into chunks, gathered rows,
# weighted rows, and rows recomputed in accurate mode (results near zero).
import numpy as np
import pytest

import divkern
from divkern import _config
from conftest import AVAILABLE_ISAS


def make_cases():
    rng = np.random.default_rng(7)
    big = rng.standard_normal((7, 140_001)).astype(np.float32)       # rows of 3 chunks
    cols = rng.standard_normal((200_003, 5))                         # column chunks
    cases = {
        "short rows f32": (rng.standard_normal((1003, 13)).astype(np.float32), 1),
        "short rows f64": (rng.standard_normal((1003, 31)), 1),
        "short rows of 100": (rng.standard_normal((1003, 100)).astype(np.float32), 1),
        "short rows of 50 f64": (rng.standard_normal((1003, 50)), 1),
        "rows f32": (rng.standard_normal((37, 5003)).astype(np.float32) * 30, 1),
        "rows f64": (rng.standard_normal((37, 5003)) * 30, 1),
        "chunked rows": (big, 1),
        "columns f32": (cols.astype(np.float32), 0),
        "columns f64": (cols, 0),
        "wide columns": (rng.standard_normal((300, 2500)).astype(np.float32), 0),
        "gather": (rng.standard_normal((50, 3000))[:, ::3], 1),
        "gather tuple": (rng.standard_normal((20, 30, 40)).astype(np.float32), (0, 2)),
        "all": (rng.standard_normal(300_001).astype(np.float32), None),
        # >= 1 MiB of log-sum-exp results: written with non-temporal stores
        "many short rows (results streamed)": (rng.standard_normal((300_001, 4)).astype(np.float32), 1),
        "many short rows f64 (results streamed)": (rng.standard_normal((140_001, 3)), 1),
        "log-probs (accurate mode)": (np.log(rng.dirichlet(np.ones(40), size=500)).astype(np.float32), 1),
    }
    special = rng.standard_normal((64, 100)).astype(np.float32)
    special[0, 5] = np.inf
    special[1, :] = -np.inf
    special[2, 7] = np.nan
    special[3, ::2] = -np.inf
    special[4] = -100.0
    special[4, 0] = 0.0
    cases["special values"] = (special, 1)
    col_special = rng.standard_normal((3000, 70)).astype(np.float32)
    col_special[:1500, 0] = -np.inf
    col_special[2999, 1] = np.inf
    col_special[2000, 2] = np.nan
    col_special[:, 3] = np.linspace(-50, 50, 3000)
    cases["column special values"] = (col_special, 0)
    cases["column special values f64"] = (col_special.astype(np.float64)[:, :37], 0)
    masked = rng.standard_normal((300, 70)).astype(np.float32)
    masked[:, ::3] = -np.inf
    masked[:, 1::7] -= 95.0  # subnormal exponentials next to masked lanes
    cases["masked rows"] = (masked, 1)
    cases["masked rows f64"] = (masked.astype(np.float64) - np.float64(620.0) * (np.arange(70) % 5 == 0), 1)
    return cases


CASES = make_cases()


def run_all(x, axis, threads):
    out = [divkern.logsumexp(x, axis=axis, threads=threads),
           divkern.softmax(x, axis=axis, threads=threads),
           divkern.log_softmax(x, axis=axis, threads=threads)]
    if axis is not None and x.ndim == 2:
        b = np.linspace(0.0, 2.0, x.shape[axis]).astype(x.dtype)
        bshape = [1] * x.ndim
        bshape[axis] = -1
        out.append(divkern.logsumexp(x, axis=axis, b=b.reshape(bshape), threads=threads))
    return [np.atleast_1d(np.asarray(o)) for o in out]


def assert_same_bits(a, b, what):
    for i, (p, q) in enumerate(zip(a, b)):
        assert p.dtype == q.dtype and p.shape == q.shape
        assert np.array_equal(p.view(np.uint8), q.view(np.uint8)), f"{what}: output {i} differs"


@pytest.mark.parametrize("name", list(CASES))
def test_threads_bitwise_identical(name):
    x, axis = CASES[name]
    one = run_all(x, axis, 1)
    for threads in (2, 3, 8):
        assert_same_bits(one, run_all(x, axis, threads), f"{name}, threads={threads}")


@pytest.mark.skipif(len(AVAILABLE_ISAS) < 2, reason="only one ISA level on this CPU")
@pytest.mark.parametrize("name", list(CASES))
def test_isa_levels_bitwise_identical(name):
    x, axis = CASES[name]
    results = {}
    for isa in AVAILABLE_ISAS:
        with _config._isa(isa):
            results[isa] = run_all(x, axis, 2)
    first = AVAILABLE_ISAS[0]
    for isa in AVAILABLE_ISAS[1:]:
        assert_same_bits(results[first], results[isa], f"{name}: {first} vs {isa}")


def test_repeatable():
    x, axis = CASES["rows f32"]
    assert_same_bits(run_all(x, axis, 2), run_all(x, axis, 2), "repeat")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_near_zero_rows_in_cache_match_row_by_row(dtype, each_isa):
    # Long rows whose log-sum-exp is near zero are reduced again while in cache, and after
    # one such row the next is reduced in the accurate mode first (a guess that is checked).
    # Whatever the sequence of rows, each result must be the one a row gets alone.
    rng = np.random.default_rng(3)
    x = rng.standard_normal((40, 3000)).astype(dtype)
    lp = divkern.log_softmax(x.astype(np.float64), axis=-1).astype(dtype)
    rows = [lp[0], lp[1], x[2], lp[3], lp[4] + dtype(1.8), lp[5] - dtype(1.8), lp[6] + dtype(1.7),
            lp[7] + dtype(1.76), x[8] - dtype(4), lp[9], lp[10] + dtype(3e-3)]
    nan_row = lp[11].copy()
    nan_row[5] = np.nan
    inf_row = lp[12].copy()
    inf_row[7] = np.inf
    masked = lp[13].copy()
    masked[::2] = -np.inf
    rows += [nan_row, lp[14], inf_row, lp[15], masked, lp[16], np.full(3000, -np.inf, dtype), lp[17]]
    a = np.stack(rows)
    got = divkern.logsumexp(a, axis=1)
    alone = np.array([divkern.logsumexp(r) for r in rows], dtype=dtype)
    np.testing.assert_array_equal(got.view(np.uint8), alone.view(np.uint8))
    rev = np.ascontiguousarray(divkern.logsumexp(a[::-1], axis=1)[::-1])
    np.testing.assert_array_equal(rev.view(np.uint8), alone.view(np.uint8))


@pytest.mark.parametrize("n", [3, 16, 64, 100])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_near_zero_short_row_batches_match_row_by_row(n, dtype, each_isa):
    # After a batch of 64 short rows that were all near zero, the next batch is reduced in
    # the accurate mode first; rows that turn out not to be near zero, special rows and
    # whole ordinary batches in between must still give each row's own result.
    rng = np.random.default_rng(4)
    x = rng.standard_normal((64 * 9 + 17, n)).astype(dtype)
    lp = divkern.log_softmax(x.astype(np.float64), axis=-1).astype(dtype)
    a = lp.copy()
    a[64 * 2 + 5] += dtype(1.8)          # near the threshold, in a near-zero batch
    a[64 * 2 + 6] -= dtype(3.0)          # clearly not near zero
    a[64 * 3: 64 * 4] = x[64 * 3: 64 * 4] + dtype(5)  # an ordinary batch
    a[64 * 5 + 1, 0] = np.nan
    a[64 * 5 + 2, 1] = np.inf
    a[64 * 5 + 3] = -np.inf
    a[64 * 6 + 7] += dtype(1.74)
    got = divkern.logsumexp(a, axis=1)
    alone = np.array([divkern.logsumexp(r) for r in a], dtype=dtype)
    np.testing.assert_array_equal(got.view(np.uint8), alone.view(np.uint8))
    for threads in (1, 2):
        again = divkern.logsumexp(a, axis=1, threads=threads)
        np.testing.assert_array_equal(again.view(np.uint8), got.view(np.uint8))
