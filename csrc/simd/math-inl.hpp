// Vector exp, log and log1p for float and double, written once over the vocabulary of
// vec-inl.hpp (VF, VD and the one-lane SD). Re-included per ISA level inside
// `namespace divkern::DK_ISA_NS`; includes nothing.
//
// Every function below uses only IEEE-754 add, sub, mul, div, max, comparisons, exact bit
// manipulations of the exponent field and table lookups, and the float exp_term_n the
// correctly rounded fused multiply-add of vec-inl.hpp, so each lane of every ISA level
// (and the scalar SD type) computes the same bits.
//
// Polynomial coefficients are minimax fits made by tools/remez.py (run it to reproduce).
//
//  exp<VF>(x)   float   max error 0.87 ulp over all floats (tests/test_math.py measures
//                       it); exp(-inf) = 0, exp(+inf) = +inf, NaN -> NaN, overflow to
//                       +inf above 88.72, gradual underflow below -87.34, 0 below -103.98.
//  exp<VD>(x)   double  max error < 1 ulp (sampled); same special values, overflow above
//                       709.78, gradual underflow below -708.40, 0 below -745.14.
//  exp_term_n   double  x in [-705, 0]: max error 0.65 ulp (sampled); the terms of the Fast
//                       sums, x < -705 gives exp(-705) (see below); float: x in
//                       [-86.5, 0], max error 1.019 ulp (every input), fused
//                       multiply-adds, x < -86.5 gives exp(-86.5).
//  log<VD>(x)   double  < 1 ulp; log(0) = -inf, log(x<0) = NaN, log(+inf) = +inf.
//  log1p<VD>(x) double  < 1 ulp, exact for |x| < 2^-54; log1p(-1) = -inf, x < -1 -> NaN.
//  log_table_n  double  absolute error < 2^-42 for positive normal x below 2^64 (the sums
//                       it serves), < 1.2 * 2^-42 up to the top of the range; no division (results
//                       rounded to float only).
//
// Method. exp: x = k ln2 + r with |r| <= ln2/2, k = round(x / ln2) by the 1.5*2^p magic
// number, r by a Cody-Waite split of ln2 whose high part has enough trailing zero bits for
// k*ln2_hi to be exact; exp(r) = 1 + r + r^2 P(r) (P of degree 4 for float, 9 for double);
// the result is scaled by 2^k with a single rounding (scale_exact). log: x = 2^k m with
// m in [sqrt(1/2), sqrt(2)), f = m - 1 exact, s = f / (2 + f), and
// log(1 + f) = f - f^2/2 + s (f^2/2 + z Q(z)), z = s^2, the arrangement that keeps the
// large terms exact; log1p adds the rounding error of 1 + x back as a first-order term.

template <class V> struct ExpConst;
template <> struct ExpConst<VF> {
  static constexpr float kLo = -104.0f, kHi = 89.0f;
  // x >= kNormLo: exp(x) is a normal float and k >= -125 (scale_exact takes its one-step path)
  static constexpr float kNormLo = -86.5f;
  static constexpr float kLog2e = 1.44269504088896341f;
  static constexpr float kMagic = 12582912.0f;         // 1.5 * 2^23
  static constexpr float kLn2Hi = 0.693359375f;        // 355/512: k * kLn2Hi exact for |k| < 2^15
  static constexpr float kLn2Lo = -2.12194440e-4f;
  static constexpr float c[5] = {0.49999993451708435f, 0.1666652068983302f, 0.04166838736126113f,
                                 0.008368709824171124f, 0.001381461326078014f};
};
template <class V> struct ExpConstD {
  static constexpr double kLo = -746.0, kHi = 710.0;
  static constexpr double kNormLo = -708.0;  // exp(x) is a normal double for x >= kNormLo
  static constexpr double kLog2e = 1.4426950408889634;
  static constexpr double kMagic = 6755399441055744.0;  // 1.5 * 2^52
  static constexpr double kLn2Hi = 6.93147180369123816490e-01;  // 21 trailing zero bits
  static constexpr double kLn2Lo = 1.90821492927058770002e-10;
  static constexpr double c[10] = {0.5000000000000011,     0.16666666666666413,
                                   0.041666666666530267,   0.008333333333494333,
                                   0.001388888894359769,   0.00019841269506779664,
                                   2.4801493136197254e-05, 2.755758626640849e-06,
                                   2.763023391495826e-07,  2.5000072292150258e-08};
};
template <> struct ExpConst<VD> : ExpConstD<VD> {};
template <> struct ExpConst<SD> : ExpConstD<SD> {};

template <class V>
inline V vmin(V a, V b) {  // a < b ? a : b, returns b when either is NaN
  return select(lt(a, b), a, b);
}

// x = k ln2 + r, |r| <= ln2/2, for x already clamped to the range of the caller; t is
// k + kMagic (k in its low mantissa bits).
template <class V>
DK_INLINE void exp_reduce(V x, V& t, V& k, V& r) {
  using C = ExpConst<V>;
  using T = typename VecTraits<V>::T;
  t = x * splat_as<V>(T(C::kLog2e)) + splat_as<V>(T(C::kMagic));
  k = t - splat_as<V>(T(C::kMagic));
  r = (x - k * splat_as<V>(T(C::kLn2Hi))) - k * splat_as<V>(T(C::kLn2Lo));
}

// r -> exp(r) = 1 + r + r^2 P(r) for |r| <= ln2/2. P is evaluated in Estrin's scheme (pairs
// of terms combined by powers of r^2): the same number of operations as Horner's rule but
// half the dependency depth, which is what limits the throughput of a long vector loop.
template <class V>
DK_INLINE V exp_reduced(V r) {
  using C = ExpConst<V>;
  using T = typename VecTraits<V>::T;
  auto c = [](int i) { return splat_as<V>(T(C::c[i])); };
  constexpr int deg = sizeof(C::c) / sizeof(C::c[0]) - 1;
  const V r2 = r * r;
  V p;
  if constexpr (deg == 4) {
    // (c0 + c1 r) + r^2 ((c2 + c3 r) + c4 r^2)
    p = (c(0) + c(1) * r) + r2 * ((c(2) + c(3) * r) + c(4) * r2);
  } else {
    static_assert(deg == 9, "exp_reduced: unexpected degree");
    // pairs q_i = c_2i + c_2i+1 r, then (q0 + q1 r^2) + r^4 ((q2 + q3 r^2) + r^4 q4)
    const V r4 = r2 * r2;
    const V q0 = c(0) + c(1) * r, q1 = c(2) + c(3) * r, q2 = c(4) + c(5) * r, q3 = c(6) + c(7) * r,
            q4 = c(8) + c(9) * r;
    p = (q0 + q1 * r2) + r4 * ((q2 + q3 * r2) + r4 * q4);
  }
  return (r2 * p + r) + splat_as<V>(T(1));
}

// exp of x already clamped to [kLo, 0] (or NaN).
template <class V>
DK_INLINE V exp_clamped(V x) {
  V t, k, r;
  exp_reduce(x, t, k, r);
  return scale_exact(exp_reduced(r), k, t);
}

// exp(x) for x <= 0 or NaN: the shape of every row-reduction call (x = a - max), which
// can skip the overflow clamp. `x` may be -inf (gives 0). Results below the smallest
// normal number (x < kNormLo) are computed apart, only for vectors holding such a lane
// finite above kLo: producing a subnormal or an underflow to 0 costs a microcode assist
// (~150 cycles a vector on Intel), which masked inputs (-inf) would otherwise pay on
// every vector. The bits are those of clamping at kLo and computing every lane.
template <class V>
DK_INLINE V exp_nonpos(V x) {
  using C = ExpConst<V>;
  using T = typename VecTraits<V>::T;
  V e = exp_clamped(vmax(splat_as<V>(T(C::kNormLo)), x));  // NaN passes through (second operand)
  const auto low = lt(x, splat_as<V>(T(C::kNormLo)));
  if (any(low)) {
    V tiny = splat_as<V>(T(0));  // exp(kLo) rounds to 0
    if (any(low & lt(splat_as<V>(T(C::kLo)), x))) {
      tiny = exp_clamped(vmax(splat_as<V>(T(C::kLo)), x));
    }
    e = select(low, tiny, e);
  }
  return e;
}

// exp(x) of a term of a float64 Fast log-sum-exp sum: x <= 0 or NaN, relative to a maximum
// whose own term (1) is in the same sum or in the running sum it is added to; x < -705
// gives exp(-705), which vanishes next to that 1 like the exact value would (a block adds
// at most 2048 such terms, < 2^-1006), and keeps every intermediate normal. Max error 0.65
// ulp (sampled in tests/test_math.py), against 1.02 for exp_nonpos, in 27 instead of 32
// AVX-512 operations.
// Method: x = (16 e + j) ln2/16 + r with |r| <= ln2/32, so that
// exp(x) = 2^e 2^(j/16) exp(r); 2^(j/16) = hi[j] + lo[j] from a table of 16,
// exp(r) - 1 = r + r^2 P4(r) (tools/remez.py), combined as hi + (lo + hi (exp(r) - 1)).
struct ExpTermConst {
  static constexpr double kLo = -705.0;
  static constexpr double k16Log2e = 16 * ExpConstD<VD>::kLog2e;  // exact
  static constexpr double kMagic = ExpConstD<VD>::kMagic;
  static constexpr double kLn2Hi16 = ExpConstD<VD>::kLn2Hi / 16;  // k * kLn2Hi16 exact, |k| < 2^21
  static constexpr double kLn2Lo16 = ExpConstD<VD>::kLn2Lo / 16;
  static constexpr double c[5] = {0.49999999999999606, 0.1666666666441797, 0.04166666669324991,
                                  0.008333471920757235, 0.0013888594066414853};
  alignas(64) static constexpr double hi[16] = {
      1.0, 1.0442737824274138, 1.0905077326652577, 1.1387886347566916, 1.189207115002721, 1.241857812073484,
      1.2968395546510096, 1.3542555469368927, 1.4142135623730951, 1.4768261459394993, 1.5422108254079407,
      1.6104903319492543, 1.681792830507429, 1.7562521603732995, 1.8340080864093424, 1.9152065613971474};
  alignas(64) static constexpr double lo[16] = {
      0.0, 8.551889705537965e-17, -3.046782079812471e-17, 8.912812676025408e-17, 3.982015231465646e-17,
      4.658027591836937e-17, 2.5382502794888315e-17, 7.70094837980299e-17, -9.667293313452913e-17,
      -3.483994556892796e-17, 7.949834809697621e-17, 2.4707192569797888e-17, 8.199010020581497e-17,
      2.960140695448873e-17, 3.283107224245627e-17, -1.0619946056195963e-16};
};

// The terms of U vectors in lockstep, operation by operation: the same bits as one at a
// time, but the instruction stream offers the out-of-order core U independent operations
// at every step instead of one long dependency chain after another (the scheduler fills
// up with waiting operations of a single chain otherwise). Float: x < kNormLo gives
// exp(kNormLo), a normal result, for the same reason as the double clamp at -705 (no
// subnormal results, see exp_nonpos; and 2^k stays normal, so the levels without vscalef
// scale in one step).
// The float terms are exp's method with fused multiply-adds (fmadd, the same bits at every
// level): 13 instead of 21 AVX-512 operations, max error 1.019 ulp (every input in
// [-86.5, 0] measured). k ln2_hi is exact, so x - k ln2_hi is one rounding either way.
template <int U, class V>
DK_INLINE void exp_term_n(V* x) {
  if constexpr (!std::is_same<V, VD>::value) {
    using C = ExpConst<VF>;
    auto c = [](int i) { return splat(C::c[i]); };
    VF t[U], k[U], r[U], r2[U], a[U], b[U];
    DK_UNROLL for (int u = 0; u < U; ++u) x[u] = vmax(splat(C::kNormLo), x[u]);
    DK_UNROLL for (int u = 0; u < U; ++u) t[u] = fmadd(x[u], splat(C::kLog2e), splat(C::kMagic));
    DK_UNROLL for (int u = 0; u < U; ++u) k[u] = t[u] - splat(C::kMagic);
    DK_UNROLL for (int u = 0; u < U; ++u) r[u] = fmadd(k[u], splat(-C::kLn2Lo), sub_exact_product(x[u], k[u], splat(C::kLn2Hi)));
    DK_UNROLL for (int u = 0; u < U; ++u) r2[u] = r[u] * r[u];
    // 1 + r + r^2 ((c0 + c1 r) + r^2 ((c2 + c3 r) + c4 r^2))
    DK_UNROLL for (int u = 0; u < U; ++u) a[u] = fmadd(c(1), r[u], c(0));
    DK_UNROLL for (int u = 0; u < U; ++u) b[u] = fmadd(c(4), r2[u], fmadd(c(3), r[u], c(2)));
    DK_UNROLL for (int u = 0; u < U; ++u) a[u] = fmadd(r2[u], fmadd(r2[u], b[u], a[u]), r[u]) + splat(1.0f);
    DK_UNROLL for (int u = 0; u < U; ++u) x[u] = scale_exact(a[u], k[u], t[u]);
  } else {
    using C = ExpTermConst;
    auto c = [](int i) { return splat(C::c[i]); };
    VD t[U], k[U], r[U], r2[U], p[U];
    DK_UNROLL for (int u = 0; u < U; ++u) x[u] = vmax(splat(C::kLo), x[u]);
    DK_UNROLL for (int u = 0; u < U; ++u) t[u] = x[u] * splat(C::k16Log2e) + splat(C::kMagic);
    DK_UNROLL for (int u = 0; u < U; ++u) k[u] = t[u] - splat(C::kMagic);
    DK_UNROLL for (int u = 0; u < U; ++u) r[u] = (x[u] - k[u] * splat(C::kLn2Hi16)) - k[u] * splat(C::kLn2Lo16);
    DK_UNROLL for (int u = 0; u < U; ++u) r2[u] = r[u] * r[u];
    DK_UNROLL for (int u = 0; u < U; ++u) p[u] = (c(0) + c(1) * r[u]) + r2[u] * ((c(2) + c(3) * r[u]) + c(4) * r2[u]);
    DK_UNROLL for (int u = 0; u < U; ++u) p[u] = r[u] + r2[u] * p[u];
    DK_UNROLL for (int u = 0; u < U; ++u) {
      const VD hi = lookup16(C::hi, t[u]);
      p[u] = hi + (lookup16(C::lo, t[u]) + hi * p[u]);
    }
    DK_UNROLL for (int u = 0; u < U; ++u) x[u] = scale_pow2_16(p[u], k[u], t[u]);
  }
}

// exp(x) on the whole line.
template <class V>
inline V exp(V x) {
  using C = ExpConst<V>;
  using T = typename VecTraits<V>::T;
  const V xc = vmin(splat_as<V>(T(C::kHi)), vmax(splat_as<V>(T(C::kLo)), x));
  V t, k, r;
  exp_reduce(xc, t, k, r);
  const V e = exp_reduced(r);
  // k above the largest exponent: split the scaling in two steps (the product overflows
  // to +inf exactly when the true value does).
  constexpr T kBig = sizeof(T) == 4 ? T(127) : T(1023);
  V kb = vmin(k, splat_as<V>(kBig));
  V rest = k - kb;  // 0 or 1
  V big = pow2_magic(rest + splat_as<V>(T(C::kMagic)));
  return scale_exact(e, kb, kb + splat_as<V>(T(C::kMagic))) * big;
}

struct LogConst {
  static constexpr double kSqrtHalf = 0.70710678118654752440;
  static constexpr double kLn2Hi = 6.93147180369123816490e-01;
  static constexpr double kLn2Lo = 1.90821492927058770002e-10;
  static constexpr double q[7] = {0.6666666666666734,  0.39999999999414676, 0.2857142874238762,
                                  0.2222219857318453,  0.18183564326119492, 0.15314050552117012,
                                  0.14795949700542738};
};

// Bits helpers for the double log: exponent and mantissa of a positive normal double
// without integer<->double conversion instructions (absent below AVX-512DQ).
template <class V> inline V exponent_of(V x);   // floor(log2 x) as double, x normal > 0
template <class V> inline V mantissa_of(V x);   // x / 2^exponent_of(x), in [1, 2)

inline SD exponent_of(SD x) { return {double((int64_t)(bits_of(x.v) >> 52)) - 1023.0}; }
inline SD mantissa_of(SD x) { return {double_of((bits_of(x.v) & 0x000FFFFFFFFFFFFFull) | 0x3FF0000000000000ull)}; }
#if defined(__AVX512F__)
inline VD exponent_of(VD x) {
  __m512i e = _mm512_srli_epi64(_mm512_castpd_si512(x.v), 52);
  __m512i m = _mm512_or_si512(e, _mm512_castpd_si512(_mm512_set1_pd(4503599627370496.0)));
  return VD{_mm512_castsi512_pd(m)} - splat(4503599627370496.0 + 1023.0);
}
inline VD mantissa_of(VD x) {
  __m512i b = _mm512_castpd_si512(x.v);
  b = _mm512_and_si512(b, _mm512_set1_epi64(0x000FFFFFFFFFFFFFll));
  b = _mm512_or_si512(b, _mm512_set1_epi64(0x3FF0000000000000ll));
  return {_mm512_castsi512_pd(b)};
}
#elif defined(__AVX2__)
inline VD exponent_of(VD x) {
  __m256i e = _mm256_srli_epi64(_mm256_castpd_si256(x.v), 52);
  __m256i m = _mm256_or_si256(e, _mm256_castpd_si256(_mm256_set1_pd(4503599627370496.0)));
  return VD{_mm256_castsi256_pd(m)} - splat(4503599627370496.0 + 1023.0);
}
inline VD mantissa_of(VD x) {
  __m256i b = _mm256_castpd_si256(x.v);
  b = _mm256_and_si256(b, _mm256_set1_epi64x(0x000FFFFFFFFFFFFFll));
  b = _mm256_or_si256(b, _mm256_set1_epi64x(0x3FF0000000000000ll));
  return {_mm256_castsi256_pd(b)};
}
#elif defined(DK_X86_SSE2)
inline VD exponent_of(VD x) {
  __m128i e = _mm_srli_epi64(_mm_castpd_si128(x.v), 52);
  __m128i m = _mm_or_si128(e, _mm_castpd_si128(_mm_set1_pd(4503599627370496.0)));
  return VD{_mm_castsi128_pd(m)} - splat(4503599627370496.0 + 1023.0);
}
inline VD mantissa_of(VD x) {
  __m128i b = _mm_castpd_si128(x.v);
  b = _mm_and_si128(b, _mm_set1_epi64x(0x000FFFFFFFFFFFFFll));
  b = _mm_or_si128(b, _mm_set1_epi64x(0x3FF0000000000000ll));
  return {_mm_castsi128_pd(b)};
}
#else
inline VD exponent_of(VD x) { VD r; for (int i = 0; i < kND; ++i) r.v[i] = exponent_of(SD{x.v[i]}).v; return r; }
inline VD mantissa_of(VD x) { VD r; for (int i = 0; i < kND; ++i) r.v[i] = mantissa_of(SD{x.v[i]}).v; return r; }
#endif

// log(u) + corr / u for u >= 0; corr is the rounding error of u when u = fl(1 + x)
// (kCorr = false: no correction, and no second division).
// log(u + corr) for U vectors in lockstep (see exp_term_n), corr a first-order
// correction (log1p) or ignored (kCorr = false).
template <int U, class V, bool kCorr>
DK_INLINE void log_corrected_n(V* io, const V* corr) {
  using L = LogConst;
  V k[U], f[U], s[U], z[U], q[U], hfsq[U], lo[U];
  DK_UNROLL for (int v = 0; v < U; ++v) {
    // subnormal u: scale into the normal range first
    const V u = io[v];
    auto tiny = lt(u, splat_as<V>(2.2250738585072014e-308));
    V us = select(tiny, u * splat_as<V>(18014398509481984.0), u);  // 2^54
    k[v] = exponent_of(us) - select(tiny, splat_as<V>(54.0), splat_as<V>(0.0));
    V m = mantissa_of(us);
    // m in [1, 2): move to [sqrt(1/2), sqrt(2))
    auto big = lt(splat_as<V>(2.0 * L::kSqrtHalf), m);
    m = select(big, m * splat_as<V>(0.5), m);
    k[v] = select(big, k[v] + splat_as<V>(1.0), k[v]);
    f[v] = m - splat_as<V>(1.0);  // exact (Sterbenz)
  }
  DK_UNROLL for (int v = 0; v < U; ++v) s[v] = f[v] / (splat_as<V>(2.0) + f[v]);
  DK_UNROLL for (int v = 0; v < U; ++v) z[v] = s[v] * s[v];
  DK_UNROLL for (int v = 0; v < U; ++v) q[v] = splat_as<V>(L::q[6]);
  for (int i = 5; i >= 0; --i) DK_UNROLL for (int v = 0; v < U; ++v) q[v] = q[v] * z[v] + splat_as<V>(L::q[i]);
  DK_UNROLL for (int v = 0; v < U; ++v) {
    V R = z[v] * q[v];
    hfsq[v] = splat_as<V>(0.5) * f[v] * f[v];
    lo[v] = k[v] * splat_as<V>(L::kLn2Lo);
    if constexpr (kCorr) lo[v] = lo[v] + corr[v] / io[v];  // first-order correction for the rounding of u
    lo[v] = s[v] * (hfsq[v] + R) + lo[v];
  }
  DK_UNROLL for (int v = 0; v < U; ++v) {
    const V u = io[v];
    V r = k[v] * splat_as<V>(L::kLn2Hi) + (f[v] - (hfsq[v] - lo[v]));
    // special values: u = 0 -> -inf, u < 0 or NaN -> NaN, u = +inf -> +inf
    V inf = splat_as<V>(kInf);
    r = select(eq(u, splat_as<V>(0.0)), splat_as<V>(-kInf), r);
    r = select(eq(u, inf), inf, r);
    r = select(lt(u, splat_as<V>(0.0)) | nan_mask(u), splat_as<V>(kNaN), r);
    io[v] = r;
  }
}

// log(x) for U vectors of positive normal doubles to an absolute error below 2^-42 for
// x < 2^64 (the log-sum-exp sums; 1.2 * 2^-42 at the ends of the double range, where e ln2
// and its rounding grow), without a division: for values that are then added to a float
// log-sum-exp maximum and rounded to float, with a result of magnitude at least 2 (ulp >= 2^-22; smaller results are
// recomputed with the accurate log). Other x (0, inf, NaN, subnormal) give finite
// garbage: the caller replaces those rows.
// Method: x = 2^e m, m in [1, 2); j = the sixteenth of [1, 2) that holds m (by the magic
// number rounding of 16 m - 1/2, exact arithmetic), c_j its centre; inv[j] = 1/c_j rounded
// and nlog[j] = -log(inv[j]), so log x = e ln2 + nlog[j] + log1p(r), r = m inv[j] - 1,
// |r| <= 1/32 + 2^-52; log1p(r) by Taylor's polynomial of degree 7 (remainder < r^8/8,
// 2^-43).
struct LogTableConst {
  static constexpr double kLn2 = 0.6931471805599453;
  static constexpr double kMagic = ExpConstD<VD>::kMagic;
  alignas(64) static constexpr double inv[16] = {
      0.9696969696969697, 0.9142857142857143, 0.8648648648648649, 0.8205128205128205, 0.7804878048780488,
      0.7441860465116279, 0.7111111111111111, 0.6808510638297872, 0.6530612244897959, 0.6274509803921569,
      0.6037735849056604, 0.5818181818181818, 0.5614035087719298, 0.5423728813559322, 0.5245901639344263,
      0.5079365079365079};
  alignas(64) static constexpr double nlog[16] = {
      0.03077165866675366, 0.08961215868968717, 0.14518200984449783, 0.19782574332991992, 0.2478361639045812,
      0.2954642128938359,  0.3409265869705932,  0.38441169891033206, 0.42608439531090014, 0.46608972992459924,
      0.5045560107523953,  0.5415972824327444,  0.5773153650348236,  0.6118015411059929,  0.6451379613735847,
      0.6773988235918061};
};
template <int U>
DK_INLINE void log_table_n(VD* io) {
  using L = LogTableConst;
  VD e[U], m[U], t[U], r[U], r2[U], q[U];
  DK_UNROLL for (int u = 0; u < U; ++u) {
    e[u] = exponent_of(io[u]);
    m[u] = mantissa_of(io[u]);
  }
  // 16 m in [16, 32): the low 4 bits of t are j
  DK_UNROLL for (int u = 0; u < U; ++u) t[u] = (m[u] * splat(16.0) - splat(0.5)) + splat(L::kMagic);
  DK_UNROLL for (int u = 0; u < U; ++u) r[u] = m[u] * lookup16(L::inv, t[u]) - splat(1.0);
  DK_UNROLL for (int u = 0; u < U; ++u) r2[u] = r[u] * r[u];
  // log1p(r) = r + r^2 Q(r), Q = (-1/2 + r/3) + r^2 ((-1/4 + r/5) + r^2 (-1/6 + r/7))
  DK_UNROLL for (int u = 0; u < U; ++u) {
    const VD q0 = splat(-0.5) + r[u] * splat(1.0 / 3), q1 = splat(-0.25) + r[u] * splat(0.2),
             q2 = splat(-1.0 / 6) + r[u] * splat(1.0 / 7);
    q[u] = q0 + r2[u] * (q1 + r2[u] * q2);
  }
  DK_UNROLL for (int u = 0; u < U; ++u)
    io[u] = (e[u] * splat(L::kLn2) + lookup16(L::nlog, t[u])) + (r[u] + r2[u] * q[u]);
}

template <class V, bool kCorr = true>
inline V log_corrected(V u, V corr) {
  log_corrected_n<1, V, kCorr>(&u, &corr);
  return u;
}

template <class V>
inline V log(V x) {
  return log_corrected<V, false>(x, splat_as<V>(0.0));
}

template <class V>
inline V log1p(V x) {
  V one = splat_as<V>(1.0);
  V u = one + x;
  // 1 + x = u + corr exactly: for u <= 2, u - 1 is exact; above, u - x is.
  V corr = select(lt(splat_as<V>(2.0), u), one - (u - x), x - (u - one));
  // |x| < 2^-54: u == 1, the correction carries x itself. Infinite x: no correction.
  corr = select(eq(u, splat_as<V>(kInf)), splat_as<V>(0.0), corr);
  V r = log_corrected(u, corr);
  return select(nan_mask(x), x, r);
}
