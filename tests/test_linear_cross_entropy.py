"""divkern.linear_cross_entropy against torch 2.13 (float64 autograd) for every option and
combination, its accuracy in float32, its determinism (threads, repeated calls, ISA
levels), the blocks and chunks of the driver, and bad input."""

import itertools

import numpy as np
import pytest

import divkern
from divkern import _core

from conftest import AVAILABLE_ISAS, ulp_error

torch = pytest.importorskip("torch")
F = torch.nn.functional


def _problem(n, h, v, dtype=np.float64, seed=0, scale=1.0, ignored=0.0, bias=True):
    rng = np.random.default_rng(seed)
    hidden = rng.standard_normal((n, h)).astype(dtype)
    weight = (rng.standard_normal((v, h)) * (scale / np.sqrt(max(h, 1)))).astype(dtype)
    b = rng.standard_normal(v).astype(dtype) if bias else None
    target = rng.integers(0, v, n)
    if ignored:
        target[rng.random(n) < ignored] = -100
    return hidden, weight, b, target


def torch_reference(hidden, weight, target, bias=None, ignore_index=-100, label_smoothing=0.0, reduction="mean",
                    z_loss=0.0):
    """Loss and gradients (of the sum of the rows for 'none') by torch autograd in float64."""
    th = torch.tensor(hidden, dtype=torch.float64, requires_grad=True)
    tw = torch.tensor(weight, dtype=torch.float64, requires_grad=True)
    tb = None if bias is None else torch.tensor(bias, dtype=torch.float64, requires_grad=True)
    logits = F.linear(th, tw, tb)
    tt = torch.tensor(np.asarray(target).astype(np.int64))
    loss = F.cross_entropy(logits, tt, ignore_index=ignore_index, label_smoothing=label_smoothing,
                           reduction=reduction)
    if z_loss:
        kept = (tt != ignore_index).to(torch.float64)
        zl = z_loss * torch.logsumexp(logits, dim=1) ** 2 * kept
        loss = loss + (zl.sum() / kept.sum() if reduction == "mean" else zl.sum() if reduction == "sum" else zl)
    loss.sum().backward()
    grads = [th.grad.numpy(), tw.grad.numpy()] + ([] if tb is None else [tb.grad.numpy()])
    return loss.detach().numpy(), grads


def _check_against_torch(out, ref, rtol=1e-11, atol=1e-13):
    loss, grads = ref
    np.testing.assert_allclose(out[0], loss, rtol=rtol, atol=atol)
    assert len(out) == 1 + len(grads)
    for g, r in zip(out[1:], grads):
        scale = max(1.0, float(np.abs(r).max(initial=0.0)))
        np.testing.assert_allclose(g, r, rtol=rtol, atol=atol * scale)


# ------------------------------------------------------------------ parity with torch

@pytest.mark.parametrize("with_bias", [False, True])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.1, 1.0])
@pytest.mark.parametrize("z_loss", [0.0, 1e-3])
@pytest.mark.parametrize("ignored", ["none", "some", "all"])
def test_float64_matches_torch_autograd(with_bias, reduction, label_smoothing, z_loss, ignored):
    hidden, weight, bias, target = _problem(23, 9, 37, seed=1, scale=3.0, bias=with_bias)
    if ignored == "some":
        target[[0, 5, 6, 22]] = -100
    elif ignored == "all":
        target[:] = -100
    kw = dict(bias=bias, label_smoothing=label_smoothing, reduction=reduction, z_loss=z_loss)
    out = divkern.linear_cross_entropy(hidden, weight, target, return_grad=True, **kw)
    loss_only = divkern.linear_cross_entropy(hidden, weight, target, **kw)
    np.testing.assert_array_equal(np.asarray(loss_only), np.asarray(out[0]))
    ref = torch_reference(hidden, weight, target, **kw)
    if ignored == "all":
        # 'mean' of no row is NaN (0/0, as torch), with zero gradients (torch's are NaN)
        if reduction == "mean":
            assert np.isnan(out[0])
        else:
            np.testing.assert_array_equal(out[0], np.zeros_like(ref[0]))
        for g in out[1:]:
            assert not g.any()
        return
    _check_against_torch(out, ref)
    if reduction == "none":
        assert out[0].shape == (23,) and out[0].dtype == np.float64
        kept = target != -100
        assert not out[0][~kept].any()
    else:
        assert isinstance(out[0], np.float64)


@pytest.mark.parametrize("n,h,v", [(150, 8, 70001), (300, 33, 4097), (5, 1, 2049), (1, 40, 1), (3, 2, 2)])
def test_blocks_and_chunks(n, h, v):
    # V not a multiple of any chunk or block: several row blocks (grad_weight accumulated
    # block after block), several vocabulary chunks and grad_hidden groups, odd tails
    hidden, weight, bias, target = _problem(n, h, v, seed=2, scale=2.0, ignored=0.25)
    plan = _core.lce_blocking("float64", int(np.count_nonzero(target != -100)), h, v)
    if (n, h, v) == (150, 8, 70001):
        assert plan["block_rows"] < 100 and plan["grad_groups"] == 8  # several blocks and groups
    kw = dict(bias=bias, label_smoothing=0.05, z_loss=1e-4)
    for reduction in ("mean", "none"):
        out = divkern.linear_cross_entropy(hidden, weight, target, reduction=reduction, return_grad=True, **kw)
        _check_against_torch(out, torch_reference(hidden, weight, target, reduction=reduction, **kw))


def test_ignore_index_and_target_dtypes():
    hidden, weight, bias, target = _problem(40, 6, 200, seed=3)
    target[::3] = 199
    ref = torch_reference(hidden, weight, target, bias=bias, ignore_index=199)
    for dt in (np.int8, np.uint8, np.int16, np.uint16, np.int32, np.uint32, np.int64, np.uint64):
        t = np.where(target == 199, 127 if dt == np.int8 else 199, target % 120).astype(dt)
        ii = 127 if dt == np.int8 else 199
        r = torch_reference(hidden, weight, t.astype(np.int64), bias=bias, ignore_index=ii)
        out = divkern.linear_cross_entropy(hidden, weight, t, bias=bias, ignore_index=ii, return_grad=True)
        _check_against_torch(out, r)
    out = divkern.linear_cross_entropy(hidden, weight, target, bias=bias, ignore_index=199, return_grad=True)
    _check_against_torch(out, ref)
    # an ignore_index the dtype cannot hold ignores nothing
    t8 = (target % 100).astype(np.uint8)
    a = divkern.linear_cross_entropy(hidden, weight, t8, ignore_index=-100)
    b = divkern.linear_cross_entropy(hidden, weight, t8.astype(np.int64), ignore_index=-100)
    assert a == b


def test_empty_and_degenerate_shapes():
    # N = 0: 'mean' NaN, 'sum' 0, 'none' empty; zero gradients of the right shapes
    w = np.ones((5, 3))
    h = np.zeros((0, 3))
    t = np.zeros(0, np.int64)
    assert np.isnan(divkern.linear_cross_entropy(h, w, t))
    assert divkern.linear_cross_entropy(h, w, t, reduction="sum") == 0
    assert divkern.linear_cross_entropy(h, w, t, reduction="none").shape == (0,)
    loss, gh, gw, gb = divkern.linear_cross_entropy(h, w, t, bias=np.zeros(5), return_grad=True)
    assert gh.shape == (0, 3) and gw.shape == (5, 3) and gb.shape == (5,)
    assert not gw.any() and not gb.any()
    # H = 0: the logits are the bias
    rng = np.random.default_rng(4)
    bias = rng.standard_normal(7)
    target = rng.integers(0, 7, 6)
    out = divkern.linear_cross_entropy(np.zeros((6, 0)), np.zeros((7, 0)), target, bias=bias, return_grad=True)
    _check_against_torch(out, torch_reference(np.zeros((6, 0)), np.zeros((7, 0)), target, bias=bias))
    # V = 1: every loss is 0
    out = divkern.linear_cross_entropy(np.ones((4, 2)), np.ones((1, 2)), np.zeros(4, int), reduction="none")
    np.testing.assert_array_equal(out, np.zeros(4))


def test_nan_rows():
    hidden, weight, bias, target = _problem(10, 4, 50, seed=5)
    hidden[3, 1] = np.nan
    loss = divkern.linear_cross_entropy(hidden, weight, target, bias=bias, reduction="none")
    assert np.isnan(loss[3]) and np.isfinite(np.delete(loss, 3)).all()
    _, gh, _, _ = divkern.linear_cross_entropy(hidden, weight, target, bias=bias, return_grad=True)
    assert np.isnan(gh[3]).all()
    # an ignored row with NaN contributes nothing
    target[3] = -100
    out = divkern.linear_cross_entropy(hidden, weight, target, bias=bias, return_grad=True)
    assert np.isfinite(out[0]) and all(np.isfinite(g).all() for g in out[1:])
    assert not out[1][3].any()


def test_overflowing_logits_do_not_crash():
    # finite inputs whose float32 logits overflow to +-inf: such rows are inf or NaN, the
    # others are untouched, nothing raises
    hidden, weight, bias, target = _problem(8, 4, 30, dtype=np.float32, seed=16)
    hidden[2] = 3e38
    hidden[5] = -3e38
    out = divkern.linear_cross_entropy(hidden, weight, target, bias=bias, reduction="none", return_grad=True)
    ok = np.ones(8, bool)
    ok[[2, 5]] = False
    ref = divkern.linear_cross_entropy(hidden[ok], weight, target[ok], bias=bias, reduction="none")
    np.testing.assert_array_equal(out[0][ok], ref)
    assert not np.isfinite(out[0][~ok]).any()
    assert np.isfinite(out[1][ok]).all()


def test_planned_scratch_under_a_tenth_of_the_logits():
    # the size: the tile and the partial grad_hidden blocks the driver plans stay
    # under 10% of N·V·4 (bench/lce_memory.py measures the process's peak: ~40 MB)
    n, h, v = 4096, 1024, 32000
    plan = _core.lce_blocking("float32", n, h, v)
    partial = (plan["grad_groups"] - 1) * plan["block_rows"] * h * 4
    assert plan["tile_bytes"] + partial <= 0.1 * n * v * 4
    for dtype in ("float32", "float64"):  # and it does not grow with N
        assert _core.lce_blocking(dtype, 10**6, h, v)["tile_bytes"] <= 34 * 2**20


def test_layouts_and_memory():
    hidden, weight, bias, target = _problem(30, 12, 300, seed=6)
    ref = divkern.linear_cross_entropy(hidden, weight, target, bias=bias, reduction="none", return_grad=True)
    variants = {
        "weight Fortran-ordered": (hidden, np.asfortranarray(weight)),
        "weight a slice": (hidden, np.pad(weight, ((0, 0), (0, 5)))[:, :12]),
        "hidden strided rows": (np.pad(hidden, ((0, 0), (0, 3)))[:, :12], weight),
        "hidden every other row": (np.repeat(hidden, 2, axis=0)[::2], weight),
        "hidden non-contiguous columns": (np.repeat(hidden, 2, axis=1)[:, ::2], weight),
        "weight non-native byte order": (hidden, weight.astype(">f8")),
        "hidden lists": (hidden.tolist(), weight),
    }
    for name, (h, w) in variants.items():
        out = divkern.linear_cross_entropy(h, w, target, bias=bias, reduction="none", return_grad=True)
        for a, r in zip(out, ref):
            np.testing.assert_allclose(a, r, rtol=1e-12, atol=1e-14, err_msg=name)
    for g in ref[1:]:
        for x in (hidden, weight, bias, target):
            assert not np.shares_memory(g, x)
    assert ref[1].flags.c_contiguous and ref[2].flags.c_contiguous


# ------------------------------------------------------------------ float32 accuracy

def _float64_reference_rows(hidden, weight, target, bias=None, label_smoothing=0.0, z_loss=0.0):
    x = hidden.astype(np.float64) @ weight.astype(np.float64).T
    if bias is not None:
        x = x + bias.astype(np.float64)
    m = x.max(axis=1, keepdims=True)
    lse = (m + np.log(np.exp(x - m).sum(axis=1, keepdims=True)))[:, 0]
    rows = np.arange(len(target))
    loss = (1 - label_smoothing) * (lse - x[rows, target]) + label_smoothing * (lse - x.mean(axis=1))
    return loss + z_loss * lse**2, lse


@pytest.mark.parametrize("scale", [0.5, 4.0, 16.0])
def test_float32_exact_tiles_within_2_ulp(scale):
    # Dyadic inputs whose products and sums float32 holds exactly: the GEMM's logits are
    # exact, and the per-row loss is within 2 ulp + 2^-22 of the exact cross-entropy.
    # scale 16: the label often dominates (losses near zero test the absolute term).
    rng = np.random.default_rng(7)
    n, h, v = 300, 64, 3001
    hidden = (rng.integers(-8, 9, (n, h)) / 8).astype(np.float32)
    weight = (rng.integers(-8, 9, (v, h)) * (scale / 64)).astype(np.float32)
    bias = (rng.integers(-8, 9, v) / 8).astype(np.float32)
    logits = hidden.astype(np.float64) @ weight.astype(np.float64).T + bias
    target = np.where(rng.random(n) < 0.5, logits.argmax(axis=1), rng.integers(0, v, n))
    for eps, z in ((0.0, 0.0), (0.1, 1e-3)):
        got = divkern.linear_cross_entropy(hidden, weight, target, bias=bias, label_smoothing=eps, z_loss=z,
                                           reduction="none")
        ref, _ = _float64_reference_rows(hidden, weight, target, bias, eps, z)
        err = np.abs(got.astype(np.float64) - ref)
        bound = 2 * np.spacing(np.abs(ref).astype(np.float32)).astype(np.float64) + 2.0**-22
        assert (err <= bound).all(), (err / bound).max()
        assert got.dtype == np.float32


def test_float32_random_within_gemm_bound():
    # General float32 data: the logits carry the float32 GEMM's rounding, at most
    # H·u·Σ|h_k·w_jk| each (docs/accuracy.md); the loss stays within 2 ulp + 2^-22 plus
    # that, and the gradients agree with float64 autograd to float32 accuracy.
    hidden, weight, bias, target = _problem(200, 96, 5000, dtype=np.float32, seed=8, scale=4.0, ignored=0.1)
    eps, z = 0.1, 1e-3
    out = divkern.linear_cross_entropy(hidden, weight, target, bias=bias, label_smoothing=eps, z_loss=z,
                                       reduction="none", return_grad=True)
    kept = target != -100
    ref, lse = _float64_reference_rows(hidden[kept], weight, target[kept], bias, eps, z)
    gemm = 96 * 2.0**-24 * (np.abs(hidden[kept]).astype(np.float64) @ np.abs(weight).astype(np.float64).T).max(axis=1)
    bound = (2 * np.spacing(np.abs(ref).astype(np.float32)) + 2.0**-22 + 2 * (1 + 2 * z * np.abs(lse)) * gemm)
    err = np.abs(out[0][kept].astype(np.float64) - ref)
    assert (err <= bound).all()
    # typical data lands far inside the worst case: 2 ulp + 2^-22 alone
    assert np.mean(err <= 2 * np.spacing(np.abs(ref).astype(np.float32)) + 2.0**-22) > 0.95
    _, grads = torch_reference(hidden, weight, target, bias=bias, label_smoothing=eps, z_loss=z, reduction="none")
    for g, r in zip(out[1:], grads):
        assert g.dtype == np.float32
        np.testing.assert_allclose(g, r, rtol=0, atol=2e-5 * np.abs(r).max())


def test_float32_mean_and_sum_round_once():
    hidden, weight, bias, target = _problem(64, 16, 700, dtype=np.float32, seed=9)
    rows = divkern.linear_cross_entropy(hidden, weight, target, bias=bias, reduction="none")
    ref, _ = _float64_reference_rows(hidden, weight, target, bias)
    s = divkern.linear_cross_entropy(hidden, weight, target, bias=bias, reduction="sum")
    m = divkern.linear_cross_entropy(hidden, weight, target, bias=bias)
    assert isinstance(s, np.float32) and isinstance(m, np.float32)
    assert ulp_error(m, ref.mean(), np.float32) <= 4
    assert ulp_error(s, ref.sum(), np.float32) <= 4
    assert rows.dtype == np.float32


# ------------------------------------------------------------------ determinism

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_identical_for_any_thread_count(dtype):
    # several blocks, chunks and grad_hidden groups; non-consecutive kept rows
    hidden, weight, bias, target = _problem(190, 40, 9000 if dtype == np.float32 else 20000, dtype=dtype, seed=10,
                                            ignored=0.2)
    kw = dict(bias=bias, label_smoothing=0.1, z_loss=1e-4, reduction="none", return_grad=True)
    ref = divkern.linear_cross_entropy(hidden, weight, target, threads=1, **kw)
    before = _core.blas_get_num_threads()
    for threads in (2, 3, 5, 8, None, 1):
        out = divkern.linear_cross_entropy(hidden, weight, target, threads=threads, **kw)
        for a, r in zip(out, ref):
            np.testing.assert_array_equal(a.view(np.uint8), r.view(np.uint8))
    assert _core.blas_get_num_threads() == before  # OpenBLAS's own setting is restored


def test_identical_whatever_openblas_threads_were():
    hidden, weight, bias, target = _problem(100, 64, 3000, dtype=np.float32, seed=11)
    before = _core.blas_get_num_threads()
    results = []
    try:
        for blas_threads in (1, 2, 4):
            _core.blas_set_num_threads(blas_threads)
            results.append(divkern.linear_cross_entropy(hidden, weight, target, bias=bias, return_grad=True))
            assert _core.blas_get_num_threads() == blas_threads
    finally:
        _core.blas_set_num_threads(before)
    for out in results[1:]:
        for a, r in zip(out, results[0]):
            np.testing.assert_array_equal(np.asarray(a).reshape(-1).view(np.uint8), np.asarray(r).reshape(-1).view(np.uint8))


def test_identical_across_isa_levels():
    # the tiles come from the same OpenBLAS kernels; their reduction is the same at every level
    from divkern import _config

    hidden, weight, bias, target = _problem(80, 24, 5000, dtype=np.float32, seed=12)
    kw = dict(bias=bias, label_smoothing=0.2, z_loss=1e-3, reduction="none", return_grad=True)
    results = []
    for isa in AVAILABLE_ISAS:
        with _config._isa(isa):
            results.append(divkern.linear_cross_entropy(hidden, weight, target, **kw))
    for out in results[1:]:
        for a, r in zip(out, results[0]):
            np.testing.assert_array_equal(a.view(np.uint8), r.view(np.uint8))


def test_concurrent_calls():
    from concurrent.futures import ThreadPoolExecutor

    hidden, weight, bias, target = _problem(120, 32, 4000, dtype=np.float32, seed=13)
    ref = divkern.linear_cross_entropy(hidden, weight, target, bias=bias, return_grad=True, threads=2)
    with ThreadPoolExecutor(3) as ex:
        outs = list(ex.map(lambda _: divkern.linear_cross_entropy(hidden, weight, target, bias=bias,
                                                                  return_grad=True, threads=2), range(6)))
    for out in outs:
        for a, r in zip(out, ref):
            np.testing.assert_array_equal(np.asarray(a), np.asarray(r))


# ------------------------------------------------------------------ bad input

def _args():
    hidden, weight, bias, target = _problem(6, 4, 10, seed=14)
    return hidden, weight, target, bias


@pytest.mark.parametrize("change,exc,match", [
    (dict(hidden=np.zeros((6, 5))), ValueError, "weight: expected shape"),
    (dict(hidden=np.zeros(6)), ValueError, "hidden: expected a 2-d"),
    (dict(weight=np.zeros(4)), ValueError, "weight: expected a 2-d"),
    (dict(weight=np.zeros((0, 4))), ValueError, "weight: the vocabulary is empty"),
    (dict(target=np.zeros(5, int)), ValueError, "target: expected shape"),
    (dict(target=np.zeros((6, 1), int)), ValueError, "target: expected shape"),
    (dict(target=np.zeros(6)), TypeError, "target: expected integer"),
    (dict(target=np.zeros(6, bool)), TypeError, "target: expected integer"),
    (dict(target=None), TypeError, "target"),
    (dict(target=np.array([0, 1, 2, 10, 0, 0])), IndexError, "target: class 10 is out of range"),
    (dict(target=np.array([0, 1, 2, -1, 0, 0])), IndexError, "target: class -1 is out of range"),
    (dict(target=np.array([0, 1, 2, 2**64 - 1, 0, 0], np.uint64)), IndexError, "target"),
    (dict(bias=np.zeros(9)), ValueError, "bias: expected shape"),
    (dict(bias=np.zeros((10, 1))), ValueError, "bias: expected shape"),
    (dict(hidden=np.zeros((6, 4), np.int64)), TypeError, "hidden: expected float32 or float64"),
    (dict(hidden=np.zeros((6, 4), np.float16)), TypeError, "hidden: expected float32 or float64"),
    (dict(weight=np.zeros((10, 4), np.float32)), TypeError, "must share one dtype"),
    (dict(bias=np.zeros(10, np.float32)), TypeError, "must share one dtype"),
    (dict(hidden=None), TypeError, "hidden"),
    (dict(hidden=[["a"] * 4] * 6), TypeError, "hidden"),
    (dict(label_smoothing=1.5), ValueError, "label_smoothing"),
    (dict(label_smoothing=-0.1), ValueError, "label_smoothing"),
    (dict(label_smoothing=float("nan")), ValueError, "label_smoothing"),
    (dict(label_smoothing="0.1"), TypeError, "label_smoothing"),
    (dict(z_loss=-1e-4), ValueError, "z_loss"),
    (dict(z_loss=float("nan")), ValueError, "z_loss"),
    (dict(z_loss=float("inf")), ValueError, "z_loss"),
    (dict(z_loss=None), TypeError, "z_loss"),
    (dict(reduction="batchmean"), ValueError, "reduction"),
    (dict(reduction=None), ValueError, "reduction"),
    (dict(ignore_index=1.5), TypeError, "ignore_index"),
    (dict(ignore_index=True), TypeError, "ignore_index"),
    (dict(return_grad="yes"), TypeError, "return_grad"),
    (dict(threads=0), ValueError, "threads"),
    (dict(threads=1.5), TypeError, "threads"),
])
def test_bad_input(change, exc, match):
    hidden, weight, target, bias = _args()
    kw = dict(hidden=hidden, weight=weight, target=target, bias=bias)
    kw.update(change)
    h, w, t = kw.pop("hidden"), kw.pop("weight"), kw.pop("target")
    with pytest.raises(exc, match=match):
        divkern.linear_cross_entropy(h, w, t, **kw)


def test_keyword_only_and_public():
    import inspect

    sig = inspect.signature(divkern.linear_cross_entropy)
    params = list(sig.parameters.values())
    assert [p.name for p in params[:3]] == ["hidden", "weight", "target"]
    assert all(p.kind == p.KEYWORD_ONLY for p in params[3:])
    assert [p.name for p in params[3:]] == ["bias", "ignore_index", "label_smoothing", "reduction", "z_loss",
                                            "return_grad", "threads"]
    assert "linear_cross_entropy" in divkern.__all__
    hidden, weight, target, bias = _args()
    with pytest.raises(TypeError):
        divkern.linear_cross_entropy(hidden, weight, target, bias)


def test_options_combined_float32():
    # every combination once more in float32, against float64 autograd at float32 tolerance
    hidden, weight, bias, target = _problem(17, 8, 45, dtype=np.float32, seed=15, scale=2.0)
    target[[2, 9]] = -100
    for with_bias, reduction, eps, z in itertools.product([False, True], ["mean", "sum", "none"], [0.0, 0.3],
                                                          [0.0, 1e-2]):
        kw = dict(bias=bias if with_bias else None, label_smoothing=eps, reduction=reduction, z_loss=z)
        out = divkern.linear_cross_entropy(hidden, weight, target, return_grad=True, **kw)
        loss, grads = torch_reference(hidden, weight, target, **kw)
        np.testing.assert_allclose(np.asarray(out[0], np.float64), loss, rtol=2e-6, atol=1e-6)
        for g, r in zip(out[1:], grads):
            assert g.dtype == np.float32
            np.testing.assert_allclose(g, r, rtol=0, atol=1e-5 * max(1.0, np.abs(r).max()))
