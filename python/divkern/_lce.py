"""linear_cross_entropy: the fused linear layer + cross-entropy (+ z-loss) of a language
model's head, without the (N, V) logits.

The Python side checks the arguments and allocates the outputs; the compiled driver
(csrc/lce) produces the logits block by block with OpenBLAS GEMMs, reduces them with the
row-reduction engine, and pushes their gradient through the layer.
"""

from __future__ import annotations

import numbers

import numpy as np

from . import _core
from ._validate import check_threads

__all__ = ["linear_cross_entropy"]

_REDUCTIONS = ("mean", "sum", "none")
_INT32_MAX = 2**31 - 1


def _float_array(x, name: str) -> np.ndarray:
    if x is None:
        raise TypeError(f"{name}: expected an array, got None")
    try:
        arr = np.asarray(x)
    except (TypeError, ValueError) as e:
        raise type(e)(f"{name}: cannot convert to an array: {e}") from e
    if arr.dtype.kind != "f" or arr.dtype.itemsize not in (4, 8):
        raise TypeError(
            f"{name}: expected float32 or float64 values, got dtype {arr.dtype} "
            "(convert explicitly, e.g. with .astype(np.float32))"
        )
    if not arr.dtype.isnative:
        arr = arr.astype(arr.dtype.newbyteorder("="))
    return arr


def _rows_unit_stride(a: np.ndarray, axis: int) -> bool:
    """Whether `a` (2-d) has unit stride along `axis` (or length <= 1 there), aligned."""
    return a.flags.aligned and (a.shape[axis] <= 1 or a.strides[axis] == a.itemsize) and all(
        s > 0 or n <= 1 for s, n in zip(a.strides, a.shape)
    )


def _real(x, name: str) -> float:
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, numbers.Real):
        raise TypeError(f"{name}: expected a real number, got {x!r}")
    return float(x)


def _labels(target, n: int, v: int, ignore_index: int) -> tuple[np.ndarray, int]:
    """int64 labels: the class of each row, -1 for an ignored one; and the rows kept."""
    if target is None:
        raise TypeError("target: expected an array of class indices, got None")
    t = np.asarray(target)
    if t.dtype.kind not in "iu":
        raise TypeError(f"target: expected integer class indices, got dtype {t.dtype}")
    if t.ndim != 1 or t.shape[0] != n:
        raise ValueError(f"target: expected shape ({n},) (one class per row of hidden), got {t.shape}")
    info = np.iinfo(t.dtype)
    ignored = t == ignore_index if info.min <= ignore_index <= info.max else np.zeros(n, dtype=bool)
    out_of_range = ~ignored & ((t < 0) | (t >= v))
    if out_of_range.any():
        bad = t[np.argmax(out_of_range)]
        raise IndexError(
            f"target: class {bad} is out of range for {v} classes (expected 0 <= target < {v}, "
            f"or ignore_index={ignore_index})"
        )
    labels = np.full(n, -1, dtype=np.int64)
    labels[~ignored] = t[~ignored]  # every kept value fits: 0 <= t < v
    return labels, int(n - np.count_nonzero(ignored))


def linear_cross_entropy(
    hidden,
    weight,
    target,
    *,
    bias=None,
    ignore_index=-100,
    label_smoothing=0.0,
    reduction="mean",
    z_loss=0.0,
    return_grad=False,
    threads=None,
):
    """Cross-entropy of a linear layer's logits, without storing the logits.

    Computes ``torch.nn.functional.cross_entropy(hidden @ weight.T + bias, target,
    ignore_index=, label_smoothing=, reduction=)`` plus a z-loss, and optionally its
    gradients, while the (N, V) logits exist only as row blocks of a few tens of MB: each
    block comes from an OpenBLAS GEMM, is reduced by divkern's row-reduction engine, and
    is overwritten by its own gradient, which further GEMMs push into ``grad_hidden`` and
    ``grad_weight``.

    Parameters
    ----------
    hidden : array_like, shape (N, H)
        Inputs of the layer (float32 or float64).
    weight : array_like, shape (V, H)
        The layer's weight, as ``torch.nn.Linear`` stores it (float32 or float64, the
        dtype of `hidden`). A C- or Fortran-ordered array (any array with unit stride
        along one axis) is used in place, never copied.
    target : array_like of int, shape (N,)
        Class of each row, in ``[0, V)`` or equal to `ignore_index`. Any integer dtype.
    bias : array_like, shape (V,), optional
        The layer's bias (the dtype of `hidden`).
    ignore_index : int, optional
        Rows whose target equals it are ignored: their loss is 0, their ``grad_hidden``
        rows are 0, and they add nothing to ``grad_weight`` and ``grad_bias`` (nor to the
        count that ``'mean'`` divides by). Default -100.
    label_smoothing : float, optional
        ε in [0, 1]: the target is ``(1 − ε)·onehot + ε/V``, as in torch. Default 0.
    reduction : {'mean', 'sum', 'none'}, optional
        ``'mean'`` divides the sum over the rows that are not ignored by their number
        (NaN when there is none), ``'sum'`` sums them, ``'none'`` returns them (0 for
        ignored rows). Default ``'mean'``.
    z_loss : float, optional
        z ≥ 0: adds ``z · lse²`` (lse = log Σ exp(logits) of the row) to each row that is
        not ignored, and so ``Σ z·lse² / count`` to ``'mean'`` (PaLM's z-loss, Liger's
        convention). Default 0.
    return_grad : bool, optional
        Also return the gradients of the loss (of the sum of the rows for ``'none'``).
    threads : int, optional
        Number of threads (default :func:`divkern.get_num_threads`). The results do not
        depend on it.

    Returns
    -------
    loss : scalar or ndarray
        A scalar of the input dtype for ``'mean'`` and ``'sum'``, an (N,) array for
        ``'none'``.
    grad_hidden, grad_weight[, grad_bias] : ndarray
        Only with ``return_grad=True``: the gradients, with the shapes and dtype of
        `hidden`, `weight` and `bias` (``grad_bias`` only when `bias` is given), in new
        memory. With every row ignored they are zero (also for ``'mean'``, whose loss is
        then NaN).

    Notes
    -----
    `hidden`, `weight` and `bias` must share one dtype, float32 or float64: mixed dtypes
    raise TypeError rather than silently copying (and widening) the weight. Other inputs
    as in torch: a NaN in a row's logits makes that row's loss and gradient NaN.

    The GEMMs are OpenBLAS's (the ``scipy-openblas32`` package, NumPy's and SciPy's
    build), each single-threaded on a block fixed by the shape and shared among divkern's
    threads: results are bitwise identical for any thread count and from call to call. The
    reduction of a logits tile is bitwise identical at every divkern ISA level; OpenBLAS
    chooses its own kernels for the CPU, so results may differ across machines by the
    GEMM's rounding. float32 per-row losses are within 2 ulp + 2^-22 of the exact
    cross-entropy of the float32 logits the GEMM produced (the logits themselves carry
    float32 GEMM rounding, ~sqrt(H)·2^-24·Σ|h·w| each); docs/accuracy.md.

    Memory beyond the outputs: one logits tile of about 32 MiB (256 float32 rows of a
    32000 vocabulary), up to 8 MiB of partial ``grad_hidden`` blocks, and a few vectors of
    N or V elements; neither grows with the thread count.

    Examples
    --------
    >>> import numpy as np
    >>> import divkern
    >>> rng = np.random.default_rng(0)
    >>> hidden = rng.standard_normal((4, 8))
    >>> weight = rng.standard_normal((10, 8))
    >>> target = np.array([1, 0, 9, -100])
    >>> loss = divkern.linear_cross_entropy(hidden, weight, target)
    >>> logits = hidden @ weight.T
    >>> lse = np.log(np.exp(logits).sum(axis=1))
    >>> ref = np.mean(lse[:3] - logits[np.arange(3), target[:3]])
    >>> bool(np.isclose(loss, ref))
    True
    >>> loss, g_hidden, g_weight = divkern.linear_cross_entropy(hidden, weight, target, return_grad=True)
    >>> g_hidden.shape, g_weight.shape
    ((4, 8), (10, 8))
    """
    nthreads = check_threads(threads)
    nthreads = _core.get_num_threads() if nthreads is None else nthreads
    if not isinstance(reduction, str) or reduction not in _REDUCTIONS:
        raise ValueError(f"reduction: expected 'mean', 'sum' or 'none', got {reduction!r}")
    if not isinstance(return_grad, (bool, np.bool_)):
        raise TypeError(f"return_grad: expected a bool, got {return_grad!r}")
    if isinstance(ignore_index, (bool, np.bool_)) or not isinstance(ignore_index, numbers.Integral):
        raise TypeError(f"ignore_index: expected an integer, got {ignore_index!r}")
    ignore_index = int(ignore_index)
    eps = _real(label_smoothing, "label_smoothing")
    if not 0.0 <= eps <= 1.0:
        raise ValueError(f"label_smoothing: expected a number in [0, 1], got {label_smoothing!r}")
    z = _real(z_loss, "z_loss")
    if not 0.0 <= z < np.inf:
        raise ValueError(f"z_loss: expected a finite number >= 0, got {z_loss!r}")

    h = _float_array(hidden, "hidden")
    w = _float_array(weight, "weight")
    if h.ndim != 2:
        raise ValueError(f"hidden: expected a 2-d array (N, H), got shape {h.shape}")
    if w.ndim != 2:
        raise ValueError(f"weight: expected a 2-d array (V, H), got shape {w.shape}")
    n, hdim = h.shape
    v = w.shape[0]
    if w.shape[1] != hdim:
        raise ValueError(f"weight: expected shape (V, {hdim}) to match hidden's H = {hdim}, got {w.shape}")
    if v == 0:
        raise ValueError("weight: the vocabulary is empty (V = 0): cross-entropy needs at least one class")
    b = None
    if bias is not None:
        b = _float_array(bias, "bias")
        if b.shape != (v,):
            raise ValueError(f"bias: expected shape ({v},) (one value per row of weight), got {b.shape}")
    dtypes = {a.dtype for a in (h, w, b) if a is not None}
    if len(dtypes) > 1:
        names = ", ".join(f"{nm} {a.dtype}" for nm, a in (("hidden", h), ("weight", w), ("bias", b)) if a is not None)
        raise TypeError(f"hidden, weight and bias must share one dtype (float32 or float64), got {names}")
    dtype = h.dtype
    if max(n, hdim, v) > _INT32_MAX - 16:
        raise ValueError(f"hidden, weight: dimensions beyond the 32-bit BLAS (N={n}, H={hdim}, V={v})")
    labels, count = _labels(target, n, v, ignore_index)

    # the kernels read rows with unit stride; weight in place if either axis has one
    if not _rows_unit_stride(h, 1):
        h = np.ascontiguousarray(h)
    if not (_rows_unit_stride(w, 1) or _rows_unit_stride(w, 0)):
        w = np.ascontiguousarray(w)
    if b is not None:
        b = np.require(b, requirements=["C", "A"])

    if reduction == "mean":
        scale = 1.0 / count if count else 0.0
    else:
        scale = 1.0
    row_loss = np.zeros(n, dtype=np.float64)
    grads = (None, None, None)
    if return_grad:
        grads = (
            np.empty((n, hdim), dtype=dtype),
            np.empty((v, hdim), dtype=dtype),
            np.empty(v, dtype=dtype) if b is not None else None,
        )
    _core.linear_cross_entropy(h, w, b, labels, eps, z, row_loss, scale, *grads, nthreads)

    if reduction == "none":
        loss = row_loss.astype(dtype)
    elif reduction == "sum":
        loss = dtype.type(row_loss.sum())
    else:
        loss = dtype.type(row_loss.sum() / count) if count else dtype.type(np.nan)
    if not return_grad:
        return loss
    return (loss,) + tuple(g for g in grads if g is not None)
