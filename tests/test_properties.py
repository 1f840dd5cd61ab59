# Property tests against SciPy over random shapes, axes, keepdims, weights, dtypes,
# special values and memory layouts (hypothesis). The reference is SciPy evaluated on the
# inputs cast to float64, so divkern's float32/float16 results are held to a tolerance
# of their own precision; dtype, shape and the NaN/inf pattern must match exactly.
import os
import warnings

import numpy as np
import pytest
import scipy.special as sps
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import divkern

# DIVKERN_HYPOTHESIS_EXAMPLES=5000 for a thorough local run
SETTINGS = settings(max_examples=int(os.environ.get("DIVKERN_HYPOTHESIS_EXAMPLES", "150")), deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

TOL = {np.float16: (2e-3, 2e-3), np.float32: (2e-6, 2e-6), np.float64: (1e-12, 1e-13)}


def scipy_quiet(f, *args, **kwargs):
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return f(*args, **kwargs)


@st.composite
def arrays_and_axes(draw, allow_empty=True):
    ndim = draw(st.integers(0, 4))
    min_side = 0 if allow_empty else 1
    shape = tuple(draw(st.lists(st.integers(min_side, 9), min_size=ndim, max_size=ndim)))
    if ndim and draw(st.booleans()):
        i = draw(st.integers(0, ndim - 1))
        shape = shape[:i] + (draw(st.sampled_from([33, 70, 130])),) + shape[i + 1:]
    dtype = draw(st.sampled_from([np.float32, np.float64, np.float16, np.int32, np.int64]))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    scale = draw(st.sampled_from([0.01, 1.0, 20.0, 300.0]))
    base = rng.standard_normal(shape) * scale
    if np.issubdtype(dtype, np.integer):
        base = np.round(base)
    elif base.size and draw(st.booleans()):
        # sprinkle special values
        flat = base.reshape(-1)
        for value in draw(st.lists(st.sampled_from([-np.inf, np.inf, np.nan]), max_size=3)):
            flat[rng.integers(0, flat.size)] = value
    x = base.astype(dtype)
    layout = draw(st.sampled_from(["C", "F", "reversed", "strided", "transposed"]))
    if layout == "F":
        x = np.asfortranarray(x)
    elif layout == "reversed" and x.ndim:
        x = x[(slice(None, None, -1),) * x.ndim]
    elif layout == "strided" and x.ndim:
        big = np.repeat(x, 2, axis=-1)
        x = big[..., ::2]
    elif layout == "transposed":
        x = np.ascontiguousarray(x.T).T
    kind = draw(st.sampled_from(["none", "int", "tuple"]))
    nd = max(x.ndim, 1)
    if kind == "none":
        axis = None
    elif kind == "int":
        axis = draw(st.integers(-nd, nd - 1))
    else:
        axis = tuple(draw(st.sets(st.integers(0, nd - 1), max_size=nd)))
    return x, axis


def compare(actual, expected, dtype, pattern=None):
    """Values against `expected` (float64 reference); the NaN/inf pattern against
    `pattern` (SciPy in the input's own precision, where overflow decides some cases)."""
    actual = np.asarray(actual)
    expected = np.asarray(expected)
    pattern = expected if pattern is None else np.asarray(pattern, dtype=np.float64)
    assert actual.shape == expected.shape
    nan = np.isnan(pattern)
    np.testing.assert_array_equal(np.isnan(actual), nan)
    inf = np.isinf(pattern)
    np.testing.assert_array_equal(actual[inf], pattern[inf])
    expected = np.where(nan | inf, 0, expected)
    rtol, atol = TOL[dtype]
    fin = ~nan & ~inf
    a, e = actual[fin].astype(np.float64), expected[fin]
    bad = np.abs(a - e) > atol + rtol * np.abs(e)
    assert not np.any(bad), f"actual {a[bad][:5]} expected {e[bad][:5]}"


def float_kind(dtype):
    return np.float64 if np.issubdtype(dtype, np.integer) else np.dtype(dtype).type


@SETTINGS
@given(arrays_and_axes(), st.booleans(), st.booleans())
def test_logsumexp_matches_scipy(xa, keepdims, return_sign):
    x, axis = xa
    if x.ndim == 0 and isinstance(axis, tuple) and axis:
        axis = 0
    # SciPy fails on these empty inputs (IndexError, or a shape of ones for axis=());
    # divkern's answers are pinned in test_empty_reductions below
    multi = axis is None and x.ndim > 1 or isinstance(axis, tuple) and len(axis) != 1
    assume(not (x.size == 0 and multi))
    ours = divkern.logsumexp(x, axis=axis, keepdims=keepdims, return_sign=return_sign)
    ref = scipy_quiet(sps.logsumexp, x.astype(np.float64), axis=axis, keepdims=keepdims, return_sign=return_sign)
    expected_dtype = scipy_quiet(sps.logsumexp, np.ones(1, x.dtype)).dtype
    if return_sign:
        ours, ours_sign = ours
        ref, ref_sign = ref
        np.testing.assert_array_equal(np.asarray(ours_sign, dtype=np.float64), np.asarray(ref_sign))
    assert np.asarray(ours).dtype == expected_dtype
    assert type(ours) is type(np.asarray(ours)[()]) or isinstance(ours, np.ndarray)
    compare(ours, ref, float_kind(x.dtype))


@st.composite
def weights_for(draw, x):
    """Weights broadcastable to x: a scalar, or x's shape with some axes collapsed to 1;
    non-negative with exact zeros (which mask their element)."""
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    if x.ndim == 0 or draw(st.booleans()):
        return np.float64(draw(st.sampled_from([0.0, 0.5, 2.0])))
    shape = tuple(s if draw(st.booleans()) else 1 for s in x.shape)
    b = rng.uniform(0, 3, shape)
    b[rng.random(shape) < 0.2] = 0.0
    return b.astype(draw(st.sampled_from([np.float32, np.float64])))


@SETTINGS
@given(st.data())
def test_logsumexp_weighted_matches_scipy(data):
    x, axis = data.draw(arrays_and_axes(allow_empty=False))
    b = data.draw(weights_for(x))
    if x.ndim == 0 and isinstance(axis, tuple) and axis:
        axis = 0
    ours = divkern.logsumexp(x, axis=axis, b=b)
    dtype = np.result_type(x, b, 1.0)
    ref = scipy_quiet(sps.logsumexp, x.astype(np.float64), axis=axis, b=np.asarray(b, np.float64))
    same = scipy_quiet(sps.logsumexp, x, axis=axis, b=b)
    assert np.asarray(ours).dtype == np.asarray(same).dtype
    compare(ours, ref, float_kind(dtype), pattern=same)


@SETTINGS
@given(st.data())
def test_logsumexp_signed_weights_float64(data):
    x, axis = data.draw(arrays_and_axes(allow_empty=False))
    x = x.astype(np.float64)
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    b = rng.uniform(-1, 1, x.shape)
    if x.ndim == 0 and isinstance(axis, tuple) and axis:
        axis = 0
    res, sign = divkern.logsumexp(x, axis=axis, b=b, return_sign=True)
    ref, ref_sign = scipy_quiet(sps.logsumexp, x, axis=axis, b=b, return_sign=True)
    # compare only where the weighted sum is far from cancelling
    magnitude = scipy_quiet(sps.logsumexp, x, axis=axis, b=np.abs(b))
    clear = np.asarray(np.isfinite(ref) & (np.asarray(ref) > np.asarray(magnitude) - 10))
    np.testing.assert_array_equal(np.asarray(sign)[clear], np.asarray(ref_sign)[clear])
    np.testing.assert_allclose(np.asarray(res)[clear], np.asarray(ref)[clear], rtol=1e-9, atol=1e-9)


@SETTINGS
@given(arrays_and_axes(allow_empty=False), st.sampled_from(["softmax", "log_softmax"]))
def test_softmax_family_matches_scipy(xa, name):
    x, axis = xa
    if x.ndim == 0 and axis not in (None, ()):
        axis = None
    ours = getattr(divkern, name)(x, axis=axis)
    ref = scipy_quiet(getattr(sps, name), x.astype(np.float64), axis=axis)
    expected_dtype = scipy_quiet(getattr(sps, name), x, axis=axis).dtype
    assert np.asarray(ours).dtype == expected_dtype
    dtype = np.dtype(expected_dtype).type
    compare(ours, ref, dtype if dtype in TOL else np.float64)


def test_empty_reductions():
    # SciPy raises IndexError for the first and returns shape (1,) for the second
    assert divkern.logsumexp(np.zeros((0, 3)), return_sign=True) == (-np.inf, -1.0)
    r = divkern.logsumexp(np.zeros(0, np.float32), axis=())
    assert r.shape == (0,) and r.dtype == np.float32
