# divkern's own vector exp (float32, float64), log, log1p and log_table (float64) and its
# float16 conversions, at every ISA level.
#
# Bounds (docs/accuracy.md): exp float32 <= 1 ulp over all floats (the sweep below takes
# every 257th float of the range; an exhaustive sweep measured 0.989 ulp), exp
# float64 <= 1.05 ulp, exp_term (the Fast sums' exp) float32 <= 1.05 ulp (1.019 over every
# input), log and log1p float64 <= 1 ulp (against an x87 long double reference), log_table (the log of float32 log-sum-exp results) absolute error < 2^-42. Special values are exact. Every level gives the same bits.
import warnings

import numpy as np
import pytest

from divkern import _core
from conftest import AVAILABLE_ISAS, ulp_error

EXTENDED = np.finfo(np.longdouble).nmant >= 63
needs_extended = pytest.mark.skipif(not EXTENDED, reason="needs an 80-bit long double reference")


def f32_sweep(lo, hi, step):
    """Every `step`-th float32 in [lo, hi] (both signs' bit patterns), plus the ends."""
    neg = np.arange(0x80000000, np.float32(lo).view(np.uint32) + 1, step, dtype=np.uint64)
    pos = np.arange(0, np.float32(hi).view(np.uint32) + 1, step, dtype=np.uint64)
    bits = np.concatenate([neg, pos]).astype(np.uint32)
    return np.concatenate([bits.view(np.float32), np.float32([lo, hi])])


@pytest.fixture(scope="module")
def exp32_inputs():
    return f32_sweep(-104.0, 89.0, 257)


@pytest.mark.parametrize("isa", AVAILABLE_ISAS)
def test_exp_f32_ulp(isa, exp32_inputs):
    x = exp32_inputs
    y = _core.math("exp", x, isa)
    ref = np.exp(x.astype(np.float64))
    finite = np.abs(ref) < np.finfo(np.float32).max
    err = ulp_error(y[finite], ref[finite], np.float32)
    assert err.max() <= 1.0, f"max {err.max()} ulp at x={x[finite][np.argmax(err)]!r}"
    assert np.all(np.isposinf(y[~finite]))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("isa", AVAILABLE_ISAS)
def test_exp_special_values(isa, dtype):
    big = 710.0 if dtype == np.float64 else 89.0
    x = np.array([-np.inf, np.inf, np.nan, 0.0, -0.0, big, -big * 1.2, -1e30, 1e30], dtype=dtype)
    y = _core.math("exp", x, isa)
    assert y[0] == 0 and np.isposinf(y[1]) and np.isnan(y[2])
    assert y[3] == 1 and y[4] == 1
    assert np.isposinf(y[5]) and y[6] == 0 and y[7] == 0 and np.isposinf(y[8])


@pytest.mark.parametrize("isa", AVAILABLE_ISAS)
def test_exp_f32_subnormal_results(isa):
    # gradual underflow: exp(-100) = 3.72e-44 is a float32 subnormal, correctly rounded
    x = np.float32([-87.5, -90.0, -100.0, -103.0, -103.9])
    y = _core.math("exp", x, isa)
    np.testing.assert_array_equal(y, np.exp(x.astype(np.float64)).astype(np.float32))


@needs_extended
@pytest.mark.parametrize("isa", AVAILABLE_ISAS)
def test_exp_f64_ulp(isa):
    rng = np.random.default_rng(11)
    x = np.concatenate([rng.uniform(-745.1, 709.7, 400_000), rng.uniform(-1, 1, 100_000),
                        -np.logspace(-300, 2.85, 20_000), np.logspace(-300, 2.85, 20_000)])
    y = _core.math("exp", x, isa)
    ref = np.exp(x.astype(np.longdouble))
    normal = np.abs(ref) >= np.finfo(np.float64).tiny
    err = ulp_error(y[normal], ref[normal], np.float64)
    assert err.max() <= 1.05, f"max {err.max()} ulp at x={x[normal][np.argmax(err)]!r}"
    sub = ~normal  # gradual underflow: within one subnormal step
    assert np.all(np.abs(y[sub] - ref[sub].astype(np.float64)) <= 5e-324)


@pytest.mark.parametrize("isa", AVAILABLE_ISAS)
def test_exp_term_f32_ulp(isa):
    # the exponential of the float32 Fast sums (fused multiply-adds): x <= 0, clamped at
    # -86.5; an exhaustive run over every float in [-86.5, 0] measured 1.019 ulp and the
    # same bits at every level
    x = f32_sweep(-86.5, 0.0, 131)
    x = x[x <= 0]
    y = _core.math("exp_term", x, isa)
    err = ulp_error(y, np.exp(x.astype(np.float64)), np.float32)
    assert err.max() <= 1.05, f"max {err.max()} ulp at x={x[np.argmax(err)]!r}"
    z = _core.math("exp_term", np.float32([-87.0, -1e30, -np.inf, np.nan, 0.0, -0.0]), isa)
    assert np.all(z[:3] == _core.math("exp_term", np.float32([-86.5]), isa)[0])
    assert np.isnan(z[3]) and z[4] == 1.0 and z[5] == 1.0


def _fma_f32_reference(a, b, c):
    """a * b + c correctly rounded to float32 (exact rational arithmetic, nearest-even)."""
    from fractions import Fraction
    out = []
    for x, y, z in zip(a.tolist(), b.tolist(), c.tolist()):
        v = Fraction(x) * Fraction(y) + Fraction(z)
        if v == 0:
            out.append(0.0)
            continue
        e = abs(v).numerator.bit_length() - abs(v).denominator.bit_length()
        while abs(v) >= Fraction(2) ** (e + 1):
            e += 1
        while abs(v) < Fraction(2) ** e:
            e -= 1
        m = abs(v) / Fraction(2) ** (e - 23)  # in [2^23, 2^24)
        n = m.numerator // m.denominator
        rem = m - n
        if rem > Fraction(1, 2) or (rem == Fraction(1, 2) and n % 2 == 1):
            n += 1
        out.append(float((1 if v > 0 else -1) * Fraction(n) * Fraction(2) ** (e - 23)))
    return np.array(out, dtype=np.float32)


@pytest.mark.parametrize("isa", AVAILABLE_ISAS)
def test_fmadd_f32_correctly_rounded(isa):
    # products that are exactly halfway between two floats, nudged by an addend far below
    # a double ulp: rounding a*b + c first to double and then to float gets them wrong,
    # the emulation of the levels without FMA must not
    rng = np.random.default_rng(17)
    i, j = rng.integers(1, 1 << 12, 2000), rng.integers(1, 1 << 12, 2000)
    a = ((1 + i * 2.0 ** -12) * 2.0 ** rng.integers(-20, 20, i.size)).astype(np.float32)
    b = ((1 + j * 2.0 ** -12) * rng.choice([-1.0, 1.0], j.size)).astype(np.float32)
    c = (rng.choice([-1.0, 1.0], i.size) * 2.0 ** rng.integers(-90, -60, i.size)).astype(np.float32)
    c[::7] = 0
    # and ordinary operands of every magnitude relation
    a2, b2 = rng.standard_normal(2000).astype(np.float32), rng.standard_normal(2000).astype(np.float32)
    c2 = (rng.standard_normal(2000) * 10.0 ** rng.integers(-12, 4, 2000)).astype(np.float32)
    a, b, c = np.concatenate([a, a2]), np.concatenate([b, b2]), np.concatenate([c, c2])
    y = _core.fmadd(a, b, c, isa)
    ref = _fma_f32_reference(a, b, c)
    assert np.array_equal(y.view(np.uint32), ref.view(np.uint32)), np.flatnonzero(y != ref)[:5]


@needs_extended
@pytest.mark.parametrize("isa", AVAILABLE_ISAS)
def test_exp_term_f64_ulp(isa):
    # the exponential of the float64 Fast log-sum-exp sums: x <= 0, clamped at -705
    rng = np.random.default_rng(15)
    x = np.concatenate([-rng.uniform(0, 705, 400_000), -rng.uniform(0, 1, 100_000),
                        -np.logspace(-300, np.log10(704.9), 20_000), [0.0, -0.0, -705.0]])
    y = _core.math("exp_term", x, isa)
    err = ulp_error(y, np.exp(x.astype(np.longdouble)), np.float64)
    assert err.max() <= 0.7, f"max {err.max()} ulp at x={x[np.argmax(err)]!r}"
    z = _core.math("exp_term", np.array([-706.0, -1e300, -np.inf, np.nan, 0.0]), isa)
    assert np.all(z[:3] == np.exp(-705.0)) and np.isnan(z[3]) and z[4] == 1.0


@needs_extended
@pytest.mark.parametrize("isa", AVAILABLE_ISAS)
def test_log_f64_ulp(isa):
    rng = np.random.default_rng(12)
    x = np.concatenate([rng.uniform(0, 10, 200_000), np.exp(rng.uniform(-700, 700, 200_000)),
                        1 + rng.uniform(-1e-3, 1e-3, 100_000), [5e-324, 1e-310, 2.2250738585072014e-308, 1.0]])
    y = _core.math("log", x, isa)
    ref = np.log(x.astype(np.longdouble))
    nz = ref != 0
    err = ulp_error(y[nz], ref[nz], np.float64)
    assert err.max() <= 1.0, f"max {err.max()} ulp at x={x[nz][np.argmax(err)]!r}"
    assert y[x == 1.0][0] == 0.0


@needs_extended
@pytest.mark.parametrize("isa", AVAILABLE_ISAS)
def test_log1p_f64_ulp(isa):
    rng = np.random.default_rng(13)
    x = np.concatenate([rng.uniform(-1, 1, 200_000), np.exp(rng.uniform(-700, 6, 200_000)),
                        -np.exp(rng.uniform(-700, -1e-9, 100_000)), 10 ** rng.uniform(0, 300, 20_000),
                        [1e-300, 5e-324, -5e-324, 2.0 ** -54]])
    y = _core.math("log1p", x, isa)
    ref = np.log1p(x.astype(np.longdouble))
    err = ulp_error(y, ref, np.float64)
    assert err.max() <= 1.0, f"max {err.max()} ulp at x={x[np.argmax(err)]!r}"


@needs_extended
@pytest.mark.parametrize("isa", AVAILABLE_ISAS)
def test_log_table_f64_abs_error(isa):
    # the log of float32 log-sum-exp results (sums >= 1, added to the maximum and rounded
    # to float32; results below 2 in magnitude are recomputed): absolute error < 2^-42 below
    # 2^64, < 1.2 * 2^-42 at the ends of the double range
    # over every positive normal double, and at the edges of its sixteenths of [1, 2)
    rng = np.random.default_rng(16)
    edges = np.ldexp(np.arange(16, 33) / 16.0, 0)
    x = np.concatenate([rng.uniform(1, 2, 200_000), rng.uniform(1, 200, 200_000),
                        np.exp(rng.uniform(-700, 700, 200_000)), 10.0 ** rng.uniform(-307, 308, 20_000),
                        edges, np.nextafter(edges, 0), np.nextafter(edges, 3), np.ldexp(edges, 7),
                        [2.2250738585072014e-308, np.finfo(np.float64).max, 1.0]])
    y = _core.math("log_table", x, isa)
    err = np.abs(y.astype(np.longdouble) - np.log(x.astype(np.longdouble)))
    assert err.max() < 1.2 * 2.0 ** -42, f"max {float(err.max())!r} at x={x[np.argmax(err)]!r}"
    sums = x < 2.0 ** 64  # what log-sum-exp hands it
    assert err[sums].max() < 2.0 ** -42, f"max {float(err[sums].max())!r}"


@pytest.mark.parametrize("isa", AVAILABLE_ISAS)
def test_log_special_values(isa):
    x = np.array([0.0, -0.0, -1.0, np.inf, -np.inf, np.nan, 5e-324])
    y = _core.math("log", x, isa)
    assert np.isneginf(y[0]) and np.isneginf(y[1]) and np.isnan(y[2]) and np.isposinf(y[3])
    assert np.isnan(y[4]) and np.isnan(y[5]) and y[6] == np.log(5e-324)
    z = _core.math("log1p", np.array([-1.0, -2.0, np.inf, np.nan, 0.0, 1e-300]), isa)
    assert np.isneginf(z[0]) and np.isnan(z[1]) and np.isposinf(z[2]) and np.isnan(z[3])
    assert z[4] == 0 and z[5] == 1e-300


@pytest.mark.parametrize("name,dtype", [("exp", np.float32), ("exp", np.float64), ("exp_term", np.float32),
                                        ("exp_term", np.float64),
                                        ("log", np.float64), ("log1p", np.float64), ("log_table", np.float64)])
def test_math_identical_across_isa(name, dtype):
    rng = np.random.default_rng(14)
    x = rng.standard_normal(100_003).astype(dtype) * (30 if name.startswith("exp") else 1)
    if name == "exp_term":  # down to the clamps (-86.5, -705), where the scalings meet the underflow range
        lo = -90 if dtype == np.float32 else -710
        x = np.concatenate([-np.abs(x), rng.uniform(lo, 0, 100_000), [-np.inf, np.nan, -0.0, 0.0]]).astype(dtype)
    elif name != "exp":
        x = np.abs(x) * 10.0 ** rng.integers(-30, 30, x.size)
    outs = [_core.math(name, x, isa) for isa in AVAILABLE_ISAS]
    for isa, y in zip(AVAILABLE_ISAS[1:], outs[1:]):
        assert np.array_equal(y.view(np.uint8), outs[0].view(np.uint8)), f"{name} differs at {isa}"


@pytest.mark.parametrize("isa", AVAILABLE_ISAS)
def test_half_conversion_matches_numpy(isa):
    # float16 input is reduced in float32 and results are rounded back: both directions
    # must be NumPy's correctly rounded casts (every float16, and float32 values at and
    # around every float16 and every midpoint between neighbours, subnormals included)
    from divkern import _config
    halves = np.arange(65536, dtype=np.uint16).view(np.float16)
    rng = np.random.default_rng(16)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # NaN bit patterns cast
        wide = halves.astype(np.float32)
        finite = np.isfinite(wide)
        mids = ((wide[:-1].astype(np.float64) + wide[1:].astype(np.float64)) / 2)[finite[:-1] & finite[1:]]
        f = np.concatenate([
            wide, np.nextafter(wide, np.float32(np.inf)), np.nextafter(wide, np.float32(-np.inf)),
            mids.astype(np.float32), (rng.standard_normal(300_000) * 10.0 ** rng.integers(-9, 6, 300_000)),
            [65504, 65519.99, 65520, 1e30, np.inf, -np.inf, np.nan, 2.98e-8, 2.99e-8, 5.96e-8, -0.0]]).astype(np.float32)
        expect = f.astype(np.float16)
    with _config._isa(isa):
        got32 = np.empty(halves.size, np.float32)
        _core.convert_half(halves, got32, 2)
        got16 = np.empty(f.size, np.float16)
        _core.convert_half(f, got16, 3)
    nan32, nan16 = np.isnan(wide), np.isnan(expect)
    assert np.array_equal(np.isnan(got32), nan32) and np.array_equal(np.isnan(got16), nan16)
    assert np.array_equal(got32.view(np.uint32)[~nan32], wide.view(np.uint32)[~nan32])
    assert np.array_equal(got16.view(np.uint16)[~nan16], expect.view(np.uint16)[~nan16])
