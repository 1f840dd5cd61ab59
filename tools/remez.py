"""Derive the minimax polynomial coefficients used by csrc/simd/math-inl.hpp.

Run:  python tools/remez.py        (needs mpmath; prints C++ constants)

Each approximation minimises the maximum *weighted* error of a polynomial P on an
interval with the Remez exchange algorithm in 60-digit arithmetic, then rounds the
coefficients to the target precision. The weights are chosen so that the weighted error
is the relative error of the final function (exp or log), which is what the ULP bounds
in the header refer to.
"""
import mpmath as mp

mp.mp.dps = 60


def remez(f, w, a, b, degree, iters=40):
    n = degree + 2
    # Chebyshev extrema as the first reference
    xs = [(a + b) / 2 - (b - a) / 2 * mp.cos(mp.pi * i / (n - 1)) for i in range(n)]
    for _ in range(iters):
        # Solve  w(x_i) (f(x_i) - P(x_i)) = (-1)^i E
        A = mp.matrix(n, n)
        rhs = mp.matrix(n, 1)
        for i, x in enumerate(xs):
            for j in range(degree + 1):
                A[i, j] = x ** j
            A[i, degree + 1] = (-1) ** i / w(x)
            rhs[i] = f(x)
        sol = mp.lu_solve(A, rhs)
        c = [sol[j] for j in range(degree + 1)]
        err = lambda x: w(x) * (f(x) - mp.polyval(c[::-1], x))
        # locate extrema of err on a fine grid, refine, one per sign change interval
        grid = [a + (b - a) * i / 4000 for i in range(4001)]
        vals = [err(x) for x in grid]
        ext = []
        seg_start = 0
        for i in range(1, len(grid) + 1):
            if i == len(grid) or mp.sign(vals[i]) != mp.sign(vals[seg_start]):
                j = max(range(seg_start, i), key=lambda k: abs(vals[k]))
                ext.append(grid[j])
                seg_start = i
        if len(ext) < n:
            break
        # keep the n largest alternating extrema
        while len(ext) > n:
            if abs(err(ext[0])) < abs(err(ext[-1])):
                ext.pop(0)
            else:
                ext.pop()
        xs = ext
    maxerr = max(abs(err(x)) for x in [a + (b - a) * i / 20000 for i in range(20001)])
    return c, maxerr


def exp_tail(r):
    # (exp(r) - 1 - r) / r^2 with the removable singularity at 0
    if abs(r) < mp.mpf('1e-20'):
        return mp.mpf(1) / 2 + r / 6
    return (mp.exp(r) - 1 - r) / r ** 2


def exp_weight(r):
    # r^2 / exp(r), kept away from zero so that the Remez system stays regular; near
    # r = 0 the r^2 factor makes the error of P irrelevant anyway.
    return (r ** 2 + mp.mpf('1e-12')) / mp.exp(r)


def log_q(z):
    # Q(z) with log((1+s)/(1-s)) = 2s + s*z*Q(z), z = s^2
    if z < mp.mpf('1e-30'):
        return mp.mpf(2) / 3
    s = mp.sqrt(z)
    return (mp.log((1 + s) / (1 - s)) - 2 * s) / (s * z)


def log_weight(z):
    # error of s*z*Q relative to log ~ 2s is z/2 times the error of Q
    return (z + mp.mpf('1e-12')) / 2


def show(name, coeffs, maxerr, to):
    print(f"// {name}: max weighted error {mp.nstr(maxerr, 5)} (2^{mp.nstr(mp.log(maxerr, 2), 5)})")
    for i, c in enumerate(coeffs):
        print(f"  c{i} = {to(c)}")


if __name__ == "__main__":
    half_ln2 = mp.log(2) / 2
    c, e = remez(exp_tail, exp_weight, -half_ln2, half_ln2, 4)
    show("exp f32, 1 + r + r^2 P4(r)", c, e, lambda v: repr(float(mp.mpf(float(mp.mpf(v)))))+"f  # f32 "+ mp.nstr(v, 12))
    c, e = remez(exp_tail, exp_weight, -half_ln2, half_ln2, 9)
    show("exp f64, 1 + r + r^2 P9(r)", c, e, lambda v: repr(float(v)))
    sixteenth = mp.log(2) / 32 * (1 + mp.mpf('1e-9'))
    c, e = remez(exp_tail, exp_weight, -sixteenth, sixteenth, 4)
    show("exp_term f64 (table of 2^(j/16)), exp(r) - 1 = r + r^2 P4(r)", c, e, lambda v: repr(float(v)))
    table = [mp.power(2, mp.mpf(j) / 16) for j in range(16)]
    print("  hi =", ", ".join(repr(float(v)) for v in table))
    print("  lo =", ", ".join(repr(float(v - mp.mpf(float(v)))) for v in table))
    zmax = ((mp.sqrt(2) - 1) / (mp.sqrt(2) + 1)) ** 2
    c, e = remez(log_q, log_weight, mp.mpf(0), zmax, 6)
    show("log f64, log1p(g) = 2s + s z Q6(z)", c, e, lambda v: repr(float(v)))
