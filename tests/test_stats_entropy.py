"""divkern.stats.entropy and divkern.spatial.distance.jensenshannon: SciPy's own test cases,
SciPy's semantics (normalisation, axes, broadcasting, keepdims, dtypes, special values),
accuracy where SciPy is not accurate, layouts, threads and ISA levels, bad input."""

from __future__ import annotations

import itertools
import math
import os
import subprocess
import sys

import numpy as np
import pytest

import divkern
from divkern import _config
from divkern.spatial.distance import jensenshannon
from divkern.stats import entropy
from conftest import AVAILABLE_ISAS

st = pytest.importorskip("scipy.stats")
ssd = pytest.importorskip("scipy.spatial.distance")


def call_scipy(f, *a, **k):
    with np.errstate(all="ignore"):
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return f(*a, **k)


def assert_like_scipy(got, want, rtol=1e-13, atol=0.0):
    assert type(got) is type(want), (type(got), type(want))
    assert np.shape(got) == np.shape(want) and np.asarray(got).dtype == np.asarray(want).dtype
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol, equal_nan=True)


# ------------------------------------------------------------------ SciPy's own tests
# (scipy/stats/tests/test_entropy.py::TestEntropy)

PK = np.array([[0.1, 0.2], [0.6, 0.3], [0.3, 0.5]])
QK = np.array([[0.2, 0.1], [0.3, 0.6], [0.5, 0.3]])


def test_scipy_entropy_cases():
    pk, qk = np.array([0.5, 0.2, 0.3]), np.array([0.1, 0.25, 0.65])
    assert entropy(pk, pk) == 0.0
    assert entropy(pk, qk) > 0
    assert abs(entropy(np.ones(16), base=2.0) - 4.0) < 1e-5
    q16 = np.where(np.arange(16) < 8, 2.0, 1.0)
    assert abs(entropy(np.ones(16), q16) / entropy(np.ones(16), q16, base=2.0) - math.log(2.0)) < 1e-5
    np.testing.assert_allclose(entropy([0.0, 1.0, 2.0]), 0.63651416829481278, rtol=1e-13)
    np.testing.assert_allclose(entropy(PK, QK), [0.1933259, 0.18609809], rtol=1e-7)
    qz = np.array([[0.0, 0.1], [0.3, 0.6], [0.5, 0.3]])
    np.testing.assert_allclose(entropy(PK, qz), [np.inf, 0.18609809], rtol=1e-7)
    pz = np.array([[0.0, 0.2], [0.6, 0.3], [0.3, 0.5]])
    np.testing.assert_allclose(entropy(pz, qz), [0.17403988, 0.18609809], rtol=1e-7)
    np.testing.assert_allclose(entropy(PK, axis=1), [0.63651417, 0.63651417, 0.66156324], rtol=1e-7)
    np.testing.assert_allclose(entropy(PK, QK, axis=1), [0.23104906, 0.23104906, 0.12770641], rtol=1e-7)
    np.testing.assert_array_equal(entropy(PK, axis=0), entropy(PK))
    np.testing.assert_array_equal(entropy(PK, QK, axis=0), entropy(PK, QK))
    np.testing.assert_allclose(entropy(PK.T), entropy(PK, axis=1), rtol=1e-15)
    np.testing.assert_allclose(entropy(PK.T, QK.T), entropy(PK, QK, axis=1), rtol=1e-15)


def test_scipy_entropy_broadcasting_and_errors():
    rng = np.random.default_rng(74187315492831452)
    x, y = rng.random(3), rng.random((2, 1))
    res = entropy(x, y, axis=-1)
    assert res[0] == entropy(x, y[0, ...]) and res[1] == entropy(x, y[1, ...])
    with pytest.raises(ValueError, match="Array shapes are incompatible for broadcasting."):
        entropy(PK, QK[:2])
    with pytest.raises(ValueError, match="Array shapes are incompatible for broadcasting."):
        entropy(np.ones((10, 1, 12)), np.ones((11, 2)))
    with pytest.raises(ValueError, match="`base` must be a positive number"):
        entropy(np.ones(10), base=-2)


# (scipy/spatial/tests/test_distance.py::test_jensenshannon)

def test_scipy_jensenshannon_cases():
    np.testing.assert_almost_equal(jensenshannon([1.0, 0.0, 0.0], [0.0, 1.0, 0.0], 2.0), 1.0)
    np.testing.assert_almost_equal(jensenshannon([1.0, 0.0], [0.5, 0.5]), 0.46450140402245893)
    np.testing.assert_almost_equal(jensenshannon([1.0, 0.0, 0.0], [1.0, 0.0, 0.0]), 0.0)
    np.testing.assert_almost_equal(jensenshannon([[1.0, 2.0]], [[0.5, 1.5]], axis=0), [0.0, 0.0])
    np.testing.assert_almost_equal(jensenshannon([[1.0, 2.0]], [[0.5, 1.5]], axis=1), [0.0649045])
    np.testing.assert_almost_equal(jensenshannon([[1.0, 2.0]], [[0.5, 1.5]], axis=0, keepdims=True), [[0.0, 0.0]])
    np.testing.assert_almost_equal(jensenshannon([[1.0, 2.0]], [[0.5, 1.5]], axis=1, keepdims=True), [[0.0649045]])
    a = np.arange(1, 13).reshape(3, 4)
    b = a + 12
    np.testing.assert_almost_equal(jensenshannon(a, b, axis=0), [0.1954288, 0.1447697, 0.1138377, 0.0927636])
    np.testing.assert_almost_equal(jensenshannon(a, b, axis=1), [0.1402339, 0.0399106, 0.0201815])


def test_jensenshannon_immutable_input():
    x = np.arange(1.0, 11.0)
    x.setflags(write=False)
    assert jensenshannon(x, x[::-1]) == pytest.approx(ssd.jensenshannon(x, x[::-1]), rel=1e-13)


# ------------------------------------------------------------------ semantics vs SciPy

A = np.arange(1, 13).reshape(3, 4)
B = A + 12
ENTROPY_CASES = [
    (([1, 1],), {}), (([0, 0],), {}), (([],), {}), (([-1, 2],), {}), (([1, 0], [0, 1]), {}), ((5,), {}),
    ((np.float32(5),), {}), ((0,), {}), ((PK,), dict(axis=None)), ((PK,), dict(axis=1, keepdims=True)),
    ((PK,), dict(axis=(0, 1))), ((PK,), dict(axis=None, keepdims=True)), ((PK, [1, 2]), dict(axis=1)),
    (([1, 2],), dict(base=2)), (([1, 2],), dict(base=1)), (([1, 2],), dict(base=0.5)), (([1, np.nan],), {}),
    (([1, np.inf],), {}), (([1, 2], [1, np.inf]), {}), ((np.zeros((0, 3)),), {}), ((np.zeros((3, 0)),), {}),
    ((np.zeros((0, 3)),), dict(axis=1)), (([1, 2], [0, 0]), {}), (([0, 1], [0, 0]), {}),
    ((PK, [[1], [2], [3]]), {}), (([1, 2, 3], [[1, 2, 3], [2, 3, 4]]), {}),
    (([1, 2, 3], [[1, 2, 3], [2, 3, 4]]), dict(axis=1)), (([1, 2], [1, 2], 2, 0), {}),
    ((np.arange(24).reshape(2, 3, 4),), dict(axis=1)), ((np.arange(24.0).reshape(2, 3, 4).T,), dict(axis=1)),
    ((np.arange(24).reshape(2, 3, 4), np.arange(24).reshape(2, 3, 4)[::-1]), dict(axis=(0, 2), keepdims=True)),
    ((np.arange(24).reshape(2, 3, 4),), dict(axis=-1, keepdims=True)), (([1, 2],), dict(axis=-1)),
    ((np.ma.masked_array([1, 2, 3], [0, 1, 0]),), {}), (([1, np.nan],), dict(nan_policy="omit")),
    (([1e-320, 3e-320],), {}), (([1e308, 1e308],), {}), (([1e308, 1e308], [1, 2]), {}),
]


@pytest.mark.parametrize("args, kw", ENTROPY_CASES, ids=[str(i) for i in range(len(ENTROPY_CASES))])
def test_entropy_like_scipy(args, kw):
    assert_like_scipy(entropy(*args, **kw), call_scipy(st.entropy, *args, **kw))


JS_CASES = [
    (([1, 0], [0.5, 0.5]), {}), (([1, 0], [0.5, 0.5], 2), {}), (([0, 0], [1, 1]), {}), (([1, 2], [1, 3]), dict(base=1)),
    (([1, 2], [1, 3]), dict(base=0.5)), (([1, -1], [1, 2]), {}), (([1, -1], [1, 3]), {}), (([1, 2, -1], [1, 3, 2]), {}),
    (([1, np.inf], [1, 2]), {}), (([1, np.nan], [1, 2]), {}), ((A, B), dict(axis=None)),
    ((A, B), dict(axis=1, keepdims=True)), ((A, B), dict(axis=None, keepdims=True)), ((A, B), dict(axis=(0, 1))),
    ((A, B[:, :1]), dict(axis=1)), ((A, B[:1]), dict(axis=0)), ((A, B[0]), dict(axis=0)), ((A, B[0]), dict(axis=-1)),
    ((A, B[:1, :1]), dict(axis=None)), ((5, 3), {}), (([], []), {}), ((np.zeros((0, 3)), np.zeros((0, 3))), {}),
    ((np.zeros((3, 0)), np.zeros((3, 0))), {}), ((A, 3), dict(axis=0)),
    ((A.T, B.T[::-1]), dict(axis=1)), ((np.arange(24).reshape(2, 3, 4), np.arange(24).reshape(2, 3, 4) % 5),
                                       dict(axis=(0, 2))), ((A, B), dict(axis=-2)),
    (([1e308, 1e308], [1.0, 2.0]), {}),
]


@pytest.mark.parametrize("args, kw", JS_CASES, ids=[str(i) for i in range(len(JS_CASES))])
def test_jensenshannon_like_scipy(args, kw):
    assert_like_scipy(jensenshannon(*args, **kw), call_scipy(ssd.jensenshannon, *args, **kw))


DTYPES = [np.float16, np.float32, np.float64, np.int8, np.uint8, np.int32, np.int64, np.bool_]


@pytest.mark.parametrize("a, b", list(itertools.product(DTYPES, repeat=2)))
def test_dtypes_like_scipy(a, b):
    x = np.array([1, 2, 3]).astype(a)
    y = np.array([3, 2, 1]).astype(b)
    # SciPy normalises float16 in float16: divkern's float32 computation is more accurate
    rtol = 3e-3 if np.float16 in (a, b) else 1e-6
    assert_like_scipy(entropy(x), st.entropy(x), rtol=rtol)
    assert_like_scipy(entropy(x, y), st.entropy(x, y), rtol=rtol)
    assert_like_scipy(jensenshannon(x, y), ssd.jensenshannon(x, y), rtol=rtol)


def test_mixed_float32_normalised_in_double():
    # SciPy normalises the float32 input in float32 before promoting: divkern in double
    a32 = A.astype(np.float32)
    got = jensenshannon(a32, B, axis=0)
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, ssd.jensenshannon(A.astype(np.float64), B, axis=0), rtol=1e-14)
    np.testing.assert_allclose(got, ssd.jensenshannon(a32, B, axis=0), rtol=1e-6)


def test_float16_more_accurate_than_scipy():
    x = np.array([1, 2, 3], np.float16)
    y = np.array([3, 2, 1.5], np.float16)
    ref = st.entropy(x.astype(np.float64), y.astype(np.float64))
    assert abs(entropy(x, y) - ref) <= abs(st.entropy(x, y) - ref)
    assert entropy(x, y) == np.float32(ref)


def rand(rng, shape, dtype=np.float64):
    return rng.uniform(0, 1, shape).astype(dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("layout", ["C", "F", "strided", "negative", "broadcast", "3d", "long", "wide"])
@pytest.mark.parametrize("axis", [0, 1, -1, None])
def test_random_against_scipy(layout, axis, dtype):
    rng = np.random.default_rng(abs(hash((layout, axis))) % 2**32)
    p, q = rand(rng, (37, 29), dtype), rand(rng, (37, 29), dtype)
    if layout == "F":
        p, q = np.asfortranarray(p), np.asfortranarray(q)
    elif layout == "strided":
        p, q = rand(rng, (80, 90), dtype)[::2, 1::3], rand(rng, (80, 90), dtype)[1::2, ::3]
    elif layout == "negative":
        p, q = p[::-1, ::-2], q[::-1, ::-2]
    elif layout == "broadcast":
        q = q[:1]
    elif layout == "3d":
        p, q = rand(rng, (5, 7, 11), dtype), rand(rng, (5, 7, 11), dtype)[:, ::-1]
    elif layout == "long":
        p, q = rand(rng, (20_011, 3), dtype), rand(rng, (20_011, 3), dtype)
    elif layout == "wide":
        p, q = rand(rng, (3, 70_001), dtype), rand(rng, (3, 70_001), dtype)
    rtol = 2e-5 if dtype == np.float32 else 1e-12
    cases = [(entropy, st.entropy, (p,)), (entropy, st.entropy, (p, q)), (jensenshannon, ssd.jensenshannon, (p, q))]
    if axis is None and p.shape != q.shape:
        with pytest.raises(ValueError, match="broadcasting"):  # SciPy ravels each first
            entropy(p, q, axis=None)
        del cases[1]
    for f, g, args in cases:
        got = f(*args, axis=axis)
        want = g(*[a.astype(np.float64) for a in args], axis=axis)
        assert np.shape(got) == np.shape(want) and np.asarray(got).dtype == dtype
        # SciPy's own error is ~1e-16 absolute in the divergence (its normalised inputs are
        # rounded), which the square root of Jensen-Shannon magnifies for small distances
        if f is jensenshannon:
            got, want = np.square(got, dtype=np.float64), np.square(want)
        np.testing.assert_allclose(got, want, rtol=rtol, atol=1e-15)


def test_float32_sums_in_double():
    # SciPy's float32 entropy sums in float32; divkern's in double, then rounds once
    rng = np.random.default_rng(3)
    p = rng.uniform(0, 1, (100_000, 3)).astype(np.float32)
    ref = st.entropy(p.astype(np.float64), axis=0).astype(np.float32)
    got = entropy(p, axis=0)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, ref, rtol=1.2e-7)


# ------------------------------------------------------------------ accuracy

mpmath = pytest.importorskip("mpmath")


def mp_js(p, q):
    with mpmath.workdps(50):
        p = [mpmath.mpf(float(v)) for v in p]
        q = [mpmath.mpf(float(v)) for v in q]
        sp_, sq = sum(p), sum(q)
        p = [v / sp_ for v in p]
        q = [v / sq for v in q]
        js = mpmath.mpf(0)
        for a, b in zip(p, q):
            m = (a + b) / 2
            if a > 0:
                js += a * mpmath.log(a / m)
            if b > 0:
                js += b * mpmath.log(b / m)
        return float(mpmath.sqrt(js / 2))


def test_jensenshannon_never_nan_and_zero_for_identical():
    rng = np.random.default_rng(4)
    for dtype in (np.float32, np.float64):
        for _ in range(50):
            p = rng.uniform(0, 1, rng.integers(2, 40)).astype(dtype)
            assert jensenshannon(p, p) == 0.0
            assert not np.isnan(jensenshannon(p, p * dtype(3)))
            assert jensenshannon(p, p * dtype(3)) < 1e-7 if dtype == np.float32 else 1e-15
    # scipy#20083: SciPy's sqrt of a tiny negative sum
    p = np.array([0.1, 0.2, 0.3], np.float32)
    assert jensenshannon(p, 2 * p) == 0.0
    # scipy#19436: SciPy's inf
    assert np.isfinite(jensenshannon([0, 1], [5e-324, 1]))


@pytest.mark.parametrize("eps", [1e-3, 1e-6, 1e-9, 1e-12])
def test_jensenshannon_nearly_equal_inputs(eps):
    rng = np.random.default_rng(int(-math.log10(eps)))
    p = rng.uniform(0.1, 1, 50)
    q = p * (1 + eps * rng.uniform(-1, 1, 50))
    ref = mp_js(p, q)
    got = jensenshannon(p, q)
    # the rounding of the normalised inputs limits any double computation to ~1e-16 / eps
    assert abs(got - ref) <= max(1e-14, 4e-16 / eps) * ref, (got, ref)


def test_jensenshannon_against_mpmath():
    rng = np.random.default_rng(6)
    for n in (2, 5, 100):
        for scale in (1e-300, 1.0, 1e300):
            p = rng.uniform(0, 1, n) * scale
            q = rng.uniform(0, 1, n) ** 3 * scale
            q[0] = 0.0
            assert jensenshannon(p, q) == pytest.approx(mp_js(p, q), rel=1e-14)


# ------------------------------------------------------------------ determinism

def det_cases():
    rng = np.random.default_rng(8)
    p = rng.uniform(0, 1, (1003, 517))
    q = p * (1 + rng.uniform(-0.6, 0.6, p.shape))  # every branch of the Jensen-Shannon term
    q[::7] = rng.uniform(0, 1, q[::7].shape)
    p[3, ::5] = 0.0
    q[4, ::3] = 0.0
    return [(p, q, 0), (p, q, 1), (p.T.copy(), q.T.copy(), 0), (p[:, :7], q[:, :7], 0), (p.ravel(), q.ravel(), 0),
            (p.astype(np.float32), q.astype(np.float32), 0), (p[::2, ::3], q[::2, ::3], 1)]


def run_all(threads):
    out = []
    for p, q, axis in det_cases():
        out += [entropy(p, axis=axis, threads=threads), entropy(p, q, axis=axis, threads=threads),
                jensenshannon(p, q, axis=axis, threads=threads)]
    return [np.atleast_1d(o) for o in out]


def test_threads_bitwise_identical():
    one = run_all(1)
    for t in (2, 3, 8):
        for i, (a, b) in enumerate(zip(one, run_all(t))):
            assert np.array_equal(a.view(np.uint8), b.view(np.uint8)), (t, i)


@pytest.mark.skipif(len(AVAILABLE_ISAS) < 2, reason="only one ISA level on this CPU")
def test_isa_levels_bitwise_identical():
    res = {}
    for isa in AVAILABLE_ISAS:
        with _config._isa(isa):
            res[isa] = run_all(2)
    for isa in AVAILABLE_ISAS[1:]:
        for i, (a, b) in enumerate(zip(res[AVAILABLE_ISAS[0]], res[isa])):
            assert np.array_equal(a.view(np.uint8), b.view(np.uint8)), (isa, i)


def test_forced_baseline_level_in_a_subprocess():
    code = ("import numpy as np, divkern; from divkern.stats import entropy; "
            "from divkern.spatial.distance import jensenshannon as js; "
            "p = np.linspace(0, 1, 3000).reshape(300, 10); q = p[::-1] ** 2; "
            "print(divkern.get_isa(), entropy(p, q).tobytes().hex(), js(p, q, axis=1).tobytes().hex())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "DIVKERN_ISA": "baseline"}).stdout.split()
    p = np.linspace(0, 1, 3000).reshape(300, 10)
    q = p[::-1] ** 2
    assert out == ["baseline", entropy(p, q).tobytes().hex(), jensenshannon(p, q, axis=1).tobytes().hex()]


# ------------------------------------------------------------------ bad input

def test_bad_input():
    for base in (0, -1.0):
        with pytest.raises(ValueError, match="base"):
            entropy([1, 2], base=base)
        with pytest.raises(ValueError, match="base"):
            jensenshannon([1, 2], [2, 1], base=base)
    with pytest.raises(TypeError, match="base"):
        entropy([1, 2], base="e")
    with pytest.raises(TypeError, match="pk"):
        entropy([1 + 1j, 2])
    with pytest.raises(TypeError, match="q"):
        jensenshannon([1, 2], np.array([1, 2], np.complex128))
    with pytest.raises(TypeError, match="pk"):
        entropy(np.ones(3, np.longdouble))
    with pytest.raises(TypeError, match="qk"):
        entropy([1, 2], ["a", "b"])
    with pytest.raises(divkern._validate.AxisError):
        entropy(PK, axis=2)
    with pytest.raises(divkern._validate.AxisError):
        jensenshannon(A, B[0], axis=1)  # q has one axis, as in SciPy
    with pytest.raises(ValueError, match="broadcast"):
        jensenshannon(A, B[:2], axis=1)
    with pytest.raises(ValueError, match="nan_policy"):
        entropy([1, 2], nan_policy="bogus")
    with pytest.raises(ValueError, match="nan values"):
        entropy([1, np.nan], nan_policy="raise")
    with pytest.raises(ValueError, match="threads"):
        entropy([1, 2], threads=0)
    with pytest.raises(ValueError, match="duplicate"):
        entropy(PK, axis=(0, 0))


def test_modules_exported():
    assert divkern.stats.entropy is entropy
    assert divkern.spatial.distance.jensenshannon is jensenshannon
    assert {"stats", "spatial"} <= set(divkern.__all__)
