# Argument errors of divkern.logsumexp, divkern.softmax, divkern.log_softmax and
# divkern.set_num_threads.
#
# Scope: bad input must raise a clear Python exception, never crash or return garbage:
# axis out of range (numpy.exceptions.AxisError, as NumPy/SciPy), duplicate axes
# (ValueError "duplicate value in 'axis'"), non-integer axes (TypeError), weights that
# do not broadcast, object/string/None/non-numeric input, bad threads=, bad out=, bad
# set_num_threads(). The exception type must be the documented one and the message must
# start with the name of the offending argument ("a: ...", "b: ...", "x: ...",
# "threads: ...", "out: ..."), checked with pytest.raises(match=...).
# No numerical tolerances here. Known gaps are xfail(strict=True).

import numpy as np
import pytest
from numpy.exceptions import AxisError

import divkern

FUNCS = ["logsumexp", "softmax", "log_softmax"]
ARG = {"logsumexp": "a", "softmax": "x", "log_softmax": "x"}


def fn(name):
    return getattr(divkern, name)


# --------------------------------------------------------------------------- axis


@pytest.mark.parametrize("name", FUNCS)
@pytest.mark.parametrize("shape, axis", [
    ((2, 3), 2), ((2, 3), -3), ((2, 3), (0, 2)), ((2, 3), (-3,)), ((4,), 1), ((4,), (0, 1)),
    ((), 1), ((), -2), ((), (0, 1)),
])
def test_axis_out_of_range(name, shape, axis):
    x = np.ones(shape)
    with pytest.raises(AxisError, match="out of bounds"):
        fn(name)(x, axis=axis)
    # also on the paths that do no arithmetic: empty input, weights, out=, threads=
    with pytest.raises(AxisError, match="out of bounds"):
        fn(name)(np.ones((0,) + shape[1:]), axis=axis)
    if name == "logsumexp":
        with pytest.raises(AxisError, match="out of bounds"):
            fn(name)(x, axis=axis, b=np.full(shape, 2.0), return_sign=True)
    with pytest.raises(AxisError, match="out of bounds"):
        fn(name)(x, axis=axis, threads=1)


@pytest.mark.parametrize("name", FUNCS)
def test_axis_error_is_numpys(name):
    with pytest.raises(AxisError) as info:
        fn(name)(np.ones((2, 3)), axis=5)
    assert isinstance(info.value, ValueError) and isinstance(info.value, IndexError)


@pytest.mark.parametrize("name", FUNCS)
@pytest.mark.parametrize("axis", [(0, 0), (0, -3), (1, 0, 1), (-1, 2)])
def test_duplicate_axis(name, axis):
    with pytest.raises(ValueError, match="duplicate value in 'axis'"):
        fn(name)(np.ones((2, 3, 4)), axis=axis)


@pytest.mark.parametrize("name", FUNCS)
@pytest.mark.parametrize("axis", [1.5, "0", np.float64(1.0), [0, 1], (0, 1.5), (0, "1"), 1.0])
def test_non_integer_axis(name, axis):
    with pytest.raises(TypeError, match="integer"):
        fn(name)(np.ones((2, 3)), axis=axis)


@pytest.mark.parametrize("name", FUNCS)
@pytest.mark.parametrize("axis", [np.int64(1), np.int8(-1), (np.intp(0), 1)])
def test_numpy_integer_axis_accepted(name, axis):
    x = np.arange(6.0).reshape(2, 3)
    res = fn(name)(x, axis=axis)
    assert np.all(np.isfinite(res))


@pytest.mark.parametrize("name", FUNCS)
@pytest.mark.parametrize("axis", [True, (True,), (0, False)])
def test_bool_axis(name, axis):
    with pytest.raises(TypeError, match="integer"):
        fn(name)(np.ones((2, 3)), axis=axis)


# ------------------------------------------------------------------------------ b


@pytest.mark.parametrize("a_shape, b_shape", [((2, 3), (4,)), ((2, 3), (3, 2)), ((5,), (2, 4)),
                                              ((0, 3), (4,)), ((3,), (0,))])
def test_b_does_not_broadcast(a_shape, b_shape):
    with pytest.raises(ValueError, match=r"^b\b.*broadcast"):
        divkern.logsumexp(np.ones(a_shape), b=np.ones(b_shape))
    with pytest.raises(ValueError, match=r"^b\b.*broadcast"):
        divkern.logsumexp(np.ones(a_shape), b=np.ones(b_shape), axis=0, return_sign=True)


@pytest.mark.parametrize("b", [np.array([1, None, 2], dtype=object), np.array([1.0, 2.0, 3.0], dtype=object),
                               object(), {1: 2}, np.array(["2020-01-01"] * 3, dtype="M8[D]")])
def test_b_non_numeric(b):
    with pytest.raises(TypeError, match=r"^b\b"):
        divkern.logsumexp(np.ones(3), b=b)


@pytest.mark.parametrize("b", [np.array(["1", "2", "3"]), ["a", "b", "c"], "1", np.array([b"1", b"2", b"3"])])
def test_b_strings(b):
    with pytest.raises(ValueError, match=r"^b\b.*string"):
        divkern.logsumexp(np.ones(3), b=b)


# ----------------------------------------------------------------- non-numeric input


@pytest.mark.parametrize("name", FUNCS)
@pytest.mark.parametrize("x", [
    np.array([1, "a", None], dtype=object),
    np.array([1.0, 2.0], dtype=object),
    [1.0, None],
    object(),
    {1: 2},
    np.array(["2020-01-01"], dtype="M8[D]"),
    np.array([1], dtype="m8[s]"),
    np.zeros(2, dtype=[("f", "f8")]),
])
def test_non_numeric_input(name, x):
    with pytest.raises(TypeError, match=rf"^{ARG[name]}\b"):
        fn(name)(x)


@pytest.mark.parametrize("name", FUNCS)
@pytest.mark.parametrize("x", [np.array(["a", "b"]), ["a", "b"], "abc", np.array([b"x"]), np.array(["1", "2"])])
def test_string_input(name, x):
    # SciPy's logsumexp raises ValueError (cannot convert), its softmax a TypeError
    exc = ValueError if name == "logsumexp" else TypeError
    with pytest.raises(exc, match=rf"^{ARG[name]}\b.*string"):
        fn(name)(x)


@pytest.mark.parametrize("name", FUNCS)
def test_none_input(name):
    with pytest.raises(TypeError, match=rf"^{ARG[name]}\b"):
        fn(name)(None)
    with pytest.raises(TypeError, match=rf"^{ARG[name]}\b"):
        fn(name)(None, axis=0, threads=1)


@pytest.mark.parametrize("name", FUNCS)
def test_ragged_input(name):
    with pytest.raises(ValueError, match=rf"^{ARG[name]}\b"):
        fn(name)([[1.0, 2.0], [3.0]])


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_bool_input(name):
    with pytest.raises(TypeError, match=r"^x\b.*bool"):
        fn(name)(np.array([True, False]))
    with pytest.raises(TypeError, match=r"^x\b.*bool"):
        fn(name)(True)


# ------------------------------------------------------------------------ threads


@pytest.mark.parametrize("name", FUNCS)
@pytest.mark.parametrize("threads", [0, -1, -(2**40), np.int64(0), np.int32(-3)])
def test_threads_not_positive(name, threads):
    with pytest.raises(ValueError, match=r"^threads\b"):
        fn(name)(np.ones((2, 3)), threads=threads)
    # also where the computation is delegated to SciPy or trivially empty
    with pytest.raises(ValueError, match=r"^threads\b"):
        fn(name)(np.ones(3, dtype=complex), threads=threads)
    with pytest.raises(ValueError, match=r"^threads\b"):
        fn(name)(np.ones((0, 3)), axis=0, threads=threads)


@pytest.mark.parametrize("name", FUNCS)
@pytest.mark.parametrize("threads", [1.5, 2.0, "2", True, False, np.bool_(True), [2], np.float64(2.0)])
def test_threads_not_integer(name, threads):
    with pytest.raises(TypeError, match=r"^threads\b"):
        fn(name)(np.ones((2, 3)), threads=threads)


@pytest.mark.parametrize("name", FUNCS)
@pytest.mark.parametrize("threads", [1, 2, 7, 1000, np.int64(3), np.uint8(2)])
def test_threads_valid(name, threads):
    x = np.arange(12.0).reshape(3, 4)
    np.testing.assert_array_equal(fn(name)(x, axis=1, threads=threads), fn(name)(x, axis=1))


@pytest.mark.parametrize("name", FUNCS)
@pytest.mark.parametrize("threads", [2**31, 2**63])
def test_threads_huge(name, threads):
    x = np.arange(6.0)
    try:
        res = fn(name)(x, threads=threads)
    except ValueError as e:
        assert str(e).startswith("threads")
    else:
        np.testing.assert_array_equal(res, fn(name)(x))


def test_set_num_threads_errors():
    before = divkern.get_num_threads()
    try:
        for bad in (0, -1, np.int64(0)):
            with pytest.raises(ValueError, match="positive integer"):
                divkern.set_num_threads(bad)
        for bad in (1.5, "2", True, None):
            with pytest.raises(TypeError, match="positive integer"):
                divkern.set_num_threads(bad)
        assert divkern.get_num_threads() == before  # failed calls change nothing
        divkern.set_num_threads(1)
        assert divkern.get_num_threads() == 1
    finally:
        divkern.set_num_threads(before)
    assert divkern.get_num_threads() == before


def test_set_num_threads_huge():
    before = divkern.get_num_threads()
    try:
        divkern.set_num_threads(2**40)
    except ValueError as e:
        assert "positive integer" in str(e) or str(e).startswith(("n", "threads"))
    finally:
        divkern.set_num_threads(before)


# ---------------------------------------------------------------------------- out=


_OUT_CASES = [
    ("logsumexp", dict(axis=0)), ("logsumexp", dict(axis=None)), ("logsumexp", dict(axis=1, keepdims=True)),
    ("logsumexp", dict(axis=0, return_sign=True)), ("softmax", dict(axis=0)), ("softmax", dict(axis=None)),
    ("log_softmax", dict(axis=1)),
]


def _right_out_shape(name, x, kw):
    if name == "logsumexp":
        return np.sum(x, axis=kw.get("axis"), keepdims=kw.get("keepdims", False)).shape
    return x.shape


@pytest.mark.parametrize("name, kw", _OUT_CASES)
@pytest.mark.parametrize("x_dtype", [np.float64, np.float32, np.int64, complex])
def test_out_wrong_shape(name, kw, x_dtype):
    x = np.ones((2, 3), dtype=x_dtype)
    shape = _right_out_shape(name, x, kw)
    out_dtype = np.asarray(fn(name)(x, **{k: v for k, v in kw.items() if k != "return_sign"})).dtype
    for bad in (shape + (1,), (7,), (3, 2) if shape == (2, 3) else (2, 3)):
        out = np.full(bad, 5.0, dtype=out_dtype)
        with pytest.raises(ValueError, match=r"^out\b.*shape"):
            fn(name)(x, out=out, **kw)
        assert np.all(out == 5.0)  # nothing written


@pytest.mark.parametrize("name, kw", _OUT_CASES)
def test_out_wrong_dtype(name, kw):
    x = np.ones((2, 3))
    shape = _right_out_shape(name, x, kw)
    for dt in (np.float32, np.float16, np.int64, complex, np.longdouble):
        with pytest.raises(TypeError, match=r"^out\b.*dtype"):
            fn(name)(x, out=np.empty(shape, dtype=dt), **kw)
    # float32 input: float64 out is the wrong dtype too (no silent casting)
    with pytest.raises(TypeError, match=r"^out\b.*dtype"):
        fn(name)(x.astype(np.float32), out=np.empty(shape), **kw)
    # int8 input gives float16 results (softmax) / float64 (logsumexp)
    good = np.float64 if name == "logsumexp" else np.float16
    bad = np.float16 if name == "logsumexp" else np.float64
    with pytest.raises(TypeError, match=r"^out\b.*dtype"):
        fn(name)(x.astype(np.int8), out=np.empty(shape, dtype=bad), **kw)
    fn(name)(x.astype(np.int8), out=np.empty(shape, dtype=good), **kw)


@pytest.mark.parametrize("name, kw", _OUT_CASES)
def test_out_read_only(name, kw):
    x = np.ones((2, 3))
    out = np.zeros(_right_out_shape(name, x, kw))
    out.flags.writeable = False
    with pytest.raises(ValueError, match=r"^out\b.*read-only"):
        fn(name)(x, out=out, **kw)
    assert np.all(out == 0)
    # a read-only broadcast view
    ro = np.broadcast_to(np.zeros(()), _right_out_shape(name, x, kw))
    with pytest.raises(ValueError, match=r"^out\b.*read-only"):
        fn(name)(x, out=ro, **kw)


@pytest.mark.parametrize("name, kw", _OUT_CASES)
@pytest.mark.parametrize("out", [[0.0, 0.0, 0.0], 0.0, (0.0, 0.0, 0.0), "out", np.float64(0.0)])
def test_out_not_an_array(name, kw, out):
    with pytest.raises(TypeError, match=r"^out\b"):
        fn(name)(np.ones((2, 3)), out=out, **kw)


@pytest.mark.parametrize("name", FUNCS)
def test_out_on_delegated_and_empty_paths(name):
    # complex input goes to SciPy; out is still checked
    z = np.ones((2, 3), dtype=complex)
    shape = (3,) if name == "logsumexp" else (2, 3)
    with pytest.raises(TypeError, match=r"^out\b.*dtype"):
        fn(name)(z, axis=0, out=np.empty(shape))
    with pytest.raises(ValueError, match=r"^out\b.*shape"):
        fn(name)(z, axis=0, out=np.empty((9,), dtype=complex))
    # empty input
    e = np.zeros((0, 3))
    eshape = (3,) if name == "logsumexp" else (0, 3)
    axis = 0 if name == "logsumexp" else 1
    with pytest.raises(ValueError, match=r"^out\b.*shape"):
        fn(name)(e, axis=axis, out=np.empty(eshape + (1,)))
    with pytest.raises(TypeError, match=r"^out\b.*dtype"):
        fn(name)(e, axis=axis, out=np.empty(eshape, dtype=np.float32))


# ---------------------------------------------------------------- still working


def test_library_still_works_after_errors():
    x = np.array([[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_allclose(divkern.logsumexp(x, axis=1), np.log(np.exp(x).sum(axis=1)), rtol=1e-14)
    np.testing.assert_allclose(divkern.softmax(x, axis=1).sum(axis=1), 1.0, rtol=1e-15)


# ------------------------------------------------------------- the compiled module
# The Python layer validates everything first; the bindings check their own contract
# again, and a violation must surface as a Python exception, never a crash.


def test_core_contract_violations_raise():
    from divkern import _core

    x = np.ones((3, 4))
    with pytest.raises(ValueError, match="out: shape mismatch"):
        _core.logsumexp(x, [1], None, np.empty((3, 2)), None, 1)
    with pytest.raises(ValueError, match="expected 2 dimensions"):
        _core.logsumexp(x, [1], None, np.empty(3), None, 1)
    with pytest.raises(TypeError, match="dtype does not match"):
        _core.logsumexp(x, [1], None, np.empty((3, 1), np.float32), None, 1)
    with pytest.raises(TypeError, match="float32 or float64"):
        _core.softmax(np.ones((3, 4), np.int64), [1], np.empty((3, 4), np.int64), False, 1)
    with pytest.raises(ValueError, match="axis out of range"):
        _core.softmax(x, [2], np.empty_like(x), False, 1)
    with pytest.raises(ValueError, match="read-only"):
        ro = np.empty((3, 1))
        ro.flags.writeable = False
        _core.logsumexp(x, [1], None, ro, None, 1)
    with pytest.raises(ValueError, match="unknown ISA level"):
        _core.set_isa("avx1024")
