"""float16 input is read by the kernels themselves, converted block by block into the
thread's scratch arena: no float32 copy of the input (or of a softmax output) is made,
and the results are those of the float32 computation of the same values in the same
memory layout, bit for bit (the layout chooses the reduction order, docs/accuracy.md)."""

import tracemalloc

import numpy as np
import pytest

import divkern

RNG = np.random.default_rng(11)


def _same_layout_f32(x):
    """x's values as float32, with x's strides (in elements)."""
    item = x.itemsize
    lo = sum(min(0, (n - 1) * st) for n, st in zip(x.shape, x.strides)) // item
    hi = sum(max(0, (n - 1) * st) for n, st in zip(x.shape, x.strides)) // item + 1
    buf = np.zeros(max(hi - lo, 1), np.float32)
    view = np.lib.stride_tricks.as_strided(buf[-lo:], x.shape, [st // item * 4 for st in x.strides])
    np.copyto(view, x)  # a broadcast view gets the same values again
    return view


def _layouts():
    base = (RNG.standard_normal((301, 257)) * 4).astype(np.float16)
    yield "C rows", base, 1
    yield "axis 0", base, 0
    yield "all", base, None
    yield "fortran", np.asfortranarray(base), 1
    yield "fortran axis 0", np.asfortranarray(base), 0
    yield "strided", base[::2, ::3], 1
    yield "reversed", base[::-1, ::-1], 1
    yield "reversed axis 0", base[::-1, ::-2], 0
    yield "short rows", (RNG.standard_normal((1001, 7)) * 3).astype(np.float16), 1
    yield "rows of 100", (RNG.standard_normal((201, 100)) * 3).astype(np.float16), 1
    yield "long rows", (RNG.standard_normal((3, 70001)) * 3).astype(np.float16), 1
    yield "tuple", (RNG.standard_normal((20, 30, 40)) * 3).astype(np.float16), (0, 2)
    b = np.broadcast_to((RNG.standard_normal(300) * 3).astype(np.float16), (50, 300))
    yield "broadcast", b, 1
    s = (RNG.standard_normal((64, 50)) * 3).astype(np.float16)
    s[0, 3] = np.inf
    s[1] = -np.inf
    s[2, 5] = np.nan
    s[3, ::2] = -np.inf
    s[4] = 65504
    yield "special", s, 1
    yield "special axis 0", s, 0
    lp = divkern.log_softmax(base.astype(np.float64), axis=1).astype(np.float16)
    yield "near zero", lp, 1


@pytest.mark.parametrize("name,x,axis", list(_layouts()), ids=[c[0] for c in _layouts()])
@pytest.mark.parametrize("fn", ["logsumexp", "softmax", "log_softmax"])
def test_half_equals_float32_of_the_same_values(name, x, axis, fn, each_isa):
    f = getattr(divkern, fn)
    got = f(x, axis=axis)
    x32 = _same_layout_f32(x)
    assert x32.strides == tuple(st * 2 for st in x.strides)
    ref = f(x32, axis=axis).astype(np.float16)
    assert got.dtype == np.float16 and got.shape == ref.shape
    np.testing.assert_array_equal(np.asarray(got).view(np.uint16), np.asarray(ref).view(np.uint16))
    for threads in (1, 2):
        again = f(x, axis=axis, threads=threads)
        np.testing.assert_array_equal(np.asarray(again).view(np.uint16), np.asarray(got).view(np.uint16))


def _peak(fn):
    fn()  # warm up (arenas, caches)
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("axis", [1, 0])
def test_half_input_is_not_copied(axis):
    x = RNG.standard_normal((2048, 2048)).astype(np.float16)  # 8 MiB
    out_bytes = x.size * 2
    assert _peak(lambda: divkern.logsumexp(x, axis=axis)) < 64 * 1024  # results only (8-16 KiB)
    assert _peak(lambda: divkern.softmax(x, axis=axis)) < out_bytes + 64 * 1024  # the float16 output only
    view = np.broadcast_to(x[0], (65536, 2048))  # 256 MiB if materialised
    assert _peak(lambda: divkern.logsumexp(view, axis=1)) < 1024 * 1024
