"""rowreduce::Plan: a reduction planned once and run on many arrays of one layout (the
Sinkhorn loop's pattern) gives each array's own results, bit for bit."""

import numpy as np
import pytest

import divkern
from divkern import _core


def _arrays(shape, dtype, k, view=lambda a: a):
    rng = np.random.default_rng(5)
    return [view((rng.standard_normal(shape) * (i + 1)).astype(dtype)) for i in range(k)]


CASES = [
    ("short rows", (3001, 13), 1, lambda a: a),
    ("long rows", (9, 5003), 1, lambda a: a),
    ("chunked rows", (3, 140_001), 1, lambda a: a),
    ("columns", (20_011, 7), 0, lambda a: a),
    ("reversed", (400, 300), 1, lambda a: a[::-1, ::-2]),
    ("gathered", (60, 900), 1, lambda a: a[:, ::3]),
]


@pytest.mark.parametrize("name,shape,axis,view", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("op", ["logsumexp", "softmax", "log_softmax"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
def test_plan_runs_like_fresh_calls(name, shape, axis, view, op, dtype, each_isa):
    xs = _arrays(shape, dtype, 4, view)
    f = getattr(divkern, op)
    want = [np.asarray(f(x, axis=axis)) for x in xs]
    if op == "logsumexp":
        odt = np.float32 if dtype == np.float16 else dtype
        outs = [np.empty(tuple(1 if i == axis else s for i, s in enumerate(x.shape)), odt) for x in xs]
    else:
        outs = [np.empty_like(x) for x in xs]
    _core.plan_repeat(xs, [axis % 2], outs, op, 2)
    for got, ref in zip(outs, want):
        got = got.reshape(ref.shape).astype(ref.dtype)
        np.testing.assert_array_equal(got.view(np.uint8), np.ascontiguousarray(ref).view(np.uint8))


def test_plan_refuses_another_layout():
    a, b = _arrays((30, 40), np.float32, 2)
    with pytest.raises(ValueError, match="strides"):
        _core.plan_repeat([a, b[:, ::2].copy()[:, :20]], [1], [np.empty((30, 1), np.float32)] * 2, "logsumexp", 1)
