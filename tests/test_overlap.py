"""`out=` arrays whose elements share memory with one another.

The kernels write their outputs from several threads; an `out` with a zero stride on an
axis of more than one element, or with overlapping strides, had its shared elements
written by several threads at once, and its contents changed from run to run. Such an
`out` is now written through a temporary and np.copyto, as NumPy's ufuncs do: its
contents are those of np.copyto(out, result).
"""

from __future__ import annotations

import numpy as np
import pytest
from numpy.lib.stride_tricks import as_strided

import divkern
from divkern._validate import may_overlap_itself


def _view(shape, strides_in_items, dtype):
    """A writeable view of a fresh zeroed buffer with these strides (in items)."""
    itemsize = np.dtype(dtype).itemsize
    n = 1 + sum((k - 1) * abs(s) for k, s in zip(shape, strides_in_items))
    base = np.zeros(n, dtype)
    offset = sum((k - 1) * -s for k, s in zip(shape, strides_in_items) if s < 0)
    return as_strided(base[offset:], shape=shape, strides=tuple(s * itemsize for s in strides_in_items),
                      writeable=True)


# ------------------------------------------------------------------ the check


@pytest.mark.parametrize(
    "make, overlaps",
    [
        (lambda: np.empty((3, 4)), False),
        (lambda: np.empty((3, 4)).T, False),
        (lambda: np.empty((6, 8))[::2, 1::3], False),
        (lambda: np.empty((3, 4))[::-1, ::-2], False),
        (lambda: np.empty((0, 4)), False),
        (lambda: np.empty(()), False),
        (lambda: np.empty((5, 1, 3))[:, :, :], False),
        (lambda: as_strided(np.empty(4), shape=(1, 4), strides=(0, 8)), False),  # size-1 axis
        (lambda: as_strided(np.empty(4), shape=(4, 4), strides=(0, 8)), True),
        (lambda: as_strided(np.empty(4), shape=(4,), strides=(0,)), True),
        (lambda: as_strided(np.empty(8), shape=(4, 4), strides=(8, 8)), True),
        (lambda: as_strided(np.empty(8), shape=(2, 2), strides=(8, 8)), True),
        (lambda: as_strided(np.empty(16, np.float32), shape=(4, 4), strides=(4, 2)), True),  # items overlap
        (lambda: np.broadcast_to(np.empty(3), (2, 3)), True),
        # disjoint but interleaved: not proven, so taken as overlapping (the safe path)
        (lambda: as_strided(np.empty(8), shape=(3, 2), strides=(16, 24)), True),
    ],
)
def test_may_overlap_itself(make, overlaps):
    assert may_overlap_itself(make()) is overlaps


# ------------------------------------------------------------ the functions


def _check(call, shape, strides, dtype, runs=8):
    ref = _view(shape, strides, dtype)
    fresh = call(None)
    np.copyto(ref, fresh[0] if isinstance(fresh, tuple) else fresh, casting="unsafe")
    for _ in range(runs):
        out = _view(shape, strides, dtype)
        got = call(out)
        assert got is out or (isinstance(got, tuple) and got[0] is out)
        assert out.tobytes() == ref.tobytes()


@pytest.mark.parametrize("threads", [1, 2, 4])
def test_logsumexp_zero_stride(threads):
    x = np.random.default_rng(0).normal(size=(200_000, 16))
    _check(lambda out: divkern.logsumexp(x, axis=1, out=out, threads=threads), (200_000,), (0,), np.float64)
    _check(lambda out: divkern.logsumexp(x.T, axis=0, out=out, threads=threads), (200_000,), (0,), np.float64)


@pytest.mark.parametrize("threads", [1, 2, 4])
def test_logsumexp_overlapping_out(threads):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(1000, 200, 16)).astype(np.float32)
    b = rng.uniform(-1, 2, size=(16,)).astype(np.float32)
    _check(lambda out: divkern.logsumexp(x, axis=2, out=out, threads=threads), (1000, 200), (0, 1), np.float32)
    _check(lambda out: divkern.logsumexp(x, axis=2, out=out, threads=threads), (1000, 200), (1, 1), np.float32)
    _check(lambda out: divkern.logsumexp(x, axis=2, b=b, out=out, return_sign=True, threads=threads),
           (1000, 200), (3, 2), np.float32)
    _check(lambda out: divkern.logsumexp(x, axis=2, out=out, keepdims=True, threads=threads),
           (1000, 200, 1), (0, 1, 0), np.float32)


@pytest.mark.parametrize("threads", [1, 2, 4])
@pytest.mark.parametrize("func", [divkern.softmax, divkern.log_softmax])
def test_softmax_overlapping_out(func, threads):
    x = np.random.default_rng(2).normal(size=(64, 5000)).astype(np.float32)
    for axis in (0, 1):
        for strides in [(0, 1), (1, 1), (-1, 1), (1, 0)]:
            _check(lambda out: func(x, axis=axis, out=out, threads=threads), x.shape, strides, np.float32)


def test_softmax_in_place_over_self_overlapping_x():
    # x == out, and both share memory with themselves: through a temporary
    base = np.arange(4.0)
    x = as_strided(base, shape=(4, 4), strides=(0, 8), writeable=True)
    expected = _view((4, 4), (0, 1), np.float64)
    np.copyto(expected, divkern.softmax(x, axis=1))  # (this layout's kernels)
    assert divkern.softmax(x, axis=1, out=x) is x
    assert x.tobytes() == expected.tobytes()


def test_non_overlapping_out_is_written_directly():
    # strided but not overlapping: the kernels write it, with the usual results
    x = np.random.default_rng(3).normal(size=(300, 40))
    out = np.empty(600)[::2]
    assert not may_overlap_itself(out)
    assert divkern.logsumexp(x, axis=1, out=out) is out
    assert np.array_equal(out, divkern.logsumexp(x, axis=1))
    sm = np.empty((600, 40))[::2]
    assert not may_overlap_itself(sm)
    assert divkern.softmax(x, axis=1, out=sm) is sm
    assert np.array_equal(sm, divkern.softmax(x, axis=1))
