"""Argument checking shared by the public functions: clear errors that name the argument."""

from __future__ import annotations

import operator

import numpy as np

from . import _core

try:  # NumPy >= 1.25
    from numpy.exceptions import AxisError
except ImportError:  # pragma: no cover
    from numpy import AxisError  # type: ignore[attr-defined,no-redef]

__all__ = ["AxisError", "normalize_axes", "check_threads", "as_numeric_array", "check_out", "may_overlap_itself"]


def normalize_axes(axis, ndim: int) -> tuple[int, ...]:
    """`axis` (None, an int or a tuple of ints) as a sorted tuple of non-negative axes.

    Raises NumPy's ``AxisError`` for an axis out of range, ``ValueError`` for a repeated
    axis and ``TypeError`` for a non-integer, as NumPy's reductions do.
    """
    if axis is None:
        return tuple(range(ndim))
    axes = axis if isinstance(axis, tuple) else (axis,)
    out = []
    for ax in axes:
        if isinstance(ax, (bool, np.bool_)):
            raise TypeError(f"an integer is required for the axis, got {ax!r}")
        ax = operator.index(ax)
        if not -ndim <= ax < ndim:
            raise AxisError(ax, ndim)
        out.append(ax % ndim)
    if len(set(out)) != len(out):
        raise ValueError("duplicate value in 'axis'")
    return tuple(sorted(out))


# The most threads one call starts (divkern's C++ core: 4 per hardware thread, at most 1024;
# 1 in a build without OpenMP). Larger counts are clipped to it: never more threads than
# the machine can use, nor more than the OS may be able to create.
MAX_THREADS = _core.max_threads()


def check_threads(threads, name: str = "threads", *, allow_none: bool = True) -> int | None:
    """`threads` as an int in [1, MAX_THREADS] (None passes where allowed).

    ``TypeError`` for a non-integer (bools included), ``ValueError`` below 1; counts above
    ``MAX_THREADS`` are clipped to it.
    """
    if threads is None and allow_none:
        return None
    if isinstance(threads, (bool, np.bool_)) or not isinstance(threads, (int, np.integer)):
        expected = "a positive integer or None" if allow_none else "a positive integer"
        raise TypeError(f"{name}: expected {expected}, got {threads!r}")
    if threads < 1:
        raise ValueError(f"{name}: expected a positive integer, got {threads}")
    return min(int(threads), MAX_THREADS)


def as_numeric_array(x, name: str, *, strings_error=ValueError) -> np.ndarray:
    """`x` as an ndarray of a numeric dtype (masked arrays: their data, like SciPy).

    Strings raise `strings_error` (SciPy's logsumexp raises ValueError, its softmax a
    TypeError); objects and other non-numeric dtypes raise TypeError.
    """
    if x is None:
        raise TypeError(f"{name}: expected an array, got None")
    try:
        arr = np.asarray(x)
    except (TypeError, ValueError) as e:
        raise type(e)(f"{name}: cannot convert to an array: {e}") from e
    kind = arr.dtype.kind
    if kind in "US":
        raise strings_error(f"{name}: expected numbers, got an array of strings (dtype {arr.dtype})")
    if kind not in "biufc":
        raise TypeError(f"{name}: expected a numeric array, got dtype {arr.dtype}")
    return arr


def check_out(out, name: str, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    if not isinstance(out, np.ndarray):
        raise TypeError(f"{name}: expected a NumPy array, got {type(out).__name__}")
    if out.shape != tuple(shape):
        raise ValueError(f"{name}: expected shape {tuple(shape)}, got {out.shape}")
    if out.dtype.newbyteorder("=") != np.dtype(dtype).newbyteorder("="):  # either byte order
        raise TypeError(f"{name}: expected dtype {dtype}, got {out.dtype}")
    if not out.flags.writeable:
        raise ValueError(f"{name}: array is read-only")
    return out


def may_overlap_itself(a: np.ndarray) -> bool:
    """False when the elements of `a` provably occupy distinct memory, else True.

    A cheap sufficient test (NumPy's exact one is not public): the axes of more than one
    element, by increasing |stride|, must each step at least over the whole extent spanned
    by the smaller ones (one item for the first), so that no two elements share a byte. A
    zero stride on such an axis fails; so do interleaved strides that happen not to collide
    (the caller then merely takes the safe path).
    """
    if a.size <= 1:
        return False
    extent = a.itemsize
    for step, n in sorted((abs(st), n) for n, st in zip(a.shape, a.strides) if n > 1):
        if step < extent:
            return True
        extent += step * (n - 1)
    return False
