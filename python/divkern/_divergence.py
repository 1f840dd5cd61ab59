"""rel_entr, kl_div, entr, entropy and jensenshannon: SciPy's interfaces over divkern's
divergence kernels (csrc/divergence).

The Python side owns the interface: SciPy's dtype rules, broadcasting, axes, keepdims,
``out=``; the kernels see float32 or float64 arrays of one shape with arbitrary strides
(elementwise), or (B, R, C) views reduced over R (entropy, Jensen-Shannon).
"""

from __future__ import annotations

import math
import operator

import numpy as np

from . import _core
from ._validate import AxisError, as_numeric_array, check_threads, may_overlap_itself, normalize_axes

__all__ = ["rel_entr", "kl_div", "entr", "entropy", "jensenshannon"]

_F32 = np.dtype(np.float32)
_F64 = np.dtype(np.float64)
_PY_SCALARS = (bool, int, float, complex)


def _threads(threads) -> int:
    t = check_threads(threads)
    return _core.get_num_threads() if t is None else t


def _is_python_scalar(a) -> bool:
    return isinstance(a, _PY_SCALARS) and not isinstance(a, np.generic)


def _operand(a, name):
    """An ndarray of a numeric dtype; Python scalars stay Python scalars (NEP 50: weak)."""
    if _is_python_scalar(a):
        if isinstance(a, complex):
            raise TypeError(f"{name}: complex input is not supported (SciPy's loops are real: 'ff->f', 'dd->d')")
        return a
    return as_numeric_array(a, name, strings_error=TypeError)


# ------------------------------------------------------------------------ elementwise

def _loop_dtype(args, names, dtype) -> np.dtype:
    """The loop NumPy's type resolution picks among SciPy's 'ff->f' and 'dd->d': the first
    that every input casts to safely (NEP 50: Python scalars are weak)."""
    if dtype is not None:
        dt = np.dtype(dtype)
        if dt not in (_F32, _F64):
            raise TypeError(f"dtype: expected float32 or float64 (SciPy's loops 'ff->f', 'dd->d'), got {dt}")
        for a, name in zip(args, names):
            src = a if _is_python_scalar(a) else a.dtype
            if not np.can_cast(np.result_type(src), dt, "same_kind") and not _is_python_scalar(a):
                raise TypeError(f"{name}: cannot cast {a.dtype} to {dt} under the rule 'same_kind'")
        return dt
    for a, name in zip(args, names):
        if not _is_python_scalar(a) and a.dtype.kind == "c":
            raise TypeError(f"{name}: complex input is not supported (SciPy's loops are real: 'ff->f', 'dd->d')")
    common = np.result_type(*[a if _is_python_scalar(a) else a.dtype for a in args])
    arrays = [a.dtype for a in args if not _is_python_scalar(a)]
    if np.can_cast(common, _F32, "safe") or (
            arrays and len(arrays) == len(args) and all(np.can_cast(d, _F32, "safe") for d in arrays)):
        return _F32  # e.g. int8 with uint16: each casts to float32 safely (their common int32 does not)
    if np.can_cast(common, _F64, "safe"):
        return _F64
    raise TypeError(
        f"{', '.join(names)}: {common} input is not supported (SciPy's loops are 'ff->f' and 'dd->d'; "
        "inputs must cast safely to float64)")


def _coalesced_views(shape, arrays):
    """Views of `arrays` (all of `shape`) with size-1 axes dropped, axes ordered by the last
    array's strides (the output's memory order) and merged where every array allows."""
    items = [a.itemsize for a in arrays]
    dims = [(n, [a.strides[k] // it for a, it in zip(arrays, items)]) for k, n in enumerate(shape) if n != 1]
    dims.sort(key=lambda d: -abs(d[1][-1]))
    merged = []
    for n, st in dims:
        if merged and all(ps == s * n for ps, s in zip(merged[-1][1], st)):
            merged[-1] = (merged[-1][0] * n, st)
        else:
            merged.append((n, st))
    if not merged:
        merged = [(1, [0] * len(arrays))]
    new_shape = tuple(n for n, _ in merged)
    return [np.lib.stride_tricks.as_strided(a, new_shape, tuple(st[i] * items[i] for _, st in merged),
                                            writeable=a.flags.writeable)
            for i, a in enumerate(arrays)]


def _kernel_input(a, dt, shape):
    arr = np.require(np.asarray(a, dtype=dt), dt, ["A"])
    return arr if arr.shape == shape else np.broadcast_to(arr, shape)


def _same_layout(a, b) -> bool:
    return (a.__array_interface__["data"][0] == b.__array_interface__["data"][0]
            and a.strides == b.strides and a.shape == b.shape)


def _elementwise(op, inputs, names, out, where, casting, dtype, threads):
    nthreads = _threads(threads)
    args = [_operand(a, n) for a, n in zip(inputs, names)]
    if isinstance(out, tuple):
        if len(out) != 1:
            raise ValueError(f"out: expected one output array, got a tuple of {len(out)}")
        out = out[0]
    if out is not None and not isinstance(out, np.ndarray):
        raise TypeError(f"out: expected a NumPy array, got {type(out).__name__}")
    dt = _loop_dtype(args, names, dtype)
    shapes = [np.shape(a) for a in args]
    try:
        shape = np.broadcast_shapes(*shapes)
        if out is not None:
            if np.broadcast_shapes(shape, out.shape) != out.shape:
                raise ValueError
            shape = out.shape
    except ValueError:
        extra = f" and out {out.shape}" if out is not None else ""
        raise ValueError(f"{', '.join(names)}: shapes {' '.join(map(str, shapes))}{extra} "
                         "could not be broadcast together") from None
    if out is not None:
        if not np.can_cast(dt, out.dtype, casting):
            raise TypeError(f"out: cannot cast the {dt} result to {out.dtype} under the rule {casting!r}")
        if not out.flags.writeable:
            raise ValueError("out: array is read-only")
    xs = [_kernel_input(a, dt, shape) for a in args]
    direct = (out is not None and where is True and out.dtype == dt and out.flags.aligned
              and not may_overlap_itself(out)
              and all(_same_layout(x, out) or not np.may_share_memory(x, out) for x in xs))
    if direct:
        dest = out
    else:
        order = "F" if xs and all(x.flags.f_contiguous and not x.flags.c_contiguous for x in xs if x.ndim > 1) \
            and any(x.ndim > 1 for x in xs) else "C"
        dest = np.empty(shape, dt, order=order)
    views = _coalesced_views(shape, xs + [dest])
    y = views[1] if len(xs) == 2 else None
    if dest.size:
        _core.divergence_elementwise(op, views[0], y, views[-1], nthreads)
    if out is None:
        return dest[()] if dest.ndim == 0 else dest
    if dest is not out:
        np.copyto(out, dest, casting=casting, where=where)
    return out


_UFUNC_DOC = """
    A drop-in replacement for :func:`scipy.special.{name}`: NumPy broadcasting, ``out=``
    and ``where=``, SciPy's result dtypes (its loops ``'ff->f'`` and ``'dd->d'``: float16,
    int8, uint8 and bool give float32; int32, int64 and mixed float32/float64 give
    float64; Python scalars are weak, NEP 50) and SciPy's special values, computed by
    vectorised kernels in parallel.{extra}

    Parameters
    ----------
{params}
    out : ndarray or tuple of one ndarray, optional
        Array to hold the result (of the broadcast shape); it is returned. Its dtype may be
        any the result casts to under `casting`.
    where : array_like of bool, optional
        With `out`: only the positions where it is True are written.
    casting : str, optional
        NumPy's casting rule for writing into `out` (default ``'same_kind'``).
    dtype : float32 or float64, optional
        The loop to use (``'ff->f'`` or ``'dd->d'``), as NumPy's ``dtype=`` does.
    threads : int, optional
        divkern extension: number of threads (default :func:`divkern.get_num_threads`);
        results do not depend on it.

    Returns
    -------
    ndarray or scalar
        A NumPy scalar for scalar input.

    Examples
    --------
{example}
"""


def rel_entr(x, y, /, out=None, *, where=True, casting="same_kind", dtype=None, threads=None):
    """Elementwise relative entropy: ``x log(x / y)`` for x > 0, y > 0; 0 for x = 0, y >= 0;
    +inf otherwise; NaN if either input is NaN."""
    return _elementwise("rel_entr", (x, y), ("x", "y"), out, where, casting, dtype, threads)


def kl_div(x, y, /, out=None, *, where=True, casting="same_kind", dtype=None, threads=None):
    """Elementwise Kullback-Leibler divergence: ``x log(x / y) - x + y`` for x > 0, y > 0;
    ``y`` for x = 0, y >= 0; +inf otherwise; NaN if either input is NaN, or for an infinite
    x or y where both are positive."""
    return _elementwise("kl_div", (x, y), ("x", "y"), out, where, casting, dtype, threads)


def entr(x, /, out=None, *, where=True, casting="same_kind", dtype=None, threads=None):
    """Elementwise entropy: ``-x log x`` for x > 0; 0 for x = 0; -inf for x < 0; NaN for NaN."""
    return _elementwise("entr", (x,), ("x",), out, where, casting, dtype, threads)


_XY = "    x, y : array_like\n        Real inputs, broadcast together."
rel_entr.__doc__ += _UFUNC_DOC.format(
    name="rel_entr", params=_XY,
    extra="\n\n    Accurate where x / y over- or underflows (``x (log x - log y)`` there, as SciPy\n"
          "    does) and for x close to y (a series in s = (x - y) / (x + y)).",
    example="    >>> from divkern.special import rel_entr\n    >>> float(rel_entr(1.0, 2.0))\n"
            "    -0.6931471805599453")
kl_div.__doc__ += _UFUNC_DOC.format(
    name="kl_div", params=_XY,
    extra="\n\n    Deviation from SciPy (more accurate): relative accuracy is kept for x close to y\n"
          "    (``kl_div(1, 1 + 1e-8)`` is 4.99999990589e-17, SciPy returns 0) and where x / y\n"
          "    over- or underflows (``kl_div(5e-324, 2)`` is 2.0 and ``kl_div(1, 5e-324)`` is\n"
          "    743.44, SciPy returns -inf and inf). docs/accuracy.md has the bounds.",
    example="    >>> from divkern.special import kl_div\n    >>> float(kl_div(1.0, 1.0 + 1e-8))\n"
            "    4.99999990589e-17")
entr.__doc__ += _UFUNC_DOC.format(
    name="entr", params="    x : array_like\n        Real input.", extra="",
    example="    >>> from divkern.special import entr\n    >>> float(entr(0.5))\n    0.34657359027997264")


# ------------------------------------------------------------------------ reductions

def _check_base(base):
    if base is not None:
        try:
            bad = not base > 0
        except TypeError:
            raise TypeError(f"base: expected a positive number or None, got {base!r}") from None
        if bad:
            raise ValueError("`base` must be a positive number or `None`.")


def _log_base(base) -> float:
    return 1.0 if base is None else float(np.log(np.float64(base)))


def _merge(dims):
    """(extent, stride) pairs as one (extent, stride), or None when they do not merge."""
    dims = [(n, s) for n, s in dims if n != 1]
    if not dims:
        return 1, 0
    for (_, s1), (n2, s2) in zip(dims, dims[1:]):
        if s1 != s2 * n2:
            return None
    return math.prod(n for n, _ in dims), dims[-1][1]


def _brc(arr, ax):
    """`arr` as a (B, R, C) view reduced over R = arr.shape[ax] (a copy only when the axes
    before or after `ax` cannot be merged)."""
    for _ in range(2):
        dims = list(zip(arr.shape, arr.strides))
        b, c = _merge(dims[:ax]), _merge(dims[ax + 1:])
        if b is not None and c is not None:
            return np.lib.stride_tricks.as_strided(
                arr, (b[0], arr.shape[ax], c[0]), (b[1], arr.strides[ax], c[1]), writeable=False)
        arr = np.ascontiguousarray(arr)
    raise AssertionError("unreachable")


def _reduce(op, p, q, norm_p, norm_q, axes, keepdims, log_base, out_dtype, threads):
    """op over `axes` of p (and q), arrays of one shape and of dtype out_dtype."""
    shape = p.shape
    nd = len(shape)
    if nd == 0:  # a 0-d input is one distribution of one element
        p = p.reshape(1)
        q = None if q is None else q.reshape(1)
        axes, shape, nd = (0,), (1,), 1
        keep_shape = out_shape = ()
    else:
        kept = [k for k in range(nd) if k not in axes]
        out_shape = tuple(shape[k] for k in kept)
        keep_shape = tuple(1 if k in axes else shape[k] for k in range(nd))
    if len(axes) == 1:
        ax = axes[0]
    else:  # several axes: moved to the end and merged (a copy where they do not merge)
        rest = [k for k in range(nd) if k not in axes]
        def flat(a):
            a = np.moveaxis(a, list(axes), list(range(nd - len(axes), nd)))
            return a.reshape(a.shape[:nd - len(axes)] + (-1,))
        p = flat(p)
        q = None if q is None else flat(q)
        ax = len(rest)
    p3 = _brc(p, ax)
    q3 = None if q is None else _brc(q, ax)
    res = np.empty((p3.shape[0], p3.shape[2]), out_dtype)
    if res.size:
        _core.divergence_reduce(op, p3, q3, norm_p, norm_q, res, log_base, _threads(threads))
    res = res.reshape(keep_shape if keepdims else out_shape)
    return res[()] if res.ndim == 0 else res


def _as_float(a, dt):
    return np.require(np.asarray(a, dtype=dt), dt, ["A"])


def _scipy_entropy():
    try:
        import scipy.stats
    except ImportError:
        raise NotImplementedError(
            "entropy: masked arrays and nan_policy='omit' are computed by SciPy, which is not installed") from None
    return scipy.stats.entropy


def entropy(pk, qk=None, base=None, axis=0, *, nan_policy="propagate", keepdims=False, threads=None):
    """Calculate the Shannon entropy/relative entropy of given distribution(s).

    A drop-in replacement for :func:`scipy.stats.entropy`: ``H = -sum(pk * log(pk))``, or
    with `qk` the relative entropy (Kullback-Leibler divergence)
    ``D = sum(pk * log(pk / qk))``, where `pk` and `qk` are first normalised to sum to 1
    along `axis`. The sums and the terms are computed in one kernel (two passes over the
    data, no temporaries), in parallel; reductions along a strided axis walk the rows with
    one accumulator per output.

    Parameters
    ----------
    pk : array_like
        The (possibly unnormalised) distribution(s) along `axis`.
    qk : array_like, optional
        The distribution to compare with; broadcast against `pk`.
    base : float, optional
        The logarithmic base (default e). ``base <= 0`` raises ``ValueError``.
    axis : int, tuple of ints or None, optional
        The axis along which the entropy is calculated (default 0); None reduces the
        flattened arrays.
    nan_policy : {'propagate', 'raise', 'omit'}, optional
        As in SciPy: NaN propagates to the result, raises ``ValueError``, or is left out
        ('omit', and masked arrays, are computed by SciPy itself).
    keepdims : bool, optional
        Keep the reduced axes as dimensions of size one.
    threads : int, optional
        divkern extension: number of threads; results do not depend on it.

    Returns
    -------
    S : NumPy scalar or ndarray
        float32 for float16 and float32 input, float64 for float64, integer and boolean
        input. ``0`` for an empty distribution, NaN where a sum is 0, ``inf`` where `qk` is 0
        and `pk` is not, as in SciPy.

    Notes
    -----
    Sums are accumulated in double precision (float32 input too), in a fixed order, so
    float32 results are more accurate than SciPy's float32 computation and bitwise
    identical for any thread count and ISA level. The terms are SciPy's ``entr`` and
    ``rel_entr`` of the normalised values (``rel_entr`` in divkern's accurate form).

    Examples
    --------
    >>> import numpy as np
    >>> from divkern.stats import entropy
    >>> float(entropy([1/2, 1/2], base=2))
    1.0
    >>> float(entropy([1/2, 1/2], qk=[9/10, 1/10], base=2))
    0.7369655941662062
    """
    _check_base(base)
    if nan_policy not in ("propagate", "raise", "omit"):
        raise ValueError("nan_policy must be one of {'propagate', 'omit', 'raise'}")
    if nan_policy == "omit" or isinstance(pk, np.ma.MaskedArray) or isinstance(qk, np.ma.MaskedArray):
        return _scipy_entropy()(pk, qk, base, axis, nan_policy=nan_policy, keepdims=keepdims)
    ops = [_operand(pk, "pk")] + ([] if qk is None else [_operand(qk, "qk")])
    names = ["pk"] + ([] if qk is None else ["qk"])
    for a, name in zip(ops, names):
        if not _is_python_scalar(a) and (a.dtype.kind == "c" or (a.dtype.kind == "f" and a.dtype.itemsize > 8)):
            raise TypeError(f"{name}: {a.dtype} input is not supported (SciPy's entr and rel_entr loops are "
                            "float32 and float64)")
    common = np.result_type(*[a if _is_python_scalar(a) else a.dtype for a in ops])
    dt = _F32 if common in (np.float16, np.float32) else _F64
    arrs = [_as_float(a, dt) for a in ops]
    if axis is None and len(arrs) == 2 and arrs[0].shape != arrs[1].shape:
        arrs = [a.reshape(-1) for a in arrs]  # SciPy ravels each input, then broadcasts
    try:
        shape = np.broadcast_shapes(*[a.shape for a in arrs])
    except ValueError:
        raise ValueError("Array shapes are incompatible for broadcasting.") from None
    arrs = [a if a.shape == shape else np.broadcast_to(a, shape) for a in arrs]
    if nan_policy == "raise" and any(np.isnan(a).any() for a in arrs):
        raise ValueError("The input contains nan values")
    nd = len(shape)
    if axis is None:
        axes = tuple(range(nd))
    else:
        axes = normalize_axes(axis, max(nd, 1)) if nd else normalize_axes(axis, 1)
    if nd == 0:
        axes = ()
    q = arrs[1] if qk is not None else None
    return _reduce("entr" if qk is None else "rel_entr", arrs[0], q, True, True, axes, keepdims,
                   _log_base(base), dt, threads)


def _js_own_axes(axis, ndim, name):
    """The axes SciPy's np.sum(x, axis=axis) reduces for an input of `ndim` dimensions."""
    if axis is None:
        return None
    if ndim == 0:  # NumPy reduces a 0-d array over axis 0 or -1 (or ())
        normalize_axes(axis, 1)
        return ()
    return normalize_axes(axis, ndim)


def jensenshannon(p, q, base=None, *, axis=0, keepdims=False, threads=None):
    """Compute the Jensen-Shannon distance (metric) between two probability arrays.

    A drop-in replacement for :func:`scipy.spatial.distance.jensenshannon`: the square
    root of ``(D(p || m) + D(q || m)) / 2`` with ``m = (p + q) / 2``, `p` and `q`
    normalised along `axis` first, computed by one kernel in parallel.

    Parameters
    ----------
    p, q : array_like
        Probability vectors (normalised along `axis` if they do not sum to 1); each is
        normalised along `axis` of its own shape, then they broadcast, as in SciPy.
    base : float, optional
        The logarithmic base (default e).
    axis : int, tuple of ints or None, optional
        Axis along which the distance is computed (default 0); None reduces everything.
    keepdims : bool, optional
        Keep the reduced axes as dimensions of size one.
    threads : int, optional
        divkern extension: number of threads; results do not depend on it.

    Returns
    -------
    js : NumPy scalar or ndarray
        float32 for float16 and float32 input (computed in float64), float64 otherwise.

    Notes
    -----
    Deviations from SciPy (accuracy and clear errors): each term
    ``rel_entr(p, m) + rel_entr(q, m)`` is evaluated as a sum of non-negative parts, so
    the result is never NaN for non-negative finite inputs with positive sums (SciPy can
    take the square root of a tiny negative number, scipy#20083), is exactly 0 for
    identical inputs, and keeps its relative accuracy for nearly equal inputs (up to
    ~1e-16 / eps for inputs that differ by a relative eps, where SciPy returns 0 or NaN).
    A zero sum gives NaN and a negative entry inf, as in SciPy, without a warning.
    ``base <= 0`` raises ``ValueError`` (SciPy returns NaN or -0.0).

    Examples
    --------
    >>> from divkern.spatial.distance import jensenshannon
    >>> float(jensenshannon([1.0, 0.0, 0.0], [0.0, 1.0, 0.0], 2.0))
    1.0
    >>> float(jensenshannon([1.0, 0.0], [0.5, 0.5]))
    0.46450140402245893
    """
    _check_base(base)
    pa, qa = np.asarray(p), np.asarray(q)
    norm_dt = []
    for a, name in ((pa, "p"), (qa, "q")):
        if a.dtype.kind == "c" or (a.dtype.kind == "f" and a.dtype.itemsize > 8):
            raise TypeError(f"{name}: {a.dtype} input is not supported (SciPy's rel_entr loops are float32 "
                            "and float64)")
        if a.dtype.kind not in "biuf":
            raise TypeError(f"{name}: expected a numeric array, got dtype {a.dtype}")
        norm_dt.append(a.dtype if a.dtype.kind == "f" else _F64)
    common = np.result_type(*norm_dt)
    dt = _F32 if common in (np.float16, np.float32) else _F64
    own = [_js_own_axes(axis, pa.ndim, "p"), _js_own_axes(axis, qa.ndim, "q")]
    try:
        shape = np.broadcast_shapes(pa.shape, qa.shape)
    except ValueError:
        raise ValueError(f"p, q: operands could not be broadcast together with shapes {pa.shape} {qa.shape}") from None
    nd = len(shape)
    axes = tuple(range(nd)) if axis is None else (normalize_axes(axis, nd) if nd else ())
    arrs, norms = [], []
    for a, own_axes in zip((pa, qa), own):
        # SciPy normalises each input along `axis` of its own shape, then broadcasts: the
        # kernel normalises an input that spans the reduced axes of the broadcast shape;
        # any other is normalised here, by SciPy's formula
        if axis is None:
            regular = a.shape == shape
        else:
            mapped = tuple(k + nd - a.ndim for k in own_axes)
            regular = a.ndim > 0 and mapped == axes and all(a.shape[k] == shape[m] for k, m in zip(own_axes, mapped))
        x = _as_float(a, dt)
        if not regular and nd:
            with np.errstate(all="ignore"):
                wide = x.astype(np.float64)
                x = _as_float(wide / np.sum(wide, axis=axis, keepdims=True), dt) if a.ndim else _as_float(
                    wide / wide, dt)
        arrs.append(x if x.shape == shape else np.broadcast_to(x, shape))
        norms.append(regular or not nd)
    return _reduce("jensenshannon", arrs[0], arrs[1], norms[0], norms[1], axes, keepdims, _log_base(base), dt,
                   threads)
