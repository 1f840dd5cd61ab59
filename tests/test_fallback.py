"""Weighted rows whose weights cancel at the maximum: the fallback below the maximum.

logsumexp hands such a row (the weights of its largest elements sum to zero and every
other term underflows relative to them) to a fallback that reduces again below the
maximum, level after level. Checked here against an exact reference (the weights of each
distinct value summed as fractions, the exponentials in mpmath), against a bit-exact
Python model of the level search, and for its cost: n/2 levels that all cancel took
O(n^2) (a row of 150 000 elements took minutes), now O(n log n).
"""

from __future__ import annotations

import math
import subprocess
import sys
import textwrap
from fractions import Fraction

import numpy as np
import pytest

import divkern

mpmath = pytest.importorskip("mpmath")

DTYPES = [np.float32, np.float64]


def exact_lse(a, b):
    """(log|sum b * exp(a)|, sign) of the exact sum; (-inf, 0) when it is exactly zero."""
    groups: dict[float, Fraction] = {}
    for x, w in zip(np.ravel(a).tolist(), np.ravel(b).tolist()):
        if w != 0:
            groups[x] = groups.get(x, Fraction(0)) + Fraction(w)
    with mpmath.workdps(60):
        total = mpmath.fsum(
            mpmath.mpf(c.numerator) / c.denominator * mpmath.exp(mpmath.mpf(x)) for x, c in groups.items() if c != 0
        )
        if total == 0:
            return -math.inf, 0.0
        return float(mpmath.log(abs(total))), float(mpmath.sign(total))


def check_exact(a, b, dtype):
    a = np.asarray(a, dtype)
    b = np.asarray(b, dtype)
    ref, ref_sign = exact_lse(a, b)
    res, sgn = divkern.logsumexp(a, b=b, return_sign=True)
    plain = divkern.logsumexp(a, b=b)
    assert res.dtype == dtype and sgn.dtype == dtype
    assert sgn == ref_sign
    if math.isinf(ref):
        assert res == ref
    else:
        # the result's rounding, and that of log|c + s| + m in double
        tol = 2 * np.spacing(np.abs(dtype(ref))) + 4 * np.spacing(abs(ref))
        assert abs(float(res) - ref) <= tol, (float(res), ref)
    if ref_sign < 0:
        assert np.isnan(plain)
    else:
        assert plain == res
    return res, sgn


# ------------------------------------------------------------ exact reference


# (a, b): the top level always cancels and the rest underflows against it, so the
# kernels hand the row to the fallback
CASES = {
    "one level": ([800, 800, 0], [1, -1, 1]),
    "several levels": ([3000, 3000, 2000, 2000, 1000, 1000, 0, 0.5], [1, -1, 2, -2, -0.5, 0.5, 3, -1]),
    "negative total": ([3000, 3000, 2000, 2000, 1000, 1000, 0], [1, -1, 2, -2, -0.5, 0.5, -3]),
    "negative total, several terms": ([3000, 3000, 1000, 1000, 0, -1, -2.5], [1, -1, 1, -1, -1, 0.5, 0.25]),
    "live term below a cancelling level": ([3000, 3000, 1000, 1000, 999], [1, -1, 1, -1, 2]),
    "cancelling levels within exp range": ([3000, 3000, 10, 10, 9, 9, 8.5], [1, -1, 1, -1, -2, 2, -0.25]),
    "three-way cancellation": ([3000, 3000, 3000, 1500, 1500, 1500, 7], [1, 2, -3, 0.5, 0.25, -0.75, 0.125]),
    "level below the cancelling ones is the maximum of the rest": ([0.5, 3000, 1000, 3000, 1000, 0], [1, 1, 1, -1, -1, 1]),
    "signed zero is one level": ([3000, 3000, 0.0, -0.0, 0.0], [1, -1, 1, 1, -1]),
    "weights cancel at a value, rest too far": ([3000, 3000, 1000, 1000, 100, 100], [1, -1, 1, -1, 1, -1]),
    # the terms of 999.25 and 998.5 cancel exactly below 1000, but summed in array order,
    # one value's between the other's, left a residue of 2.8e-17: the level search
    # returned log(2.8e-17) + 1000 (sign -1) instead of the exact answer
    "interleaved cancelling terms": ([3000, 3000, 1000, 999.25, 998.5, 1000, 999.25, 998.5],
                                     [1, -1, 1, 1, 1, -1, -1, -1]),
    "interleaved cancelling terms, survivor far below": ([3000, 3000, 1000, 999.25, 998.5, 1000, 999.25, 998.5, 0],
                                                         [1, -1, 1, 1, 1, -1, -1, -1, -2]),
    "all cancel": ([4000, 4000, 3000, 3000, 2000, 2000, 1000, 1000], [1, -1, 1, -1, -2, 2, 0.5, -0.5]),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", sorted(CASES))
def test_exact_reference(name, dtype):
    a, b = CASES[name]
    check_exact(a, b, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_interleaved_residue_is_exact_zero(dtype):
    a, b = CASES["interleaved cancelling terms"]
    res, sgn = divkern.logsumexp(np.asarray(a, dtype), b=np.asarray(b, dtype), return_sign=True)
    assert res == -np.inf and sgn == 0


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("threads", [1, 2])
def test_rows_of_a_matrix(dtype, threads):
    # fallback rows between ordinary ones, along either axis, at any thread count
    rows = [(np.asarray(a, float), np.asarray(b, float)) for a, b in CASES.values()]
    width = max(len(a) for a, _ in rows)
    a = np.full((2 * len(rows), width), -np.inf)
    b = np.zeros_like(a)
    for i, (x, w) in enumerate(rows):
        a[2 * i, : len(x)] = x
        b[2 * i, : len(x)] = w
        a[2 * i + 1] = np.linspace(-3, 3, width)  # an ordinary row
        b[2 * i + 1] = 1
    a, b = a.astype(dtype), b.astype(dtype)
    res, sgn = divkern.logsumexp(a, axis=1, b=b, return_sign=True, threads=threads)
    col, csgn = divkern.logsumexp(np.asfortranarray(a.T), axis=0, b=np.asfortranarray(b.T), return_sign=True,
                                  threads=threads)
    for i in range(0, a.shape[0], 2):
        one, one_sign = divkern.logsumexp(a[i], b=b[i], return_sign=True)
        assert (res[i], sgn[i]) == (one, one_sign)
        assert (col[i], csgn[i]) == (one, one_sign)
        ref, ref_sign = exact_lse(a[i], b[i])
        assert sgn[i] == ref_sign


# ------------------------------------------------------ model of the level search


def level_search(a, b, skip_cancelled: bool, max_lost: int = 16):
    """The fallback's search below the maximum, in Python (the same double operations).

    skip_cancelled=False: every level is evaluated (c = sum of its weights, s = sum of
    w * exp(x - m) below, both in array order) until c or s is nonzero: the search as it
    was. skip_cancelled=True: the search as it is: a level whose weights sum to zero is
    evaluated only when some term below it is nonzero and belongs to a value whose weights
    do not cancel exactly, and after `max_lost` evaluations that gave c = s = 0 only levels
    with c != 0 are. Returns (log|c + s| + m, sign) and whether the level the search
    stopped at had c = 0 and only exactly cancelling terms below (its s a pure residue).
    """
    xs = [float(x) for x in a]
    ws = [float(w) for w in b]
    values = sorted({x for x, w in zip(xs, ws) if w != 0}, reverse=True)

    def live_below(m):
        sums: dict[float, Fraction] = {}
        for x, w in zip(xs, ws):
            if w != 0 and x < m:
                sums[x] = sums.get(x, Fraction(0)) + Fraction(w)
        return any(x < m and w != 0 and sums[x] != 0 and w * math.exp(x - m) != 0 for x, w in zip(xs, ws))

    lost = 0
    for m in values:
        m = next(x for x, w in zip(xs, ws) if w != 0 and x == m)  # the first of equal values (+-0)
        c = 0.0
        for x, w in zip(xs, ws):
            if w != 0 and x == m:
                c += w
        residue_level = c == 0 and not live_below(m)
        if skip_cancelled and c == 0 and (residue_level or lost >= max_lost):
            continue
        s = 0.0
        for x, w in zip(xs, ws):
            if w != 0 and x < m:
                s += w * math.exp(x - m)
        if c == 0 and s == 0:
            lost += 1
            continue
        total = c + s
        return (math.log(abs(total)) + m, 1.0 if total > 0 else -1.0 if total < 0 else 0.0), residue_level
    return (-math.inf, 0.0), False


def _random_rows(seed, count, dtype):
    rng = np.random.default_rng(seed)
    tiny = [1e-300, 5e-324, 1e-310] if dtype == np.float64 else [1e-40, 1e-45, 1e-30]
    for _ in range(count):
        a, b = [3000.0, 3000.0], [1.0, -1.0]
        gaps = rng.choice([800.0, 744.0, 745.5, 700.0, 30.0, 2.0], size=rng.integers(1, 5))
        centres = 2200 - np.cumsum(gaps)  # 800 or more below the top: the kernels hand the row over
        n = int(rng.integers(3, 30))
        while len(a) < n:
            x = float(rng.choice(centres)) + float(rng.choice([0, 0, 1, -1, 0.5, 0.75, 2**-40, rng.normal() * 3]))
            kind = rng.integers(0, 6)
            if kind < 3:
                w = float(rng.choice([1, -1, 2, 0.25, 7, *tiny]))
                a += [x, x]
                b += [w, -w]
            elif kind == 3:
                a += [x, x, x]
                b += [1.0, 1e-20, -1.0]
            else:
                a.append(x)
                b.append(float(rng.choice([1, -1, 3.5, -0.1, *tiny])))
        perm = rng.permutation(len(a)) if rng.random() < 0.7 else np.arange(len(a))
        yield np.asarray(a, dtype)[perm], np.asarray(b, dtype)[perm]


@pytest.mark.parametrize("dtype", DTYPES)
def test_matches_model_bit_for_bit(dtype):
    """The result is the model's, bit for bit, and the search as it was gives the same
    result wherever the level it stopped at was not a rounding residue."""
    residues = 0
    for a, b in _random_rows(11 if dtype == np.float32 else 12, 400, dtype):
        res, sgn = divkern.logsumexp(a, b=b, return_sign=True)
        (want, want_sign), _ = level_search(a, b, skip_cancelled=True)
        assert (float(res), float(sgn)) == (float(dtype(want)), want_sign), (a.tolist(), b.tolist())
        (was, was_sign), residue = level_search(a, b, skip_cancelled=False)
        if residue:
            residues += 1
        else:
            assert (want, want_sign) == (was, was_sign), (a.tolist(), b.tolist())
    assert residues > 0  # the inputs include rows where the old search stopped at a residue


def test_model_residue_example():
    a, b = CASES["interleaved cancelling terms"]
    (was, was_sign), residue = level_search(a, b, skip_cancelled=False)
    assert residue and was_sign == -1.0 and 961 < was < 962  # log(2.8e-17) + 1000
    assert level_search(a, b, skip_cancelled=True) == ((-math.inf, 0.0), False)


# -------------------------------------------------------------------- cost


def _run(code: str, timeout: float = 30):
    """`code` in a fresh interpreter (a quadratic search would take minutes)."""
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=timeout)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_cancelling_pairs_are_not_quadratic():
    # n/2 distinct values, each with the weights +1 and -1: every level cancels exactly.
    # The level-by-level search evaluated each level over the whole row: O(n^2), minutes
    # for these 150 000 elements (0.5 s for 8000, 1.9 s for 16 000); now O(n log n).
    out = _run("""
        import numpy as np, divkern
        n = 150_000
        for dt in (np.float64, np.float32):
            a = np.repeat(np.arange(n // 2) * 1000.0, 2).astype(dt)
            b = np.tile([1.0, -1.0], n // 2).astype(dt)
            r, s = divkern.logsumexp(a, b=b, return_sign=True)
            assert r == -np.inf and s == 0, (r, s)
            # a survivor below all of them
            a2, b2 = np.append(a, dt(-500.0)), np.append(b, dt(-3.0))
            r, s = divkern.logsumexp(a2, b=b2, return_sign=True)
            assert s == -1 and abs(r - (np.log(3.0) - 500)) <= 4 * np.spacing(dt(500)), (r, s)
            assert np.isnan(divkern.logsumexp(a2, b=b2))
            # shuffled: the same levels in another array order
            p = np.random.default_rng(0).permutation(n)
            r, s = divkern.logsumexp(a[p], b=b[p], return_sign=True)
            assert r == -np.inf and s == 0, (r, s)
        print("ok")
    """)
    assert out.strip() == "ok"


def test_levels_lost_to_rounding_are_bounded():
    # Each of the levels in [256, 512) cancels, and below them the terms of 0 (weight 1)
    # and 2^-46 (weight -1) do not cancel exactly but round to the same double there
    # (2^-46 - m == -m), so each level's evaluation gives c = s = 0. The search evaluated
    # every such level over the whole row (O(n^2)); it now stops evaluating them after a
    # few and goes on to the next level whose own weights do not sum to zero: 2^-46, where
    # c + s = -1 + exp(-2^-46) ~ -2^-46 (exp's rounding: within 1%).
    out = _run("""
        import numpy as np, divkern
        k = 60_000
        for dt in (np.float64, np.float32):
            lv = np.unique((256 + np.arange(k) * (256 / k)).astype(dt))
            a = np.concatenate([[0.0, 2.0**-46, 3000.0, 3000.0], np.repeat(lv, 2)]).astype(dt)
            b = np.concatenate([[1.0, -1.0, 1.0, -1.0], np.tile([1.0, -1.0], lv.size)]).astype(dt)
            r, s = divkern.logsumexp(a, b=b, return_sign=True)
            assert s == -1 and abs(r - (-46 * np.log(2.0))) < 0.02, (r, s)
        print("ok")
    """)
    assert out.strip() == "ok"
