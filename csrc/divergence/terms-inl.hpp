// The per-element functions of the divergence family, written once over the vocabulary of
// simd/vec-inl.hpp (V = VD, or the one-lane SD), so that every lane of every ISA level
// computes the same bits. Included inside the per-ISA namespace after simd/math-inl.hpp;
// includes nothing.
//
// All four are total functions with SciPy's special values (scipy.special.entr, rel_entr,
// kl_div; xsf/stats.h), chosen lane by lane with selects; only the finite positive
// ("ordinary") lanes go through the formulas below, which stay accurate where SciPy's
// direct x log(x / y) loses it:
//
//  * x close to y (x / y in [1/2, 2]): with s = (x - y) / (x + y), |s| <= 1/3,
//    log(x / y) = log((1 + s) / (1 - s)) = 2s + s R(s^2), R Taylor's series of atanh
//    (log_series), so
//      rel_entr = x (2s + s R)                 (no log, relative accuracy kept)
//      kl_div   = s (s (x + y) + x R)          (x log(x/y) - x + y = s (x - y) + s x R:
//                                               both terms O(s^2), no cancellation)
//  * x / y over- or underflowing (not a normal double): log x - log y instead of
//    log(x / y), so kl_div(5e-324, 2) = 2 and kl_div(1, 5e-324) = 743.44 (SciPy: -inf, inf);
//  * elsewhere x log(x / y) (- x + y), where no term cancels by more than a few bits.
//
// JensenShannon(p, q) = rel_entr(p, m) + rel_entr(q, m), m = (p + q) / 2, equals
// kl_div(p, m) + kl_div(q, m) = m f(s) with s = (p - q) / (p + q) and
// f(s) = (1 + s) log(1 + s) + (1 - s) log(1 - s) >= 0, evaluated without cancellation:
//    |s| <= 1/2   f = sum of z^k / (k (2k - 1)), z = s^2 (all terms positive, no log)
//    |s| >  1/2   f = a log a + b log b, a = 2p / (p + q), b = 2q / (p + q)
//                 (a log a >= 0.6 outweighs b log b >= -1/e: no more than 2 bits cancel)
// so a term is never negative and is exactly 0 for p == q.

struct DivConst {
  static constexpr double kNormMin = 2.2250738585072014e-308;  // smallest normal double
  static constexpr double kHuge = 0x1p1020;                    // x + y may overflow above
};

// Whether every lane of mask m (of vector type V) is set.
template <class V, class M>
DK_INLINE bool all_of(M m) {
  const V one = splat_as<V>(1.0);
  return !any(eq(select(m, splat_as<V>(0.0), one), one));
}

template <class V>
DK_INLINE auto le(V a, V b) { return lt(a, b) | eq(a, b); }

// Coefficients of a power series sum over k = 1..N of c[k] z^k, rounded at compile time
// (the same constants at every level).
template <int N>
struct AtanhSeries {  // log((1 + s) / (1 - s)) = 2s + s R(s^2): c[k] = 2 / (2k + 1)
  double c[N + 1] = {};
  constexpr AtanhSeries() {
    for (int k = 1; k <= N; ++k) c[k] = 2.0 / (2 * k + 1);
  }
};
template <int N>
struct JsSeries {  // (1 + s) log(1 + s) + (1 - s) log(1 - s): c[k] = 1 / (k (2k - 1))
  double c[N + 1] = {};
  constexpr JsSeries() {
    for (int k = 1; k <= N; ++k) c[k] = 1.0 / (k * (2.0 * k - 1));
  }
};

// sum over k = 1..N of c[k] z^k, as z (E(z^2) + z O(z^2)): two Horner chains of half the
// length, interleaved (half the dependency depth of one).
template <int N, class V>
DK_INLINE V power_series(const double* c, V z) {
  const V z2 = z * z;
  constexpr int kTop = N - 1;  // P(z) = sum over j = 0..N-1 of c[j + 1] z^j
  constexpr int kEvenTop = kTop % 2 == 0 ? kTop : kTop - 1, kOddTop = kTop % 2 == 1 ? kTop : kTop - 1;
  V e = splat_as<V>(c[kEvenTop + 1]), o = splat_as<V>(c[kOddTop + 1]);
  DK_UNROLL for (int j = kEvenTop - 2; j >= 0; j -= 2) e = e * z2 + splat_as<V>(c[j + 1]);
  DK_UNROLL for (int j = kOddTop - 2; j >= 1; j -= 2) o = o * z2 + splat_as<V>(c[j + 1]);
  return z * (e + z * o);
}

// R(z) with log((1 + s) / (1 - s)) = 2s + s R(s^2): R = 2 (z/3 + z^2/5 + ...), Taylor's
// series to z^18, for z = s^2 <= 1/9 (x / y in [1/2, 2]; the remainder is below 2^-56 of R).
constexpr int kAtanhTerms = 18;
constexpr AtanhSeries<kAtanhTerms> kAtanh{};
template <class V>
DK_INLINE V log_series(V z) {
  return power_series<kAtanhTerms>(kAtanh.c, z);
}

// The parts shared by rel_entr and kl_div for ordinary lanes.
template <class V>
struct RatioParts {
  typename VecTraits<V>::M near;  // x / y within [1/2, 2]: the series
  V s, R, xs, ys;                 // s = (xs - ys) / (xs + ys); xs, ys halved when huge
  V halved;                       // 2 where xs, ys are halves, else 1
  V log_ratio;                    // log(x / y) (far lanes), via log x - log y where x / y is not normal
};

template <class V>
DK_INLINE RatioParts<V> ratio_parts(V x, V y) {
  using C = DivConst;
  RatioParts<V> r;
  const V q = x / y;
  r.near = le(splat_as<V>(0.5), q) & le(q, splat_as<V>(2.0));
  const auto huge = lt(splat_as<V>(C::kHuge), x);
  r.xs = select(huge, x * splat_as<V>(0.5), x);
  r.ys = select(huge, y * splat_as<V>(0.5), y);
  r.halved = select(huge, splat_as<V>(2.0), splat_as<V>(1.0));
  r.s = (r.xs - r.ys) / (r.xs + r.ys);
  r.R = log_series(r.s * r.s);
  const auto extreme = lt(q, splat_as<V>(C::kNormMin)) | eq(q, splat_as<V>(kInf));
  const V lg = log(select(extreme, x, q));
  if (any(extreme)) {
    r.log_ratio = select(extreme, lg - log(y), lg);
  } else {
    r.log_ratio = lg;
  }
  return r;
}

template <class V>
DK_INLINE V entr_of(V x) {
  const V zero = splat_as<V>(0.0);
  const V v = (x * log(x)) * splat_as<V>(-1.0);  // -(x log x): entr(1) = -0.0 as in SciPy
  const V special = select(eq(x, zero), zero, select(nan_mask(x), splat_as<V>(kNaN), splat_as<V>(-kInf)));
  return select(lt(zero, x), v, special);
}

template <class V>
DK_INLINE V rel_entr_of(V x, V y) {
  const V zero = splat_as<V>(0.0);
  const RatioParts<V> r = ratio_parts(x, y);
  const V near = x * (r.s * splat_as<V>(2.0) + r.s * r.R);
  const V val = select(r.near, near, x * r.log_ratio);
  // x == 0 <= y: 0; NaN: NaN; otherwise (x < 0, y < 0, y == 0 < x): +inf
  const V special = select(nan_mask(x) | nan_mask(y), splat_as<V>(kNaN),
                           select(eq(x, zero) & le(zero, y), zero, splat_as<V>(kInf)));
  return select(lt(zero, x) & lt(zero, y), val, special);
}

template <class V>
DK_INLINE V kl_div_of(V x, V y) {
  const V zero = splat_as<V>(0.0), inf = splat_as<V>(kInf);
  const RatioParts<V> r = ratio_parts(x, y);
  const V near = (r.s * (r.s * (r.xs + r.ys) + r.xs * r.R)) * r.halved;
  const V far = x * r.log_ratio - (x - y);
  const V val = select(r.near, near, far);
  const auto pos = lt(zero, x) & lt(zero, y);
  const auto finite = lt(x, inf) & lt(y, inf);
  // NaN in, or an infinite x or y > 0 (inf - inf in SciPy's formula): NaN; x == 0 <= y:
  // y itself (-0.0 stays -0.0); otherwise +inf
  const V special = select(nan_mask(x) | nan_mask(y) | pos, splat_as<V>(kNaN),
                           select(eq(x, zero) & le(zero, y), y, inf));
  return select(pos & finite, val, special);
}

// f(s) = (1 + s) log(1 + s) + (1 - s) log(1 - s) = sum over k >= 1 of z^k / (k (2k - 1)),
// z = s^2 <= 1/4: Taylor's series to z^25 (the remainder is below 2^-55 of f), no division.
constexpr int kJsTerms = 25;
constexpr JsSeries<kJsTerms> kJs{};
template <class V>
DK_INLINE V js_series(V z) {
  return power_series<kJsTerms>(kJs.c, z);
}

template <class V>
DK_INLINE V js_of(V p, V q) {
  const V zero = splat_as<V>(0.0), one = splat_as<V>(1.0);
  const V t0 = p + q;
  // p + q below 2^-968: scaled by 2^600 (exactly) so that 1 / (p + q) stays finite
  const auto tiny = lt(t0, splat_as<V>(0x1p-968));
  const V up = select(tiny, splat_as<V>(0x1p600), one);
  const V ps = p * up, qs = q * up;
  const V t = ps + qs;
  const V rt = one / t;
  const V s = (ps - qs) * rt;
  const V abs_s = vmax(s, zero - s);
  const auto series = le(abs_s, splat_as<V>(0.5));
  V f = js_series(s * s);
  if (!all_of<V>(series)) {
    // |s| > 1/2: f = a log a + b log b, a = 2p / (p + q) in [3/2, 2], b = 2 - a
    const V a = (ps + ps) * rt, b = (qs + qs) * rt;
    const V big = select(eq(a, zero), zero, a * log(a)) + select(eq(b, zero), zero, b * log(b));
    f = select(series, f, big);
  }
  V val = select(eq(t, zero), zero, ((t * splat_as<V>(0.5)) * f) * select(tiny, splat_as<V>(0x1p-600), one));
  const auto ordinary = le(zero, p) & le(zero, q) & lt(t0, splat_as<V>(kInf));
  if (!all_of<V>(ordinary)) {
    // negative, infinite or NaN input, or p + q overflowing: SciPy's own formula
    const V m = t0 / splat_as<V>(2.0);
    val = select(ordinary, val, rel_entr_of(p, m) + rel_entr_of(q, m));
  }
  return val;
}
