"""logsumexp, softmax and log_softmax: SciPy's interface over divkern's row-reduction engine.

The Python side owns the interface (argument checking, dtype promotion as SciPy does it,
axes, keepdims, broadcasting, output allocation); the compiled kernels see float32 or
float64 arrays with arbitrary strides and a set of axes to reduce.
"""

from __future__ import annotations

import numpy as np

from . import _core
from ._validate import AxisError, as_numeric_array, check_out, check_threads, may_overlap_itself, normalize_axes

__all__ = ["logsumexp", "softmax", "log_softmax"]

_NUMPY2 = np.lib.NumpyVersion(np.__version__) >= "2.0.0"


def _threads(threads) -> int:
    t = check_threads(threads)
    return _core.get_num_threads() if t is None else t


def _needs_scipy(dtype: np.dtype) -> bool:
    return dtype.kind == "c" or (dtype.kind == "f" and dtype.itemsize > 8)


def _scipy(name: str, argname: str, dtype: np.dtype):
    try:
        import scipy.special
    except ImportError:
        raise TypeError(
            f"{argname}: {dtype} input is computed by SciPy, which is not installed; "
            "divkern's kernels take real float16, float32, float64, integer and boolean input"
        ) from None
    return getattr(scipy.special, name)


def _compute_dtype(dtype: np.dtype) -> np.dtype:
    # float16 is computed in float32 and rounded once at the end
    return np.dtype(np.float32) if dtype == np.float16 else dtype


def _convert_half(a, dtype, nthreads):
    """`a` (float16 <-> float32) converted by divkern (F16C where the CPU has it; NumPy's
    cast is 5-50x slower on some machines), in its own memory order; None when `a` is not
    one aligned contiguous block (then NumPy converts)."""
    src = a if a.flags.c_contiguous else a.T if a.flags.f_contiguous else None
    if src is None or not a.size or not a.flags.aligned:
        return None
    dst = np.empty(src.shape, dtype)
    _core.convert_half(src, dst, nthreads)
    return dst if src is a else dst.T


def _as_compute(arr, cdt, nthreads):
    """`arr` in the compute dtype, aligned (the kernels read whole items)."""
    arr = np.asarray(arr)
    if arr.dtype == np.float16 and cdt == np.float32:
        wide = _convert_half(arr, np.float32, nthreads)
        if wide is not None:
            return wide
    return np.require(arr, cdt, ["A"])


def _as_kernel_input(arr, dtype):
    """`arr` as the kernels read it in place: float16 stays float16 (the engine converts it
    block by block), aligned and in the machine's byte order."""
    return np.require(np.asarray(arr), np.dtype(dtype).newbyteorder("="), ["A"])


def _scalar_or_array(a, name):
    """SciPy's promotion treats iterables as arrays and scalars as (weak) scalars."""
    if isinstance(a, np.ndarray) or np.iterable(a):
        return as_numeric_array(a, name)
    if isinstance(a, (bool, int, float, complex, np.number, np.bool_)):
        return a
    return as_numeric_array(a, name)  # raises a clear error for anything else


def _lse_dtype(args) -> np.dtype:
    # force_floating: promote together with a Python float, as scipy's xp_result_type does
    if not _NUMPY2:  # follow NEP 50 on NumPy 1.x as well (size-1 arrays are not values)
        args = [x.dtype if getattr(x, "size", 0) == 1 else x for x in args]
    return np.result_type(*args, 1.0)


def logsumexp(a, axis=None, b=None, keepdims=False, return_sign=False, *, out=None, threads=None):
    """Compute the log of the sum of exponentials of input elements.

    A drop-in replacement for :func:`scipy.special.logsumexp`: same arguments, defaults,
    result types, shapes and special-value behaviour, computed in one pass over memory
    with one exponential per element, in parallel, and more accurately.

    Parameters
    ----------
    a : array_like
        Input array.
    axis : None or int or tuple of ints, optional
        Axis or axes over which the sum is taken. By default all elements are summed.
    b : array_like, optional
        Scaling factor for ``exp(a)``; broadcastable with `a` (`a` may also broadcast up to
        `b`'s shape). Values may be negative. An element whose weight is exactly zero is
        ignored, even if it is infinite or NaN, in a sum with some nonzero weight. Where
        every weight of a sum is zero, the result is that of ``log(sum(b * exp(a)))``, as
        in SciPy: -inf (sign 0) when the elements are finite or -inf, NaN (sign NaN) when
        one of them is +inf or NaN (``0 * exp(inf)`` is NaN).
    keepdims : bool, optional
        If True, the reduced axes are left in the result as dimensions of size one.
    return_sign : bool, optional
        If True, return ``(res, sgn)`` where ``res`` is the log of the absolute value of
        the sum and ``sgn`` is its sign (+1, 0 or -1). If False, negative sums give NaN.
    out : ndarray, optional
        divkern extension (keyword-only): array to hold `res`, of the result's shape and
        dtype. It is returned (also for 0-d results). An `out` whose elements may share
        memory with one another (a zero stride on an axis of more than one element, or
        overlapping strides) is written through a temporary and ``np.copyto``, as NumPy's
        ufuncs write such outputs, so its contents do not depend on the threads.
    threads : int, optional
        divkern extension (keyword-only): number of threads (default:
        :func:`divkern.get_num_threads`). The result does not depend on it.

    Returns
    -------
    res : ndarray or scalar
        ``log(sum(b * exp(a)))`` over the reduced axes; a NumPy scalar for 0-d results.
    sgn : ndarray or scalar
        Only with ``return_sign=True``: the sign of the sum.

    Notes
    -----
    Dtypes follow SciPy: float16, float32 and float64 are preserved (float16 is computed
    in float32), integers and booleans give float64, mixed inputs promote as NumPy does.
    Complex and extended-precision input is computed by SciPy when it is installed.

    float32 results are within 2 ulp of a float64 evaluation whatever the layout, axis and
    row length (docs/accuracy.md), and bitwise identical for any thread count and ISA level.

    Examples
    --------
    >>> import numpy as np
    >>> import divkern
    >>> a = np.arange(10)
    >>> float(divkern.logsumexp(a))
    9.45862974442671
    >>> float(divkern.logsumexp(a, b=np.arange(10, 0, -1)))
    9.917017853303466
    >>> divkern.logsumexp([1, 2], b=[1, -1], return_sign=True)
    (np.float64(1.5413248546129181), np.float64(-1.0))
    """
    nthreads = _threads(threads)
    args = [_scalar_or_array(a, "a")]
    if b is not None:
        args.append(_scalar_or_array(b, "b"))
    dtype = _lse_dtype(args)
    if _needs_scipy(dtype):
        res = _scipy("logsumexp", "a", dtype)(a, axis=axis, b=b, keepdims=keepdims, return_sign=return_sign)
        if out is not None:
            first = res[0] if return_sign else res
            np.copyto(check_out(out, "out", np.shape(first), np.asarray(first).dtype), first)
            return (out, res[1]) if return_sign else out
        return res

    cdt = _compute_dtype(dtype)
    if b is None:
        x, w = _as_kernel_input(args[0], dtype), None
    else:  # weighted float16 sums take float32 copies
        x, w = _as_compute(args[0], cdt, nthreads), _as_compute(args[1], cdt, nthreads)
    if w is not None and w.shape != x.shape:
        try:
            shape = np.broadcast_shapes(x.shape, w.shape)
        except ValueError:
            raise ValueError(
                f"b: shape {w.shape} does not broadcast with the shape {x.shape} of a"
            ) from None
        x = np.broadcast_to(x, shape)
        w = np.broadcast_to(w, shape)
    if x.ndim == 0:
        x = x.reshape(1)
        w = None if w is None else w.reshape(1)
    axes = normalize_axes(axis, x.ndim)
    kd_shape = tuple(1 if i in axes else s for i, s in enumerate(x.shape))
    res_shape = kd_shape if keepdims else tuple(s for i, s in enumerate(x.shape) if i not in axes)
    if out is not None:
        check_out(out, "out", res_shape, dtype)

    if x.size == 0:
        # SciPy: an empty sum is -inf, and its sign is reported as -1
        res_k = np.full(kd_shape, -np.inf, dtype=cdt)
        sgn_k = np.full(kd_shape, -1.0, dtype=cdt) if return_sign else None
    else:
        # the kernels write `out` itself only where no two of its elements share memory
        # (else threads would race on them): otherwise through a temporary and np.copyto
        direct = (
            out is not None
            and out.dtype == cdt
            and out.flags.aligned
            and not may_overlap_itself(out)
            and not np.may_share_memory(out, x)
            and (w is None or not np.may_share_memory(out, w))
        )
        # inserting the reduced axes back as size 1 is always a view of `out`
        res_k = (out if keepdims else np.expand_dims(out, axes)) if direct else np.empty(kd_shape, dtype=cdt)
        sgn_k = np.empty(kd_shape, dtype=cdt) if return_sign else None
        _core.logsumexp(x, list(axes), w, res_k, sgn_k, nthreads)
        if direct:
            res_k = None

    def finish(r, target):
        r = r.reshape(res_shape)
        if target is not None:
            np.copyto(target, r, casting="unsafe")
            return target
        r = r.astype(dtype, copy=False)
        return r[()] if r.ndim == 0 else r

    res = out if res_k is None else finish(res_k, out)
    if return_sign:
        return res, finish(sgn_k, None)
    return res


def _softmax_dtypes(x: np.ndarray) -> np.dtype:
    kind = x.dtype.kind
    if kind == "b":
        raise TypeError(
            "x: boolean input is not supported (SciPy's softmax cannot subtract booleans); "
            "convert it to a numeric dtype first"
        )
    if kind in "iu":
        return np.result_type(x.dtype, np.float16)  # the dtype np.exp gives, as in SciPy
    return x.dtype.newbyteorder("=")  # like np.exp's result: the machine's byte order


def _softmax(x, axis, out, threads, log: bool):
    name = "log_softmax" if log else "softmax"
    nthreads = _threads(threads)
    arr = as_numeric_array(x, "x", strings_error=TypeError)
    dtype = _softmax_dtypes(arr)
    if _needs_scipy(dtype):
        res = _scipy(name, "x", dtype)(x, axis=axis)
        if out is not None:
            np.copyto(check_out(out, "out", np.shape(res), np.asarray(res).dtype), res)
            return out
        return res
    if out is not None:
        check_out(out, "out", arr.shape, dtype)
    if arr.ndim == 0 and axis is not None:
        # NumPy's reductions (and so SciPy) take axis 0 / -1 on a 0-d array
        for ax in axis if isinstance(axis, tuple) else (axis,):
            if not isinstance(ax, (bool, np.bool_)) and isinstance(ax, (int, np.integer)) and ax not in (0, -1):
                raise AxisError(int(ax), 0)
        res = _softmax(arr.reshape(1), axis, None, threads, log)
        if out is not None:
            out[()] = res[0]
            return out
        return res[0]
    axes = normalize_axes(axis, arr.ndim)
    if arr.size == 0:
        np.max(arr, axis=axes)  # raises exactly where SciPy's maximum does
        res = np.empty(arr.shape, dtype=dtype)
        return res if out is None else out
    xc = _as_kernel_input(arr, dtype)
    if out is not None and out.dtype == xc.dtype and out.flags.aligned and not may_overlap_itself(out) and (
        not np.may_share_memory(out, xc)
        or (out.__array_interface__["data"][0] == xc.__array_interface__["data"][0] and out.strides == xc.strides)
    ):
        dest = out  # in place over x is fine: each element is read before it is written
    else:
        dest = np.empty_like(xc)  # same memory order as x; copied into `out` by np.copyto
    _core.softmax(xc, list(axes), dest, log, nthreads)
    if out is not None:
        if dest is not out:
            np.copyto(out, dest, casting="unsafe")
        return out
    res = dest.astype(dtype, copy=False)
    return res[()] if res.ndim == 0 else res


def softmax(x, axis=None, *, out=None, threads=None):
    """Compute the softmax function.

    A drop-in replacement for :func:`scipy.special.softmax`:
    ``softmax(x) = exp(x) / sum(exp(x))`` over `axis`, computed without overflow.

    Parameters
    ----------
    x : array_like
        Input array.
    axis : int or tuple of ints, optional
        Axis or axes to normalise over. Default None: the whole array.
    out : ndarray, optional
        divkern extension (keyword-only): array of `x`'s shape and the result dtype to
        write into; may be `x` itself. An `out` whose elements may share memory with one
        another (zero or overlapping strides) is written through a temporary and
        ``np.copyto``, as NumPy's ufuncs do.
    threads : int, optional
        divkern extension (keyword-only): number of threads; the result does not depend
        on it.

    Returns
    -------
    s : ndarray or scalar
        Same shape as `x`; sums to 1 along `axis`. NaN where a normalised slice holds NaN,
        +inf, or only -inf (as in SciPy).

    Notes
    -----
    Result dtypes are SciPy's (the dtype ``np.exp`` gives: float16/32/64 preserved,
    int8/uint8 -> float16, int16/uint16 -> float32, wider integers -> float64; boolean
    input is a TypeError). The output keeps `x`'s memory order.

    Examples
    --------
    >>> import numpy as np
    >>> import divkern
    >>> divkern.softmax(np.array([1000.0, 0.0, 0.0, 0.0]))
    array([1., 0., 0., 0.])
    >>> divkern.softmax(np.array([[1.0, 1.0], [0.0, np.log(3.0)]]), axis=1)
    array([[0.5 , 0.5 ],
           [0.25, 0.75]])
    """
    return _softmax(x, axis, out, threads, log=False)


def log_softmax(x, axis=None, *, out=None, threads=None):
    """Compute the logarithm of the softmax function.

    A drop-in replacement for :func:`scipy.special.log_softmax`:
    ``log_softmax(x) = x - logsumexp(x)`` over `axis`.

    Parameters
    ----------
    x : array_like
        Input array.
    axis : int or tuple of ints, optional
        Axis or axes to normalise over. Default None: the whole array.
    out : ndarray, optional
        divkern extension (keyword-only): array of `x`'s shape and the result dtype to
        write into; may be `x` itself. An `out` whose elements may share memory with one
        another (zero or overlapping strides) is written through a temporary and
        ``np.copyto``, as NumPy's ufuncs do.
    threads : int, optional
        divkern extension (keyword-only): number of threads.

    Returns
    -------
    s : ndarray or scalar
        Same shape as `x`.

    Notes
    -----
    More accurate than SciPy where one element dominates: float32
    ``log_softmax([17.942385, 0])`` is ``[-1.613e-08, -17.942385]``; SciPy returns
    exactly 0 for the first element (scipy#19521). Special values and dtypes as in SciPy.

    Examples
    --------
    >>> import numpy as np
    >>> import divkern
    >>> divkern.log_softmax(np.array([1000.0, 1.0]))
    array([   0., -999.])
    """
    return _softmax(x, axis, out, threads, log=True)
