// The row-reduction engine: log-sum-exp states over rows, columns and gathered rows, and
// the second pass that writes softmax / log_softmax. Re-included per ISA level inside
// `namespace divkern::DK_ISA_NS` after simd/vec-inl.hpp and simd/math-inl.hpp; includes
// nothing.
//
// The reduction is a monoid over State (m, c, s) (kernels.hpp): a block of elements is
// reduced to a State with one pass for its maximum and one pass for the weighted sum of
// exp(a - max) (the block is L1-resident, so the input is read from memory once), and
// States merge with `merge`. Everything that fixes the order of floating-point operations
// is derived from the shape and is the same at every ISA level:
//
//  * along a contiguous row, a block of kBlock elements is accumulated in a fixed number of
//    canonical lanes (32 for float, 16 for double: two AVX-512 vectors, four AVX2 vectors,
//    eight SSE2 vectors); element i goes to lane i mod lanes; the lanes are added by a
//    fixed pairwise tree;
//  * partial sums live in the input precision for at most kFlushRows vector rows, then are
//    added to double accumulators, so no accumulator of a block sums more than a few dozen
//    terms: the error does not grow with the row length (SciPy reaches 40 ulp on long
//    strided float32 rows);
//  * in the Columns layout, and for short rows transposed into lanes, every lane is its
//    own row: it reduces blocks of positions sequentially, with the same float/double
//    staging; a Columns block starts from the lane's running maximum, so its sums are
//    relative to it (merge_up);
//  * blocks, then chunks (the units handed to threads), are merged left to right.
//
// Three kernel modes trade accuracy of the partial sums against work:
//  * Fast: no special treatment of the maximum; the state is (m, sum, 0). Used by
//    logsumexp and softmax, whose results have relative error ~u of the sum.
//  * Masked: the elements equal to the maximum are counted apart (c) and kept out of s,
//    so log(c + s) = log(c) + log1p(s / c) keeps the tiny value of a dominated row. Used
//    by log_softmax (its largest output is -log1p(s/c)).
//  * Accurate: Masked, with float input widened to double (exact a - m, double exp).
//    Used for weighted sums and to recompute log-sum-exp results close to zero, where a
//    float ulp of the result is far below a float ulp of the sum.
enum class Mode { Fast, Masked, Accurate };

// ---------------------------------------------------------------- lane bookkeeping
template <class T> struct Lanes;
template <> struct Lanes<float> {
  using V = VF;
  static constexpr int N = kNF;
  static constexpr int L = 32;  // canonical accumulation lanes of a row block
  static constexpr int64_t kBlock = 4096;
};
template <> struct Lanes<double> {
  using V = VD;
  static constexpr int N = kND;
  static constexpr int L = 16;
  // 32 KiB blocks (still in L1 between the two passes): float64 rows from memory were ~5%
  // faster than with 16 KiB. A weighted block buffers values and weights, 64 KiB of a
  // worker's stack (musl's threads get 128 KiB).
  static constexpr int64_t kBlock = 4096;
};
constexpr int kFlushRows = 8;
// Rows of at most kSmallRowBytes are reduced with one row per lane (128 float, 64 double:
// beyond, the blocks' canonical lanes waste less than the transposes cost; 65-128 float
// elements were 10-35% faster this way).
constexpr int64_t kSmallRowBytes = 512;
template <class T>
constexpr int64_t kSmallRow = kSmallRowBytes / sizeof(T);
constexpr int kSmallTile = 64;     // rows per small-row tile

// Fixed pairwise trees over the canonical lanes of a block, held in U vectors (vector u
// holds lanes [uN, uN + N)): lane j meets lane j + w for w = L/2, L/4, ..., 1; whole
// vectors while w spans vectors, then within the last one (fold_*, vec-inl.hpp). The
// pairing depends on L only, not on the vector width.
template <int U>
DK_INLINE double tree_sum_vec(VD* v) {
  DK_UNROLL for (int w = U / 2; w >= 1; w /= 2) DK_UNROLL for (int u = 0; u < w; ++u) v[u] = v[u] + v[u + w];
  return fold_sum(v[0]);
}
template <class V, int U>
DK_INLINE auto tree_max_vec(V* v) {
  DK_UNROLL for (int w = U / 2; w >= 1; w /= 2) DK_UNROLL for (int u = 0; u < w; ++u) v[u] = vmax(v[u + w], v[u]);
  return fold_max(v[0]);
}

inline bool is_finite(double x) { return x - x == 0.0; }

// Merge the state b (later elements) into a (earlier elements). Written with selects so
// that the vector (per-lane) and scalar versions are one template and agree bit for bit.
template <class V>
inline void merge(V& am, V& ac, V& as, V bm, V bc, V bs) {
  auto eqm = eq(am, bm);
  auto agt = lt(bm, am);
  V f = exp_nonpos(select(agt, bm - am, am - bm));
  V s_a = as + (bc + bs) * f;
  V s_b = bs + (ac + as) * f;
  V c_eq = ac + bc, s_eq = as + bs;
  V m = select(agt, am, bm);
  ac = select(eqm, c_eq, select(agt, ac, bc));
  as = select(eqm, s_eq, select(agt, s_a, s_b));
  am = m;
}
inline void merge(State& a, const State& b) {
  SD am{a.m}, ac{a.c}, as{a.s};
  merge(am, ac, as, SD{b.m}, SD{b.c}, SD{b.s});
  a = {am.v, ac.v, as.v};
}

// ---------------------------------------------------------------- finalisation
// Turns states into results, lanes of VD at a time:
//   LogSumExp : out = log-sum-exp, sign (SciPy's conventions, see the Python layer);
//   Softmax   : p1 = max, p2 = 1 / sum;     LogSoftmax: p1 = max, p2 = log(sum).
// For softmax the special rows are folded into p1: NaN for all-NaN output rows (any NaN,
// or max = -inf), +inf for rows holding +inf.
// `redo[i]` asks the caller to recompute row i:
//  * unweighted: a finite result with |result| < kSensitive. The fast kernels are
//    accurate to a few float ulps *of the sum*; near zero that is many ulps of the
//    result, so such rows are recomputed in Accurate mode.
//  * weighted: SciPy defines the result through the direct formula (a non-finite
//    maximum or weight), or the weights at the maximum cancel exactly and everything
//    else underflowed relative to it; the driver recomputes such rows elementwise.
constexpr double kSensitive = 2.0;

// Unweighted rows, at most 64: results, signs, and the rows to recompute as a bit mask
// (bit i: row i). kLogGroup vectors of rows at a time, their logarithms in lockstep (one
// row's log is a long dependency chain through a division; the finalisation of short rows
// was bound by it). kTableLog: the logarithm by log_table_n (float results of the Fast
// sums, rounded to float and recomputed near zero) instead of the correctly rounded one.
constexpr int kLogGroup = 4;
template <bool kTableLog>
inline uint64_t finalize_lse_unweighted(const double* m, const double* c, const double* s, int64_t count,
                                        double* out, double* sign, bool want_sign) {
  const VD zero = splat(0.0), one = splat(1.0), inf = splat(__builtin_inf()), nan = splat(__builtin_nan(""));
  uint64_t redo = 0;
  for (int64_t i0 = 0; i0 < count; i0 += kLogGroup * kND) {
    VD vm[kLogGroup], vc[kLogGroup], vs[kLogGroup], lg[kLogGroup];
    int64_t kk[kLogGroup];
    DK_UNROLL for (int g = 0; g < kLogGroup; ++g) {
      const int64_t left = count - (i0 + g * kND);
      kk[g] = left < 0 ? 0 : left < kND ? left : kND;
      const int64_t at = kk[g] ? i0 + g * kND : 0;  // no pointer past the arrays
      if (kk[g] == kND) {
        vm[g] = load(m + at);
        vc[g] = load(c + at);
        vs[g] = load(s + at);
      } else {
        vm[g] = load_partial(m + at, kk[g], 0.0);
        vc[g] = load_partial(c + at, kk[g], 1.0);
        vs[g] = load_partial(s + at, kk[g], 0.0);
      }
      lg[g] = vc[g];
    }
    if constexpr (kTableLog) log_table_n<kLogGroup>(lg);
    else log_corrected_n<kLogGroup, VD, false>(lg, nullptr);
    for (int g = 0; g < kLogGroup && kk[g] > 0; ++g) {
      const int64_t i = i0 + g * kND, k = kk[g];
      // Fast states carry the whole sum in c (s = 0): one log instead of log1p + log
      VD res = (all(eq(vs[g], zero)) ? lg[g] : log1p(vs[g] / vc[g]) + lg[g]) + vm[g];
      VD sg = one;
      // rows with a non-finite maximum, or NaN in the sums (finite sums do not overflow)
      if (any(nan_mask((vm[g] - vm[g]) + (vc[g] + vs[g])))) {
        res = select(eq(vm[g], inf), inf, res);
        auto empty = eq(vm[g], splat(-__builtin_inf()));
        res = select(empty, splat(-__builtin_inf()), res);
        sg = select(empty, zero, sg);
        auto bad = nan_mask(vm[g]) | nan_mask(vs[g]) | nan_mask(vc[g]);
        res = select(bad, nan, res);
        sg = select(bad, nan, sg);
      }
      const auto near0 = lt(res * res, splat(kSensitive * kSensitive));
      if (any(near0)) {
        alignas(64) double fr[kND];
        store(fr, res);
        for (int64_t j = 0; j < k; ++j)
          if (fr[j] * fr[j] < kSensitive * kSensitive) redo |= uint64_t(1) << (i + j);
      }
      if (k == kND) {
        store(out + i, res);
        if (want_sign) store(sign + i, sg);
      } else {
        store_partial(out + i, res, k);
        if (want_sign) store_partial(sign + i, sg, k);
      }
    }
  }
  return redo;
}

inline void finalize_lse_weighted(const double* m, const double* c, const double* s, int64_t count, double* out,
                                  double* sign, bool want_sign, bool* redo) {
  const VD zero = splat(0.0), one = splat(1.0), nan = splat(__builtin_nan(""));
  for (int64_t i = 0; i < count; i += kND) {
    const int64_t k = count - i < kND ? count - i : kND;
    VD vm = load_partial(m + i, k, 0.0), vc = load_partial(c + i, k, 1.0), vs = load_partial(s + i, k, 0.0);
    // SciPy's arrangement (the unweighted one too): t = s / c; sign = sign(t + 1) *
    // sign(c); fold t < -1 to -t - 2; out = log1p(t) + log|c| + m (log1p keeps a small
    // t precise). When s / c could overflow (c zero or tiny against s), out =
    // log|c + s| + m instead.
    const VD absc = select(lt(vc, zero), zero - vc, vc), abss = select(lt(vs, zero), zero - vs, vs);
    const VD cbig = absc * splat(0x1p900);
    const auto by_c = lt(abss, cbig) | eq(abss, cbig);
    VD t = vs / select(by_c, vc, one);
    VD t1 = t + one;
    VD sgn_t1 = select(lt(zero, t1), one, select(lt(t1, zero), splat(-1.0), zero));
    VD sgn_c = select(lt(zero, vc), one, splat(-1.0));
    VD tf = select(lt(t, splat(-1.0)), (zero - t) - splat(2.0), t);
    VD res_c = (log1p(tf) + log(absc)) + vm;
    VD total = vc + vs;
    VD res_s = log(select(lt(total, zero), zero - total, total)) + vm;
    VD sgn_s = select(lt(zero, total), one, select(lt(total, zero), splat(-1.0), zero));
    VD res = select(by_c, res_c, res_s);
    VD sg = select(by_c, sgn_t1 * sgn_c, sgn_s);
    if (!want_sign) res = select(lt(sg, zero), nan, res);
    // rows SciPy evaluates with the direct formula (a non-finite maximum, weight or
    // sum), and rows whose weights at the maximum cancel exactly with nothing left
    // above the underflow threshold: the driver recomputes both
    alignas(64) double fm[kND], fc[kND], fs[kND];
    store(fm, vm);
    store(fc, vc);
    store(fs, vs);
    for (int64_t j = 0; j < k; ++j)
      redo[i + j] = !(is_finite(fm[j]) && is_finite(fc[j]) && is_finite(fs[j])) || (fc[j] == 0 && fs[j] == 0);
    store_partial(out + i, res, k);
    if (want_sign) store_partial(sign + i, sg, k);
  }
}

inline void finalize_softmax(const double* m, const double* c, const double* s, int64_t count, bool log_out,
                             double* p1, double* p2) {
  const VD nan = splat(__builtin_nan(""));
  for (int64_t i = 0; i < count; i += kND) {
    const int64_t k = count - i < kND ? count - i : kND;
    VD vm = load_partial(m + i, k, 0.0), vc = load_partial(c + i, k, 1.0), vs = load_partial(s + i, k, 0.0);
    VD q = !log_out ? splat(1.0) / (vc + vs)
                    : any(lt(splat(0.0), vs) | lt(vs, splat(0.0)) | nan_mask(vs)) ? log1p(vs / vc) + log(vc) : log(vc);
    VD pm = select(nan_mask(vs) | nan_mask(vc) | eq(vm, splat(-__builtin_inf())), nan, vm);
    store_partial(p1 + i, pm, k);
    store_partial(p2 + i, q, k);
  }
}

// ---------------------------------------------------------------- contiguous blocks
// Weighted elements: SciPy ignores an element whose weight is exactly zero, even when it
// is inf or NaN, so the weight mask turns such an element into -inf before anything else.
template <class V>
DK_INLINE V mask_by_weight(V a, V b) {
  using T = typename VecTraits<V>::T;
  return select(eq(b, splat_as<V>(T(0))), splat_as<V>(-__builtin_inf()), a);
}

// Accumulators of one canonical lane group (L lanes = U native vectors) for pass 2 of a
// block: partial sums in the input precision (at most kFlushRows terms each, for float)
// and their double totals, in canonical lane order.
template <class T>
struct SumAcc {
  using Ln = Lanes<T>;
  using V = typename Ln::V;
  static constexpr int U = Ln::L / Ln::N;
  static constexpr bool kF32 = std::is_same<T, float>::value;
  static constexpr int U64 = kF32 ? 2 * U : U;
  V s[U], c[U];
  VD s64[U64], c64[U64];
};

template <class T>
DK_INLINE void acc_init(SumAcc<T>& a) {
  using V = typename SumAcc<T>::V;
  DK_UNROLL for (int u = 0; u < SumAcc<T>::U; ++u) a.s[u] = a.c[u] = splat_as<V>(T(0));
  DK_UNROLL for (int u = 0; u < SumAcc<T>::U64; ++u) a.s64[u] = a.c64[u] = splat(0.0);
}

template <class T>
DK_INLINE void acc_flush(SumAcc<T>& a) {
  using V = typename SumAcc<T>::V;
  if constexpr (SumAcc<T>::kF32) {
    DK_UNROLL for (int u = 0; u < SumAcc<T>::U; ++u) {
      a.s64[2 * u] = a.s64[2 * u] + lo_f64(a.s[u]);
      a.s64[2 * u + 1] = a.s64[2 * u + 1] + hi_f64(a.s[u]);
      a.c64[2 * u] = a.c64[2 * u] + lo_f64(a.c[u]);
      a.c64[2 * u + 1] = a.c64[2 * u + 1] + hi_f64(a.c[u]);
      a.s[u] = a.c[u] = splat_as<V>(T(0));
    }
  } else {
    DK_UNROLL for (int u = 0; u < SumAcc<T>::U; ++u) {
      a.s64[u] = a.s64[u] + a.s[u];
      a.c64[u] = a.c64[u] + a.c[u];
      a.s[u] = a.c[u] = splat_as<V>(T(0));
    }
  }
}

// One vector element group of pass 2, a and w already loaded (w = 1 unweighted).
// `vm` is the block maximum in the input precision, `vm64` in double.
template <bool W>
DK_INLINE void acc_term_d(VD& s64, VD& c64, VD a, VD w, VD vm64) {
  // double arithmetic (Accurate float input, or any double input in Accurate mode)
  const auto tie = eq(a, vm64);
  VD e = exp_nonpos(a - vm64);
  if constexpr (W) e = e * w;
  s64 = add_unless(tie, s64, e);
  c64 = add_if(tie, c64, w);
}

template <class T, Mode M, bool W>
DK_INLINE void acc_row(SumAcc<T>& acc, const T* x, const T* b, typename Lanes<T>::V vm, VD vm64) {
  using V = typename Lanes<T>::V;
  constexpr int N = Lanes<T>::N;
  if constexpr (M == Mode::Fast) {  // unweighted (weighted sums run in Accurate mode)
    constexpr int U = SumAcc<T>::U;
    V e[U];
    DK_UNROLL for (int u = 0; u < U; ++u) e[u] = load(x + u * N) - vm;
    exp_term_n<U>(e);
    DK_UNROLL for (int u = 0; u < U; ++u) acc.s[u] = acc.s[u] + e[u];
    return;
  }
  DK_UNROLL for (int u = 0; u < SumAcc<T>::U; ++u) {
    V a = load(x + u * N);
    V w = splat_as<V>(T(1));
    if constexpr (W) {
      w = load(b + u * N);
      a = mask_by_weight(a, w);
    }
    if constexpr (M == Mode::Masked || !SumAcc<T>::kF32) {
      V e = exp_nonpos(a - vm);
      if constexpr (W) e = e * w;
      const auto tie = eq(a, vm);
      acc.s[u] = add_unless(tie, acc.s[u], e);
      acc.c[u] = add_if(tie, acc.c[u], w);
    } else {  // Accurate, float input: widen, exact a - m, double exp
      acc_term_d<W>(acc.s64[2 * u], acc.c64[2 * u], lo_f64(a), lo_f64(w), vm64);
      acc_term_d<W>(acc.s64[2 * u + 1], acc.c64[2 * u + 1], hi_f64(a), hi_f64(w), vm64);
    }
  }
}

template <class T, bool W>
DK_INLINE void max_row(typename Lanes<T>::V* mx, const T* x, const T* b) {
  using V = typename Lanes<T>::V;
  constexpr int N = Lanes<T>::N;
  DK_UNROLL for (int u = 0; u < SumAcc<T>::U; ++u) {
    V a = load(x + u * N);
    if constexpr (W) a = mask_by_weight(a, load(b + u * N));
    mx[u] = vmax(a, mx[u]);  // NaN in `a` is ignored here: it reaches the sum through exp
  }
}

// Maximum of x[0, len) (elements with a zero weight masked out), len <= kBlock; NaN is
// ignored here (it reaches the sum through exp).
template <class T, bool W>
inline T block_max(const T* x, const T* b, int64_t len) {
  using Ln = Lanes<T>;
  using V = typename Ln::V;
  constexpr int N = Ln::N, L = Ln::L, U = L / N;
  const int64_t full = len / L * L;
  V mx[U];
  DK_UNROLL for (int u = 0; u < U; ++u) mx[u] = splat_as<V>(T(-__builtin_inf()));
  for (int64_t i = 0; i < full; i += L) max_row<T, W>(mx, x + i, W ? b + i : nullptr);
  T m = tree_max_vec<V, U>(mx);
  for (int64_t i = full; i < len; ++i) {
    const T a = W && b[i] == T(0) ? T(-__builtin_inf()) : x[i];
    m = a > m ? a : m;
  }
  return m;
}

// Pass 2 of the block x[0, len) (weights b when W), whose maximum m is known.
// When `nx` is given, the next block nx[0, nlen) is prefetched (into L2) during this
// arithmetic-bound pass, so that memory traffic overlaps arithmetic. (Computing the next
// block's maximum in the same loop was measured slower: its demand misses stall
// retirement, prefetches do not.)
template <class T, Mode M, bool W>
inline State block_sum(const T* x, const T* b, int64_t len, T m, const T* nx = nullptr, int64_t nlen = 0) {
  static_assert(!W || M == Mode::Accurate, "weighted sums are computed in Accurate mode");
  using Ln = Lanes<T>;
  using V = typename Ln::V;
  constexpr int N = Ln::N, L = Ln::L, U = L / N;
  const int64_t full = len / L * L, rem = len - full;

  if (!(m > T(-__builtin_inf()) && m < T(__builtin_inf()))) {
    // No finite maximum: only NaN can still change the result.
    bool nan = false;
    for (int64_t i = 0; i < len; ++i) {
      if (W) nan = nan || (b[i] != T(0) && x[i] != x[i]) || !(b[i] - b[i] == T(0));
      else nan = nan || x[i] != x[i];
    }
    const double qnan = __builtin_nan("");
    return nan ? State{qnan, 0.0, qnan} : State{double(m), 0.0, 0.0};
  }

  // the last partial vector row, padded with neutral elements (-inf, weight 0)
  alignas(64) T tx[L], tb[W ? L : 1];
  for (int j = 0; j < L; ++j) tx[j] = j < rem ? x[full + j] : T(-__builtin_inf());
  if (W)
    for (int j = 0; j < L; ++j) tb[j] = j < rem ? b[full + j] : T(0);

  const V vm = splat_as<V>(m);
  const VD vm64 = splat(double(m));
  SumAcc<T> acc;
  acc_init(acc);
  constexpr int64_t kLine = 64 / sizeof(T);
  // partial sums of at most kFlushRows terms, then double totals (float in Accurate mode
  // accumulates its double terms directly)
  constexpr bool kStaged = !(SumAcc<T>::kF32 && M == Mode::Accurate);
  int row = 0;
  int64_t i = 0;
  if constexpr (M == Mode::Fast && !W) {
    // two lane rows at a time (kFlushRows is even): their exponentials in lockstep
    constexpr int U = SumAcc<T>::U;
    for (; i + 2 * L <= full; i += 2 * L) {
      if (i < nlen)
        for (int64_t q = 0; q < 2 * L; q += kLine) prefetch(nx + i + q);
      V e[2 * U];
      DK_UNROLL for (int u = 0; u < 2 * U; ++u) e[u] = load(x + i + u * N) - vm;
      exp_term_n<2 * U>(e);
      DK_UNROLL for (int u = 0; u < U; ++u) acc.s[u] = acc.s[u] + e[u];
      DK_UNROLL for (int u = 0; u < U; ++u) acc.s[u] = acc.s[u] + e[U + u];
      row += 2;
      if (row == kFlushRows) {
        acc_flush(acc);
        row = 0;
      }
    }
  }
  for (; i < full; i += L) {
    if (i < nlen)
      for (int64_t q = 0; q < L; q += kLine) prefetch(nx + i + q);
    acc_row<T, M, W>(acc, x + i, W ? b + i : nullptr, vm, vm64);
    if (kStaged && ++row == kFlushRows) {
      acc_flush(acc);
      row = 0;
    }
  }
  if (rem) acc_row<T, M, W>(acc, tx, tb, vm, vm64);
  acc_flush(acc);
  const double s = tree_sum_vec<SumAcc<T>::U64>(acc.s64);
  if (M == Mode::Fast) return State{double(m), s, 0.0};
  return State{double(m), tree_sum_vec<SumAcc<T>::U64>(acc.c64), s};
}

// Each block's second pass prefetches the block kPrefetchBlocks ahead (contiguous rows),
// so the data is in L2 by the time its first pass runs (one block ahead measured fastest:
// 2 and 4 were 5-15% slower on the benchmark machine).
constexpr int64_t kPrefetchBlocks = 1;

// ---------------------------------------------------------------- rows (Rows / Gather)
template <class T>
inline T* operand(const ReducePlan& p, int op) {
  return reinterpret_cast<T*>(p.base[op]);
}

// Pointers to elements [i0, i0 + len) of one row: straight into the array when the row is
// contiguous, else gathered into `buf` through the inner odometer.
template <class T>
struct RowBlocks {
  const ReducePlan& p;
  const T* x;
  const T* b;
  int64_t b_step;  // Rows layout: 0 (broadcast) or 1
  RowBlocks(const ReducePlan& plan, const RowCursor& cur)
      : p(plan), x(operand<T>(plan, kX) + cur.off(kX)),
        b(plan.present[kB] ? operand<T>(plan, kB) + cur.off(kB) : nullptr),
        b_step(plan.present[kB] ? plan.inner.stride[kB][plan.inner.nd - 1] : 0) {}

  // Calls f(offset of the run's first element, run stride, position in [0, len), run
  // length) for the runs along the last inner axis that cover elements [i0, i0 + len).
  template <class F>
  void for_runs(int op, int64_t i0, int64_t len, F f) const {
    Odometer od;
    od.seek(p.inner, i0);
    const int last = p.inner.nd - 1;
    const int64_t st = p.inner.stride[op][last];
    int64_t i = 0;
    while (i < len) {
      const int64_t run_len = p.inner.size[last] - od.idx[last];
      const int64_t take = run_len < len - i ? run_len : len - i;
      f(od.off[op], st, i, take);
      i += take;
      od.advance_run(take);
    }
  }
  const T* gather(int op, const T* base, int64_t i0, int64_t len, T* buf) const {
    for_runs(op, i0, len, [&](int64_t off, int64_t st, int64_t i, int64_t take) {
      for (int64_t j = 0; j < take; ++j) buf[i + j] = base[off + j * st];
    });
    return buf;
  }
  void scatter(int op, T* base, int64_t i0, int64_t len, const T* buf) const {
    for_runs(op, i0, len, [&](int64_t off, int64_t st, int64_t i, int64_t take) {
      for (int64_t j = 0; j < take; ++j) base[off + j * st] = buf[i + j];
    });
  }
  const T* xs(int64_t i0, int64_t len, T* buf) const {
    return p.layout == Layout::Rows ? x + i0 : gather(kX, x, i0, len, buf);
  }
  // weights: contiguous, broadcast (filled), or gathered
  const T* bs(int64_t i0, int64_t len, T* buf) const {
    if (p.layout == Layout::Rows && b_step == 1) return b + i0;
    if (p.layout == Layout::Rows) {
      for (int64_t j = 0; j < len; ++j) buf[j] = b[0];
      return buf;
    }
    return gather(kB, b, i0, len, buf);
  }
};

// State of elements [i0, i1) of a row (any layout; gathered when not contiguous). In a
// contiguous row each block prefetches the one kPrefetchBlocks ahead, past i1 into
// `next_row` (the start of the row read next, may be null).
template <class T, Mode M, bool W>
inline State range_state(const RowBlocks<T>& rb, int64_t i0, int64_t i1, const T* next_row = nullptr) {
  constexpr int64_t B = Lanes<T>::kBlock;
  alignas(64) T xbuf[B];
  alignas(64) T bbuf[W ? B : 1];
  State st{-__builtin_inf(), 0.0, 0.0};
  for (int64_t i = i0; i < i1; i += B) {
    const int64_t len = i1 - i < B ? i1 - i : B;
    const T* xb = rb.xs(i, len, xbuf);
    const T* bb = W ? rb.bs(i, len, bbuf) : nullptr;
    const T* nx = nullptr;
    int64_t nlen = 0;
    if (rb.p.layout == Layout::Rows) {
      const int64_t ahead = i + kPrefetchBlocks * B;
      if (ahead < i1) {
        nx = rb.x + ahead;
        nlen = i1 - ahead;
      } else if (next_row) {
        nx = next_row + (ahead - i1);
        nlen = (i1 - i0) - (ahead - i1);
      }
    }
    const State bs = block_sum<T, M, W>(xb, bb, len, block_max<T, W>(xb, bb, len), nx, nlen < B ? nlen : B);
    if (i == i0) st = bs;
    else merge(st, bs);
  }
  return st;
}

// State of a whole row in Accurate mode, chunk by chunk as the driver splits rows, so that
// the result does not depend on which path asked for it.
template <class T>
inline State accurate_row_state(const Task& t, int64_t row) {
  RowCursor cur;
  cur.seek(t.plan, row);
  RowBlocks<T> rb(t.plan, cur);
  const int64_t chunk = t.plan.layout == Layout::Columns ? t.plan.n : t.chunk;
  State st{-__builtin_inf(), 0.0, 0.0};
  for (int64_t i = 0; i < t.plan.n; i += chunk) {
    const int64_t i1 = i + chunk < t.plan.n ? i + chunk : t.plan.n;
    const State cs = t.weighted ? range_state<T, Mode::Accurate, true>(rb, i, i1)
                                : range_state<T, Mode::Accurate, false>(rb, i, i1);
    if (i == 0) st = cs;
    else merge(st, cs);
  }
  return st;
}

// out[0, len) = f(x[0, len)), vector by vector. With `stream`, the stores that cover
// whole 64-byte lines are non-temporal: a large output then costs one write to memory
// instead of a read for ownership plus a write.
template <class T, class F>
DK_INLINE void map_segment(const T* x, T* out, int64_t len, bool stream, F f) {
  constexpr int N = Lanes<T>::N;
  int64_t j = 0;
  if (stream && reinterpret_cast<uintptr_t>(out) % sizeof(T) == 0) {
    int64_t head = (int64_t)(((64 - (reinterpret_cast<uintptr_t>(out) & 63)) & 63) / sizeof(T));
    head = head < len ? head : len;
    for (; j < head; j += N) {
      const int64_t k = head - j < N ? head - j : N;
      store_partial(out + j, f(load_partial(x + j, k, T(0))), k);
    }
    j = head;
    for (; j + N <= len; j += N) stream_store(out + j, f(load(x + j)));
  } else {
    for (; j + N <= len; j += N) store(out + j, f(load(x + j)));
  }
  if (j < len) store_partial(out + j, f(load_partial(x + j, len - j, T(0))), len - j);
}

// Second pass over elements [0, len) of a row: softmax or log_softmax from (p1, p2).
template <class T>
inline void write_segment(const T* x, T* out, int64_t len, bool log_out, double p1, double p2, bool stream = false) {
  using V = typename Lanes<T>::V;
  if (!(p1 > -__builtin_inf() && p1 < __builtin_inf())) {
    // NaN rows, and rows holding +inf: softmax is NaN everywhere; log_softmax is -inf
    // except at the infinite elements (SciPy's arithmetic: x - inf - inf).
    for (int64_t j = 0; j < len; ++j) {
      T v = T(__builtin_nan(""));
      if (log_out && p1 == __builtin_inf()) v = x[j] == T(__builtin_inf()) ? T(__builtin_nan("")) : T(-__builtin_inf());
      out[j] = v;
    }
    return;
  }
  const V vm = splat_as<V>(T(p1));
  if (!log_out) {
    const V inv = splat_as<V>(T(p2));
    map_segment(x, out, len, stream, [&](V a) { return exp_nonpos(a - vm) * inv; });
  } else if constexpr (std::is_same<T, float>::value) {
    // (x - max) - log(sum) in double, rounded once: keeps the tiny negative value of a
    // dominant element (SciPy returns 0 there, scipy#19521).
    const VD m64 = splat(p1), l64 = splat(p2);
    map_segment(x, out, len, stream, [&](VF a) { return to_f32((lo_f64(a) - m64) - l64, (hi_f64(a) - m64) - l64); });
  } else {
    const VD l64 = splat(p2);
    map_segment(x, out, len, stream, [&](VD a) { return (a - vm) - l64; });
  }
}

// Writes pass 2 over elements [i0, i1) of the row at `cur`.
template <class T>
inline void write_row_range(const Task& t, const RowCursor& cur, int64_t i0, int64_t i1, double p1, double p2) {
  const ReducePlan& p = t.plan;
  const bool log_out = t.op == Op::LogSoftmax;
  const T* x = operand<T>(p, kX) + cur.off(kX);
  T* out = operand<T>(p, kOut) + cur.off(kOut);
  if (p.layout == Layout::Rows) {
    write_segment<T>(x + i0, out + i0, i1 - i0, log_out, p1, p2, t.stream_out);
    return;
  }
  constexpr int64_t B = Lanes<T>::kBlock;
  alignas(64) T xbuf[B], obuf[B];
  RowBlocks<T> rb(p, cur);
  for (int64_t i = i0; i < i1; i += B) {
    const int64_t len = i1 - i < B ? i1 - i : B;
    write_segment<T>(rb.xs(i, len, xbuf), obuf, len, log_out, p1, p2);
    rb.scatter(kOut, out, i, len, obuf);
  }
}

// dst[0, n) = src[0, n) rounded to T.
template <class T>
inline void store_converted(T* dst, const double* src, int64_t n, bool stream) {
  using V = typename Lanes<T>::V;
  constexpr int N = Lanes<T>::N;
  auto vec = [&](int64_t i) {
    if constexpr (std::is_same<T, float>::value) return to_f32(load(src + i), load(src + i + kND));
    else return load(src + i);
  };
  int64_t i = 0;
  if (stream) {  // non-temporal stores need whole aligned vectors: plain ones up to there
    for (; i < n && (reinterpret_cast<uintptr_t>(dst + i) & (sizeof(V) - 1)) != 0; ++i) dst[i] = T(src[i]);
    for (; i + N <= n; i += N) stream_store(dst + i, vec(i));
  }
  for (; i + N <= n; i += N) store(dst + i, vec(i));
  for (; i < n; ++i) dst[i] = T(src[i]);
}

// Stores results of `count` rows starting at the cursor (advances it).
template <class T>
inline void store_lse(const Task& t, RowCursor& cur, const double* res, const double* sgn, int64_t count) {
  T* out = operand<T>(t.plan, kOut);
  T* sign = t.return_sign ? operand<T>(t.plan, kSign) : nullptr;
  if (cur.flat && cur.flat_step[kOut] == 1 && (!sign || cur.flat_step[kSign] == 1)) {
    // results of consecutive rows are adjacent (a fresh output array): vector stores
    store_converted(out + cur.flat_off[kOut], res, count, t.stream_out);
    if (sign) store_converted(sign + cur.flat_off[kSign], sgn, count, t.stream_out);
    for (int op = 0; op < kNumOperands; ++op) cur.flat_off[op] += count * cur.flat_step[op];
    return;
  }
  RowCursor c = cur;  // a local copy stays in registers
  for (int64_t i = 0; i < count; ++i, c.next()) {
    out[c.off(kOut)] = T(res[i]);
    if (sign) sign[c.off(kSign)] = T(sgn[i]);
  }
  cur = c;
}

// ---------------------------------------------------------------- one row per lane
// Reduction of `len` positions for lanes that sit side by side in memory (stride 1):
// position r of lane j is x[xoff[r] + j]. Each lane is its own row: it runs pass 1 and
// pass 2 over the block sequentially, with the float/double staging of block_sum.
// Unweighted only (weighted reductions use the Rows or Gather layout).

template <class T, bool Partial>
DK_INLINE typename Lanes<T>::V lane_load(const T* p, int64_t k) {
  if constexpr (Partial) return load_partial(p, k, T(-__builtin_inf()));
  else return load(p);
}

// Vectors of lanes reduced together: independent dependency chains for the out-of-order
// core (the max pass is a chain of vmax per vector), and several cache lines per strided
// position (AVX2 with 2 vectors read one line per position and ran at half the speed).
constexpr int kLaneGroup = 4;

// Block states of G vectors of lanes (the last one partial, with k lanes, if Partial):
// maximum in mx[g] (of the block's elements and the running maximum m0[g] of earlier
// blocks, so that the sums below are already relative to the new running maximum), NaN
// marker in nanacc[g] (for lanes without a finite maximum), sums and tie counts in
// s64/c64[2g .. 2g+1] (float) or [g] (double). Returns whether any lane has no finite
// maximum (then lane_states needs its NaN bookkeeping).
template <class T, Mode M, int G, bool Partial>
DK_INLINE bool lane_group(const T* x, const int64_t* xoff, int64_t len, int64_t k, const typename Lanes<T>::V* m0,
                          typename Lanes<T>::V* mx, typename Lanes<T>::V* nanacc, VD* s64, VD* c64, const char* pf,
                          int64_t pf_lines) {
  static_assert(M != Mode::Accurate, "lanes kernels run in Fast or Masked mode");
  using V = typename Lanes<T>::V;
  constexpr int N = Lanes<T>::N;
  constexpr bool kF32 = std::is_same<T, float>::value;
  constexpr int H = kF32 ? 2 : 1;
  const V zero = splat_as<V>(T(0)), ninf = splat_as<V>(T(-__builtin_inf()));
  auto ld = [&](int64_t r, int g) -> V {
    if (Partial && g == G - 1) return lane_load<T, true>(x + xoff[r] + g * N, k);
    return load(x + xoff[r] + g * N);
  };
  DK_UNROLL for (int g = 0; g < G; ++g) mx[g] = m0[g];
  for (int64_t r = 0; r < len; ++r) DK_UNROLL for (int g = 0; g < G; ++g) mx[g] = vmax(ld(r, g), mx[g]);
  // lanes without a finite maximum: only NaN can still change the result (block_sum)
  bool special = false;
  V vm[G];
  DK_UNROLL for (int g = 0; g < G; ++g) {
    const auto notfin = nan_mask(mx[g]) | eq(mx[g], ninf) | eq(mx[g], splat_as<V>(T(__builtin_inf())));
    special = special || any(notfin);
    vm[g] = select(notfin, zero, mx[g]);
    nanacc[g] = zero;
  }
  if (special)
    for (int64_t r = 0; r < len; ++r)
      DK_UNROLL for (int g = 0; g < G; ++g) {
        const V a = ld(r, g);
        nanacc[g] = nanacc[g] + select(nan_mask(a), a, zero);
      }
  V s_acc[G], c_acc[G];
  DK_UNROLL for (int g = 0; g < G; ++g) s_acc[g] = c_acc[g] = zero;
  DK_UNROLL for (int g = 0; g < G * H; ++g) s64[g] = c64[g] = splat(0.0);
  // `pf_lines` cache lines from `pf` on are prefetched a few per position, spread over the
  // arithmetic-bound pass (a burst of prefetches stalls on the line fill buffers)
  const int64_t pf_step = (pf_lines + len - 1) / (len ? len : 1);
  int row = 0;
  for (int64_t r = 0; r < len; ++r) {
    for (int64_t q = r * pf_step; q < (r + 1) * pf_step && q < pf_lines; ++q) prefetch(pf + 64 * q);
    if constexpr (M == Mode::Fast) {
      V e[G];
      DK_UNROLL for (int g = 0; g < G; ++g) e[g] = ld(r, g) - vm[g];
      exp_term_n<G>(e);
      DK_UNROLL for (int g = 0; g < G; ++g) s_acc[g] = s_acc[g] + e[g];
    } else {
      DK_UNROLL for (int g = 0; g < G; ++g) {
        const V a = ld(r, g);
        const auto tie = eq(a, vm[g]);
        s_acc[g] = add_unless(tie, s_acc[g], exp_nonpos(a - vm[g]));
        c_acc[g] = add_if(tie, c_acc[g], splat_as<V>(T(1)));
      }
    }
    if (++row == kFlushRows || r + 1 == len) {
      DK_UNROLL for (int g = 0; g < G; ++g) {
        if constexpr (kF32) {
          s64[2 * g] = s64[2 * g] + lo_f64(s_acc[g]);
          s64[2 * g + 1] = s64[2 * g + 1] + hi_f64(s_acc[g]);
          if (M != Mode::Fast) {
            c64[2 * g] = c64[2 * g] + lo_f64(c_acc[g]);
            c64[2 * g + 1] = c64[2 * g + 1] + hi_f64(c_acc[g]);
          }
        } else {
          s64[g] = s64[g] + s_acc[g];
          if (M != Mode::Fast) c64[g] = c64[g] + c_acc[g];
        }
        s_acc[g] = c_acc[g] = zero;
      }
      row = 0;
    }
  }
  return special;
}

// merge(a, b) for a block state b whose maximum is the running maximum after the block
// (bm >= am, or NaN): only lanes whose maximum grew need the exp (lanes with am == bm do
// not use f, and NaN lanes carry NaN in s whatever f is), and after the first few blocks
// of a row the maximum rarely grows.
DK_INLINE void merge_up(VD& am, VD& ac, VD& as, VD bm, VD bc, VD bs) {
  const auto eqm = eq(am, bm);
  const VD f = any(lt(am, bm)) ? exp_nonpos(am - bm) : splat(1.0);
  as = select(eqm, as + bs, bs + (ac + as) * f);
  ac = select(eqm, ac + bc, bc);
  am = bm;
}

// The running maxima lm[at, at + N) of earlier blocks as a vector of T (-inf past width).
template <class T>
DK_INLINE typename Lanes<T>::V running_max(const double* lm, int64_t at, int64_t width) {
  constexpr int N = Lanes<T>::N;
  const double ninf = -__builtin_inf();
  const int64_t k = width - at < N ? width - at : N;
  if constexpr (std::is_same<T, float>::value) {
    if (k == N) return to_f32(load(lm + at), load(lm + at + kND));
    const int64_t k0 = k < kND ? k : kND, k1 = k - k0;
    return to_f32(load_partial(lm + at, k0, ninf), load_partial(lm + at + kND, k1, ninf));
  } else {
    return k == N ? load(lm + at) : load_partial(lm + at, k, ninf);
  }
}

// Merges the block states of a lane group into the running lane states lm/lc/ls[l0 ..).
// `special`: lane_group's answer; without it every lane has a finite maximum and no NaN
// marker, and the selects below are skipped.
template <class T, Mode M, int G>
DK_INLINE void lane_states(const typename Lanes<T>::V* mx, const typename Lanes<T>::V* nanacc, const VD* s64,
                           const VD* c64, int64_t l0, int64_t width, bool first, bool special, double* lm,
                           double* lc, double* ls) {
  constexpr bool kF32 = std::is_same<T, float>::value;
  constexpr int H = kF32 ? 2 : 1;  // VD per V
  const VD inf = splat(__builtin_inf()), zero = splat(0.0), qnan = splat(__builtin_nan(""));
  DK_UNROLL for (int q = 0; q < G * H; ++q) {
    const int64_t at = l0 + q * kND;
    const int64_t kk = width - at < kND ? width - at : kND;
    if (kk <= 0) break;
    const int g = q / H, h = q % H;
    VD bm;
    if constexpr (kF32) bm = h == 0 ? lo_f64(mx[g]) : hi_f64(mx[g]);
    else bm = mx[g];
    VD bc = c64[q], bs = s64[q];
    if (M == Mode::Fast) {  // Fast states are (m, sum, 0)
      bc = bs;
      bs = zero;
    }
    if (special) {
      VD nanv;
      if constexpr (kF32) nanv = h == 0 ? lo_f64(nanacc[g]) : hi_f64(nanacc[g]);
      else nanv = nanacc[g];
      const auto notfin = nan_mask(bm) | eq(bm, inf) | eq(bm, splat(-__builtin_inf()));
      const auto nanlane = nan_mask(nanv) | nan_mask(bm);
      bc = select(notfin, zero, bc);
      bs = select(notfin, select(nanlane, qnan, zero), bs);
      bm = select(nanlane, qnan, bm);
    }
    if (first) {
      store_partial(lm + at, bm, kk);
      store_partial(lc + at, bc, kk);
      store_partial(ls + at, bs, kk);
    } else {
      VD am = load_partial(lm + at, kk, -__builtin_inf()), ac = load_partial(lc + at, kk, 0.0),
         as = load_partial(ls + at, kk, 0.0);
      merge_up(am, ac, as, bm, bc, bs);
      store_partial(lm + at, am, kk);
      store_partial(lc + at, ac, kk);
      store_partial(ls + at, as, kk);
    }
  }
}

// Reduction of `len` positions for `width` lanes that sit side by side in memory
// (stride 1): position r of lane j is x[xoff[r] + j]. Each lane is its own row; its block
// state, taken relative to the running maximum, is merged into (lm, lc, ls)[j] (or stored
// there when `first`).
// The bytes [pf, pf + pf_bytes) (may be empty) are prefetched along the way.
template <class T, Mode M>
inline void lanes_block(const T* x, const int64_t* xoff, int64_t len, int64_t width, bool first, double* lm,
                        double* lc, double* ls, const char* pf = nullptr, int64_t pf_bytes = 0) {
  using V = typename Lanes<T>::V;
  constexpr int N = Lanes<T>::N, G = kLaneGroup;
  constexpr int H = std::is_same<T, float>::value ? 2 : 1;
  V mx[G], nanacc[G];
  VD s64[G * H], c64[G * H];
  const int64_t groups = (width + G * N - 1) / (G * N);
  const int64_t lines = (pf_bytes + 63) / 64, per_group = (lines + groups - 1) / (groups ? groups : 1);
  int64_t j = 0, pf_at = 0;
  auto pf_share = [&](int64_t& n_lines) {
    const char* at = pf + 64 * pf_at;
    n_lines = lines - pf_at < per_group ? lines - pf_at : per_group;
    n_lines = n_lines > 0 ? n_lines : 0;
    pf_at += n_lines;
    return at;
  };
  V m0[G];
  DK_UNROLL for (int g = 0; g < G; ++g) m0[g] = splat_as<V>(T(-__builtin_inf()));
  for (; j + G * N <= width; j += G * N) {
    int64_t nl;
    const char* at = pf_share(nl);
    if (!first) DK_UNROLL for (int g = 0; g < G; ++g) m0[g] = running_max<T>(lm, j + g * N, width);
    const bool special = lane_group<T, M, G, false>(x + j, xoff, len, N, m0, mx, nanacc, s64, c64, at, nl);
    lane_states<T, M, G>(mx, nanacc, s64, c64, j, width, first, special, lm, lc, ls);
  }
  for (; j < width; j += N) {  // the remaining vectors one at a time, the last partial
    const int64_t k = width - j < N ? width - j : N;
    int64_t nl;
    const char* at = pf_share(nl);
    if (!first) m0[0] = running_max<T>(lm, j, width);
    const bool special = k == N ? lane_group<T, M, 1, false>(x + j, xoff, len, N, m0, mx, nanacc, s64, c64, at, nl)
                                : lane_group<T, M, 1, true>(x + j, xoff, len, k, m0, mx, nanacc, s64, c64, at, nl);
    lane_states<T, M, 1>(mx, nanacc, s64, c64, j, width, first, special, lm, lc, ls);
  }
}

// Per-lane (p1, p2) of a tile of side-by-side lanes, prepared once for all its positions:
// whether each vector holds a lane without a finite maximum (written lane by lane), and
// for float softmax the statistics already rounded to float.
template <class T>
struct LaneStats {
  const double* p1;
  const double* p2;
  std::unique_ptr<bool[]> special;
  std::unique_ptr<float[]> f1, f2;
  LaneStats(const double* q1, const double* q2, int64_t width, bool log_out) : p1(q1), p2(q2) {
    constexpr int N = Lanes<T>::N;
    special.reset(new bool[(size_t)((width + N - 1) / N)]);
    for (int64_t j = 0; j < width; j += N) {
      bool sp = false;
      for (int64_t l = j; l < width && l < j + N; ++l) sp = sp || !(q1[l] > -__builtin_inf() && q1[l] < __builtin_inf());
      special[(size_t)(j / N)] = sp;
    }
    if (std::is_same<T, float>::value && !log_out) {
      f1.reset(new float[(size_t)width]);
      f2.reset(new float[(size_t)width]);
      for (int64_t l = 0; l < width; ++l) {
        f1[(size_t)l] = float(q1[l]);
        f2[(size_t)l] = float(q2[l]);
      }
    }
  }
};

// Pass 2 for one reduction position of `width` side-by-side lanes with per-lane (p1, p2).
template <class T>
inline void write_lanes(const T* x, T* out, int64_t width, bool log_out, const LaneStats<T>& st) {
  using V = typename Lanes<T>::V;
  constexpr int N = Lanes<T>::N;
  const double* p1 = st.p1;
  const double* p2 = st.p2;
  for (int64_t j = 0; j < width; j += N) {
    const int64_t k = width - j < N ? width - j : N;
    if (st.special[(size_t)(j / N)]) {
      for (int64_t l = 0; l < k; ++l) write_segment<T>(x + j + l, out + j + l, 1, log_out, p1[j + l], p2[j + l]);
      continue;
    }
    V a = k == N ? load(x + j) : load_partial(x + j, k, T(0));
    V r;
    if constexpr (std::is_same<T, float>::value) {
      if (!log_out) {
        const VF m = k == N ? load(st.f1.get() + j) : load_partial(st.f1.get() + j, k, 0.0f);
        const VF q = k == N ? load(st.f2.get() + j) : load_partial(st.f2.get() + j, k, 0.0f);
        r = exp_nonpos(a - m) * q;
      } else {
        const int64_t k0 = k < kND ? k : kND, k1 = k - k0;
        // (no pointer past the statistics when the second half is empty)
        VD m0 = load_partial(p1 + j, k0, 0.0), m1 = k1 ? load_partial(p1 + j + kND, k1, 0.0) : splat(0.0);
        VD q0 = load_partial(p2 + j, k0, 0.0), q1 = k1 ? load_partial(p2 + j + kND, k1, 0.0) : splat(0.0);
        r = to_f32((lo_f64(a) - m0) - q0, (hi_f64(a) - m1) - q1);
      }
    } else {
      VD m0 = load_partial(p1 + j, k, 0.0), q0 = load_partial(p2 + j, k, 0.0);
      r = !log_out ? exp_nonpos(a - m0) * q0 : (a - m0) - q0;
    }
    if (k == N) store(out + j, r);
    else store_partial(out + j, r, k);
  }
}

// ---------------------------------------------------------------- units
template <class T>
struct Units {
  static constexpr int64_t kBatch = 64;  // rows finalised together (a 64-bit mask of rows to recompute)
  static_assert(kBatch <= 64, "finalize_lse_unweighted returns the rows to recompute as a 64-bit mask");
  static_assert(kBatch <= kSmallTile, "accurate_short_rows puts a batch's rows in one tile");

  // Finalises `count` row states (arrays) and writes the results of those rows, starting
  // at row `row0` under the row cursor `cur` (advanced). Softmax rows get their second
  // pass here, over elements pass2_range[0..1).
  static void complete(const Task& t, RowCursor& cur, int64_t row0, double* m, double* c, double* s,
                       int64_t count, const int64_t* pass2_range) {
    alignas(64) double r1[kBatch], r2[kBatch];
    for (int64_t i0 = 0; i0 < count; i0 += kBatch) {
      const int64_t cnt = count - i0 < kBatch ? count - i0 : kBatch;
      if (t.op == Op::LogSumExp) {
        if (t.weighted) {
          bool redo[kBatch];
          finalize_lse_weighted(m + i0, c + i0, s + i0, cnt, r1, r2, t.return_sign, redo);
          for (int64_t i = 0; i < cnt; ++i)
            if (redo[i]) t.weighted_fallback(t, row0 + i0 + i, &r1[i], &r2[i]);
        } else {
          const uint64_t redo = finalize_lse_unweighted<std::is_same<T, float>::value>(m + i0, c + i0, s + i0, cnt, r1,
                                                                                      r2, t.return_sign);
          if (redo) recompute(t, row0 + i0, redo, cnt, r1, r2);
        }
        store_lse<T>(t, cur, r1, r2, cnt);
      } else {
        finalize_softmax(m + i0, c + i0, s + i0, cnt, t.op == Op::LogSoftmax, r1, r2);
        for (int64_t i = 0; i < cnt; ++i, cur.next())
          write_row_range<T>(t, cur, pass2_range[0], pass2_range[1], r1[i], r2[i]);
      }
    }
  }

  // Recomputes in Accurate mode the rows row0 + i (i < cnt) whose bit i is set in `redo`,
  // and replaces their results in r1/r2 (see finalize_lse_unweighted).
  static void recompute(const Task& t, int64_t row0, uint64_t redo, int64_t cnt, double* r1, double* r2) {
    int64_t at[kBatch], rows[kBatch], nredo = 0;
    for (int64_t i = 0; i < cnt; ++i)
      if (redo >> i & 1) {
        at[nredo] = i;
        rows[nredo++] = row0 + i;
      }
    if (t.plan.n <= kSmallRow<double>) {
      alignas(64) double am[kBatch], ac[kBatch], as[kBatch], q1[kBatch], q2[kBatch];
      accurate_short_rows(t, rows, nredo, am, ac, as);
      finalize_lse_unweighted<false>(am, ac, as, nredo, q1, q2, t.return_sign);
      for (int64_t k = 0; k < nredo; ++k) {
        r1[at[k]] = q1[k];
        r2[at[k]] = q2[k];
      }
    } else {
      for (int64_t k = 0; k < nredo; ++k) {
        const State st = accurate_row_state<T>(t, rows[k]);
        finalize_lse_unweighted<false>(&st.m, &st.c, &st.s, 1, &r1[at[k]], &r2[at[k]], t.return_sign);
      }
    }
  }

  // Accurate mode for `cnt` (<= kSmallTile) rows of at most kSmallRow<double> elements, in
  // any layout, several at a time: the rows are widened to double into a transposed tile
  // and reduced one row per lane in Masked mode (exact a - max, double exp, the maximum
  // kept apart), which is Accurate mode for either input type. Row by row, the set-up of
  // a recomputation cost ~20x a Fast row of 3 elements, and the log-sum-exp of short rows
  // is often near zero.
  // (not inlined: its 32 KiB tile and small_rows' are never on a worker's stack together)
  DK_NOINLINE static void accurate_short_rows(const Task& t, const int64_t* rows, int64_t cnt, double* m, double* c,
                                  double* s) {
    const ReducePlan& p = t.plan;
    const int64_t n = p.n;
    alignas(64) double tile[kSmallRow<double> * kSmallTile];
    alignas(64) int64_t off[kSmallRow<double>], inner[kSmallRow<double>];
    Odometer in;
    in.seek(p.inner, 0);
    for (int64_t j = 0; j < n; ++j, in.next()) {
      off[j] = j * kSmallTile;
      inner[j] = in.off[kX];  // element offsets within a row (the same for every row)
    }
    const T* x = operand<T>(p, kX);
    RowCursor cur;  // rows ascend: walk to each instead of seeking
    cur.seek(p, rows[0]);
    for (int64_t l = 0, r = rows[0]; l < cnt; ++l) {
      for (; r < rows[l]; ++r) cur.next();
      const T* row = x + cur.off(kX);
      for (int64_t j = 0; j < n; ++j) tile[j * kSmallTile + l] = double(row[inner[j]]);
    }
    lanes_block<double, Mode::Masked>(tile, off, n, cnt, true, m, c, s);
  }

  static State row_state(const Task& t, const RowBlocks<T>& rb, int64_t i0, int64_t i1,
                         const T* next_row = nullptr) {
    if (t.weighted) return range_state<T, Mode::Accurate, true>(rb, i0, i1, next_row);
    if (t.op == Op::LogSoftmax) return range_state<T, Mode::Masked, false>(rb, i0, i1, next_row);
    return range_state<T, Mode::Fast, false>(rb, i0, i1, next_row);
  }

  // Rows/Gather with one unit per group of whole rows.
  static void rows_whole(const Task& t, int64_t u) {
    const ReducePlan& p = t.plan;
    const int64_t r0 = u * t.rows_per_unit;
    const int64_t r1 = r0 + t.rows_per_unit < p.rows ? r0 + t.rows_per_unit : p.rows;
    const int64_t range[2] = {0, p.n};
    // rows per batch: enough to vectorise the finalisation, few enough that softmax rows
    // are still in cache for their second pass
    int64_t batch = kBatch;
    if (t.op != Op::LogSumExp) {
      const int64_t fit = (int64_t)(256 * 1024) / (p.n * (int64_t)sizeof(T));
      batch = fit < 1 ? 1 : (fit < kBatch ? fit : kBatch);
    }
    RowCursor cur, wcur;
    cur.seek(p, r0);
    wcur = cur;
    alignas(64) double m[kBatch], c[kBatch], s[kBatch];
    for (int64_t b0 = r0; b0 < r1; b0 += batch) {
      const int64_t cnt = r1 - b0 < batch ? r1 - b0 : batch;
      if (p.layout == Layout::Rows && !t.weighted && p.n <= kSmallRow<T>) {
        small_rows(t, cur, cnt, p.rows - (b0 + cnt), m, c, s);
      } else {
        for (int64_t i = 0; i < cnt; ++i) {
          RowBlocks<T> rb(p, cur);
          cur.next();
          const T* next_row = b0 + i + 1 < r1 ? operand<T>(p, kX) + cur.off(kX) : nullptr;
          const State st = row_state(t, rb, 0, p.n, next_row);
          m[i] = st.m;
          c[i] = st.c;
          s[i] = st.s;
        }
      }
      complete(t, wcur, b0, m, c, s, cnt, range);
    }
  }

  // Short contiguous rows: transpose a tile so that each SIMD lane holds one row, then
  // reduce all rows of the tile at once (no per-row horizontal work).
  // `rows_after`: rows of the array after these `count` (what may be prefetched).
  DK_NOINLINE static void small_rows(const Task& t, RowCursor& cur, int64_t count, int64_t rows_after, double* m,
                                     double* c, double* s) {
    using V = typename Lanes<T>::V;
    constexpr int N = Lanes<T>::N;
    const ReducePlan& p = t.plan;
    const int64_t n = p.n;
    const T* x = operand<T>(p, kX);
    alignas(64) T tile[kSmallRow<T> * kSmallTile];  // 32 KiB
    alignas(64) int64_t off[kSmallRow<T>];
    for (int64_t j = 0; j < n; ++j) off[j] = j * kSmallTile;
    const V ninf = splat_as<V>(T(-__builtin_inf()));
    for (int64_t i0 = 0; i0 < count; i0 += kSmallTile) {
      const int64_t cnt = count - i0 < kSmallTile ? count - i0 : kSmallTile;
      // row pointers of this tile; with one outer axis they are equally spaced
      const T* rows[kSmallTile];
      const char* pf = nullptr;
      int64_t pf_bytes = 0;
      if (cur.flat) {
        const T* base = x + cur.flat_off[kX];
        const int64_t step = cur.flat_step[kX];
        for (int64_t l = 0; l < cnt; ++l) rows[l] = base + l * step;
        // rows two tiles ahead, fetched while this tile is reduced (lanes_block spreads
        // the prefetches; contiguous rows only: strided ones are left to the hardware)
        const int64_t ahead = (count - i0 - cnt) + rows_after - 2 * kSmallTile;  // rows there from 2 tiles on
        if (step == n && ahead > 0) {
          pf = reinterpret_cast<const char*>(base + 2 * kSmallTile * step);
          pf_bytes = (ahead < cnt ? ahead : cnt) * step * (int64_t)sizeof(T);
        }
        for (int op = 0; op < kNumOperands; ++op) cur.flat_off[op] += cnt * cur.flat_step[op];
      } else {
        for (int64_t l = 0; l < cnt; ++l, cur.next()) rows[l] = x + cur.off(kX);
      }
      for (int64_t g = 0; g < cnt; g += N) {
        for (int64_t c0 = 0; c0 < n; c0 += N) {
          const int64_t cols = n - c0 < N ? n - c0 : N;
          V r[N];
          if (cols == N && g + N <= cnt) {  // a full square: straight-line loads and stores
            DK_UNROLL for (int l = 0; l < N; ++l) r[l] = load(rows[g + l] + c0);
            transpose(r);
            DK_UNROLL for (int j = 0; j < N; ++j) store(tile + (c0 + j) * kSmallTile + g, r[j]);
            continue;
          }
          for (int l = 0; l < N; ++l) {
            const T* row = g + l < cnt ? rows[g + l] : nullptr;
            r[l] = !row ? ninf : cols == N ? load(row + c0) : load_partial(row + c0, cols, T(-__builtin_inf()));
          }
          transpose(r);
          for (int64_t j = 0; j < cols; ++j) store(tile + (c0 + j) * kSmallTile + g, r[j]);
        }
      }
      if (t.op == Op::LogSoftmax)
        lanes_block<T, Mode::Masked>(tile, off, n, cnt, true, m + i0, c + i0, s + i0, pf, pf_bytes);
      else
        lanes_block<T, Mode::Fast>(tile, off, n, cnt, true, m + i0, c + i0, s + i0, pf, pf_bytes);
    }
  }

  // A Columns unit: outer index o, lanes [lane0, lane0 + width), positions [p0, p1)
  // (chunk k); its first row is row0.
  struct ColumnUnit {
    Odometer outer;
    int64_t k, lane0, width, p0, p1, row0;
    ColumnUnit(const Task& t, int64_t u) {
      const ReducePlan& p = t.plan;
      const int64_t tiles = (p.lanes + t.lane_tile - 1) / t.lane_tile;
      const int64_t o = u / (tiles * t.nchunks), rem = u % (tiles * t.nchunks);
      k = rem % t.nchunks;
      lane0 = rem / t.nchunks * t.lane_tile;
      width = p.lanes - lane0 < t.lane_tile ? p.lanes - lane0 : t.lane_tile;
      p0 = k * t.chunk;
      p1 = p0 + t.chunk < p.n ? p0 + t.chunk : p.n;
      row0 = o * p.lanes + lane0;
      outer.seek(p.outer, o);
    }
  };

  // Columns: (outer index, lane tile, chunk of positions).
  static void columns(const Task& t, int64_t u) {
    const ReducePlan& p = t.plan;
    const ColumnUnit cu(t, u);
    const Odometer& outer = cu.outer;
    const int64_t k = cu.k, lane0 = cu.lane0, width = cu.width, p0 = cu.p0, p1 = cu.p1;
    const T* x = operand<T>(p, kX) + outer.off[kX] + lane0;

    // running lane states (m, c, s), 72 or 96 KiB: on the heap, not on a worker's stack
    // (musl's threads get 128 KiB)
    constexpr int64_t kMaxTile = kColTileBytes / sizeof(T);
    const std::unique_ptr<double[]> states(new double[3 * kMaxTile]);
    double* const lm = states.get();
    double* const lc = lm + kMaxTile;
    double* const ls = lc + kMaxTile;
    // positions of the current block (the hardware prefetcher follows each lane tile's
    // rows; prefetching the next block by hand made axis-0 reductions ~5% slower)
    alignas(64) int64_t offs[kColMaxBlock];
    Odometer in;
    in.seek(p.inner, p0);
    for (int64_t q = p0; q < p1; q += t.col_block) {
      const int64_t len = p1 - q < t.col_block ? p1 - q : t.col_block;
      for (int64_t r = 0; r < len; ++r, in.next()) offs[r] = in.off[kX];
      if (t.op == Op::LogSoftmax)
        lanes_block<T, Mode::Masked>(x, offs, len, width, q == p0, lm, lc, ls);
      else
        lanes_block<T, Mode::Fast>(x, offs, len, width, q == p0, lm, lc, ls);
    }
    const int64_t row0 = cu.row0;
    if (t.nchunks > 1) {
      for (int64_t j = 0; j < width; ++j) t.states[(row0 + j) * t.nchunks + k] = State{lm[j], lc[j], ls[j]};
      return;
    }
    if (t.op == Op::LogSumExp) {
      RowCursor cur;
      cur.seek(p, row0);
      complete(t, cur, row0, lm, lc, ls, width, nullptr);
      return;
    }
    // per-lane (p1, p2) in place of (m, c): each vector of states is read before it is written
    for (int64_t j = 0; j < width; j += kBatch) {
      const int64_t cnt = width - j < kBatch ? width - j : kBatch;
      finalize_softmax(lm + j, lc + j, ls + j, cnt, t.op == Op::LogSoftmax, lm + j, lc + j);
    }
    write_columns(t, outer, lane0, width, p0, p1, lm, lc);
  }

  static void write_columns(const Task& t, const Odometer& outer, int64_t lane0, int64_t width, int64_t p0,
                            int64_t p1, const double* q1, const double* q2) {
    const ReducePlan& p = t.plan;
    const T* x = operand<T>(p, kX) + outer.off[kX] + lane0;
    T* out = operand<T>(p, kOut) + outer.off[kOut] + lane0;
    const bool log_out = t.op == Op::LogSoftmax;
    const LaneStats<T> st(q1, q2, width, log_out);
    Odometer in;
    in.seek(p.inner, p0);
    for (int64_t q = p0; q < p1; ++q, in.next()) write_lanes<T>(x + in.off[kX], out + in.off[kOut], width, log_out, st);
  }

  static void run(const Task& t, int64_t u0, int64_t u1) {
    run_units(t, u0, u1);
    if (t.stream_out) stream_fence();  // order this thread's non-temporal stores
  }

  static void run_units(const Task& t, int64_t u0, int64_t u1) {
    const ReducePlan& p = t.plan;
    for (int64_t u = u0; u < u1; ++u) {
      if (p.layout == Layout::Columns) {
        columns(t, u);
      } else if (t.nchunks == 1) {
        rows_whole(t, u);
      } else {
        const int64_t r = u / t.nchunks, k = u % t.nchunks;
        RowCursor cur;
        cur.seek(p, r);
        RowBlocks<T> rb(p, cur);
        const int64_t i0 = k * t.chunk, i1 = i0 + t.chunk < p.n ? i0 + t.chunk : p.n;
        t.states[u] = row_state(t, rb, i0, i1);
      }
    }
  }

  static void finish(const Task& t, int64_t r0, int64_t r1) {
    finish_rows(t, r0, r1);
    if (t.stream_out) stream_fence();  // log-sum-exp results may be non-temporal stores
  }

  static void finish_rows(const Task& t, int64_t r0, int64_t r1) {
    alignas(64) double m[kBatch], c[kBatch], s[kBatch];
    RowCursor cur;
    cur.seek(t.plan, r0);
    for (int64_t b0 = r0; b0 < r1; b0 += kBatch) {
      const int64_t cnt = r1 - b0 < kBatch ? r1 - b0 : kBatch;
      for (int64_t i = 0; i < cnt; ++i) {
        const State* st = t.states + (b0 + i) * t.nchunks;
        State acc = st[0];
        for (int64_t k = 1; k < t.nchunks; ++k) merge(acc, st[k]);
        m[i] = acc.m;
        c[i] = acc.c;
        s[i] = acc.s;
      }
      if (t.op == Op::LogSumExp) {
        complete(t, cur, b0, m, c, s, cnt, nullptr);
      } else {
        alignas(64) double q1[kBatch], q2[kBatch];
        finalize_softmax(m, c, s, cnt, t.op == Op::LogSoftmax, q1, q2);
        for (int64_t i = 0; i < cnt; ++i) {
          t.row_stats[b0 + i] = q1[i];
          t.row_stats[t.plan.rows + b0 + i] = q2[i];
        }
      }
    }
  }

  static void write(const Task& t, int64_t u0, int64_t u1) {
    write_units(t, u0, u1);
    if (t.stream_out) stream_fence();
  }

  static void write_units(const Task& t, int64_t u0, int64_t u1) {
    const ReducePlan& p = t.plan;
    for (int64_t u = u0; u < u1; ++u) {
      if (p.layout == Layout::Columns) {
        const ColumnUnit cu(t, u);
        write_columns(t, cu.outer, cu.lane0, cu.width, cu.p0, cu.p1, t.row_stats + cu.row0,
                      t.row_stats + p.rows + cu.row0);
      } else {
        const int64_t r = u / t.nchunks, k = u % t.nchunks;
        RowCursor cur;
        cur.seek(p, r);
        const int64_t i0 = k * t.chunk, i1 = i0 + t.chunk < p.n ? i0 + t.chunk : p.n;
        write_row_range<T>(t, cur, i0, i1, t.row_stats[r], t.row_stats[p.rows + r]);
      }
    }
  }
};

// ---------------------------------------------------------------- elementwise math hooks
template <class T, class F>
inline void map_math(const T* x, T* y, int64_t n, F f) {
  using V = typename Lanes<T>::V;
  constexpr int N = Lanes<T>::N;
  int64_t i = 0;
  for (; i + N <= n; i += N) store(y + i, f(load(x + i)));
  if (i < n) store_partial(y + i, f(load_partial(x + i, n - i, T(0))), n - i);
}
inline void exp_f32(const float* x, float* y, int64_t n) { map_math(x, y, n, [](VF v) { return exp(v); }); }
inline void exp_f64(const double* x, double* y, int64_t n) { map_math(x, y, n, [](VD v) { return exp(v); }); }
inline void fmadd_f32(const float* a, const float* b, const float* c, float* y, int64_t n) {
  int64_t i = 0;
  for (; i + kNF <= n; i += kNF) store(y + i, fmadd(load(a + i), load(b + i), load(c + i)));
  if (i < n)
    store_partial(y + i, fmadd(load_partial(a + i, n - i, 0.0f), load_partial(b + i, n - i, 0.0f),
                               load_partial(c + i, n - i, 0.0f)), n - i);
}
template <class T>
inline void exp_term_elementwise(const T* x, T* y, int64_t n) {
  map_math(x, y, n, [](auto v) {
    exp_term_n<1>(&v);
    return v;
  });
}
inline void log_f64(const double* x, double* y, int64_t n) { map_math(x, y, n, [](VD v) { return log(v); }); }
inline void log1p_f64(const double* x, double* y, int64_t n) { map_math(x, y, n, [](VD v) { return log1p(v); }); }
inline void log_table_f64(const double* x, double* y, int64_t n) {
  map_math(x, y, n, [](VD v) {
    log_table_n<1>(&v);
    return v;
  });
}

// Reads n floats as fast as the loads allow (four independent accumulators).
inline double stream_sum_f32(const float* x, int64_t n) {
  VF a0 = splat(0.0f), a1 = a0, a2 = a0, a3 = a0;
  int64_t i = 0;
  for (; i + 4 * kNF <= n; i += 4 * kNF) {
    a0 = a0 + load(x + i);
    a1 = a1 + load(x + i + kNF);
    a2 = a2 + load(x + i + 2 * kNF);
    a3 = a3 + load(x + i + 3 * kNF);
  }
  alignas(64) float l[kNF];
  store(l, (a0 + a1) + (a2 + a3));
  double s = 0;
  for (int j = 0; j < kNF; ++j) s += l[j];
  for (; i < n; ++i) s += x[i];
  return s;
}
