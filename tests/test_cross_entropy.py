# divkern.cross_entropy against torch.nn.functional.cross_entropy in float64 with
# autograd (z-loss and temperature added to the torch graph by hand), plus accuracy,
# dtypes, layouts, special values, determinism and the bad-input list of issue 13.
import os
import subprocess
import sys

import numpy as np
import pytest

import divkern
from conftest import AVAILABLE_ISAS

torch = pytest.importorskip("torch")
F = torch.nn.functional

RTOL = 1e-12
ATOL = 1e-13


# --------------------------------------------------------------------------- helpers

def torch_ce(x, target, *, axis=-1, weight=None, ignore_index=-100, label_smoothing=0.0,
             reduction="mean", z_loss=0.0, temperature=1.0):
    """(loss, lse, grad) from torch in float64: loss of logits/T plus Liger's z-loss,
    gradient of the (summed) loss w.r.t. the unscaled logits."""
    x = np.asarray(x, np.float64)
    xt = torch.tensor(x, requires_grad=True)
    xm = torch.movedim(xt, axis, -1)
    C = xm.shape[-1]
    rows_shape = tuple(xm.shape[:-1])
    x2 = xm.reshape(-1, C) / temperature
    target = np.asarray(target)
    prob = target.dtype.kind == "f"
    if prob:
        tt = torch.tensor(np.moveaxis(target.astype(np.float64), axis, -1).reshape(-1, C))
        valid = torch.ones(x2.shape[0], dtype=torch.float64)
    else:
        tt = torch.tensor(target.astype(np.int64).reshape(-1))
        valid = (tt != ignore_index).to(torch.float64)
    w = None if weight is None else torch.tensor(np.asarray(weight, np.float64))
    kw = dict(weight=w, label_smoothing=label_smoothing, reduction=reduction)
    if not prob:
        kw["ignore_index"] = ignore_index
    loss = F.cross_entropy(x2, tt, **kw)
    lse = torch.logsumexp(x2, dim=-1)
    if z_loss:
        zterm = z_loss * lse ** 2 * valid
        if reduction == "none":
            loss = loss + zterm
        elif reduction == "sum":
            loss = loss + zterm.sum()
        else:
            nv = valid.sum()
            loss = loss + (zterm.sum() / nv if nv > 0 else 0.0)
    loss.sum().backward()
    out = loss.detach().numpy()
    if reduction == "none":
        out = out.reshape(rows_shape)
    return out, lse.detach().numpy().reshape(rows_shape), xt.grad.numpy()


def bits(a):
    a = np.ascontiguousarray(np.asarray(a))
    return a.dtype, a.shape, a.view(np.uint8).tobytes()


def close(a, b, rtol=RTOL, atol=ATOL):
    np.testing.assert_allclose(np.asarray(a, np.float64), np.asarray(b, np.float64), rtol=rtol, atol=atol)


def make_targets(rng, n, C, ignore):
    t = rng.integers(0, C, size=n)
    if ignore == "some":
        t[::3] = -100
        return t, -100
    if ignore == "real class":
        t[::4] = 2 % C
        return t, 2 % C
    return t, -100


# Shapes covering the short-row kernel (<=128 f32, <=64 f64), longer rows, many rows
# (> 64: several tiles) and rows of 5000+ classes.
SHAPES = [(1, 1), (3, 7), (70, 50), (70, 64), (67, 65), (70, 100), (130, 128), (5, 129), (3, 5003)]


# --------------------------------------------------------------------------- torch parity

@pytest.mark.parametrize("temperature", [1.0, 2.5])
@pytest.mark.parametrize("z_loss", [0.0, 1e-2])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.1])
@pytest.mark.parametrize("ignore", ["none", "some", "real class"])
@pytest.mark.parametrize("weighted", [False, True])
def test_class_targets_all_options_vs_torch(weighted, ignore, label_smoothing, reduction, z_loss, temperature):
    rng = np.random.default_rng(hash((weighted, ignore, label_smoothing, reduction, z_loss, temperature)) % 2**32)
    n, C = 9, 6
    x = rng.standard_normal((n, C)) * 3
    t, ii = make_targets(rng, n, C, ignore)
    w = rng.uniform(0.1, 2.0, C) if weighted else None
    kw = dict(weight=w, ignore_index=ii, label_smoothing=label_smoothing, reduction=reduction, z_loss=z_loss,
              temperature=temperature)
    loss, lse, grad = divkern.cross_entropy(x, t, return_lse=True, return_grad=True, **kw)
    rl, rlse, rg = torch_ce(x, t, **kw)
    close(loss, rl)
    close(lse, rlse)
    close(grad, rg, atol=1e-14)
    if reduction != "none":
        assert np.ndim(loss) == 0
    else:
        assert loss.shape == (n,)
    assert grad.shape == x.shape and grad.dtype == x.dtype
    # ignored rows: gradient exactly zero
    if ignore != "none":
        assert np.all(grad[t == ii] == 0)


@pytest.mark.parametrize("temperature", [1.0, 0.7])
@pytest.mark.parametrize("z_loss", [0.0, 3e-3])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.25])
@pytest.mark.parametrize("weighted", [False, True])
def test_probability_targets_vs_torch(weighted, label_smoothing, reduction, z_loss, temperature):
    rng = np.random.default_rng(11)
    n, C = 8, 5
    x = rng.standard_normal((n, C)) * 2
    p = rng.dirichlet(np.ones(C), size=n)
    p[0] *= 1.3  # used as given, not normalised
    w = rng.uniform(0.0, 2.0, C) if weighted else None
    kw = dict(weight=w, label_smoothing=label_smoothing, reduction=reduction, z_loss=z_loss, temperature=temperature)
    loss, lse, grad = divkern.cross_entropy(x, p, return_lse=True, return_grad=True, **kw)
    rl, rlse, rg = torch_ce(x, p, **kw)
    close(loss, rl)
    close(lse, rlse)
    close(grad, rg, atol=1e-14)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("dtype_path", ["class", "prob"])
def test_shapes_vs_torch(shape, dtype_path):
    rng = np.random.default_rng(shape[0] * 1000 + shape[1])
    n, C = shape
    x = rng.standard_normal(shape) * 4
    w = rng.uniform(0.2, 1.5, C)
    if dtype_path == "class":
        t = rng.integers(0, C, n)
        t[1::5] = -100
        kw = dict(weight=w, label_smoothing=0.05, z_loss=1e-3, temperature=1.5)
    else:
        t = rng.dirichlet(np.ones(C), size=n)
        kw = dict(weight=w, label_smoothing=0.05, z_loss=1e-3, temperature=1.5)
    for reduction in ("mean", "none"):
        loss, lse, grad = divkern.cross_entropy(x, t, reduction=reduction, return_lse=True, return_grad=True, **kw)
        rl, rlse, rg = torch_ce(x, t, reduction=reduction, **kw)
        close(loss, rl)
        close(lse, rlse)
        close(grad, rg, atol=1e-14)


def test_return_tuple_structure():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 5))
    t = np.array([0, 1, 2, 3])
    base = divkern.cross_entropy(x, t)
    assert not isinstance(base, tuple) and np.ndim(base) == 0 and isinstance(base, np.float64)
    r = divkern.cross_entropy(x, t, return_lse=True)
    assert isinstance(r, tuple) and len(r) == 2 and r[1].shape == (4,)
    r = divkern.cross_entropy(x, t, return_grad=True)
    assert isinstance(r, tuple) and len(r) == 2 and r[1].shape == (4, 5)
    r = divkern.cross_entropy(x, t, return_lse=True, return_grad=True)
    assert isinstance(r, tuple) and len(r) == 3 and r[1].shape == (4,) and r[2].shape == (4, 5)
    none = divkern.cross_entropy(x, t, reduction="none")
    assert isinstance(none, np.ndarray) and none.shape == (4,)
    assert base == r[0]


def test_gradient_shares_no_memory():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((5, 6))
    p = rng.dirichlet(np.ones(6), size=5)
    x0, p0 = x.copy(), p.copy()
    _, lse, g = divkern.cross_entropy(x, p, return_lse=True, return_grad=True)
    assert not np.shares_memory(g, x) and not np.shares_memory(g, p)
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(p, p0)


# --------------------------------------------------------------------------- ignored rows, z-loss

@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("z_loss", [0.0, 0.1])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.2])
@pytest.mark.parametrize("ignore_index", [-100, 3])
def test_all_rows_ignored(weighted, z_loss, label_smoothing, ignore_index):
    x = np.random.default_rng(2).standard_normal((6, 5))
    t = np.full(6, ignore_index)
    kw = dict(weight=np.ones(5) if weighted else None, ignore_index=ignore_index, z_loss=z_loss,
              label_smoothing=label_smoothing)
    m, g = divkern.cross_entropy(x, t, reduction="mean", return_grad=True, **kw)
    assert np.isnan(m)
    assert np.all(g == 0)
    s, g = divkern.cross_entropy(x, t, reduction="sum", return_grad=True, **kw)
    assert s == 0 and np.all(g == 0)
    n, lse, g = divkern.cross_entropy(x, t, reduction="none", return_lse=True, return_grad=True, **kw)
    assert n.shape == (6,) and np.all(n == 0) and np.all(g == 0)
    # lse is still reported for ignored rows
    close(lse, torch.logsumexp(torch.tensor(x), -1).numpy())
    rl, _, rg = torch_ce(x, t, reduction="mean", **kw)
    assert np.isnan(rl)
    np.testing.assert_array_equal(rg, 0)


def test_z_loss_mean_uses_row_count_not_weights():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((7, 4)) * 2
    t = np.array([0, 1, -100, 3, 2, -100, 1])
    w = np.array([0.5, 2.0, 3.0, 0.0])
    z = 0.05
    base = divkern.cross_entropy(x, t, weight=w)
    with_z = divkern.cross_entropy(x, t, weight=w, z_loss=z)
    lse = np.log(np.exp(x).sum(-1))
    valid = t != -100
    close(with_z - base, z * np.sum(lse[valid] ** 2) / valid.sum(), atol=1e-14)
    # 'none': z * lse^2 per non-ignored row, unweighted
    nz = divkern.cross_entropy(x, t, weight=w, z_loss=z, reduction="none")
    n0 = divkern.cross_entropy(x, t, weight=w, reduction="none")
    close(nz - n0, np.where(valid, z * lse ** 2, 0.0), atol=1e-14)


def test_z_loss_with_temperature_uses_scaled_lse():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((5, 9)) * 3
    t = rng.integers(0, 9, 5)
    T, z = 3.0, 0.2
    got = divkern.cross_entropy(x, t, z_loss=z, temperature=T, reduction="sum")
    plain = divkern.cross_entropy(x, t, temperature=T, reduction="sum")
    lse = np.log(np.exp(x / T).sum(-1))
    close(got - plain, z * np.sum(lse ** 2), atol=1e-13)


def test_ignore_index_equal_to_real_class():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((6, 4))
    t = np.array([0, 1, 2, 1, 3, 1])
    loss, g = divkern.cross_entropy(x, t, ignore_index=1, reduction="none", return_grad=True)
    assert np.all(loss[t == 1] == 0) and np.all(loss[t != 1] > 0)
    assert np.all(g[t == 1] == 0)
    close(divkern.cross_entropy(x, t, ignore_index=1), torch_ce(x, t, ignore_index=1)[0])


# --------------------------------------------------------------------------- temperature, return_lse

@pytest.mark.parametrize("temperature", [0.25, 1.0, 4.0])
def test_temperature_is_loss_of_scaled_logits(temperature):
    rng = np.random.default_rng(6)
    x = rng.standard_normal((10, 20)) * 2
    t = rng.integers(0, 20, 10)
    loss, lse, g = divkern.cross_entropy(x, t, temperature=temperature, return_lse=True, return_grad=True)
    l2, lse2, g2 = divkern.cross_entropy(x / temperature, t, return_lse=True, return_grad=True)
    close(loss, l2)
    close(lse, lse2)
    # gradients w.r.t. the unscaled logits carry 1/T (no T^2)
    close(g, g2 / temperature, atol=1e-15)


def test_return_lse_every_row_including_ignored():
    rng = np.random.default_rng(7)
    x = rng.standard_normal((70, 33))
    t = rng.integers(0, 33, 70)
    t[::2] = -100
    _, lse = divkern.cross_entropy(x, t, return_lse=True, temperature=2.0)
    close(lse, torch.logsumexp(torch.tensor(x) / 2.0, -1).numpy())


# --------------------------------------------------------------------------- out_grad

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("temperature", [1.0, 2.0])
def test_out_grad_is_logits_themselves(dtype, temperature):
    rng = np.random.default_rng(8)
    x = (rng.standard_normal((70, 300)) * 3).astype(dtype)
    t = rng.integers(0, 300, 70)
    t[5] = -100
    loss_ref, g_ref = divkern.cross_entropy(x.copy(), t, return_grad=True, temperature=temperature)
    buf = x.copy()
    loss, g = divkern.cross_entropy(buf, t, return_grad=True, out_grad=buf, temperature=temperature)
    assert g is buf
    assert bits(loss) == bits(loss_ref)
    assert bits(buf) == bits(g_ref)


@pytest.mark.parametrize("kind", ["c", "f", "strided"])
def test_out_grad_separate_buffer(kind):
    rng = np.random.default_rng(9)
    x = rng.standard_normal((20, 30))
    t = rng.integers(0, 30, 20)
    _, g_ref = divkern.cross_entropy(x, t, return_grad=True)
    if kind == "c":
        out = np.full_like(x, 7.0)
    elif kind == "f":
        out = np.asfortranarray(np.full_like(x, 7.0))
    else:
        out = np.full((20, 60), 7.0)[:, ::2]
    _, g = divkern.cross_entropy(x, t, return_grad=True, out_grad=out)
    assert g is out
    np.testing.assert_array_equal(out, g_ref)


def test_out_grad_is_probability_target():
    rng = np.random.default_rng(10)
    x = rng.standard_normal((6, 5))
    p = rng.dirichlet(np.ones(5), size=6)
    loss_ref, g_ref = divkern.cross_entropy(x, p.copy(), return_grad=True)
    loss, g = divkern.cross_entropy(x, p, return_grad=True, out_grad=p)
    assert g is p
    assert loss == loss_ref
    np.testing.assert_array_equal(p, g_ref)


def test_out_grad_float16():
    x = np.random.default_rng(11).standard_normal((4, 8)).astype(np.float16)
    t = np.array([0, 1, 2, 7])
    out = np.empty_like(x)
    _, g = divkern.cross_entropy(x, t, return_grad=True, out_grad=out)
    assert g is out and g.dtype == np.float16
    _, g2 = divkern.cross_entropy(x, t, return_grad=True)
    np.testing.assert_array_equal(g, g2)


@pytest.mark.parametrize("bad", ["shape", "dtype", "readonly", "transposed"])
def test_out_grad_invalid(bad):
    x = np.random.default_rng(12).standard_normal((4, 6))
    t = np.array([0, 1, 2, 3])
    if bad == "shape":
        out = np.empty((4, 5))
    elif bad == "dtype":
        out = np.empty((4, 6), np.float32)
    elif bad == "transposed":
        out = np.empty((6, 4))
    else:
        out = np.empty((4, 6))
        out.flags.writeable = False
    with pytest.raises(ValueError, match="out_grad"):
        divkern.cross_entropy(x, t, return_grad=True, out_grad=out)


# --------------------------------------------------------------------------- probability targets

def test_probability_targets_ignore_index_nonnegative_raises():
    x = np.zeros((3, 4))
    p = np.full((3, 4), 0.25)
    for ii in (0, 2, 100):
        with pytest.raises(ValueError, match="ignore_index"):
            divkern.cross_entropy(x, p, ignore_index=ii)
    # the default and other negative values do nothing
    close(divkern.cross_entropy(x, p, ignore_index=-1), np.log(4.0))


def test_probability_targets_not_broadcast():
    x = np.zeros((3, 4))
    with pytest.raises(ValueError, match="target"):
        divkern.cross_entropy(x, np.full((1, 4), 0.25))
    with pytest.raises(ValueError, match="target"):
        divkern.cross_entropy(x, np.full(4, 0.25))


@pytest.mark.parametrize("tdtype", [np.float32, np.float64])
def test_probability_target_dtype_mixes(tdtype):
    rng = np.random.default_rng(13)
    x = rng.standard_normal((5, 7))
    p = rng.dirichlet(np.ones(7), size=5).astype(tdtype)
    close(divkern.cross_entropy(x, p), torch_ce(x, p.astype(np.float64))[0], rtol=1e-12)


# --------------------------------------------------------------------------- axis, 1-D

@pytest.mark.parametrize("target_kind", ["class", "prob"])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_axis1_nc_d1_d2_layout_vs_torch(target_kind, reduction):
    rng = np.random.default_rng(14)
    N, C, d1, d2 = 3, 5, 4, 6
    x = rng.standard_normal((N, C, d1, d2)) * 2
    w = rng.uniform(0.3, 2, C)
    xt = torch.tensor(x, requires_grad=True)
    if target_kind == "class":
        t = rng.integers(0, C, (N, d1, d2))
        t[0, 1] = -100
        tt = torch.tensor(t)
        kw = dict(ignore_index=-100)
    else:
        t = np.moveaxis(rng.dirichlet(np.ones(C), size=(N, d1, d2)), -1, 1)
        tt = torch.tensor(t)
        kw = {}
    ref = F.cross_entropy(xt / 1.5, tt, weight=torch.tensor(w), label_smoothing=0.1, reduction=reduction, **kw)
    ref.sum().backward()
    loss, lse, g = divkern.cross_entropy(x, t, axis=1, weight=w, label_smoothing=0.1, reduction=reduction,
                                         temperature=1.5, return_lse=True, return_grad=True)
    close(loss, ref.detach().numpy())
    close(lse, torch.logsumexp(xt.detach() / 1.5, 1).numpy())
    close(g, xt.grad.numpy(), atol=1e-14)
    assert g.shape == x.shape
    if reduction == "none":
        assert loss.shape == (N, d1, d2)
    # z-loss through the helper (movedim) on the same layout
    kz = dict(weight=w, reduction=reduction, z_loss=0.01)
    l2, _, g2 = divkern.cross_entropy(x, t, axis=1, return_lse=True, return_grad=True, **kz)
    rl2, _, rg2 = torch_ce(x, t, axis=1, **kz)
    close(l2, rl2)
    close(g2, rg2, atol=1e-14)


@pytest.mark.parametrize("axis", [0, -2])
def test_axis0_2d_matches_transposed(axis):
    rng = np.random.default_rng(15)
    x = rng.standard_normal((9, 40))  # classes along axis 0
    t = rng.integers(0, 9, 40)
    loss, g = divkern.cross_entropy(x, t, axis=axis, reduction="none", return_grad=True)
    rl, _, rg = torch_ce(x, t, axis=0, reduction="none")
    close(loss, rl)
    close(g, rg, atol=1e-14)


def test_1d_logits_give_0d():
    rng = np.random.default_rng(16)
    x = rng.standard_normal(10)
    r = divkern.cross_entropy(x, 3, reduction="none")
    assert isinstance(r, np.ndarray) and r.shape == ()
    close(r, torch_ce(x[None], [3], reduction="none")[0][0])
    loss, lse, g = divkern.cross_entropy(x, np.int64(3), return_lse=True, return_grad=True)
    assert np.ndim(loss) == 0 and lse.shape == () and g.shape == (10,)
    rl, rlse, rg = torch_ce(x[None], [3])
    close(loss, rl)
    close(lse, rlse[0])
    close(g, rg[0], atol=1e-15)
    p = np.full(10, 0.1)
    r = divkern.cross_entropy(x, p, reduction="none")
    assert r.shape == ()
    close(r, torch_ce(x[None], p[None], reduction="none")[0][0])


# --------------------------------------------------------------------------- target dtypes

@pytest.mark.parametrize("tdtype", [np.int8, np.uint8, np.int16, np.uint16, np.int32, np.uint32, np.int64,
                                    np.uint64])
def test_integer_target_widths(tdtype):
    rng = np.random.default_rng(17)
    x = rng.standard_normal((70, 100))
    t = rng.integers(0, 100, 70)
    ref = divkern.cross_entropy(x, t.astype(np.int64), reduction="none", return_grad=True, return_lse=True)
    got = divkern.cross_entropy(x, t.astype(tdtype), reduction="none", return_grad=True, return_lse=True)
    for a, b in zip(got, ref):
        assert bits(a) == bits(b)
    rl, _, rg = torch_ce(x, t, reduction="none")
    close(got[0], rl)
    # ignore_index expressed in the target's own range
    ti = t.astype(tdtype)
    ti[::7] = 99
    l, g = divkern.cross_entropy(x, ti, ignore_index=99, reduction="sum", return_grad=True)
    rl, _, rg = torch_ce(x, ti.astype(np.int64), ignore_index=99, reduction="sum")
    close(l, rl)
    close(g, rg, atol=1e-14)


@pytest.mark.parametrize("tdtype", [np.int32, np.uint16])
def test_strided_targets(tdtype):
    rng = np.random.default_rng(18)
    x = rng.standard_normal((20, 8))
    t = rng.integers(0, 8, 40).astype(tdtype)[::2]
    ref = divkern.cross_entropy(x, np.ascontiguousarray(t).astype(np.int64), reduction="none")
    assert bits(divkern.cross_entropy(x, t, reduction="none")) == bits(ref)
    tb = t.astype(t.dtype.newbyteorder(">"))
    assert bits(divkern.cross_entropy(x, tb, reduction="none")) == bits(ref)


# --------------------------------------------------------------------------- float32 accuracy

def f32_tol(ref):
    return 2 * np.spacing(np.abs(ref).astype(np.float32)).astype(np.float64) + 2.0 ** -22


@pytest.mark.parametrize("scale", [1.0, 30.0, 1e4])
@pytest.mark.parametrize("shape", [(200, 20), (70, 128), (70, 129), (130, 1000), (4, 5003)], ids=str)
@pytest.mark.parametrize("options", ["plain", "smooth_weight", "prob"])
def test_float32_accuracy(shape, scale, options):
    rng = np.random.default_rng(19)
    n, C = shape
    x = (rng.standard_normal(shape) * scale).astype(np.float32)
    x64 = x.astype(np.float64)
    if options == "prob":
        t = rng.dirichlet(np.ones(C), size=n).astype(np.float32)
        kw = {}
    else:
        t = rng.integers(0, C, n)
        kw = dict(weight=rng.uniform(0.5, 1.5, C), label_smoothing=0.1) if options == "smooth_weight" else {}
    loss, lse, g = divkern.cross_entropy(x, t, reduction="none", return_lse=True, return_grad=True, **kw)
    assert loss.dtype == np.float32 and lse.dtype == np.float32 and g.dtype == np.float32
    rl, rlse, rg = torch_ce(x64, t.astype(np.float64) if options == "prob" else t, reduction="none", **kw)
    err_l = np.abs(loss.astype(np.float64) - rl)
    err_lse = np.abs(lse.astype(np.float64) - rlse)
    assert np.all(err_l <= f32_tol(rl)), float(np.max(err_l / f32_tol(rl)))
    assert np.all(err_lse <= f32_tol(rlse)), float(np.max(err_lse / f32_tol(rlse)))
    np.testing.assert_allclose(g, rg, rtol=0, atol=2e-6 * max(1.0, 1.0))
    m = divkern.cross_entropy(x, t, **kw)
    assert m.dtype == np.float32
    rm = torch_ce(x64, t.astype(np.float64) if options == "prob" else t, **kw)[0]
    assert abs(float(m) - float(rm)) <= float(f32_tol(np.array(rm))) + 1e-6 * abs(float(rm))


# --------------------------------------------------------------------------- dtypes

def test_float16_logits():
    rng = np.random.default_rng(20)
    x = (rng.standard_normal((70, 40)) * 2).astype(np.float16)
    t = rng.integers(0, 40, 70)
    loss, lse, g = divkern.cross_entropy(x, t, reduction="none", return_lse=True, return_grad=True)
    assert loss.dtype == np.float16 and lse.dtype == np.float16 and g.dtype == np.float16
    rl, rlse, rg = torch_ce(x.astype(np.float64), t, reduction="none")
    np.testing.assert_allclose(loss.astype(np.float64), rl, rtol=2e-3, atol=1e-3)
    np.testing.assert_allclose(lse.astype(np.float64), rlse, rtol=2e-3, atol=1e-3)
    np.testing.assert_allclose(g.astype(np.float64), rg, rtol=0, atol=1e-3)
    m = divkern.cross_entropy(x, t)
    assert isinstance(m, np.float16)
    np.testing.assert_allclose(float(m), torch_ce(x.astype(np.float64), t)[0], rtol=2e-3)


@pytest.mark.parametrize("idtype", [np.int8, np.int32, np.int64, np.uint8])
def test_integer_logits_give_float64(idtype):
    rng = np.random.default_rng(21)
    x = rng.integers(0, 6, (6, 9)).astype(idtype)
    t = rng.integers(0, 9, 6)
    loss, lse, g = divkern.cross_entropy(x, t, reduction="none", return_lse=True, return_grad=True)
    assert loss.dtype == lse.dtype == g.dtype == np.float64
    ref = divkern.cross_entropy(x.astype(np.float64), t, reduction="none", return_lse=True, return_grad=True)
    for a, b in zip((loss, lse, g), ref):
        assert bits(a) == bits(b)
    m = divkern.cross_entropy(x, t)
    assert isinstance(m, np.float64)


# --------------------------------------------------------------------------- layouts

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("layout", ["strided", "fortran", "reversed", "reversed cols", "readonly", "transposed axis0"])
def test_layouts_match_contiguous(layout, dtype):
    rng = np.random.default_rng(22)
    base = (rng.standard_normal((140, 2 * 300)) * 3).astype(dtype)
    if layout == "strided":
        x = base[::2, ::2]
    elif layout == "fortran":
        x = np.asfortranarray(base[::2, :300])
    elif layout == "reversed":
        x = base[::-2, :300]
    elif layout == "reversed cols":
        x = base[:70, ::-2]
    elif layout == "readonly":
        x = base[:70, :300].copy()
        x.flags.writeable = False
    else:
        x = np.ascontiguousarray(base[:70, :300].T).T  # C along axis 1, F-contiguous
    t = rng.integers(0, 300, 70)
    t[3] = -100
    xc = np.ascontiguousarray(x)
    x_before = xc.copy()
    kw = dict(weight=rng.uniform(0.5, 1.5, 300), label_smoothing=0.1, z_loss=1e-3, reduction="none",
              return_lse=True, return_grad=True, temperature=1.3)
    got = divkern.cross_entropy(x, t, **kw)
    ref = divkern.cross_entropy(xc, t, **kw)
    for a, b in zip(got, ref):
        assert bits(a) == bits(b)
    np.testing.assert_array_equal(np.asarray(x), x_before)
    p = rng.dirichlet(np.ones(300), size=70).astype(dtype)
    pv = np.asfortranarray(p) if layout == "fortran" else p[::-1][::-1]
    got = divkern.cross_entropy(x, pv, reduction="none", return_grad=True)
    ref = divkern.cross_entropy(xc, p, reduction="none", return_grad=True)
    for a, b in zip(got, ref):
        assert bits(a) == bits(b)


def test_strided_axis1_4d_matches_contiguous():
    rng = np.random.default_rng(23)
    x = rng.standard_normal((4, 10, 6, 8))[:, ::2, ::-1, 1::2]
    t = rng.integers(0, 5, (4, 6, 4))
    got = divkern.cross_entropy(x, t, axis=1, reduction="none", return_grad=True)
    ref = divkern.cross_entropy(np.ascontiguousarray(x), t, axis=1, reduction="none", return_grad=True)
    for a, b in zip(got, ref):
        assert bits(a) == bits(b)


# --------------------------------------------------------------------------- special values

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("C", [7, 100, 5003])
def test_neg_inf_masked_class(dtype, C):
    rng = np.random.default_rng(24)
    x = rng.standard_normal((70, C)).astype(dtype)
    t = rng.integers(0, C - 2, 70)
    xm = x.copy()
    xm[:, C - 1] = -np.inf
    xm[::2, C - 2] = -np.inf
    loss, g = divkern.cross_entropy(xm, t, reduction="none", return_grad=True)
    assert np.all(g[:, C - 1] == 0) and np.all(g[::2, C - 2] == 0)
    assert np.all(np.isfinite(loss)) and np.all(np.isfinite(g))
    rl, _, rg = torch_ce(xm.astype(np.float64), t, reduction="none")
    if dtype == np.float64:
        close(loss, rl)
        close(g, rg, atol=1e-14)
    else:
        assert np.all(np.abs(loss - rl) <= f32_tol(rl))
    # same as the row without the masked class
    l_drop = divkern.cross_entropy(x[1::2, : C - 1], t[1::2], reduction="none")
    np.testing.assert_allclose(loss[1::2], l_drop, rtol=1e-6 if dtype == np.float32 else 1e-14)


def test_neg_inf_masked_class_with_smoothing_is_inf_like_torch():
    x = np.array([[1.0, 2.0, -np.inf, 0.5]])
    loss = divkern.cross_entropy(x, np.array([1]), label_smoothing=0.1)
    rl = torch_ce(x, [1], label_smoothing=0.1)[0]
    assert np.isposinf(rl) and np.isposinf(loss)


@pytest.mark.parametrize("C", [5, 300])
def test_neg_inf_target_logit(C):
    rng = np.random.default_rng(25)
    x = rng.standard_normal((3, C))
    x[1, 2] = -np.inf
    t = np.array([0, 2, 1])
    loss, g = divkern.cross_entropy(x, t, reduction="none", return_grad=True)
    assert np.isposinf(loss[1]) and np.all(np.isfinite(loss[[0, 2]]))
    assert np.all(np.isfinite(g))
    rl, _, rg = torch_ce(x, t, reduction="none")
    close(g, rg, atol=1e-15)
    close(loss[[0, 2]], rl[[0, 2]])
    assert np.isposinf(divkern.cross_entropy(x, t))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("C", [7, 100, 5003])
@pytest.mark.parametrize("where", ["target", "other"])
def test_nan_row_isolated(dtype, C, where):
    rng = np.random.default_rng(26)
    x = rng.standard_normal((70, C)).astype(dtype)
    t = rng.integers(0, C, 70)
    ref_l, ref_lse, ref_g = divkern.cross_entropy(x, t, reduction="none", return_lse=True, return_grad=True)
    xn = x.copy()
    col = t[5] if where == "target" else (t[5] + 1) % C
    xn[5, col] = np.nan
    loss, lse, g = divkern.cross_entropy(xn, t, reduction="none", return_lse=True, return_grad=True)
    assert np.isnan(loss[5]) and np.isnan(lse[5]) and np.all(np.isnan(g[5]))
    others = np.arange(70) != 5
    assert bits(loss[others]) == bits(ref_l[others])
    assert bits(lse[others]) == bits(ref_lse[others])
    assert bits(g[others]) == bits(ref_g[others])
    assert np.isnan(divkern.cross_entropy(xn, t))


def test_pos_inf_logit_row_nan_others_fine():
    x = np.random.default_rng(27).standard_normal((4, 6))
    x[2, 1] = np.inf
    t = np.array([0, 1, 3, 5])
    rl, _, rg = torch_ce(x, t, reduction="none")
    loss, g = divkern.cross_entropy(x, t, reduction="none", return_grad=True)
    np.testing.assert_array_equal(np.isnan(loss), np.isnan(rl))
    close(loss[[0, 1, 3]], rl[[0, 1, 3]])
    close(g[[0, 1, 3]], rg[[0, 1, 3]], atol=1e-15)


def test_large_logits_no_overflow():
    x = np.array([[1e300, 0.0, -1e300], [700.0, 710.0, 720.0]])
    t = np.array([1, 2])
    loss, lse, g = divkern.cross_entropy(x, t, reduction="none", return_lse=True, return_grad=True)
    rl, rlse, rg = torch_ce(x, t, reduction="none")
    close(loss, rl)
    close(lse, rlse)
    close(g, rg, atol=1e-15)


# --------------------------------------------------------------------------- empty

@pytest.mark.parametrize("target_kind", ["class", "prob"])
def test_empty_batch(target_kind):
    x = np.zeros((0, 5))
    t = np.zeros(0, np.int64) if target_kind == "class" else np.zeros((0, 5))
    m, lse, g = divkern.cross_entropy(x, t, return_lse=True, return_grad=True)
    assert np.isnan(m) and lse.shape == (0,) and g.shape == (0, 5)
    s = divkern.cross_entropy(x, t, reduction="sum")
    assert s == 0
    n = divkern.cross_entropy(x, t, reduction="none")
    assert n.shape == (0,)
    m32 = divkern.cross_entropy(x.astype(np.float32), t if target_kind == "class" else t.astype(np.float32))
    assert m32.dtype == np.float32 and np.isnan(m32)


def test_zero_classes_all_rows_ignored():
    x = np.zeros((3, 0))
    t = np.full(3, -100)
    n, lse, g = divkern.cross_entropy(x, t, reduction="none", return_lse=True, return_grad=True)
    assert n.shape == (3,) and np.all(n == 0) and g.shape == (3, 0)
    assert np.all(np.isneginf(lse))
    assert divkern.cross_entropy(x, t, reduction="sum") == 0
    assert np.isnan(divkern.cross_entropy(x, t, reduction="mean"))
    with pytest.raises((IndexError, ValueError), match="target"):
        divkern.cross_entropy(x, np.zeros(3, np.int64))


def test_zero_classes_zero_rows_prob():
    x = np.zeros((0, 0))
    assert divkern.cross_entropy(x, np.zeros((0, 0)), reduction="sum") == 0


# --------------------------------------------------------------------------- determinism

def det_inputs(dtype):
    rng = np.random.default_rng(28)
    cases = []
    for n, C in [(300, 20), (200, 100), (130, 128), (70, 129), (7, 5003)]:
        x = (rng.standard_normal((n, C)) * 5).astype(dtype)
        t = rng.integers(0, C, n)
        t[::9] = -100
        w = rng.uniform(0.1, 2.0, C)
        p = rng.dirichlet(np.ones(C), size=n).astype(dtype)
        cases.append((x, t, w, p))
    return cases


def det_outputs(dtype, threads):
    out = []
    for x, t, w, p in det_inputs(dtype):
        for kw in (dict(), dict(weight=w, label_smoothing=0.1, z_loss=1e-3, temperature=1.7)):
            out += divkern.cross_entropy(x, t, reduction="none", return_lse=True, return_grad=True, threads=threads,
                                         **kw)
            out += divkern.cross_entropy(x, t, reduction="mean", return_lse=True, return_grad=True, threads=threads,
                                         **kw)
            out += divkern.cross_entropy(x, p, reduction="sum", return_grad=True, threads=threads, **kw)
    return out


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_threads_bitwise_identical(dtype):
    one = [bits(a) for a in det_outputs(dtype, 1)]
    for threads in (2, 3, 8):
        assert [bits(a) for a in det_outputs(dtype, threads)] == one, f"threads={threads}"
    assert [bits(a) for a in det_outputs(dtype, 1)] == one, "repeat"


def _isa_digest_script():
    # the subprocess must not need torch: rebuild the inputs with NumPy only
    return r"""
import sys, hashlib, os
import numpy as np
import divkern
want = sys.argv[1]
assert divkern.get_isa() == want, (divkern.get_isa(), want)
rng = np.random.default_rng(28)
h = hashlib.sha256()
for dtype in (np.float32, np.float64):
    for n, C in [(300, 20), (200, 100), (130, 128), (70, 129), (7, 5003)]:
        x = (rng.standard_normal((n, C)) * 5).astype(dtype)
        t = rng.integers(0, C, n)
        t[::9] = -100
        w = rng.uniform(0.1, 2.0, C)
        p = rng.dirichlet(np.ones(C), size=n).astype(dtype)
        for kw in (dict(), dict(weight=w, label_smoothing=0.1, z_loss=1e-3, temperature=1.7)):
            for r in divkern.cross_entropy(x, t, reduction="none", return_lse=True, return_grad=True, **kw):
                h.update(np.ascontiguousarray(r).tobytes())
            for r in divkern.cross_entropy(x, p, reduction="sum", return_grad=True, **kw):
                h.update(np.ascontiguousarray(r).tobytes())
print(h.hexdigest())
"""


@pytest.mark.skipif(len(AVAILABLE_ISAS) < 2, reason="only one ISA level on this CPU")
def test_isa_levels_bitwise_identical_subprocess():
    digests = {}
    script = _isa_digest_script()
    for isa in AVAILABLE_ISAS:
        env = dict(os.environ, DIVKERN_ISA=isa)
        r = subprocess.run([sys.executable, "-c", script, isa], env=env, capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr
        digests[isa] = r.stdout.strip()
    assert len(set(digests.values())) == 1, digests


# --------------------------------------------------------------------------- bad input

X = np.zeros((4, 5))
T = np.array([0, 1, 2, 3])


@pytest.mark.parametrize("target", [np.array([0, 1, 5, 2]), np.array([0, -1, 2, 3]), np.array([0, 1, -101, 2]),
                                    np.array([0, 1, 2, 2**40])], ids=["C", "-1", "-101", "2^40"])
def test_labels_out_of_range(target):
    with pytest.raises((IndexError, ValueError), match="target"):
        divkern.cross_entropy(X, target)


@pytest.mark.parametrize("value", [np.iinfo(np.int64).min, np.iinfo(np.int64).max, np.iinfo(np.int64).min + 1])
def test_int64_extremes(value):
    t = np.array([0, 1, value, 2], np.int64)
    with pytest.raises(IndexError, match="target"):
        divkern.cross_entropy(X, t)
    with pytest.raises(IndexError, match="target"):
        divkern.cross_entropy(X, t, ignore_index=0, reduction="none", return_grad=True)


def test_uint64_extreme():
    t = np.array([0, 1, np.iinfo(np.uint64).max, 2], np.uint64)
    with pytest.raises(IndexError, match="target"):
        divkern.cross_entropy(X, t)
    t = np.array([0, 1, 2**63, 2], np.uint64)
    with pytest.raises(IndexError, match="target"):
        divkern.cross_entropy(X, t)


def test_label_out_of_range_in_later_tile():
    x = np.zeros((200, 5))
    t = np.zeros(200, np.int64)
    t[150] = 5
    with pytest.raises((IndexError, ValueError), match="target"):
        divkern.cross_entropy(x, t, return_grad=True)


@pytest.mark.parametrize("target", [np.array([0, 1, 2]), np.array([[0, 1, 2, 3]]), np.zeros((4, 5), np.int64),
                                    np.array(1)], ids=["short", "2d", "logits shape int", "0d"])
def test_wrong_target_shape(target):
    with pytest.raises(ValueError, match="target"):
        divkern.cross_entropy(X, target)


@pytest.mark.parametrize("weight", [np.ones(4), np.ones(6), np.ones((5, 1)), np.ones((1, 5)),
                                    np.array([1, 1, -1, 1, 1.0]), np.array([1, 1, np.nan, 1, 1]),
                                    np.array([1, 1, np.inf, 1, 1]), np.array([1, -np.inf, 1, 1, 1]), np.float64(1.0)],
                         ids=["short", "long", "col", "row", "negative", "nan", "inf", "-inf", "scalar"])
def test_bad_weight(weight):
    with pytest.raises(ValueError, match="weight"):
        divkern.cross_entropy(X, T, weight=weight)


def test_zero_weights_allowed():
    w = np.array([0.0, 1.0, 1.0, 1.0, 0.0])
    loss, g = divkern.cross_entropy(X, T, weight=w, reduction="none", return_grad=True)
    assert loss[0] == 0 and np.all(g[0] == 0)
    close(divkern.cross_entropy(X, T, weight=w), torch_ce(X, T, weight=w)[0])
    # every non-ignored target weighs 0: mean is 0/0 like torch
    w0 = np.array([0.0, 0.0, 0.0, 0.0, 1.0])
    rl = torch_ce(X, T, weight=w0)[0]
    assert np.isnan(rl) and np.isnan(divkern.cross_entropy(X, T, weight=w0))


@pytest.mark.parametrize("reduction", ["avg", "Mean", "", None, 1])
def test_unknown_reduction(reduction):
    with pytest.raises(ValueError, match="reduction"):
        divkern.cross_entropy(X, T, reduction=reduction)


@pytest.mark.parametrize("eps", [-0.1, 1.1, np.nan, np.inf])
def test_label_smoothing_out_of_range(eps):
    with pytest.raises(ValueError, match="label_smoothing"):
        divkern.cross_entropy(X, T, label_smoothing=eps)


def test_label_smoothing_one_is_uniform():
    rng = np.random.default_rng(29)
    x = rng.standard_normal((5, 6))
    t = rng.integers(0, 6, 5)
    close(divkern.cross_entropy(x, t, label_smoothing=1.0), torch_ce(x, t, label_smoothing=1.0)[0])


@pytest.mark.parametrize("temperature", [0.0, -1.0, np.inf, -np.inf, np.nan])
def test_bad_temperature(temperature):
    with pytest.raises(ValueError, match="temperature"):
        divkern.cross_entropy(X, T, temperature=temperature)


@pytest.mark.parametrize("z", [-1e-3, np.nan, -np.inf])
def test_bad_z_loss(z):
    with pytest.raises(ValueError, match="z_loss"):
        divkern.cross_entropy(X, T, z_loss=z)


@pytest.mark.parametrize("target", [None, "abc", b"ab", np.array(["a", "b", "c", "d"]),
                                    np.array([0, 1, 2, 3], dtype=object), [object()] * 4],
                         ids=["None", "str", "bytes", "str array", "object array", "object list"])
def test_bad_target_types(target):
    with pytest.raises(TypeError):
        divkern.cross_entropy(X, target)


@pytest.mark.parametrize("axis", [2, -3, 10])
def test_bad_axis(axis):
    with pytest.raises(np.exceptions.AxisError):
        divkern.cross_entropy(X, T, axis=axis)


def test_0d_logits():
    with pytest.raises(ValueError, match="logits"):
        divkern.cross_entropy(np.float64(1.0), 0)
    with pytest.raises(ValueError, match="logits"):
        divkern.cross_entropy(np.array(1.0), np.array(0))


def test_bad_input_does_not_write_out_grad():
    out = np.full((4, 5), 3.0)
    with pytest.raises((IndexError, ValueError)):
        divkern.cross_entropy(X, np.array([0, 1, 2, 9]), return_grad=True, out_grad=out)
    assert np.all(out == 3.0)
