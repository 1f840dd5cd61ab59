# Accuracy of logsumexp, softmax and log_softmax against an x87 long double reference
# computed from the same inputs (docs/accuracy.md has the bounds and how they are met).
#
#   logsumexp float32 : |err| <= 2 ulp(y) + 2^-50, whatever the layout, axis, row length
#                       (SciPy reaches ~40 ulp on long strided float32 reductions)
#   logsumexp float64 : |err| <= 2 ulp(y) + 4 * 2^-53
#   softmax           : relative error <= 8 u + |x_i - max| u  for outputs >= the smallest
#                       normal number (u = 2^-24 or 2^-53)
#   log_softmax       : |err| <= 2 ulp(y) + (2 + D) u L, with L = log(sum(exp(x - max)))
#                       and D = max |x_j - max| over the row: the error of L is relative,
#                       so a dominant element's tiny output keeps its relative accuracy
#   log_softmax keeps the tiny negative value of a dominant element (scipy#19521).
import numpy as np
import pytest

import divkern
from conftest import ulp_error

pytestmark = pytest.mark.skipif(np.finfo(np.longdouble).nmant < 63, reason="needs an 80-bit long double reference")


def reference(x, axis, kind):
    """logsumexp / softmax / log_softmax in long double, the maximum's weight kept apart so
    that log1p preserves dominated rows."""
    xl = np.asarray(x, dtype=np.longdouble)
    m = np.max(xl, axis=axis, keepdims=True)
    is_max = xl == m
    c = np.sum(is_max, axis=axis, keepdims=True).astype(np.longdouble)
    s = np.sum(np.where(is_max, 0, np.exp(xl - m)), axis=axis, keepdims=True)
    log_sum = np.log(c) + np.log1p(s / c)
    if kind == "logsumexp":
        r = m + log_sum
        return r.reshape(()) if axis is None else np.squeeze(r, axis=axis)
    if kind == "softmax":
        return np.exp(xl - m) / (c + s)
    if kind == "log_sum":
        return log_sum
    return (xl - m) - log_sum


def u_of(dtype):
    return np.finfo(dtype).eps / 2


def check_lse(x, axis):
    dt = x.dtype
    y = divkern.logsumexp(x, axis=axis)
    ref = reference(x, axis, "logsumexp")
    absolute = 2.0 ** -50 if dt == np.float32 else 4 * 2.0 ** -53
    spacing = np.spacing(np.abs(ref.astype(dt))).astype(np.longdouble)
    err = np.abs(np.asarray(y, np.longdouble) - ref)
    bound = 2 * spacing + absolute
    assert np.all(err <= bound), f"worst: {float(np.max(err / bound)):.3f} of the bound"


LAYOUTS = {
    "C": lambda a: a,
    "F": np.asfortranarray,
    "reversed": lambda a: a[::-1, ::-1],
    "strided": lambda a: np.repeat(a, 2, axis=1)[:, ::2],
}

SHAPES = [(2000, 3), (257, 31), (40, 1000), (3, 70001), (70001, 3), (1000, 20)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("layout", list(LAYOUTS))
@pytest.mark.parametrize("shape", SHAPES)
def test_logsumexp_bound_layouts(shape, layout, dtype):
    rng = np.random.default_rng(sum(shape))
    base = rng.standard_normal(shape) * rng.choice([0.01, 1.0, 10.0, 100.0])
    x = LAYOUTS[layout](base.astype(dtype))
    for axis in (0, 1, None):
        check_lse(x, axis)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_logsumexp_long_strided_reduction(dtype):
    # SciPy's float32 error on this one is ~40 ulp (sequential strided accumulation)
    x = np.random.default_rng(1).standard_normal((1_000_000, 20)).astype(dtype)
    check_lse(x, 0)
    check_lse(x.T, 1)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_logsumexp_of_log_probabilities(dtype):
    # rows of normalised log-probabilities: results within rounding of zero
    x = np.random.default_rng(2).standard_normal((500, 300)) * 3
    lp = (x - np.log(np.sum(np.exp(x), axis=1, keepdims=True))).astype(dtype)
    check_lse(lp, 1)
    check_lse(np.asfortranarray(lp), 1)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_logsumexp_extreme_spreads(dtype):
    # rows whose spread exceeds the exponent range: a wrong maximum or merge gives inf/nan
    rng = np.random.default_rng(3)
    x = (rng.standard_normal((64, 5000)) * (1e4 if dtype == np.float32 else 1e30)).astype(dtype)
    x[:, 4097] = 0.5
    check_lse(x, 1)
    check_lse(x.T.copy(), 0)
    x = np.full((5, 9000), -np.inf, dtype=dtype)
    x[:, 8999] = 3.0
    x[:, 0] = -90.0
    check_lse(x, 1)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_logsumexp_weighted_positive(dtype):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((300, 500)).astype(dtype)
    b = rng.uniform(0.1, 3.0, (300, 500)).astype(dtype)
    y = divkern.logsumexp(x, axis=1, b=b)
    ref = reference(x.astype(np.longdouble) + np.log(b.astype(np.longdouble)), 1, "logsumexp")
    assert np.all(ulp_error(y, ref, dtype) <= 2.0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape,axis", [((2000, 3), 1), ((300, 17), 1), ((50, 1000), 1), ((1000, 20), 0),
                                        ((5, 100000), 1), ((3000, 3), 1)])
def test_softmax_and_log_softmax_bounds(shape, axis, dtype):
    rng = np.random.default_rng(5)
    u = u_of(dtype)
    for scale in (0.01, 1.0, 10.0, 30.0):
        x = (rng.standard_normal(shape) * scale).astype(dtype)
        xl = x.astype(np.longdouble)
        dist = np.abs(xl - np.max(xl, axis=axis, keepdims=True))
        p = divkern.softmax(x, axis=axis)
        ref = reference(x, axis, "softmax")
        ok = ref >= np.finfo(dtype).tiny
        rel = np.abs(p.astype(np.longdouble) - ref)[ok] / ref[ok]
        assert np.all(rel <= (8 + dist[ok]) * u)
        lp = divkern.log_softmax(x, axis=axis)
        ref = reference(x, axis, "log_softmax")
        err = np.abs(lp.astype(np.longdouble) - ref)
        spacing = np.maximum(np.spacing(np.abs(ref.astype(dtype))).astype(np.longdouble), np.finfo(dtype).smallest_subnormal)
        dmax = np.max(dist, axis=axis, keepdims=True)
        assert np.all(err <= 2 * spacing + (2 + dmax) * u * reference(x, axis, "log_sum"))


def test_log_softmax_dominant_element_float32():
    # SciPy returns exactly 0 for the first element (scipy#19521)
    y = divkern.log_softmax(np.float32([17.942385, 0.0]))
    exact = -np.log1p(np.exp(-np.float64(np.float32(17.942385))))
    assert y[0] < 0
    assert abs(y[0] - exact) <= 2 * np.spacing(np.float32(abs(exact)))
    # and in a long row, where the maximum shares its accumulation lane with small terms
    x = np.zeros(1000, np.float32)
    x[0] = 30.0
    y = divkern.log_softmax(x)
    exact = -np.log1p(999 * np.exp(-30.0))
    assert abs(y[0] - exact) <= 2 * np.spacing(np.float32(abs(exact)))


def test_logsumexp_dominated_row_float64():
    # gh-18295: log1p(exp(-40)) must not round to 0
    assert divkern.logsumexp([0.0, -40.0]) == np.logaddexp(0.0, -40.0)
    x = np.zeros(5000)
    x[1:] = -50.0
    np.testing.assert_allclose(divkern.logsumexp(x), 4999 * np.exp(-50.0), rtol=4e-15)
