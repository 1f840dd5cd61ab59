"""cross_entropy, softmax_entropy, log_softmax_at and the logit divergences against
PyTorch (float64, autograd), closed forms, determinism and bad input: the row ops over
the engine (csrc/rowreduce/rowops.hpp)."""

import numpy as np
import pytest

import divkern

torch = pytest.importorskip("torch")
F = torch.nn.functional

# short rows (tile kernels), long rows (blocks), and rows past one block
SHAPES = [(70, 7), (130, 33), (5, 300), (3, 5000)]


def _data(shape, dtype, seed=0, scale=3.0):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(shape) * scale).astype(dtype)


def _torch_ce(x, t, *, weight=None, ignore_index=-100, eps=0.0, reduction="mean", z=0.0, temp=1.0):
    xt = torch.tensor(np.asarray(x, np.float64), requires_grad=True)
    tt = torch.tensor(t)
    w = None if weight is None else torch.tensor(weight, dtype=torch.float64)
    xs = xt / temp
    loss = F.cross_entropy(xs, tt, weight=w, ignore_index=ignore_index, label_smoothing=eps, reduction=reduction)
    if z:
        lse = torch.logsumexp(xs, dim=-1)
        if tt.dtype.is_floating_point:
            zl = z * lse**2
        else:
            zl = z * torch.where(tt != ignore_index, lse**2, torch.zeros_like(lse))
        if reduction == "none":
            loss = loss + zl
        elif reduction == "sum":
            loss = loss + zl.sum()
        else:
            n = zl.numel() if tt.dtype.is_floating_point else int((tt != ignore_index).sum())
            loss = loss + zl.sum() / n
    (loss.sum() if reduction == "none" else loss).backward()
    return loss.detach().numpy(), xt.grad.numpy()


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "opts",
    [
        {},
        {"reduction": "sum"},
        {"reduction": "none"},
        {"weight": True},
        {"eps": 0.1},
        {"eps": 0.2, "weight": True},
        {"z": 1e-3},
        {"z": 1e-2, "weight": True, "reduction": "mean"},
        {"temp": 2.5},
        {"ignore": True},
        {"ignore": True, "weight": True, "eps": 0.1, "z": 1e-3},
    ],
    ids=str,
)
def test_cross_entropy_matches_torch(shape, dtype, opts):
    n, c = shape
    x = _data(shape, dtype)
    rng = np.random.default_rng(1)
    t = rng.integers(0, c, n)
    weight = rng.random(c) + 0.1 if opts.get("weight") else None
    ignore = -100
    if opts.get("ignore"):
        ignore = 1
        t[::3] = 1
    red = opts.get("reduction", "mean")
    kw = dict(weight=weight, ignore_index=ignore, label_smoothing=opts.get("eps", 0.0), reduction=red,
              z_loss=opts.get("z", 0.0), temperature=opts.get("temp", 1.0))
    loss, lse, grad = divkern.cross_entropy(x, t, return_lse=True, return_grad=True, **kw)
    ref, gref = _torch_ce(x, t, weight=weight, ignore_index=ignore, eps=kw["label_smoothing"], reduction=red,
                          z=kw["z_loss"], temp=kw["temperature"])
    tol = 2e-6 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(np.asarray(loss, np.float64), ref, rtol=tol, atol=tol)
    np.testing.assert_allclose(grad, gref, rtol=tol * 10, atol=tol)
    assert grad.dtype == dtype and grad.shape == x.shape
    lref = torch.logsumexp(torch.tensor(x.astype(np.float64)) / kw["temperature"], -1).numpy()
    np.testing.assert_allclose(lse, lref, rtol=tol, atol=tol)
    if red != "none":
        assert np.ndim(loss) == 0
    # the loss alone is the same number
    alone = divkern.cross_entropy(x, t, **kw)
    assert np.array_equal(np.asarray(alone), np.asarray(loss))


@pytest.mark.parametrize("shape", [(70, 7), (4, 3000)])
@pytest.mark.parametrize("eps", [0.0, 0.15])
def test_cross_entropy_probability_targets(shape, eps):
    x = _data(shape, np.float64)
    p = np.random.default_rng(2).random(shape)
    p /= p.sum(-1, keepdims=True)
    w = np.random.default_rng(3).random(shape[1]) + 0.5
    loss, grad = divkern.cross_entropy(x, p, weight=w, label_smoothing=eps, z_loss=1e-3, return_grad=True)
    ref, gref = _torch_ce(x, p, weight=w, eps=eps, z=1e-3)
    np.testing.assert_allclose(loss, ref, rtol=1e-12)
    np.testing.assert_allclose(grad, gref, rtol=1e-10, atol=1e-14)
    with pytest.raises(ValueError, match="ignore_index"):
        divkern.cross_entropy(x, p, ignore_index=0)


def test_cross_entropy_axis1_layout_and_strides():
    x = _data((3, 5, 4, 6), np.float64)
    t = np.random.default_rng(4).integers(0, 5, (3, 4, 6))
    loss, grad = divkern.cross_entropy(x, t, axis=1, return_grad=True)
    ref, gref = _torch_ce(x, t)
    np.testing.assert_allclose(loss, ref, rtol=1e-12)
    np.testing.assert_allclose(grad, gref, rtol=1e-10, atol=1e-16)
    # Fortran order, negative strides, read-only: the same numbers as the contiguous array
    # (to rounding: short contiguous rows are reduced in transposed tiles, strided ones
    # gathered row by row; docs/accuracy.md)
    x2 = _data((40, 9), np.float32)
    t2 = np.random.default_rng(5).integers(0, 9, 40)
    base = divkern.cross_entropy(x2, t2, reduction="none")
    f = np.asfortranarray(x2)
    np.testing.assert_allclose(divkern.cross_entropy(f, t2, reduction="none"), base, rtol=1e-6)
    rev = x2[::-1, ::-1]
    got = divkern.cross_entropy(rev, (8 - t2)[::-1], reduction="none")
    np.testing.assert_allclose(got, base[::-1], rtol=1e-6)
    ro = x2.copy()
    ro.flags.writeable = False
    assert np.array_equal(divkern.cross_entropy(ro, t2, reduction="none"), base)


@pytest.mark.parametrize("tdtype", [np.int8, np.uint8, np.int16, np.int32, np.uint32, np.int64, np.uint64])
def test_cross_entropy_target_widths(tdtype):
    x = _data((100, 11), np.float32)
    t = np.random.default_rng(6).integers(0, 11, 100)
    base = divkern.cross_entropy(x, t, reduction="none")
    assert np.array_equal(divkern.cross_entropy(x, t.astype(tdtype), reduction="none"), base)


def test_cross_entropy_special_rows():
    x = _data((6, 10), np.float64)
    t = np.arange(6) % 10
    x[0, 3] = -np.inf  # a masked class: zero gradient
    x[1, t[1]] = -np.inf  # the target masked: +inf loss, finite gradient
    x[2, 5] = np.nan  # that row only
    loss, grad = divkern.cross_entropy(x, t, reduction="none", return_grad=True)
    assert grad[0, 3] == 0.0 and np.isfinite(loss[0])
    assert loss[1] == np.inf and np.all(np.isfinite(grad[1]))
    assert np.isnan(loss[2]) and np.all(np.isnan(grad[2]))
    assert np.all(np.isfinite(loss[3:])) and np.all(np.isfinite(grad[3:]))
    # every row ignored
    t_all = np.full(6, -100)
    y = np.nan_to_num(x, nan=0.0, neginf=0.0)
    loss, grad = divkern.cross_entropy(y, t_all, return_grad=True)
    assert np.isnan(loss) and np.all(grad == 0)
    assert divkern.cross_entropy(y, t_all, reduction="sum") == 0
    assert np.all(divkern.cross_entropy(y, t_all, reduction="none") == 0)
    # empty batch, 1-D logits
    assert np.isnan(divkern.cross_entropy(np.zeros((0, 4)), np.zeros(0, int)))
    one = divkern.cross_entropy(np.array([1.0, 2.0, 3.0]), 2, reduction="none")
    assert np.ndim(one) == 0
    np.testing.assert_allclose(one, -np.log(np.exp(3) / np.exp([1, 2, 3]).sum()), rtol=1e-14)


def test_cross_entropy_float32_large_logits():
    x = (_data((50, 200), np.float32, scale=1.0) * np.float32(1e4)).astype(np.float32)
    t = np.argmax(x, -1)
    t[::2] = 7
    loss, lse = divkern.cross_entropy(x, t, reduction="none", return_lse=True)
    x64 = x.astype(np.float64)
    m = x64.max(-1)
    exact_lse = m + np.log(np.exp(x64 - m[:, None]).sum(-1))
    exact = exact_lse - x64[np.arange(50), t]
    assert np.all(np.abs(loss - exact) <= 2 * np.spacing(np.abs(exact).astype(np.float32)) + 2.0**-22)
    assert np.all(np.abs(lse - exact_lse) <= 2 * np.spacing(np.abs(exact_lse).astype(np.float32)) + 2.0**-22)


def test_out_grad_in_place_and_errors():
    x = _data((30, 12), np.float32)
    t = np.random.default_rng(7).integers(0, 12, 30)
    loss, grad = divkern.cross_entropy(x, t, return_grad=True)
    y = x.copy()
    loss2, g2 = divkern.cross_entropy(y, t, return_grad=True, out_grad=y)
    assert g2 is y and np.array_equal(y, grad) and loss2 == loss
    with pytest.raises(ValueError, match="out_grad"):
        divkern.cross_entropy(x, t, return_grad=True, out_grad=np.empty((30, 11), np.float32))
    with pytest.raises(ValueError, match="out_grad"):
        divkern.cross_entropy(x, t, return_grad=True, out_grad=np.empty((30, 12), np.float64))
    ro = np.empty_like(x)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="out_grad"):
        divkern.cross_entropy(x, t, return_grad=True, out_grad=ro)


@pytest.mark.parametrize(
    "kwargs, exc, name",
    [
        (dict(target=np.array([0, 12])), IndexError, "target"),
        (dict(target=np.array([0, -1])), IndexError, "target"),
        (dict(target=np.array([0, np.iinfo(np.int64).min])), IndexError, "target"),
        (dict(target=np.array([0, 1, 2])), ValueError, "target"),
        (dict(target=None), TypeError, "target"),
        (dict(target="a"), TypeError, "target"),
        (dict(target=np.array([object(), 1])), TypeError, "target"),
        (dict(weight=np.ones(11)), ValueError, "weight"),
        (dict(weight=-np.ones(12)), ValueError, "weight"),
        (dict(weight=np.full(12, np.nan)), ValueError, "weight"),
        (dict(reduction="avg"), ValueError, "reduction"),
        (dict(label_smoothing=1.5), ValueError, "label_smoothing"),
        (dict(temperature=0.0), ValueError, "temperature"),
        (dict(temperature=np.inf), ValueError, "temperature"),
        (dict(z_loss=-1.0), ValueError, "z_loss"),
        (dict(z_loss=np.nan), ValueError, "z_loss"),
    ],
)
def test_cross_entropy_bad_input(kwargs, exc, name):
    x = np.zeros((2, 12))
    target = kwargs.pop("target", np.array([0, 1]))
    with pytest.raises(exc, match=name):
        divkern.cross_entropy(x, target, **kwargs)


def test_bad_axis_and_0d():
    with pytest.raises(np.exceptions.AxisError):
        divkern.cross_entropy(np.zeros((2, 3)), np.zeros(2, int), axis=2)
    with pytest.raises(ValueError, match="logits"):
        divkern.cross_entropy(np.float64(1.0), 0)


@pytest.mark.parametrize("shape", SHAPES)
def test_entropy_and_log_softmax_at(shape):
    x = _data(shape, np.float64)
    x[0, 1] = -np.inf
    xt = torch.tensor(x)
    ent = -(torch.softmax(xt, -1) * torch.nan_to_num(torch.log_softmax(xt, -1), neginf=0.0)).sum(-1).numpy()
    np.testing.assert_allclose(divkern.softmax_entropy(x), ent, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(divkern.softmax_entropy(x, base=2), ent / np.log(2), rtol=1e-12, atol=1e-15)
    assert np.all(divkern.softmax_entropy(_data(shape, np.float32) * 100) >= 0)
    idx = np.random.default_rng(8).integers(0, shape[1], shape[0])
    ref = torch.log_softmax(xt, -1).numpy()[np.arange(shape[0]), idx]
    np.testing.assert_allclose(divkern.log_softmax_at(x, idx), ref, rtol=1e-12)
    with pytest.raises(IndexError, match="index"):
        divkern.log_softmax_at(x, np.full(shape[0], shape[1]))


def test_log_softmax_at_dominant_element():
    v = divkern.log_softmax_at(np.array([20, 0, 0], np.float32), 0)
    assert v.dtype == np.float32 and -4.2e-9 < v < -4.0e-9


def _torch_div(name, x, y, beta=0.5):
    xt = torch.tensor(x, requires_grad=True)
    yt = torch.tensor(y, requires_grad=True)
    p, q = torch.softmax(xt, -1), torch.softmax(yt, -1)
    lp, lq = torch.log_softmax(xt, -1), torch.log_softmax(yt, -1)
    if name == "kl":
        d = (p * (lp - lq)).sum(-1)
    elif name == "tvd":
        d = 0.5 * (p - q).abs().sum(-1)
    else:
        m = beta * p + (1 - beta) * q
        d = beta * (p * (lp - m.log())).sum(-1) + (1 - beta) * (q * (lq - m.log())).sum(-1)
    d.sum().backward()
    return d.detach().numpy(), xt.grad.numpy(), yt.grad.numpy()


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("name, beta", [("kl", None), ("tvd", None), ("jsd", 0.5), ("jsd", 0.2)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_divergences_match_torch(shape, name, beta, dtype):
    x = _data(shape, dtype)
    y = _data(shape, dtype, seed=9)
    fn = {"kl": divkern.kl_logits, "tvd": divkern.tvd_logits, "jsd": divkern.jsd_logits}[name]
    kw = {} if beta is None else {"beta": beta}
    d, gp, gq = fn(x, y, return_grad="both", **kw)
    ref, rp, rq = _torch_div(name, x.astype(np.float64), y.astype(np.float64), beta or 0.5)
    tol = 3e-6 if dtype == np.float32 else 1e-11
    np.testing.assert_allclose(d, ref, rtol=tol, atol=tol)
    np.testing.assert_allclose(gp, rp, rtol=tol * 10, atol=tol)
    np.testing.assert_allclose(gq, rq, rtol=tol * 10, atol=tol)
    assert gp.dtype == dtype and gq.dtype == dtype
    mean, gmean = fn(x, y, reduction="mean", return_grad="p", **kw)
    np.testing.assert_allclose(mean, ref.mean(), rtol=tol * 10)
    np.testing.assert_allclose(gmean, rp / shape[0], rtol=tol * 10, atol=tol)
    # identical inputs: exactly 0, zero gradients; classes -inf in both excluded
    z = x.copy()
    z[:, 0] = -np.inf
    d0, g0p, g0q = fn(z, z.copy(), return_grad="both", **kw)
    assert np.all(d0 == 0) and np.all(g0p == 0) and np.all(g0q == 0)
    assert np.all(fn(x, x + np.asarray(1e-6, dtype) * _data(shape, dtype, 3), **kw) >= 0)


def test_jsd_beta_edges_and_errors():
    x, y = _data((5, 8), np.float64), _data((5, 8), np.float64, 1)
    assert np.all(divkern.jsd_logits(x, y, beta=0.0) == 0)
    assert np.all(divkern.jsd_logits(x, y, beta=1.0) == 0)
    for b in (-0.1, 1.1, np.nan):
        with pytest.raises(ValueError, match="beta"):
            divkern.jsd_logits(x, y, beta=b)
    with pytest.raises(ValueError, match="p_logits"):
        divkern.kl_logits(x, y[:, :4])
    with pytest.raises(ValueError, match="return_grad"):
        divkern.kl_logits(x, y, return_grad="x")
    np.testing.assert_allclose(
        divkern.jsd_logits(np.array([0.0, -np.inf]), np.array([-np.inf, 0.0])), np.log(2), rtol=1e-15)


@pytest.mark.parametrize("shape", [(300, 20), (8, 40000)])
def test_bitwise_across_threads(shape):
    x = _data(shape, np.float32)
    y = _data(shape, np.float32, 5)
    t = np.random.default_rng(10).integers(0, shape[1], shape[0])
    w = np.random.default_rng(11).random(shape[1])

    def run(th):
        out = divkern.cross_entropy(x, t, weight=w, label_smoothing=0.1, z_loss=1e-3, return_lse=True,
                                    return_grad=True, reduction="none", threads=th)
        out += tuple(divkern.jsd_logits(x, y, return_grad="both", threads=th))
        out += tuple(divkern.kl_logits(x, y, return_grad="both", threads=th))
        out += (divkern.softmax_entropy(x, threads=th),)
        return [np.asarray(a).tobytes() for a in out]

    first = run(1)
    for th in (2, 3, 8):
        assert run(th) == first
