"""divkern.special.rel_entr, kl_div and entr: SciPy's interface, dtypes and special values,
its own test cases, accuracy where SciPy is not accurate (mpmath), layouts, out=, threads
and ISA levels, bad input."""

from __future__ import annotations

import itertools
import subprocess
import sys

import numpy as np
import pytest

import divkern
import divkern.special as dks
from divkern import _config
from conftest import AVAILABLE_ISAS

sp = pytest.importorskip("scipy.special")

FUNCS2 = [("rel_entr", dks.rel_entr, sp.rel_entr), ("kl_div", dks.kl_div, sp.kl_div)]
ALL = FUNCS2 + [("entr", dks.entr, sp.entr)]

SPECIAL = [np.nan, -np.inf, -1.0, -5e-324, -0.0, 0.0, 5e-324, 1e-300, 0.5, 1.0, 2.0, 1e300, 1.7e308, np.inf]


def same_bits_or_nan(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return (np.isnan(a) & np.isnan(b)) | ((a == b) & (np.signbit(a) == np.signbit(b)))


def call2(name, f, x, y):
    return f(x, y) if name != "entr" else f(x)


def assert_close_to_scipy(name, got, want, x, y, dtype=np.float64):
    """SciPy's kl_div is off by ~u (|x| + |y|) absolutely where x ~ y (cancellation);
    elsewhere both are within a few ulp."""
    rtol = 4e-7 if np.dtype(dtype) == np.float32 else 2e-13
    atol = 4e-16 * (np.abs(np.asarray(x, float)) + np.abs(np.asarray(y, float))) if name == "kl_div" else 1e-300
    got, want = np.asarray(got, float), np.asarray(want, float)
    ok = (np.abs(got - want) <= rtol * np.abs(want) + atol) | (got == want) | (np.isnan(got) & np.isnan(want))
    assert ok.all(), (name, got[~ok][:5], want[~ok][:5])


# ------------------------------------------------------------------ SciPy's own tests
# (scipy/special/tests/test_basic.py: test_entr, test_kl_div, test_rel_entr and gh-20710)

def test_scipy_entr_grid():
    z = np.array([s * v for s, v in itertools.product([-1, 1], (0, 0.5, 1.0, np.inf))], float)
    w = np.array([-np.inf if x < 0 else -sp.xlogy(x, x) for x in z])
    np.testing.assert_allclose(dks.entr(z), w, rtol=1e-13, atol=1e-13)


def _kl_ref(x, y):
    if x < 0 or y < 0 or (y == 0 and x != 0):
        return np.inf
    if np.isposinf(x) or np.isposinf(y):
        return np.inf
    if x == 0:
        return y
    return sp.xlogy(x, x / y) - x + y


def _rel_ref(x, y):
    if x > 0 and y > 0:
        return sp.xlogy(x, x / y)
    if x == 0 and y >= 0:
        return 0
    return np.inf


@pytest.mark.parametrize("name, ref", [("kl_div", _kl_ref), ("rel_entr", _rel_ref)])
def test_scipy_sign_value_grid(name, ref):
    vals = (0, 0.5, 1.0)
    z = np.array([(sa * va, sb * vb) for sa, va, sb, vb in itertools.product([-1, 1], vals, [-1, 1], vals)], float)
    w = np.array([ref(x, y) for x, y in z])
    np.testing.assert_allclose(getattr(dks, name)(z[:, 0], z[:, 1]), w, rtol=1e-13, atol=1e-13)


def test_scipy_rel_entr_gh_20710_near_zero():
    x = np.array([0.9456657713430001, 0.48066098564791515, 0.786048657854401])
    y = np.array([0.9456657713430094, 0.48066098564794774, 0.7860486578542367])
    expected = [-9.325873406851269e-15, -3.258504577274724e-14, 1.6431300764454033e-13]
    np.testing.assert_allclose(dks.rel_entr(x, y), expected, rtol=1e-13, atol=0)


def test_scipy_rel_entr_gh_20710_overflow():
    x = np.array([4, 1e-200, 2.22e-308])
    y = np.array([2.22e-308, 1e200, 1e15])
    expected = [2839.139983229607, -9.210340371976183e-198, -1.6493212008074475e-305]
    np.testing.assert_allclose(dks.rel_entr(x, y), expected, rtol=1e-13, atol=0)


# ------------------------------------------------------------------ special values

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name, f, g", FUNCS2)
def test_special_value_table_matches_scipy(name, f, g, dtype):
    v = np.array(SPECIAL, dtype=dtype) if dtype == np.float64 else np.array(
        [x for x in SPECIAL if abs(x) == 0 or not np.isfinite(x) or 1e-30 < abs(x) < 1e30] + [1e-45, 3e38], dtype)
    X, Y = np.meshgrid(v, v, indexing="ij")
    with np.errstate(all="ignore"):
        want = g(X, Y)
    got = f(X, Y)
    assert got.dtype == want.dtype
    # divkern differs from SciPy only where SciPy is inaccurate: finite values there
    finite_both = np.isfinite(want) & np.isfinite(got)
    special = ~finite_both & ~(np.isfinite(got) & (X > 0) & (Y > 0))
    assert same_bits_or_nan(got[special], want[special]).all(), list(zip(X[special], Y[special], got[special],
                                                                          want[special]))
    # the only non-finite SciPy results divkern turns finite: kl_div / rel_entr where x / y
    # over- or underflows
    fixed = ~np.isfinite(want) & np.isfinite(got)
    assert ((X[fixed] > 0) & (Y[fixed] > 0) & np.isfinite(X[fixed]) & np.isfinite(Y[fixed])).all()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_entr_special_values_match_scipy(dtype):
    with np.errstate(over="ignore"):
        v = np.array(SPECIAL, dtype=np.float64).astype(dtype)
    got, want = dks.entr(v), sp.entr(v)
    assert got.dtype == want.dtype
    assert same_bits_or_nan(got, want).all()


def test_signed_zeros_as_scipy():
    assert np.signbit(dks.entr(1.0)) and dks.entr(1.0) == 0  # -(1 log 1) = -0.0
    assert not np.signbit(dks.entr(-0.0))
    assert np.signbit(dks.kl_div(0.0, -0.0))  # y itself
    assert not np.signbit(dks.rel_entr(1.0, 1.0)) and not np.signbit(dks.kl_div(1.0, 1.0))
    assert dks.kl_div(0.0, 3.5) == 3.5


# ------------------------------------------------------------------ accuracy (mpmath)

mpmath = pytest.importorskip("mpmath")


def mp_kl(x, y):
    with mpmath.workdps(60):
        x, y = mpmath.mpf(float(x)), mpmath.mpf(float(y))
        return float(x * mpmath.log(x / y) - x + y)


def mp_rel(x, y):
    with mpmath.workdps(60):
        x, y = mpmath.mpf(float(x)), mpmath.mpf(float(y))
        return float(x * mpmath.log(x / y))


def test_documented_kl_div_values():
    assert dks.kl_div(1.0, 1.0 + 1e-8) == pytest.approx(4.99999990589e-17, rel=1e-11)
    assert sp.kl_div(1.0, 1.0 + 1e-8) == 0.0  # SciPy's cancellation
    assert dks.kl_div(5e-324, 2.0) == 2.0
    assert dks.kl_div(1.0, 5e-324) == pytest.approx(743.4400719213812, rel=1e-15)
    assert dks.kl_div(1e300, 1e-300) == pytest.approx(mp_kl(1e300, 1e-300), rel=1e-15)


def ulps(got, ref):
    got, ref = np.asarray(got, float), np.asarray(ref, float)
    return np.abs(got - ref) / np.spacing(np.abs(ref))


def accuracy_points(rng, n=400):
    with np.errstate(over="ignore"):
        return _accuracy_points(rng, n)


def _accuracy_points(rng, n):
    x = np.exp(rng.uniform(-700, 700, n))
    near = x * (1 + rng.choice([1e-15, 1e-12, 1e-8, 1e-4, 1e-2, 0.2, 0.4], n) * rng.choice([-1, 1], n))
    far = x * np.exp(rng.uniform(-30, 30, n))
    mid = x * rng.uniform(0.4, 2.5, n)
    xs = np.concatenate([x, x, x, [1.0, 0.5, 1e-310, 5e-324, 1.0, 2.0]])
    ys = np.concatenate([near, far, mid, [1 + 1e-8, 0.5000001, 2e-310, 2.0, 5e-324, 1.4142]])
    keep = (ys > 0) & np.isfinite(ys)
    return xs[keep], ys[keep]


@pytest.mark.parametrize("name, f, mp", [("kl_div", dks.kl_div, mp_kl), ("rel_entr", dks.rel_entr, mp_rel)])
def test_relative_accuracy_against_mpmath(name, f, mp):
    rng = np.random.default_rng(11)
    x, y = accuracy_points(rng)
    ref = np.array([mp(a, b) for a, b in zip(x, y)])
    got = f(x, y)
    ok = np.isfinite(ref) & (np.abs(ref) > 1e-300)  # results in the normal range
    err = ulps(got[ok], ref[ok])
    assert err.max() <= 8, (name, err.max(), x[ok][err.argmax()], y[ok][err.argmax()])


def test_entr_accuracy_against_mpmath():
    x = np.exp(np.random.default_rng(2).uniform(-700, 700, 300))
    with mpmath.workdps(40):
        ref = np.array([float(-mpmath.mpf(float(v)) * mpmath.log(mpmath.mpf(float(v)))) for v in x])
    assert ulps(dks.entr(x), ref).max() <= 2


def test_float32_results_close_to_correct_rounding():
    rng = np.random.default_rng(5)
    x = rng.uniform(0.01, 10, 2000).astype(np.float32)
    y = rng.uniform(0.01, 10, 2000).astype(np.float32)
    for name, f, g in FUNCS2:
        got = f(x, y)
        ref = g(x.astype(np.float64), y.astype(np.float64))  # SciPy in double, accurate here
        assert got.dtype == np.float32
        np.testing.assert_allclose(got, ref.astype(np.float32), rtol=2e-7, atol=1e-30)


# ------------------------------------------------------------------ dtypes, shapes, scalars

DTYPES = [np.float16, np.float32, np.float64, np.int8, np.uint8, np.int16, np.uint16, np.int32, np.int64,
          np.uint64, np.bool_]


def sample(dt, shape=(3,)):
    return np.arange(1, 1 + int(np.prod(shape))).reshape(shape).astype(dt)


@pytest.mark.parametrize("a, b", list(itertools.product(DTYPES + [1, 1.0, True], repeat=2)))
def test_result_dtypes_as_scipy(a, b):
    x = a if isinstance(a, (int, float)) else sample(a)
    y = b if isinstance(b, (int, float)) else sample(b)[::-1]
    for name, f, g in FUNCS2:
        got, want = f(x, y), g(x, y)
        assert type(got) is type(want) and np.asarray(got).dtype == np.asarray(want).dtype, (name, a, b)
        np.testing.assert_allclose(np.asarray(got, float), np.asarray(want, float), rtol=2e-6)


@pytest.mark.parametrize("a", DTYPES + [1, 1.0, True])
def test_entr_dtypes_as_scipy(a):
    x = a if isinstance(a, (int, float)) else sample(a)
    got, want = dks.entr(x), sp.entr(x)
    assert type(got) is type(want) and np.asarray(got).dtype == np.asarray(want).dtype
    np.testing.assert_allclose(np.asarray(got, float), np.asarray(want, float), rtol=2e-6)


def test_numpy_scalars():
    for name, f, g in ALL:
        r = call2(name, f, np.float32(0.5), np.float32(2.0))
        assert isinstance(r, np.float32)
        r = call2(name, f, 0.5, 2.0)
        assert isinstance(r, np.float64)
        assert call2(name, f, np.float64(0.5), 2) == pytest.approx(call2(name, g, np.float64(0.5), 2), rel=1e-15)


def random_pair(rng, shape, dtype=np.float64):
    x = rng.uniform(0, 3, shape).astype(dtype)
    y = rng.uniform(0, 3, shape).astype(dtype)
    x[x < 0.2] = 0
    return x, y


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("layout", ["C", "F", "strided", "negative", "broadcast", "0-d", "empty", "big"])
def test_random_against_scipy(layout, dtype):
    rng = np.random.default_rng(hash(layout) % 2**32)
    x, y = random_pair(rng, (37, 53), dtype)
    if layout == "F":
        x, y = np.asfortranarray(x), np.asfortranarray(y)
    elif layout == "strided":
        x, y = x[::2, 1::3], y[::2, ::3]
    elif layout == "negative":
        x, y = x[::-1, ::-2], y[::-1, ::-2]
    elif layout == "broadcast":
        x, y = x[:, :1], y[:1, :]
    elif layout == "0-d":
        x, y = x[0, 0], y[0, 0]
    elif layout == "empty":
        x, y = x[:0], y[:0]
    elif layout == "big":
        x, y = random_pair(rng, (1_000_003,), dtype)
    for name, f, g in ALL:
        got, want = call2(name, f, x, y), call2(name, g, x, y)
        assert np.shape(got) == np.shape(want) and np.asarray(got).dtype == np.asarray(want).dtype
        assert_close_to_scipy(name, got, want, x, np.broadcast_to(y if name != "entr" else x, np.shape(got)), dtype)


def test_layout_of_result_follows_fortran_input():
    x = np.asfortranarray(np.random.default_rng(0).uniform(0.1, 1, (30, 40)))
    assert dks.entr(x).flags.f_contiguous and dks.rel_entr(x, x).flags.f_contiguous


# ------------------------------------------------------------------ out=, where=, dtype=

def test_out_filled_and_returned():
    rng = np.random.default_rng(1)
    x, y = random_pair(rng, (20, 30))
    for name, f, g in ALL:
        out = np.full((20, 30), -7.0)
        r = call2(name, lambda *a: f(*a, out=out), x, y)
        assert r is out
        assert_close_to_scipy(name, out, call2(name, g, x, y), x, y)
        out32 = np.empty((20, 30), np.float32)  # same kind: float64 results into float32
        assert call2(name, lambda *a: f(*a, out=(out32,)), x, y) is out32
        np.testing.assert_allclose(out32, out.astype(np.float32), rtol=1e-7)


def test_out_strided_and_in_place():
    rng = np.random.default_rng(2)
    x, y = random_pair(rng, (40, 50))
    want = dks.kl_div(x, y)
    assert_close_to_scipy("kl_div", want, sp.kl_div(x, y), x, y)
    big = np.zeros((80, 100))
    dks.kl_div(x, y, out=big[::2, ::2])
    np.testing.assert_allclose(big[::2, ::2], want, rtol=2e-13)
    assert (big[1::2] == 0).all()
    xc = x.copy()
    assert dks.kl_div(xc, y, out=xc) is xc  # in place, like a ufunc
    np.testing.assert_allclose(xc, want, rtol=2e-13)
    yc = y.copy()
    dks.rel_entr(x[:, :-1], yc[:, :-1], out=yc[:, 1:])  # overlapping: through a temporary
    np.testing.assert_allclose(yc[:, 1:], sp.rel_entr(x[:, :-1], y[:, :-1]), rtol=2e-13)


def test_out_broadcasts_inputs():
    out = np.empty((4, 3))
    dks.rel_entr([1.0, 2.0, 3.0], 2.0, out=out)
    np.testing.assert_allclose(out, np.broadcast_to(sp.rel_entr([1.0, 2.0, 3.0], 2.0), (4, 3)), rtol=1e-15)


def test_where():
    x = np.array([1.0, 2.0, 3.0])
    out = np.full(3, -1.0)
    dks.entr(x, out=out, where=[True, False, True])
    want = np.full(3, -1.0)
    sp.entr(x, out=want, where=[True, False, True])
    np.testing.assert_allclose(out, want, rtol=1e-15)
    assert out[1] == -1.0


def test_dtype_keyword_selects_the_loop():
    x = np.array([1.0, 2.0])
    assert dks.entr(x, dtype=np.float32).dtype == sp.entr(x, dtype=np.float32).dtype == np.float32
    assert dks.rel_entr(np.float32([1, 2]), np.float32([2, 1]), dtype=np.float64).dtype == np.float64


# ------------------------------------------------------------------ determinism

def det_inputs():
    rng = np.random.default_rng(9)
    x, y = random_pair(rng, (300_007,))
    x[1::5] = y[1::5] * (1 + rng.uniform(-0.3, 0.3, x[1::5].size))  # every branch of the kernels
    x[::97] = rng.choice(SPECIAL, x[::97].size)
    y[::89] = rng.choice(SPECIAL, y[::89].size)
    return x, y


def test_threads_bitwise_identical():
    x, y = det_inputs()
    for name, f, g in ALL:
        one = call2(name, lambda *a: f(*a, threads=1), x, y)
        for t in (2, 3, 7):
            other = call2(name, lambda *a: f(*a, threads=t), x, y)
            assert np.array_equal(one.view(np.uint8), other.view(np.uint8)), (name, t)


@pytest.mark.skipif(len(AVAILABLE_ISAS) < 2, reason="only one ISA level on this CPU")
def test_isa_levels_bitwise_identical():
    x, y = det_inputs()
    res = {}
    with np.errstate(over="ignore"):
        x32, y32 = x.astype(np.float32), y.astype(np.float32)
    for isa in AVAILABLE_ISAS:
        with _config._isa(isa):
            res[isa] = [call2(n, f, x, y) for n, f, _ in ALL] + [call2(n, f, x32[1:], y32[1:]) for n, f, _ in ALL]
    for isa in AVAILABLE_ISAS[1:]:
        for a, b in zip(res[AVAILABLE_ISAS[0]], res[isa]):
            assert np.array_equal(a.view(np.uint8), b.view(np.uint8)), isa


def test_forced_baseline_level_in_a_subprocess():
    code = ("import numpy as np, divkern, divkern.special as s; x = np.linspace(1e-3, 3, 1001); "
            "print(divkern.get_isa(), s.kl_div(x, x[::-1]).tobytes().hex()[:64], s.rel_entr(x, 1.5).sum().hex())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**__import__("os").environ, "DIVKERN_ISA": "baseline"}).stdout.split()
    x = np.linspace(1e-3, 3, 1001)
    assert out[0] == "baseline"
    assert out[1] == dks.kl_div(x, x[::-1]).tobytes().hex()[:64]
    assert out[2] == float(dks.rel_entr(x, 1.5).sum()).hex()


# ------------------------------------------------------------------ bad input

def test_bad_input():
    with pytest.raises(TypeError, match="complex"):
        dks.rel_entr(np.array([1 + 1j]), 1.0)
    with pytest.raises(TypeError, match="complex"):
        dks.entr(1j)
    with pytest.raises(TypeError, match="x"):
        dks.entr(np.array(["a"]))
    with pytest.raises(TypeError, match="longdouble|float128|not supported"):
        dks.entr(np.ones(2, np.longdouble))
    with pytest.raises(ValueError, match="broadcast"):
        dks.kl_div(np.ones(3), np.ones(4))
    with pytest.raises(ValueError, match="broadcast"):
        dks.kl_div(np.ones(3), np.ones(3), out=np.empty(2))
    with pytest.raises(TypeError, match="out: cannot cast"):
        dks.kl_div(np.ones(3), np.ones(3), out=np.empty(3, np.int64))
    with pytest.raises(ValueError, match="read-only"):
        o = np.empty(3)
        o.flags.writeable = False
        dks.entr(np.ones(3), out=o)
    with pytest.raises(TypeError, match="out"):
        dks.entr(np.ones(3), out=[0, 0, 0])
    with pytest.raises(TypeError, match="dtype"):
        dks.entr(np.ones(3), dtype=np.int32)
    with pytest.raises(TypeError, match="threads"):
        dks.entr(np.ones(3), threads=1.5)
    with pytest.raises(ValueError, match="threads"):
        dks.entr(np.ones(3), threads=0)
    with pytest.raises(TypeError):
        dks.entr(None)


def test_names_are_importable():
    from divkern.special import entr, kl_div, rel_entr  # noqa: F401

    assert all(callable(getattr(divkern.special, n)) for n in ("rel_entr", "kl_div", "entr"))
