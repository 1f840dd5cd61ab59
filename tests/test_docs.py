"""What the documentation says holds: logsumexp's zero weights, the benchmark README's setup."""

from __future__ import annotations

import pathlib
import re
import tomllib

import numpy as np
import pytest

import divkern

ROOT = pathlib.Path(__file__).resolve().parent.parent

# (a, b) with every weight zero, and the documented (res, sign)
ALL_ZERO = [
    ([1.0, 2.0], [0.0, 0.0], -np.inf, 0.0),
    ([1.0, 2.0], [0.0, -0.0], -np.inf, 0.0),
    ([-np.inf, 3.0], [0.0, 0.0], -np.inf, 0.0),
    ([np.inf, 2.0], [0.0, 0.0], np.nan, np.nan),
    ([np.nan, 2.0], [0.0, 0.0], np.nan, np.nan),
    ([-np.inf, np.inf], [0.0, 0.0], np.nan, np.nan),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("a, b, res, sign", ALL_ZERO)
def test_all_zero_weights_as_documented(a, b, res, sign, dtype):
    a, b = np.asarray(a, dtype), np.asarray(b, dtype)
    r, s = divkern.logsumexp(a, b=b, return_sign=True)
    np.testing.assert_array_equal([r, s], [res, sign])
    np.testing.assert_array_equal(divkern.logsumexp(a, b=b), res)
    # as SciPy (the direct formula)
    special = pytest.importorskip("scipy.special")
    with np.errstate(all="ignore"):
        np.testing.assert_array_equal(special.logsumexp(a, b=b, return_sign=True), (res, sign))


def test_zero_weight_ignored_where_some_weight_is_not():
    r, s = divkern.logsumexp(np.asarray([1.0, np.inf, np.nan]), b=np.asarray([1.0, 0.0, 0.0]), return_sign=True)
    assert (r, s) == (1.0, 1.0)


def test_logsumexp_doc_states_all_zero_weights():
    doc = " ".join(divkern.logsumexp.__doc__.split())
    b_param = doc[doc.index("b : array_like") : doc.index("keepdims : bool")]
    # the zero-weight rule is stated with its exception, and the exception's results
    assert "ignored, even if it is infinite or NaN, in a sum with some nonzero weight" in b_param
    assert "-inf (sign 0) when the elements are finite or -inf" in b_param
    assert "NaN (sign NaN) when one of them is +inf or NaN" in b_param


def test_bench_readme_uses_the_clone_venv():
    readme = ROOT / "bench" / "README.md"
    if not readme.exists():
        pytest.skip("no bench/README.md next to the tests")
    text = readme.read_text()
    activations = re.findall(r"\.\s+(\S*)bin/activate", text)
    assert activations and all(path == ".venv/" for path in activations), activations
    assert "python3 -m venv .venv" in text
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    installs = re.findall(r'pip install "\.\[(\w+)\]"', text)
    assert installs and all(e in extras for e in installs)
