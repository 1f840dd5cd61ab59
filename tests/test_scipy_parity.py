# SciPy parity for divkern.logsumexp, divkern.softmax and divkern.log_softmax.
#
# Scope: every edge case of SciPy's own tests of these functions
# (scipy/special/tests/test_logsumexp.py), SciPy's special-value table (inf/nan/-inf
# rows, zero weights masking inf/nan, negative weights, exact cancellation, empty and
# 0-d input, axis None/int/negative/tuple/()), memory layouts (C, Fortran, negative
# strides, steps, broadcast views), the dtype matrix, out= and divkern.special.
# Each case runs divkern and scipy.special on the same input and checks: the result
# type (NumPy scalar vs ndarray), dtype, shape, NaN pattern, infinities (with sign),
# and the finite values.
#
# Tolerances for the finite values:
#   float64 / longdouble: rtol 1e-13 against SciPy on the same input.
#   float32: at most 4 float32 ulp (conftest.ulp_error) from SciPy evaluated in float64
#       on the same, exactly converted, data. SciPy's own float32 path accumulates in
#       float32 and can be many ulp off (divkern accumulates in float64: an intended
#       deviation), so it fixes dtype/shape/type only. softmax adds |x - max| ulp to
#       the allowance: the shifted argument x - max is rounded to float32 (as SciPy
#       does), which costs up to |x - max| * 2**-24 relative in exp.
#   float16 (computed in float32 by divkern, natively by SciPy): at most 1 float16 ulp
#       from SciPy in float64.
#   log_softmax: additionally an absolute tolerance of a few ulp of max(1, max|x|)
#       (x - max - log(sum) cancels near 0; divkern keeps the tiny negative value of a
#       dominant element where SciPy returns exactly 0, scipy#19521).
#   complex / longdouble input is delegated to SciPy: same tolerances (values identical).
# Intended deviations from SciPy are tested as such in the "documented deviations"
# section; parity gaps found are marked xfail(strict=True).

import itertools
import math
import warnings

import numpy as np
import pytest
import scipy.special as sps

import divkern
import divkern.special
from conftest import ulp_error

INF, NAN = np.inf, np.nan
RTOL64 = 1e-13
ULPS32 = 4
ULPS16 = 1


# --------------------------------------------------------------------------- helpers


def scipy_call(name, *args, **kwargs):
    """scipy.special.<name> with its RuntimeWarnings silenced (pytest turns them into errors)."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return getattr(sps, name)(*args, **kwargs)


def _upcast(v):
    """Real float16/float32/integer/bool arrays and scalars as float64 (exact conversion)."""
    if v is None or isinstance(v, (bool, int, float)):
        return v
    arr = np.asarray(v)
    if arr.dtype.kind in "biuf" and arr.dtype.itemsize <= 8:
        return arr.astype(np.float64)
    return v


def _as_f64(r):
    if isinstance(r, tuple):
        return tuple(_as_f64(v) for v in r)
    return np.asarray(r)


def assert_values(actual, expected, dtype, *, rtol=RTOL64, ulps=None, atol=0.0):
    """NaN pattern, infinities and finite values of `actual` against `expected`."""
    dtype = np.dtype(dtype)
    act = np.asarray(actual)
    exp = np.broadcast_to(np.asarray(expected), act.shape)
    if dtype.kind == "c":
        np.testing.assert_allclose(act, exp, rtol=rtol, atol=atol, equal_nan=True)
        return
    act_nan, exp_nan = np.isnan(act), np.isnan(exp)
    assert np.array_equal(act_nan, exp_nan), f"NaN pattern differs:\n{act}\nexpected\n{exp}"
    exp_inf = np.isinf(exp)
    assert np.array_equal(act[exp_inf], exp[exp_inf].astype(act.dtype)), (
        f"infinities differ:\n{act}\nexpected\n{exp}"
    )
    fin = ~(exp_nan | exp_inf)
    a = act[fin]
    e = exp[fin]
    assert np.all(np.isfinite(a)), f"non-finite where finite expected:\n{act}\nexpected\n{exp}"
    if a.size == 0:
        return
    diff = np.abs(a.astype(np.longdouble) - e.astype(np.longdouble))
    if dtype.itemsize >= 8:
        ok = diff <= rtol * np.abs(e.astype(np.longdouble)) + atol
    else:
        if ulps is None:
            ulps = ULPS32 if dtype == np.float32 else ULPS16
        ulps = np.broadcast_to(np.asarray(ulps, dtype=np.float64), exp.shape)[fin]
        ok = (ulp_error(a, e, dtype) <= ulps) | (diff <= atol)
    assert np.all(ok), (
        f"values differ ({dtype}): worst |diff| {float(diff.max()):.3g}\n{act}\nexpected\n{exp}"
    )


def assert_parity(res, ref, *, values=None, rtol=RTOL64, ulps=None, atol=0.0):
    """`res` (divkern) has `ref`'s (SciPy, same input) type, dtype and shape, and the
    NaN/inf pattern and values of `values` (default: `ref`)."""
    if isinstance(ref, tuple):
        assert isinstance(res, tuple) and len(res) == len(ref)
        vals = values if values is not None else (None,) * len(ref)
        for r, f, v in zip(res, ref, vals):
            assert_parity(r, f, values=v, rtol=rtol, ulps=ulps, atol=atol)
        return
    assert type(res) is type(ref), f"type {type(res).__name__} != SciPy's {type(ref).__name__}"
    res_a, ref_a = np.asarray(res), np.asarray(ref)
    assert res_a.dtype == ref_a.dtype, f"dtype {res_a.dtype} != SciPy's {ref_a.dtype}"
    assert res_a.shape == ref_a.shape, f"shape {res_a.shape} != SciPy's {ref_a.shape}"
    assert_values(res_a, ref_a if values is None else values, res_a.dtype, rtol=rtol, ulps=ulps, atol=atol)


def _max_finite(x):
    x = np.asarray(x, dtype=np.float64)
    f = x[np.isfinite(x)]
    return float(np.max(np.abs(f))) if f.size else 0.0


def _softmax_ulps(x, axis, dtype):
    """float32/float16 allowance for softmax/log_softmax values: a few ulp plus |x - max|."""
    if np.dtype(dtype) != np.float32:
        return None
    x = np.asarray(x, dtype=np.float64)
    if x.size == 0:
        return ULPS32
    with np.errstate(all="ignore"):
        xmax = np.max(x, axis=axis, keepdims=True)
        shift = np.abs(x - xmax)
    return ULPS32 + np.where(np.isfinite(shift), shift, 0.0)


def check(name, *args, **kwargs):
    """Run divkern.<name> and scipy.special.<name> on the same input and compare."""
    res = getattr(divkern, name)(*args, **kwargs)
    ref = scipy_call(name, *args, **kwargs)
    check_against(name, res, ref, *args, **kwargs)
    return res


def check_against(name, res, ref, *args, **kwargs):
    first = ref[0] if isinstance(ref, tuple) else ref
    dtype = np.asarray(first).dtype
    values = None
    tol = {}
    if dtype.kind == "f" and dtype.itemsize < 8:
        # the accurate reference: SciPy in float64 on the same data
        values = _as_f64(scipy_call(name, *[_upcast(a) for a in args],
                                    **{k: _upcast(v) if k == "b" else v for k, v in kwargs.items()}))
    x = args[0]
    if name != "logsumexp":
        axis = kwargs.get("axis")
        if dtype.kind == "f":
            tol["ulps"] = _softmax_ulps(x, axis, dtype)
        eps = float(np.finfo(dtype).eps) if dtype.kind in "fc" else 0.0
        if name == "log_softmax":
            tol["atol"] = 4 * eps * max(1.0, _max_finite(np.real(np.asarray(x))))
    assert_parity(res, ref, values=values, **tol)


# ------------------------------------------------- SciPy's TestLogSumExp, ported


class TestLogSumExpPorted:
    def test_zero_size(self):
        res = check("logsumexp", np.asarray([]))
        assert res == -np.inf and type(res) is np.float64
        r, s = check("logsumexp", np.asarray([]), return_sign=True)
        assert r == -np.inf and s == -1.0

    def test_arange_200(self):
        check("logsumexp", np.arange(200.0))

    def test_large_equal(self):
        res = check("logsumexp", np.asarray([1000.0, 1000.0]))
        assert res == pytest.approx(1000.0 + math.log(2.0), rel=RTOL64)

    def test_full_int_10000(self):
        n = 1000
        res = check("logsumexp", np.full((n,), 10000))
        assert res.dtype == np.float64
        assert res == pytest.approx(10000.0 + math.log(n), rel=RTOL64)

    @pytest.mark.parametrize("axis", [None, 0, 1])
    def test_tiny_values(self, axis):
        x = np.asarray([1e-40] * 1000000)
        logx = np.log(x)
        logX = np.stack([logx, logx])
        res = check("logsumexp", logX, axis=axis)
        np.testing.assert_allclose(np.exp(res), np.sum(np.stack([x, x]), axis=axis), rtol=1e-12)

    @pytest.mark.parametrize("value", [INF, -INF, NAN])
    @pytest.mark.parametrize("return_sign", [False, True])
    def test_special_single(self, value, return_sign):
        check("logsumexp", np.asarray([value]), return_sign=return_sign)

    @pytest.mark.parametrize("return_sign", [False, True])
    def test_all_minus_inf(self, return_sign):
        res = check("logsumexp", np.asarray([-INF, -INF]), return_sign=return_sign)
        assert (res[0] if return_sign else res) == -np.inf

    def test_different_magnitudes(self):
        a = np.asarray([[1e10, 1e-10], [-1e10, -np.inf]])
        res = check("logsumexp", a, axis=-1)
        np.testing.assert_allclose(res, [1e10, -1e10], rtol=RTOL64)
        res = check("logsumexp", a, axis=-1, keepdims=True)
        assert res.shape == (2, 1)
        res = check("logsumexp", a, axis=(-1, -2))
        assert type(res) is np.float64 and res == pytest.approx(1e10, rel=RTOL64)

    def test_b_arange(self):
        a = np.arange(200.0)
        b = np.arange(200.0, 0.0, -1.0)
        check("logsumexp", a, b=b)

    def test_b_constant(self):
        res = check("logsumexp", np.asarray([1000, 1000]), b=np.asarray([1.2, 1.2]))
        assert res == pytest.approx(1000 + math.log(2 * 1.2), rel=RTOL64)

    @pytest.mark.parametrize("axis", [None, 0, 1])
    def test_b_linspace_tiny(self, axis):
        x = np.asarray([1e-40] * 100000)
        b = np.linspace(1, 1000, 100000)
        logX = np.stack((np.log(x), np.log(x)))
        B = np.stack((b, b))
        res = check("logsumexp", logX, b=B, axis=axis)
        np.testing.assert_allclose(np.exp(res), np.sum(B * np.stack((x, x)), axis=axis), rtol=1e-12)

    def test_sign(self):
        r, s = check("logsumexp", np.asarray([1, 1, 1]), b=np.asarray([1, -1, -1]), return_sign=True)
        assert r == pytest.approx(1.0, rel=RTOL64) and s == -1.0

    def test_sign_zero(self):
        r, s = check("logsumexp", np.asarray([1, 1]), b=np.asarray([1, -1]), return_sign=True)
        assert r == -np.inf and s == 0.0
        assert check("logsumexp", np.asarray([1, 1]), b=np.asarray([1, -1])) == -np.inf

    @pytest.mark.parametrize("axis, shape", [(2, (1, 2, 4)), ((1, 3), (1, 3))])
    def test_sign_shape(self, axis, shape):
        a = np.ones((1, 2, 3, 4))
        b = np.ones_like(a)
        r, s = check("logsumexp", a, axis=axis, b=b, return_sign=True)
        assert r.shape == s.shape == shape
        assert check("logsumexp", a, axis=axis, b=b).shape == shape

    def test_complex_sign(self):
        # complex input is delegated to SciPy
        check("logsumexp", np.asarray([1 + 1j, 2 - 1j, -2 + 3j]), return_sign=True)

    def test_b_zero(self):
        res = check("logsumexp", np.asarray([1, 10000]), b=np.asarray([1, 0]))
        assert res == pytest.approx(1.0, rel=RTOL64)

    @pytest.mark.parametrize("axis", [None, 0, 1, 2, 3, -1, (0, 2), (1, 3)])
    @pytest.mark.parametrize("return_sign", [False, True])
    def test_b_shape_broadcast(self, axis, return_sign):
        # a (4,1,2,1) broadcasts up to b (3,1,5): the result has the broadcast shape
        a = np.zeros((4, 1, 2, 1)) + np.arange(8.0).reshape(4, 1, 2, 1)
        b = np.ones((3, 1, 5)) * np.linspace(0.5, 2.0, 5)
        check("logsumexp", a, b=b, axis=axis, return_sign=return_sign)
        check("logsumexp", a, b=b, axis=axis, return_sign=return_sign, keepdims=True)

    @pytest.mark.parametrize("arg", [1, [1, 2, 3]])
    def test_python_scalar_and_list(self, arg):
        res = check("logsumexp", arg)
        assert res == divkern.logsumexp(np.asarray(np.atleast_1d(arg)))

    def test_array_like(self):
        res = check("logsumexp", [1000, 1000])
        assert res == pytest.approx(1000.0 + math.log(2.0), rel=RTOL64)
        check("logsumexp", ((1.0, 2.0), (3.0, 4.0)), axis=1)
        check("logsumexp", [1.0, 2.0], b=(1, -1), return_sign=True)

    @pytest.mark.parametrize("dtype", ["float32", "float64", "int32", "int64", "complex64", "complex128"])
    def test_dtypes_a(self, dtype):
        res = check("logsumexp", np.asarray([1000.0, 1000.0], dtype=dtype))
        desired = np.float64 if np.dtype(dtype).kind == "i" else np.dtype(dtype).type
        assert type(res) is desired

    @pytest.mark.parametrize("dtype_a", ["float32", "float64", "int32", "int64", "complex64", "complex128"])
    @pytest.mark.parametrize("dtype_b", ["float32", "float64", "int32", "int64", "complex64", "complex128"])
    def test_dtypes_ab(self, dtype_a, dtype_b):
        a = np.asarray([2, 1], dtype=dtype_a)
        b = np.asarray([1, -1], dtype=dtype_b)
        res = check("logsumexp", a, b=b)
        desired = np.result_type(dtype_a, dtype_b)
        if desired.kind == "i":
            desired = np.dtype(np.float64)
        assert res.dtype == desired
        assert_values(np.real(res), math.log(math.exp(2) - math.exp(1)), np.real(res).dtype, ulps=ULPS32)

    def test_gh18295(self):
        a = np.asarray([0.0, -40.0])
        res = check("logsumexp", a)
        assert res == pytest.approx(np.logaddexp(a[0], a[1]), rel=RTOL64)

    @pytest.mark.parametrize("dtype", ["complex64", "complex128"])
    def test_gh21610_complex(self, dtype):
        rng = np.random.default_rng(324984329582349862)
        x = (rng.uniform(1, 40, (10, 100)) + 1j * rng.uniform(1, 40, (10, 100))).astype(dtype)
        check("logsumexp", x, axis=1)
        check("logsumexp", x, axis=1, return_sign=True)

    def test_gh21709_small_imaginary(self):
        check("logsumexp", np.asarray([0, 0.0 + 2.2204460492503132e-17j]))

    def test_gh22601_infinite_elements(self):
        values = [-INF, INF]
        for re_, im in itertools.product([-INF, INF], [0.0, -0.0, INF, -INF, 0.7533, 2.3562, 3.9270, 5.4978]):
            values.append(complex(re_, im))
        for x, y in itertools.product(values, repeat=2):
            check("logsumexp", np.asarray([x, y]))

    def test_no_writeback(self):
        a = np.asarray([5.0, 4.0])
        b = np.asarray([3.0, 2.0])
        check("logsumexp", a)
        check("logsumexp", a, b=b)
        check("logsumexp", a, b=b, return_sign=True)
        divkern.logsumexp(a, b=b, out=np.empty(()), threads=2)
        np.testing.assert_array_equal(a, [5.0, 4.0])
        np.testing.assert_array_equal(b, [3.0, 2.0])
        x = np.asarray([[1.0, 2.0], [3.0, 4.0]])
        divkern.softmax(x, axis=0)
        divkern.log_softmax(x, axis=1)
        np.testing.assert_array_equal(x, [[1.0, 2.0], [3.0, 4.0]])

    @pytest.mark.parametrize("x_raw", [1.0, 1.0j, []])
    def test_device_inputs(self, x_raw):
        # SciPy's device-propagation test inputs: plain values, with and without b=x
        x = np.asarray(x_raw)
        check("logsumexp", x)
        check("logsumexp", x, b=x)

    def test_gh22903(self):
        a = np.asarray([3.06409428, 0.37251854, 3.87471931])
        b = np.asarray([1.88190708, 2.84174795, -0.85016884])
        res = check("logsumexp", a, b=b)
        assert res == pytest.approx(divkern.logsumexp(a, b=b, return_sign=True)[0], rel=RTOL64)
        check("logsumexp", a, b=b, return_sign=True)
        b = np.asarray([1.88190708, 2.84174795, -3.85016884])
        assert np.isnan(check("logsumexp", a, b=b))
        check("logsumexp", a, b=b, return_sign=True)

    @pytest.mark.parametrize("a, b, sign_ref", [([INF], None, 1.0), ([INF], [-1.0], -1.0)])
    def test_gh23548(self, a, b, sign_ref):
        val, sign = check("logsumexp", np.asarray(a), b=None if b is None else np.asarray(b), return_sign=True)
        assert np.isinf(val) and sign == sign_ref


# --------------------------------------------------- SciPy's TestSoftmax, ported

_X2 = np.asarray([[-25.0, 0.0, 25.0, 50.0], [1.0, 325.0, 749.0, 750.0]])
_SM2 = np.asarray([[2.678636961770877e-33, 1.9287498479371314e-22, 1.3887943864771144e-11, 0.999999999986112],
                   [0.0, 1.9444526359919372e-185, 0.2689414213699951, 0.7310585786300048]])
_SM_ARANGE4 = np.asarray([0.03205860328008499, 0.08714431874203256, 0.23688281808991013, 0.6439142598879722])


class TestSoftmaxPorted:
    def test_fixtures(self):
        np.testing.assert_allclose(check("softmax", np.asarray([1000.0, 0.0, 0.0, 0.0])), [1, 0, 0, 0], rtol=1e-13)
        np.testing.assert_allclose(check("softmax", np.asarray([1.0, 1.0])), [0.5, 0.5], rtol=1e-13)
        np.testing.assert_allclose(check("softmax", np.asarray([0.0, 1.0])), np.asarray([1, np.e]) / (1 + np.e),
                                   rtol=1e-13)
        x = np.arange(4, dtype=np.float64)
        np.testing.assert_allclose(check("softmax", x), _SM_ARANGE4, rtol=1e-13)
        np.testing.assert_allclose(check("softmax", x + 100), _SM_ARANGE4, rtol=1e-13)  # translation
        res = check("softmax", x.reshape(2, 2))  # axis=None keeps the shape
        np.testing.assert_allclose(res, _SM_ARANGE4.reshape(2, 2), rtol=1e-13)

    def test_multi_axes(self):
        x = np.asarray([[1000.0, 0.0], [1000.0, 0.0]])
        np.testing.assert_allclose(check("softmax", x, axis=0), [[0.5, 0.5], [0.5, 0.5]], rtol=1e-13)
        np.testing.assert_allclose(check("softmax", x, axis=1), [[1, 0], [1, 0]], rtol=1e-13)
        np.testing.assert_allclose(check("softmax", _X2, axis=1), _SM2, rtol=1e-13)
        np.testing.assert_allclose(check("softmax", _X2.T, axis=0), _SM2.T, rtol=1e-13)
        np.testing.assert_allclose(check("softmax", _X2.reshape(2, 2, 2), axis=(1, 2)), _SM2.reshape(2, 2, 2),
                                   rtol=1e-13)

    def test_int_array(self):
        res = check("softmax", np.asarray([1000, 0, 0, 0]))
        np.testing.assert_allclose(res, [1, 0, 0, 0], rtol=1e-13)

    def test_scalar(self):
        res = check("softmax", 1000)
        assert type(res) is np.float64 and res == 1.0

    def test_array_like(self):
        np.testing.assert_allclose(check("softmax", [1000, 0, 0, 0]), [1, 0, 0, 0], rtol=1e-13)
        check("softmax", ((1.0, 2.0), (3.0, 4.0)), axis=0)


# ------------------------------------------------ SciPy's TestLogSoftmax, ported

_LSM_ARANGE4 = np.asarray([-3.4401896985611953, -2.4401896985611953, -1.4401896985611953, -0.44018969856119533])


class TestLogSoftmaxPorted:
    def test_basic(self):
        np.testing.assert_allclose(check("log_softmax", np.asarray([1000.0, 1.0])), [0.0, -999.0], rtol=1e-13)

    def test_int_array(self):
        np.testing.assert_allclose(check("log_softmax", np.asarray([1000, 1])), [0.0, -999.0], rtol=1e-13)

    def test_scalar(self):
        res = check("log_softmax", 1.0)
        assert type(res) is np.float64 and res == 0.0

    def test_array_like(self):
        np.testing.assert_allclose(check("log_softmax", [1000, 1]), [0.0, -999.0], rtol=1e-13)

    @pytest.mark.parametrize("offset", [0, 100])
    def test_translation(self, offset):
        np.testing.assert_allclose(check("log_softmax", np.arange(4.0) + offset), _LSM_ARANGE4, rtol=1e-13)

    def test_none_axis(self):
        res = check("log_softmax", np.arange(4.0).reshape(2, 2))
        np.testing.assert_allclose(res, _LSM_ARANGE4.reshape(2, 2), rtol=1e-13)

    @pytest.mark.parametrize("axis, expected", [(0, np.log(0.5) * np.ones((2, 2))),
                                                (1, [[0.0, -999.0], [0.0, -999.0]])])
    def test_axes(self, axis, expected):
        res = check("log_softmax", np.asarray([[1000.0, 1.0], [1000.0, 1.0]]), axis=axis)
        np.testing.assert_allclose(res, expected, rtol=1e-13)

    def test_2d(self):
        x = np.arange(8.0).reshape(2, 4)
        expect = np.stack([_LSM_ARANGE4, _LSM_ARANGE4])
        np.testing.assert_allclose(check("log_softmax", x, axis=1), expect, rtol=1e-13)
        np.testing.assert_allclose(check("log_softmax", x.T, axis=0), expect.T, rtol=1e-13)

    def test_3d_tuple_axis(self):
        x = np.arange(8.0).reshape(2, 2, 2)
        expect = np.stack([_LSM_ARANGE4, _LSM_ARANGE4]).reshape(2, 2, 2)
        np.testing.assert_allclose(check("log_softmax", x, axis=(1, 2)), expect, rtol=1e-13)


# ---------------------------------------------------------- SciPy's edge table


@pytest.mark.parametrize("a, b", [
    ([INF, 1.0], [-1.0, 1.0]),      # nan
    ([INF, INF], [1.0, -1.0]),      # nan
    ([INF, 1.0], [0.0, 1.0]),       # 1.0: a zero weight masks +inf
    ([NAN, 1.0], [0.0, 1.0]),       # 1.0: a zero weight masks nan
    ([NAN, INF], [0.0, 1.0]),       # nan (as SciPy: the masked nan still meets +inf)
    ([1.0, 2.0], [1.0, -1.0]),      # nan; (1.5413..., -1) with the sign
    ([1.0, 2.0], [0.0, 0.0]),       # -inf, sign 0
    ([-INF, 1.0], [1.0, 1.0]),
    ([INF, -INF], [1.0, 1.0]),
    ([INF, NAN], [1.0, 1.0]),
    ([-INF, -INF], [1.0, -1.0]),
    ([1.0, 1.0, 1.0], [1.0, -1.0, -1.0]),
    ([0.0, 0.0, -50.0], [1.0, -1.0, -1.0]),
    ([1000.0, 1.0], [-1.0, 1.0]),
    ([INF, 1.0], [-1.0, 0.0]),
    ([-1.0], [-2.0]),
])
@pytest.mark.parametrize("return_sign", [False, True])
def test_logsumexp_edge_table(a, b, return_sign):
    check("logsumexp", np.asarray(a), b=np.asarray(b), return_sign=return_sign)


def test_logsumexp_edge_table_values():
    assert np.isnan(divkern.logsumexp([INF, 1.0], b=[-1, 1]))
    assert np.isnan(divkern.logsumexp([INF, INF], b=[1, -1]))
    assert divkern.logsumexp([INF, 1.0], b=[0, 1]) == 1.0
    assert divkern.logsumexp([NAN, 1.0], b=[0, 1]) == 1.0
    assert np.isnan(divkern.logsumexp([1, 2], b=[1, -1]))
    r, s = divkern.logsumexp([1, 2], b=[1, -1], return_sign=True)
    assert r == pytest.approx(1.5413248546129181, rel=RTOL64) and s == -1.0
    r, s = divkern.logsumexp([1, 2], b=[0, 0], return_sign=True)
    assert r == -np.inf and s == 0.0


def test_logsumexp_nan_masked_inf_weighted():
    # SciPy's table: [nan, inf] with b=[0, 1] gives nan
    assert np.isnan(check("logsumexp", np.asarray([NAN, INF]), b=np.asarray([0.0, 1.0])))


@pytest.mark.parametrize("return_sign", [False, True])
@pytest.mark.parametrize("keepdims", [False, True])
def test_logsumexp_minus_inf_rows(return_sign, keepdims):
    res = check("logsumexp", np.asarray([[-INF, -INF], [0.0, 0.0]]), axis=1, return_sign=return_sign,
                keepdims=keepdims)
    r = res[0] if return_sign else res
    np.testing.assert_allclose(np.ravel(r), [-np.inf, np.log(2.0)], rtol=RTOL64)


@pytest.mark.parametrize("name", ["logsumexp", "softmax", "log_softmax"])
@pytest.mark.parametrize("shape", [(2, 3), (4,), (2, 1, 3)])
def test_empty_tuple_axis_means_no_reduction(name, shape):
    x = np.arange(np.prod(shape), dtype=np.float64).reshape(shape) - 2.0
    res = check(name, x, axis=())
    assert res.shape == shape
    if name == "logsumexp":
        np.testing.assert_array_equal(res, x)
        check(name, x, axis=(), return_sign=True)
        check(name, x, axis=(), keepdims=True)
        check(name, x, axis=(), b=np.full(shape, -2.0), return_sign=True)


@pytest.mark.parametrize("shape", [(0,), (0, 3), (3, 0), (2, 0, 4)])
@pytest.mark.parametrize("axis", [None, 0, 1, -1, (0, 1)])
@pytest.mark.parametrize("return_sign", [False, True])
@pytest.mark.parametrize("keepdims", [False, True])
def test_logsumexp_empty(shape, axis, return_sign, keepdims):
    x = np.zeros(shape)
    try:
        ref = scipy_call("logsumexp", x, axis=axis, return_sign=return_sign, keepdims=keepdims)
    except np.exceptions.AxisError:
        with pytest.raises(np.exceptions.AxisError):
            divkern.logsumexp(x, axis=axis, return_sign=return_sign, keepdims=keepdims)
        return
    except IndexError:
        # SciPy 1.17 fails ("too many indices") on an empty >=2-d array reduced over
        # more than one axis, and with an IndexError for an out-of-range axis of an empty
        # array; the result of an empty sum is -inf with sign -1
        try:
            out_shape = np.sum(x, axis=axis, keepdims=keepdims).shape
        except np.exceptions.AxisError:
            with pytest.raises(np.exceptions.AxisError):
                divkern.logsumexp(x, axis=axis, return_sign=return_sign, keepdims=keepdims)
            return
        r = np.full(out_shape, -np.inf)
        r = r[()] if r.ndim == 0 else r
        ref = (r, -np.ones_like(r)) if return_sign else r
    res = divkern.logsumexp(x, axis=axis, return_sign=return_sign, keepdims=keepdims)
    assert_parity(res, ref)
    # with weights that broadcast
    res = divkern.logsumexp(x, axis=axis, b=np.ones(shape[-1:]), return_sign=return_sign, keepdims=keepdims)
    assert_parity(res, ref)


def test_logsumexp_empty_zeros_0x3():
    np.testing.assert_array_equal(check("logsumexp", np.zeros((0, 3)), axis=0), [-np.inf] * 3)
    assert check("logsumexp", np.zeros((0, 3)), axis=1).shape == (0,)
    r, s = check("logsumexp", np.zeros((0, 3)), axis=0, return_sign=True)
    np.testing.assert_array_equal(s, [-1.0] * 3)


@pytest.mark.parametrize("axis", [None, 0, -1, (), (0,), (-1,)])
@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("return_sign", [False, True])
@pytest.mark.parametrize("value", [3.0, -INF, INF, NAN])
def test_logsumexp_0d(axis, keepdims, return_sign, value):
    check("logsumexp", np.asarray(value), axis=axis, keepdims=keepdims, return_sign=return_sign)
    check("logsumexp", np.asarray(value), b=np.asarray(-2.0), axis=axis, keepdims=keepdims,
          return_sign=return_sign)


@pytest.mark.parametrize("a, b", [
    (1.0, None), (1, None), (True, None), (np.float32(1.5), None), (np.float16(1.5), None), (np.int8(3), None),
    (1.0, 2), (np.float32(1.0), 2.0), (np.float32(1.0), np.float64(2.0)), (np.float16(1.0), 1),
    (1.0, [1.0, 2.0]), ([1.0, 2.0], 0.5), (np.float32([1.0, 2.0]), 2.0), ([[1.0, 2.0]], np.asarray(2.0)),
    ([[1.0, 2.0]], 0.0), (2, np.int8([1, 2])), ([1.0], [[1.0], [2.0]]),
])
@pytest.mark.parametrize("return_sign", [False, True])
def test_logsumexp_scalars_and_promotion(a, b, return_sign):
    check("logsumexp", a, b=b, return_sign=return_sign)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("row", [[-INF, -INF], [INF, 1.0], [NAN, 1.0], [-INF, 1.0], [INF, INF], [INF, -INF],
                                 [1.0, NAN, INF], [-INF, 0.0, -INF], [1e308, -1e308], [-1e308, -1e308]])
def test_softmax_special_rows(name, row):
    x = np.asarray(row)
    check(name, x)
    # the same rows stacked, normalised along either axis
    X = np.stack([x, x[::-1], np.arange(x.size, dtype=np.float64)])
    check(name, X, axis=1)
    check(name, X.T, axis=0)
    check(name, X, axis=0)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_no_warnings_on_special_rows(name):
    # divkern does not warn where SciPy's softmax does (filterwarnings=error catches one)
    getattr(divkern, name)(np.asarray([[INF, 1.0], [-INF, -INF], [NAN, 0.0]]), axis=1)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("shape, axis, raises", [
    ((3, 0), 1, True), ((3, 0), None, True), ((3, 0), 0, False), ((3, 0), (0, 1), True),
    ((0, 3), 1, False), ((0, 3), 0, True), ((0, 3), None, True), ((0,), None, True), ((0,), 0, True),
    ((2, 0, 3), 2, False), ((2, 0, 3), (0, 2), False), ((2, 0, 3), 1, True),
])
def test_softmax_empty(name, shape, axis, raises):
    x = np.zeros(shape)
    if raises:
        with pytest.raises(ValueError, match="zero-size array"):
            scipy_call(name, x, axis=axis)
        with pytest.raises(ValueError, match="zero-size array"):
            getattr(divkern, name)(x, axis=axis)
    else:
        check(name, x, axis=axis)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("axis", [None, ()])
@pytest.mark.parametrize("value", [3.0, -INF, INF, NAN, 7])
def test_softmax_0d(name, axis, value):
    res = check(name, np.asarray(value), axis=axis)
    assert np.ndim(res) == 0
    check(name, value, axis=axis)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("axis", [0, -1])
def test_softmax_0d_axis0(name, axis):
    check(name, np.asarray(3.0), axis=axis)


@pytest.mark.parametrize("a, b", [([-1000.0], [-0.5]), ([-800.0, -7.0], [-0.5, 0.0]), ([-1000.0, -1000.0], [-0.5, 0.1])])
def test_logsumexp_negative_underflow(a, b):
    # Documented deviation: the weighted sum is negative, so its log is NaN (and the sign
    # -1); SciPy returns -inf because its fallback formula underflows to -0.0.
    assert np.isnan(divkern.logsumexp(np.asarray(a), b=np.asarray(b)))
    res, sign = divkern.logsumexp(np.asarray(a), b=np.asarray(b), return_sign=True)
    assert sign == -1 and np.isfinite(res)


def test_logsumexp_special_weights_table():
    # every pair of (a, b) elements from special values, with and without the sign
    a_vals = [-INF, INF, NAN, 0.0, 1.0, -1.0]
    b_vals = [0.0, -0.0, 1.0, -1.0, 2.0, INF, -INF, NAN]
    pairs = list(itertools.product(a_vals, b_vals))
    for (a1, b1), (a2, b2) in itertools.product(pairs, repeat=2):
        a, b = np.asarray([a1, a2]), np.asarray([b1, b2])
        for return_sign in (False, True):
            check("logsumexp", a, b=b, return_sign=return_sign)


@pytest.mark.parametrize("a, b", [
    ([0.0, 1.0], [1.0, 1e-310]),             # SciPy and exact: 0.0
    ([5.0, 0.0], [-1e-320, 1.0]),            # 0.0
    ([0.0, 0.5, 1.0], [1.0, 1.0, 1e-310]),   # 0.97407698418010...
    ([0.0, -1.0], [1e-10, 1e300]),           # 689.7755278982137
    ([0.0, -1.0], [1e-160, 1e160]),          # 367.4136148790473
])
@pytest.mark.parametrize("return_sign", [False, True])
def test_logsumexp_extreme_weight_ratio(a, b, return_sign):
    check("logsumexp", np.asarray(a), b=np.asarray(b), return_sign=return_sign)


def test_logsumexp_extreme_weight_ratio_underflow():
    a, b = np.asarray([-1000.0, -700.0]), np.asarray([1.7e308, 1e-310])
    exact = math.log(1.7e308) - 1000.0  # the second term, 1e-310 * exp(-700), is negligible
    res = divkern.logsumexp(a, b=b)
    assert res == -np.inf or res == pytest.approx(exact, rel=1e-13)  # SciPy's -inf or the exact value


# -------------------------------------------------------- documented deviations


def test_deviation_log_softmax_keeps_tiny_negative():
    x = np.asarray([17.942385, 0.0], dtype=np.float32)
    res = divkern.log_softmax(x)
    assert res.dtype == np.float32
    exact = -math.log1p(math.exp(-float(x[0])))
    assert res[0] < 0  # SciPy returns exactly 0 here (scipy#19521)
    assert ulp_error(res[0], exact, np.float32) <= ULPS32
    # float64 too: the dominant element keeps -exp(-d)
    r64 = divkern.log_softmax(np.asarray([40.0, 0.0]))
    assert r64[0] == pytest.approx(-math.exp(-40.0), rel=1e-13)


@pytest.mark.parametrize("a, b", [([800.0, 800.0], [1.0, -1.0]), ([710.0, 710.0], [2.0, -2.0]),
                                  ([1000.0, 1000.0, 1000.0], [1.0, 1.0, -2.0])])
def test_deviation_overflowing_cancellation(a, b):
    ref = scipy_call("logsumexp", np.asarray(a), b=np.asarray(b), return_sign=True)
    assert np.isnan(ref[0])  # SciPy's direct formula overflows
    r, s = divkern.logsumexp(np.asarray(a), b=np.asarray(b), return_sign=True)
    assert r == -np.inf and s == 0.0
    assert divkern.logsumexp(np.asarray(a), b=np.asarray(b)) == -np.inf


def test_deviation_float32_accumulation():
    # SciPy accumulates float32 row sums of a Fortran array in float32 (tens of ulp off);
    # divkern stays within 2 ulp of the float64 result (softmax: its |x - max| allowance)
    rng = np.random.default_rng(7)
    x = np.asfortranarray(rng.normal(0, 3, (17, 5000)).astype(np.float32))
    ref64 = scipy_call("logsumexp", x.astype(np.float64), axis=1)
    res = divkern.logsumexp(x, axis=1)
    assert np.max(ulp_error(res, ref64, np.float32)) <= 2
    s64 = scipy_call("softmax", x.astype(np.float64), axis=1)
    sres = divkern.softmax(x, axis=1)
    assert np.all(ulp_error(sres, s64, np.float32) <= _softmax_ulps(x, 1, np.float32))


# ----------------------------------------------------------------------- layouts

_LAYOUTS = {
    "C": lambda a: np.ascontiguousarray(a),
    "F": lambda a: np.asfortranarray(a),
    "reversed0": lambda a: a[::-1],
    "reversed1": lambda a: a[:, ::-1],
    "reversed_all": lambda a: a[::-1, ::-1, ::-1],
    "step_axis1": lambda a: a[:, ::2],
    "step_axis0": lambda a: a[::3],
    "transposed": lambda a: a.transpose(2, 0, 1),
    "broadcast_axis1": lambda a: np.broadcast_to(a[:, :1, :], a.shape),
    "broadcast_axis0": lambda a: np.broadcast_to(a[:1], a.shape),
}
_AXES = [None, 0, 1, 2, -1, (0, 1), (0, 2), (1, 2), (2, 0)]


def _layout_data(dtype, seed=11):
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 4 if dtype == np.float32 else 30, (13, 37, 6))
    if dtype == np.float64:
        x[2, 5, 1] = INF
        x[7, :, 3] = -INF
        x[9, 30, 0] = NAN
        x[4, 3, 2] = 800.0
    return x.astype(dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("layout", sorted(_LAYOUTS))
@pytest.mark.parametrize("name", ["logsumexp", "softmax", "log_softmax"])
def test_layouts(name, layout, dtype):
    make = _LAYOUTS[layout]
    base = _layout_data(dtype)
    x = make(base)
    for axis in _AXES:
        check(name, x, axis=axis)
        if name == "logsumexp":
            check(name, x, axis=axis, keepdims=True)
            w = make(np.random.default_rng(5).uniform(0.1, 2.0, base.shape).astype(dtype))
            check(name, x, axis=axis, b=w)
            if dtype == np.float64:
                ws = np.random.default_rng(6).normal(0, 1, base.shape)
                ws[ws < -1.2] = 0.0
                check(name, x, axis=axis, b=make(ws), return_sign=True)


@pytest.mark.parametrize("name", ["logsumexp", "softmax", "log_softmax"])
@pytest.mark.parametrize("n", [1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 33, 63, 65, 129, 1000])
def test_row_lengths_around_vector_widths(name, n):
    rng = np.random.default_rng(n)
    x = rng.normal(0, 20, (5, n))
    x[1, rng.integers(n)] = INF
    x[2, rng.integers(n)] = NAN
    x[3, :] = -INF
    x[4, rng.integers(n)] = -INF
    for arr in (x, np.asfortranarray(x), np.repeat(x, 2, axis=1)[:, ::2], x[:, ::-1]):
        for axis in (1, 0, None):
            check(name, arr, axis=axis)
            check(name, arr[:1], axis=axis)
    if name == "logsumexp":
        b = rng.normal(0, 1, (5, n))
        check(name, x, axis=1, b=b, return_sign=True)
        check(name, np.asfortranarray(x), axis=0, b=b, return_sign=True)


def _column_specials(n, width, dtype):
    """Columns whose special values sit in different blocks of a long axis-0 reduction."""
    rng = np.random.default_rng(width)
    x = rng.normal(0, 3, (n, width))
    x[: n // 2, 0] = -INF                      # -inf for the first blocks, then finite
    x[n - 1, 1] = INF                          # +inf in the last block
    x[2 * n // 3, 2] = NAN                     # NaN late
    x[:, 3] = -INF                             # all -inf
    x[:, 4] = -INF
    x[n - 1, 4] = 5.0                          # a single finite element, last
    x[:, 5] = np.linspace(-50, 50, n)          # the running maximum grows in every block
    x[:, 6] = np.linspace(50, -50, n)          # ... or never after the first
    x[n // 3, 7] = 80.0                        # one dominant element mid-way
    x[10, 8], x[n - 5, 8] = INF, NAN           # +inf, then NaN
    x[: n // 4, 9] = 1e30 if dtype == np.float32 else 1e300  # huge early values, then ordinary
    x[7::11, 10] = -INF
    return x.astype(dtype)


@pytest.mark.parametrize("name", ["logsumexp", "softmax", "log_softmax"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n, width", [(3000, 40), (2000, 37), (1500, 41), (700, 5000), (70000, 11)])
def test_column_blocks_special_values(name, dtype, n, width):
    # axis-0 reductions of C-ordered arrays run blockwise with lanes across the columns;
    # every block's sums are relative to the running maximum of the column; widths that
    # leave partial vectors at every ISA level, and a reduction split into several chunks
    x = _column_specials(n, width, dtype)
    check(name, x, axis=0)
    check(name, x[:, ::-1], axis=0)
    check(name, x.T, axis=1)


@pytest.mark.parametrize("name", ["logsumexp", "softmax", "log_softmax"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", [16, 33, 300, 5000])
def test_masked_and_far_below_the_maximum(name, dtype, n):
    # -inf masks (exp gives exactly 0) and finite values whose exponentials relative to
    # the maximum are subnormal or underflow: computed apart from the ordinary lanes
    rng = np.random.default_rng(n)
    x = rng.normal(0, 2, (12, n))
    x[0, ::2] = -np.inf                                    # half masked
    x[1, 1:] = -np.inf                                     # one element left
    x[2] = x[2].max() - rng.uniform(86, 106, n)            # float32 subnormal range
    x[2, 0] = x[2].max() + 100
    x[3] = x[3].max() - rng.uniform(700, 750, n)           # float64 subnormal range
    x[3, n // 2] = 0.0
    x[4, :: 3] = -np.inf
    x[4, 1::3] -= 95                                       # masks and subnormals in one vector
    x[5, :] = -np.inf
    x[6, 1:] = -1e30                                       # huge gaps
    x = x.astype(dtype)
    for arr in (x, np.asfortranarray(x)):
        check(name, arr, axis=1)
        check(name, arr.T, axis=0)


@pytest.mark.parametrize("name", ["logsumexp", "softmax", "log_softmax"])
@pytest.mark.parametrize("dtype", [">f2", ">f4", ">f8", "<f4", ">i4"])
def test_non_native_byte_order(name, dtype):
    x = np.random.default_rng(18).normal(0, 3, (6, 40))
    if dtype.endswith("i4"):
        x = np.round(x)
    xb = x.astype(dtype)
    res = check(name, xb, axis=1)
    np.testing.assert_array_equal(res, getattr(divkern, name)(xb.astype(xb.dtype.newbyteorder("=")), axis=1))
    if name == "logsumexp":
        check(name, xb, axis=1, b=np.linspace(0, 1, 40).astype(dtype))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_unaligned_input_and_out(dtype):
    # SciPy takes unaligned arrays (np.frombuffer at an odd offset, packed records)
    item = np.dtype(dtype).itemsize
    raw = np.zeros(item * 240 + 1, np.uint8)
    x = np.frombuffer(raw.data, dtype, count=240, offset=1).reshape(12, 20).copy()
    x[...] = np.random.default_rng(19).normal(0, 3, x.shape)
    ux = np.frombuffer(bytearray(b"\0" + x.tobytes()), dtype, offset=1).reshape(12, 20)
    assert not ux.flags.aligned
    for name in ("logsumexp", "softmax", "log_softmax"):
        check(name, ux, axis=1)
        check(name, ux, axis=0)
    check("logsumexp", x, axis=1, b=np.frombuffer(bytearray(b"\0" + np.ones(20, dtype).tobytes()), dtype, offset=1))
    out = np.frombuffer(bytearray(1 + 12 * item), dtype, offset=1)
    divkern.logsumexp(x, axis=1, out=out)
    np.testing.assert_array_equal(out, divkern.logsumexp(x, axis=1))
    out2 = np.frombuffer(bytearray(1 + 240 * item), dtype, offset=1).reshape(12, 20)
    divkern.softmax(x, axis=1, out=out2)
    np.testing.assert_array_equal(out2, divkern.softmax(x, axis=1))


def test_non_native_out():
    x = np.random.default_rng(20).normal(0, 3, (5, 9))
    xb = x.astype(">f8")
    out = np.empty((5, 9), ">f8")
    assert divkern.softmax(xb, axis=1, out=out) is out
    np.testing.assert_array_equal(out, divkern.softmax(x, axis=1))
    assert divkern.log_softmax(xb, axis=1, out=xb) is xb  # in place
    np.testing.assert_array_equal(xb, divkern.log_softmax(x, axis=1))
    o = np.empty(5, ">f8")
    divkern.logsumexp(x, axis=1, out=o)
    np.testing.assert_array_equal(o, divkern.logsumexp(x, axis=1))


def test_unaligned_float16():
    buf = np.zeros(2 * 300 + 1, np.uint8)
    x = np.frombuffer(buf.data, np.float16, count=300, offset=1)
    assert not x.flags.aligned
    for name in ("logsumexp", "softmax", "log_softmax"):
        check(name, x)


@pytest.mark.parametrize("name", ["logsumexp", "softmax", "log_softmax"])
def test_float16_layouts(name):
    # contiguous float16 goes through divkern's own conversion, other layouts through NumPy's
    x = np.random.default_rng(17).normal(0, 4, (70, 300)).astype(np.float16)
    x[3, 5], x[4, :] = np.inf, -np.inf
    for arr in (x, np.asfortranarray(x), x[:, ::2], x[::-1]):
        for axis in (1, 0, None):
            res = check(name, arr, axis=axis)
            assert np.asarray(res).dtype == np.float16


@pytest.mark.parametrize("threads", [1, 2, 3, 8])
def test_large_threaded(threads):
    rng = np.random.default_rng(3)
    big = rng.normal(0, 5, (1500, 400))
    for axis in (0, 1, None):
        for name in ("logsumexp", "softmax", "log_softmax"):
            res = getattr(divkern, name)(big, axis=axis, threads=threads)
            check_against(name, res, scipy_call(name, big, axis=axis), big, axis=axis)


# ------------------------------------------------------------------------ dtypes

_DTYPES = ["float16", "float32", "float64", "int8", "uint8", "int16", "uint16", "int32", "int64", "bool"]


def _dtype_data(dtype):
    rng = np.random.default_rng(2)
    if dtype == "bool":
        return rng.integers(0, 2, (4, 6)).astype(bool)
    if np.dtype(dtype).kind in "iu":
        lo = 0 if np.dtype(dtype).kind == "u" else -9
        return rng.integers(lo, 10, (4, 6)).astype(dtype)
    return rng.normal(0, 3, (4, 6)).astype(dtype)


@pytest.mark.parametrize("dtype", _DTYPES)
@pytest.mark.parametrize("axis", [None, 0, 1])
def test_dtype_logsumexp(dtype, axis):
    x = _dtype_data(dtype)
    check("logsumexp", x, axis=axis)
    check("logsumexp", x, axis=axis, b=x)
    check("logsumexp", x, axis=axis, b=np.ones(x.shape[-1], dtype=dtype), return_sign=True)
    check("logsumexp", x[0, 0], axis=None)


@pytest.mark.parametrize("dtype", _DTYPES)
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("axis", [None, 0, 1])
def test_dtype_softmax(dtype, name, axis):
    x = _dtype_data(dtype)
    if dtype == "bool":
        with pytest.raises(TypeError):
            scipy_call(name, x, axis=axis)
        with pytest.raises(TypeError, match="x"):
            getattr(divkern, name)(x, axis=axis)
        return
    res = getattr(divkern, name)(x, axis=axis)
    ref = scipy_call(name, x, axis=axis)  # fixes type, dtype and shape
    expected_dtype = {"int8": np.float16, "uint8": np.float16, "int16": np.float32, "uint16": np.float32}.get(
        dtype, np.float64 if np.dtype(dtype).kind == "i" else np.dtype(dtype))
    assert res.dtype == expected_dtype
    # values: SciPy in float64 (SciPy's own unsigned path wraps around in x - max)
    values = scipy_call(name, x.astype(np.float64), axis=axis)
    tol = {}
    if res.dtype == np.float32:
        tol["ulps"] = _softmax_ulps(x, axis, np.float32)
    if name == "log_softmax":
        tol["atol"] = 4 * float(np.finfo(res.dtype).eps) * max(1.0, _max_finite(x))
    assert_parity(res, ref, values=values, **tol)
    # 0-d
    check(name, x[0, 0])


@pytest.mark.parametrize("dtype", ["uint8", "uint16", "uint32", "uint64", "int8"])
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_integer_softmax_no_wraparound(dtype, name):
    # SciPy computes x - max in the integer dtype, which wraps around for unsigned
    # input (and int8 [-128, 127]); divkern follows the mathematical definition.
    info = np.iinfo(dtype)
    x = np.asarray([info.min, info.min + 1, 2, info.max], dtype=dtype)
    res = getattr(divkern, name)(x)
    assert res.dtype == np.asarray(scipy_call(name, x)).dtype
    values = scipy_call(name, x.astype(np.float64))
    assert_values(res, values, res.dtype, atol=4 * float(np.finfo(res.dtype).eps) * float(info.max))


@pytest.mark.parametrize("name", ["logsumexp", "softmax", "log_softmax"])
@pytest.mark.parametrize("dtype", [np.longdouble, np.complex64, np.complex128])
def test_delegated_dtypes(name, dtype):
    x = (np.arange(12.0).reshape(3, 4) - 5).astype(dtype)
    if np.dtype(dtype).kind == "c":
        x = x + 1j * np.linspace(-4, 4, 12).reshape(3, 4)
    for axis in (None, 0, 1):
        check(name, x, axis=axis)
    if name == "logsumexp":
        check(name, x, axis=1, b=np.asarray([1, -1, 2, 0]), return_sign=True, keepdims=True)


# --------------------------------------------------------------------------- out=


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.float16])
@pytest.mark.parametrize("axis, keepdims", [(0, False), (1, False), (None, False), (0, True), (None, True),
                                            ((0, 1), False)])
def test_out_logsumexp(dtype, axis, keepdims):
    x = np.random.default_rng(1).normal(size=(4, 5)).astype(dtype)
    expected = divkern.logsumexp(x, axis=axis, keepdims=keepdims)
    out = np.full(np.shape(expected), 7.0, dtype=dtype)
    res = divkern.logsumexp(x, axis=axis, keepdims=keepdims, out=out)
    assert res is out
    np.testing.assert_array_equal(out, expected)
    out2 = np.full(np.shape(expected), 7.0, dtype=dtype)
    res, sign = divkern.logsumexp(x, axis=axis, keepdims=keepdims, b=-np.ones_like(x), out=out2, return_sign=True)
    assert res is out2
    np.testing.assert_array_equal(out2, expected)
    np.testing.assert_array_equal(sign, -1.0)


def test_out_logsumexp_0d_and_strided():
    x = np.arange(6.0).reshape(2, 3)
    out = np.empty(())
    res = divkern.logsumexp(x, out=out)
    assert res is out and type(res) is np.ndarray
    assert out[()] == divkern.logsumexp(x)
    big = np.full(10, 7.0)
    res = divkern.logsumexp(x, axis=0, out=big[::3][:3])  # elements 0, 3, 6
    np.testing.assert_array_equal(res, divkern.logsumexp(x, axis=0))
    np.testing.assert_array_equal(big[[1, 2, 4, 5, 7, 8, 9]], 7.0)  # nothing else written
    # out aliasing the input
    xc = x.copy()
    expected = divkern.logsumexp(x, axis=0)
    divkern.logsumexp(xc, axis=0, out=xc[0])
    np.testing.assert_array_equal(xc[0], expected)
    # integer input, float64 out; empty input
    np.testing.assert_array_equal(divkern.logsumexp(np.arange(6).reshape(2, 3), axis=0, out=np.empty(3)),
                                  scipy_call("logsumexp", np.arange(6).reshape(2, 3), axis=0))
    out = np.full(3, 7.0)
    assert divkern.logsumexp(np.zeros((0, 3)), axis=0, out=out) is out
    np.testing.assert_array_equal(out, -np.inf)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("offset", [0, 1, 5])
def test_out_logsumexp_many_rows(dtype, offset):
    # >= 1 MiB of results (written with non-temporal stores from the first aligned
    # vector on) into an out= array that starts anywhere in its buffer, and signs
    rng = np.random.default_rng(23)
    rows = 300_001 if dtype == np.float32 else 150_001
    x = rng.standard_normal((rows, 6)).astype(dtype)
    x[::1000, 2] = 40.0
    x[7, :] = -np.inf
    x[9, 3] = np.nan
    b = np.where(rng.random((rows, 6)) < 0.5, -1.0, 1.0).astype(dtype)
    out_buf = np.full(rows + 8, 7.0, dtype=dtype)
    out = out_buf[offset:offset + rows]
    expected = scipy_call("logsumexp", x.astype(np.float64), axis=1)  # float32: within 2 ulp of it
    res = divkern.logsumexp(x, axis=1, out=out)
    assert res is out
    np.testing.assert_allclose(out, expected, rtol=2.4e-7 if dtype == np.float32 else 1e-15)
    assert np.isneginf(out[7]) and np.isnan(out[9])
    np.testing.assert_array_equal(out, divkern.logsumexp(x, axis=1))
    r, sg = divkern.logsumexp(x, axis=1, b=b, return_sign=True, out=out)
    # (weighted sums are computed in double: against SciPy in double, which float32 SciPy
    # misses by up to 1% where the signed terms cancel)
    r0, sg0 = scipy_call("logsumexp", x.astype(np.float64), axis=1, b=b.astype(np.float64), return_sign=True)
    assert r is out
    np.testing.assert_allclose(r, r0, rtol=2.4e-7 if dtype == np.float32 else 1e-13,
                               atol=0 if dtype == np.float32 else 1e-11)  # float64 cancels too
    np.testing.assert_array_equal(sg, sg0)
    assert np.all(out_buf[:offset] == 7.0) and np.all(out_buf[offset + rows:] == 7.0)  # nothing around the view


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("axis", [None, 0, 1, (0, 1)])
@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.float16])
def test_out_softmax(name, axis, dtype):
    f = getattr(divkern, name)
    x = np.random.default_rng(2).normal(0, 3, (6, 7)).astype(dtype)
    expected = f(x, axis=axis)
    out = np.full_like(x, 7)
    assert f(x, axis=axis, out=out) is out
    np.testing.assert_array_equal(out, expected)
    # in place, C and Fortran order
    for arr in (x.copy(), np.asfortranarray(x)):
        exp_arr = f(arr, axis=axis)
        assert f(arr, axis=axis, out=arr) is arr
        np.testing.assert_array_equal(arr, exp_arr)
    # out overlapping x in another order, and out in another memory order
    xc = x.copy()
    rev = xc[:, ::-1]
    f(xc, axis=axis, out=rev)
    np.testing.assert_array_equal(rev, expected)
    fo = np.asfortranarray(np.zeros_like(x))
    f(x, axis=axis, out=fo)
    assert_values(fo, expected, dtype, rtol=1e-15, ulps=1, atol=4 * float(np.finfo(dtype).eps) * 10)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_out_softmax_0d_int_empty_complex(name):
    f = getattr(divkern, name)
    out = np.empty(())
    assert f(np.asarray(3.0), out=out) is out and out[()] == f(3.0)
    out = np.empty(2, np.float16)
    assert f(np.asarray([1, 2], np.int8), out=out) is out
    np.testing.assert_array_equal(out, f(np.asarray([1, 2], np.int8)))
    out = np.empty((0, 3))
    assert f(np.zeros((0, 3)), axis=1, out=out) is out
    z = np.asarray([1 + 1j, 2 - 1j])
    out = np.empty(2, complex)
    assert f(z, out=out) is out
    np.testing.assert_array_equal(out, scipy_call(name, z))


@pytest.mark.parametrize("name", ["logsumexp", "softmax", "log_softmax"])
def test_out_wrong_shape_or_dtype(name):
    f = getattr(divkern, name)
    x = np.ones((2, 3))
    shape = (3,) if name == "logsumexp" else (2, 3)
    with pytest.raises(ValueError, match="out"):
        f(x, axis=0, out=np.empty(shape + (1,)))
    with pytest.raises(TypeError, match="out"):
        f(x, axis=0, out=np.empty(shape, np.float32))


# ----------------------------------------------------------- divkern.special


def test_special_exports_same_objects():
    assert divkern.special.logsumexp is divkern.logsumexp
    assert divkern.special.softmax is divkern.softmax
    assert divkern.special.log_softmax is divkern.log_softmax
    assert sorted(divkern.special.__all__) == ["entr", "kl_div", "log_softmax", "logsumexp", "rel_entr", "softmax"]
    for name in divkern.special.__all__:
        if name in ("logsumexp", "softmax", "log_softmax"):
            assert getattr(divkern.special, name) is getattr(divkern, name)
        assert hasattr(sps, name)
