"""Softmax cross-entropy with its gradient, the entropy of a softmax, selected
log-probabilities, and divergences between two arrays of logits.

The Python side owns the interface (argument checking, dtypes, axes, reductions and their
denominators); the compiled row ops (csrc/rowreduce/rowops.hpp) read the logits once from
memory per row and write per-row float64 results and the gradients.
"""

from __future__ import annotations

import math
import numbers
import operator

import numpy as np

from . import _core
from ._validate import AxisError, as_numeric_array, check_threads

__all__ = ["cross_entropy", "softmax_entropy", "log_softmax_at", "kl_logits", "jsd_logits", "tvd_logits"]

_REDUCTIONS = ("mean", "sum", "none")


def _threads(threads) -> int:
    t = check_threads(threads)
    return _core.get_num_threads() if t is None else t


def _logits(x, name: str) -> tuple[np.ndarray, np.dtype]:
    """(`x` in its compute dtype, the dtype of results and gradients). float16 computes in
    float32; integers and booleans in float64."""
    arr = as_numeric_array(x, name, strings_error=TypeError)
    if arr.dtype.kind == "c":
        raise TypeError(f"{name}: complex logits are not supported")
    if arr.dtype.kind == "f" and arr.dtype.itemsize > 8:
        raise TypeError(f"{name}: {arr.dtype} is not supported (float16, float32 or float64)")
    if arr.ndim == 0:
        raise ValueError(f"{name}: expected at least one dimension (the class axis), got a 0-d array")
    out_dtype = arr.dtype if arr.dtype.kind == "f" else np.dtype(np.float64)
    cdt = np.dtype(np.float32) if out_dtype == np.float16 else out_dtype
    return np.require(arr, cdt.newbyteorder("="), ["A"]), out_dtype


def _axis(axis, ndim: int) -> int:
    if isinstance(axis, (bool, np.bool_)):
        raise TypeError(f"axis: an integer is required, got {axis!r}")
    try:
        ax = operator.index(axis)
    except TypeError:
        raise TypeError(f"axis: an integer is required, got {axis!r}") from None
    if not -ndim <= ax < ndim:
        raise AxisError(ax, ndim)
    return ax % ndim


def _real(value, name: str) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real, np.floating, np.integer)):
        raise TypeError(f"{name}: expected a real number, got {value!r}")
    return float(value)


def _temperature(temperature) -> float:
    t = _real(temperature, "temperature")
    if not (t > 0 and math.isfinite(t)):
        raise ValueError(f"temperature: expected a positive finite number, got {temperature!r}")
    return t


def _reduction(reduction) -> str:
    if not isinstance(reduction, str) or reduction not in _REDUCTIONS:
        raise ValueError(f"reduction: expected one of 'mean', 'sum', 'none', got {reduction!r}")
    return reduction


def _scaled(x: np.ndarray, t: float) -> np.ndarray:
    # cross_entropy(logits / T): the kernels see the divided logits, rounded in their dtype
    return x if t == 1.0 else x / x.dtype.type(t)


def _row_shape(x: np.ndarray, ax: int) -> tuple[int, ...]:
    return x.shape[:ax] + x.shape[ax + 1 :]


def _per_row(x: np.ndarray, ax: int) -> np.ndarray:
    shape = list(x.shape)
    shape[ax] = 1
    return np.empty(shape, np.float64)


def _result(values: np.ndarray, ax: int, dtype: np.dtype) -> np.ndarray:
    """Per-row float64 results (size 1 along the axis) in the results' dtype and shape."""
    return np.squeeze(values, axis=ax).astype(dtype, copy=False)


def _scalar(value: float, dtype: np.dtype):
    return dtype.type(value)


def _grad_buffer(x: np.ndarray, out_grad, inputs, out_dtype: np.dtype):
    """(array the kernel writes, array returned). `out_grad` is validated; a temporary is
    written when it overlaps an input other than as the very same array (or needs a cast)."""
    if out_grad is None:
        g = np.empty(x.shape, x.dtype)
        return g, g
    if not isinstance(out_grad, np.ndarray):
        raise TypeError(f"out_grad: expected a NumPy array, got {type(out_grad).__name__}")
    if out_grad.shape != x.shape:
        raise ValueError(f"out_grad: expected shape {x.shape}, got {out_grad.shape}")
    if out_grad.dtype != out_dtype:
        raise ValueError(f"out_grad: expected dtype {out_dtype}, got {out_grad.dtype}")
    if not out_grad.flags.writeable:
        raise ValueError("out_grad: array is read-only")
    same = (
        out_grad.dtype == x.dtype
        and out_grad.flags.aligned
        and out_grad.dtype.isnative
        and out_grad.__array_interface__["data"][0] == x.__array_interface__["data"][0]
        and out_grad.strides == x.strides
    )
    overlaps = any(np.shares_memory(out_grad, a) for a in inputs if isinstance(a, np.ndarray))
    # written in place only with the logits' own strides: the kernels' path (and so the
    # bits) then does not depend on out_grad's layout
    if (out_grad.dtype == x.dtype and out_grad.flags.aligned and out_grad.dtype.isnative
            and out_grad.strides == x.strides and (same or not overlaps)):
        return out_grad, out_grad
    return np.empty(x.shape, x.dtype), out_grad


def _finish_grad(g: np.ndarray, returned: np.ndarray, out_dtype: np.dtype):
    if returned is g:
        return g.astype(out_dtype, copy=False) if g.dtype != out_dtype else g
    np.copyto(returned, g, casting="unsafe")
    return returned


def _class_targets(target: np.ndarray, rows_shape, n_classes: int, ignore_index: int) -> np.ndarray:
    """The mask of rows that take part (not ignored); IndexError for labels outside
    [0, C) other than ignore_index."""
    if target.shape != tuple(rows_shape):
        raise ValueError(f"target: expected class indices of shape {tuple(rows_shape)}, got {target.shape}")
    if target.dtype.kind == "u" and target.size and int(target.max()) > np.iinfo(np.int64).max:
        raise IndexError(f"target: class index {int(target.max())} is out of range for {n_classes} classes")
    t = target.astype(np.int64, copy=False)
    valid = t != ignore_index
    bad = valid & ((t < 0) | (t >= n_classes))
    if bad.any():
        raise IndexError(
            f"target: class index {int(t[bad].flat[0])} is out of range for {n_classes} classes "
            f"(expected 0 <= target < {n_classes}, or ignore_index={ignore_index})"
        )
    return valid


def _weights(weight, n_classes: int):
    if weight is None:
        return None, float(n_classes)
    w = as_numeric_array(weight, "weight", strings_error=TypeError)
    if w.dtype.kind == "c":
        raise TypeError("weight: complex weights are not supported")
    w = np.ascontiguousarray(w, dtype=np.float64)
    if w.ndim != 1 or w.shape[0] != n_classes:
        raise ValueError(f"weight: expected a 1-D array of {n_classes} class weights, got shape {w.shape}")
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ValueError("weight: class weights must be finite and non-negative")
    return w, float(math.fsum(w.tolist()))


def cross_entropy(
    logits,
    target,
    *,
    axis=-1,
    weight=None,
    ignore_index=-100,
    label_smoothing=0.0,
    reduction="mean",
    z_loss=0.0,
    temperature=1.0,
    return_lse=False,
    return_grad=False,
    out_grad=None,
    threads=None,
):
    """Softmax cross-entropy of `logits` against class indices or probabilities, with its
    gradient from the same pass structure.

    The semantics of ``torch.nn.functional.cross_entropy(logits / temperature, target,
    weight=weight, ignore_index=ignore_index, label_smoothing=label_smoothing,
    reduction=reduction)``, plus a z-loss, with the class axis at `axis` (``axis=1`` is
    torch's ``(N, C, d...)`` layout). The logits are read once from memory for the loss,
    and once more for the gradient, which is written in the same sweep.

    Parameters
    ----------
    logits : array_like
        Logits, the classes along `axis`. float16 is computed in float32, integers in
        float64. Never written (unless passed as `out_grad`).
    target : array_like
        Integer class indices (any width, signed or unsigned) of the logits' shape without
        the class axis, or floating probabilities of exactly the logits' shape (used as
        given: not checked to sum to 1, never broadcast).
    axis : int, optional
        The class axis.
    weight : array_like, optional
        One non-negative finite weight per class (zero allowed). With class indices a row
        counts with the weight of its target, and 'mean' divides by the sum of the weights
        of the non-ignored targets; with probabilities 'mean' divides by the number of rows.
    ignore_index : int, optional
        Rows whose target equals it get loss 0 and a zero gradient, and do not count in
        'mean'. It may equal a real class. With probability targets it must be negative.
    label_smoothing : float, optional
        In [0, 1]: the target becomes ``(1 - eps) * target + eps / C``.
    reduction : {'mean', 'sum', 'none'}, optional
        'none' gives one loss per row, of the logits' shape without the class axis.
    z_loss : float, optional
        Adds ``z_loss * lse**2`` per non-ignored row (lse of logits/T), not scaled by class
        weights; 'mean' adds its total over the number of non-ignored rows (the number of
        rows for probability targets). Differentiated.
    temperature : float, optional
        T > 0: the loss of ``logits / T``; gradients are with respect to the given logits
        (they carry the 1/T).
    return_lse : bool, optional
        Also return ``logsumexp(logits / T)`` of every row (ignored rows included).
    return_grad : bool, optional
        Also return the gradient of the loss with respect to `logits` (of the sum of the
        rows for 'none'), of the logits' shape and dtype.
    out_grad : ndarray, optional
        Writeable array of the logits' shape and dtype for the gradient (returned); the
        logits themselves may be passed, and are then overwritten by the gradient.
    threads : int, optional
        Threads to use (default: :func:`divkern.get_num_threads`). Results do not depend on it.

    Returns
    -------
    loss, or (loss, lse), (loss, grad), (loss, lse, grad)
        A reduced loss is a NumPy scalar of the logits' dtype.

    Notes
    -----
    A -inf logit is a masked class: it takes no part and its gradient is exactly 0 (with
    label smoothing its smoothing term is infinite, as in torch). A -inf target logit
    gives +inf loss with a finite gradient; a NaN makes that row's loss and gradient NaN.
    If every row is ignored, 'mean' is NaN with a zero gradient, 'sum' is 0.

    Examples
    --------
    >>> import numpy as np, divkern
    >>> logits = np.array([[2.0, 0.5, -1.0], [0.1, 0.2, 3.0]])
    >>> float(divkern.cross_entropy(logits, np.array([0, 2])))  # doctest: +ELLIPSIS
    0.1...
    """
    x, out_dtype = _logits(logits, "logits")
    ax = _axis(axis, x.ndim)
    n_classes = x.shape[ax]
    rows_shape = _row_shape(x, ax)
    if target is None or isinstance(target, (str, bytes)):
        raise TypeError(f"target: expected an integer or floating array, got {target!r}")
    tg = np.asarray(target)
    if tg.dtype.kind not in "iuf":
        raise TypeError(f"target: expected integer class indices or floating probabilities, got dtype {tg.dtype}")
    if isinstance(ignore_index, (bool, np.bool_)) or not isinstance(ignore_index, (int, np.integer)):
        raise TypeError(f"ignore_index: expected an integer, got {ignore_index!r}")
    ignore_index = int(ignore_index)
    eps = _real(label_smoothing, "label_smoothing")
    if not 0.0 <= eps <= 1.0:
        raise ValueError(f"label_smoothing: expected a value in [0, 1], got {label_smoothing!r}")
    red = _reduction(reduction)
    z = _real(z_loss, "z_loss")
    if not (z >= 0.0 and math.isfinite(z)):
        raise ValueError(f"z_loss: expected a finite non-negative number, got {z_loss!r}")
    t = _temperature(temperature)
    w, weight_sum = _weights(weight, n_classes)
    nthreads = _threads(threads)
    prob = tg.dtype.kind == "f"
    if prob:
        if ignore_index >= 0:
            raise ValueError(f"ignore_index: must be negative with probability targets, got {ignore_index}")
        if tg.shape != x.shape:
            raise ValueError(f"target: probabilities must have the logits' shape {x.shape}, got {tg.shape}")
        valid = None
        n_valid = int(np.prod(rows_shape, dtype=np.int64))
        den = float(n_valid)
    else:
        valid = _class_targets(tg, rows_shape, n_classes, ignore_index)
        n_valid = int(np.count_nonzero(valid))
        if w is None:
            den = float(n_valid)
        else:
            den = math.fsum(w[np.asarray(tg, np.int64)[valid]].tolist()) if n_valid else 0.0
    xs = _scaled(x, t)
    mean = red == "mean"
    grad_scale = (1.0 / den if den else 0.0) if mean else 1.0
    z_scale = (1.0 / n_valid if n_valid else 0.0) if mean else 1.0
    loss = _per_row(x, ax)
    want_lse = return_lse or z != 0.0
    lse = _per_row(x, ax) if want_lse else None
    g = returned = None
    if return_grad:
        g, returned = _grad_buffer(x, out_grad, (logits, target, weight), out_dtype)
    elif out_grad is not None:
        raise ValueError("out_grad: only used with return_grad=True")
    if prob:
        y = np.require(tg, x.dtype.newbyteorder("="), ["A"])
        _core.rowop("cross_entropy_prob", xs, y, None, loss, lse, g, None, ax, w, weight_sum, -100, eps, z,
                    grad_scale / t, z_scale / t, 0.5, nthreads)
    else:
        tk = np.require(tg.reshape(loss.shape), tg.dtype.newbyteorder("="), ["A"])
        _core.rowop("cross_entropy", xs, None, tk, loss, lse, g, None, ax, w, weight_sum, ignore_index, eps, z,
                    grad_scale / t, z_scale / t, 0.5, nthreads)
    per_row = np.squeeze(loss, axis=ax)
    zl = None
    if z != 0.0:
        zl = z * np.squeeze(lse, axis=ax) ** 2
        if valid is not None:
            zl = np.where(valid, zl, 0.0)
    if red == "none":
        out = per_row if zl is None else per_row + zl
        res = out.astype(out_dtype, copy=False)
    else:
        total = float(np.sum(per_row))
        ztotal = float(np.sum(zl)) if zl is not None else 0.0
        if mean:
            total = total / den if den else math.nan
            ztotal = ztotal / n_valid if n_valid else 0.0
        res = _scalar(total + ztotal, out_dtype)
    extra = []
    if return_lse:
        extra.append(_result(lse, ax, out_dtype))
    if return_grad:
        extra.append(_finish_grad(g, returned, out_dtype))
    return (res, *extra) if extra else res


def softmax_entropy(logits, *, axis=-1, temperature=1.0, base=None, threads=None):
    """Entropy ``-sum(p * log(p))`` of ``p = softmax(logits / temperature)`` along `axis`.

    One read of the logits per row, never negative; -inf logits contribute 0. In nats, or
    divided by ``log(base)`` when `base` is given. Returns the logits' shape without the
    class axis (0-d for 1-D logits), in the logits' dtype (float64 for integers).

    Examples
    --------
    >>> import numpy as np, divkern
    >>> float(divkern.softmax_entropy(np.zeros(4)))  # log(4)
    1.3862943611198906
    """
    x, out_dtype = _logits(logits, "logits")
    ax = _axis(axis, x.ndim)
    t = _temperature(temperature)
    scale = 1.0
    if base is not None:
        b = _real(base, "base")
        if not (b > 0 and b != 1 and math.isfinite(b)):
            raise ValueError(f"base: expected a positive finite number other than 1, got {base!r}")
        scale = 1.0 / math.log(b)
    out = _per_row(x, ax)
    _core.rowop("softmax_entropy", _scaled(x, t), None, None, out, None, None, None, ax, None, 0.0, -100, 0.0, 0.0,
                1.0, 1.0, 0.5, _threads(threads))
    res = np.squeeze(out, axis=ax)
    if scale != 1.0:
        res = res * scale
    return res.astype(out_dtype, copy=False)


def log_softmax_at(logits, index, *, axis=-1, threads=None):
    """``log_softmax(logits, axis)`` at one index per row, without the full output.

    `index` holds integer class indices shaped like the rows (the logits' shape without
    `axis`); values outside [0, C) raise IndexError. Keeps the tiny negative value of a
    dominant element (float32 ``[20, 0, 0]`` at index 0 gives about -4.12e-9, not 0).

    Examples
    --------
    >>> import numpy as np, divkern
    >>> float(divkern.log_softmax_at(np.array([0.0, 0.0]), 1))  # log(1/2)
    -0.6931471805599453
    """
    x, out_dtype = _logits(logits, "logits")
    ax = _axis(axis, x.ndim)
    rows_shape = _row_shape(x, ax)
    if index is None or isinstance(index, (str, bytes)):
        raise TypeError(f"index: expected integer indices, got {index!r}")
    idx = np.asarray(index)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"index: expected integer indices, got dtype {idx.dtype}")
    if idx.shape != rows_shape:
        raise ValueError(f"index: expected shape {rows_shape}, got {idx.shape}")
    n = x.shape[ax]
    if idx.size:
        lo, hi = int(idx.min()), int(idx.max())
        if lo < 0 or hi >= n:
            raise IndexError(f"index: {lo if lo < 0 else hi} is out of range for {n} classes (0 <= index < {n})")
    out = _per_row(x, ax)
    ik = np.require(idx.reshape(out.shape), idx.dtype.newbyteorder("="), ["A"])
    _core.rowop("log_softmax_at", x, None, ik, out, None, None, None, ax, None, 0.0, -100, 0.0, 0.0, 1.0, 1.0, 0.5,
                _threads(threads))
    return np.squeeze(out, axis=ax).astype(out_dtype, copy=False)


def _pair(p_logits, q_logits):
    p, p_dtype = _logits(p_logits, "p_logits")
    q, q_dtype = _logits(q_logits, "q_logits")
    if p.shape != q.shape:
        raise ValueError(f"p_logits, q_logits: shapes differ ({p.shape} and {q.shape})")
    cdt = np.result_type(p.dtype, q.dtype)
    return np.require(p, cdt, ["A"]), np.require(q, cdt, ["A"]), p_dtype, q_dtype


_GRADS = (None, "p", "q", "both")


def _divergence(name, p_logits, q_logits, axis, temperature, reduction, return_grad, threads, beta=0.5):
    if return_grad not in _GRADS or isinstance(return_grad, bool):
        raise ValueError(f"return_grad: expected None, 'p', 'q' or 'both', got {return_grad!r}")
    p, q, p_dtype, q_dtype = _pair(p_logits, q_logits)
    ax = _axis(axis, p.ndim)
    t = _temperature(temperature)
    red = _reduction(reduction)
    nthreads = _threads(threads)
    rows = int(np.prod(_row_shape(p, ax), dtype=np.int64))
    scale = (1.0 / rows if rows else 0.0) if red == "mean" else 1.0
    out = _per_row(p, ax)
    gp = np.empty(p.shape, p.dtype) if return_grad in ("p", "both") else None
    gq = np.empty(q.shape, q.dtype) if return_grad in ("q", "both") else None
    _core.rowop(name, _scaled(p, t), _scaled(q, t), None, out, None, gp, gq, ax, None, 0.0, -100, 0.0, 0.0,
                scale / t, 1.0, beta, nthreads)
    per_row = np.squeeze(out, axis=ax)
    res_dtype = np.result_type(p_dtype, q_dtype)
    if red == "none":
        res = per_row.astype(res_dtype, copy=False)
    else:
        total = float(np.sum(per_row))
        if red == "mean":
            total = total / rows if rows else math.nan
        res = _scalar(total, res_dtype)
    grads = []
    if gp is not None:
        grads.append(gp.astype(p_dtype, copy=False))
    if gq is not None:
        grads.append(gq.astype(q_dtype, copy=False))
    return (res, *grads) if grads else res


def kl_logits(p_logits, q_logits, *, axis=-1, temperature=1.0, reduction="none", return_grad=None, threads=None):
    """KL(softmax(p/T) || softmax(q/T)) along `axis`, in nats, with both arrays read in one
    fused pass per row.

    reduction 'none' gives one value per row; 'mean' averages over rows (not elements).
    return_grad 'p', 'q' or 'both' also returns the gradients with respect to the given
    logits (of the sum of the rows for 'none'): ``(loss, grad_p)``, ``(loss, grad_q)`` or
    ``(loss, grad_p, grad_q)``. Never negative; identical inputs give exactly 0 and zero
    gradients; classes that are -inf in both arrays are excluded (zero gradient).

    Examples
    --------
    >>> import numpy as np, divkern
    >>> float(divkern.kl_logits(np.array([0.0, 0.0]), np.array([0.0, 0.0])))
    0.0
    """
    return _divergence("kl", p_logits, q_logits, axis, temperature, reduction, return_grad, threads)


def jsd_logits(p_logits, q_logits, *, beta=0.5, axis=-1, temperature=1.0, reduction="none", return_grad=None,
               threads=None):
    """Generalised Jensen-Shannon divergence ``beta KL(P||M) + (1-beta) KL(Q||M)``,
    ``M = beta P + (1-beta) Q``, of P = softmax(p/T) and Q = softmax(q/T), in nats.

    `beta` in [0, 1], applied literally at 0 and 1 (the divergence is then 0). Options and
    return values as :func:`kl_logits`. Each KL is summed from non-negative per-class terms,
    so the result is never negative and accurate for close distributions.

    Examples
    --------
    >>> import numpy as np, divkern
    >>> round(float(divkern.jsd_logits(np.array([0.0, -np.inf]), np.array([-np.inf, 0.0]))), 12)  # log 2
    0.693147180560
    """
    b = _real(beta, "beta")
    if not 0.0 <= b <= 1.0:
        raise ValueError(f"beta: expected a value in [0, 1], got {beta!r}")
    return _divergence("jsd", p_logits, q_logits, axis, temperature, reduction, return_grad, threads, b)


def tvd_logits(p_logits, q_logits, *, axis=-1, temperature=1.0, reduction="none", return_grad=None, threads=None):
    """Total variation distance ``sum(|P - Q|) / 2`` of P = softmax(p/T), Q = softmax(q/T).

    Options and return values as :func:`kl_logits`; the gradient takes sign(0) = 0.

    Examples
    --------
    >>> import numpy as np, divkern
    >>> float(divkern.tvd_logits(np.array([0.0, -np.inf]), np.array([-np.inf, 0.0])))
    1.0
    """
    return _divergence("tvd", p_logits, q_logits, axis, temperature, reduction, return_grad, threads)
