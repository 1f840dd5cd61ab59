// Contiguous blocks: the state of a block of at most kBlock elements of one row (values,
// and weights when W), in two passes over L1-resident data: its maximum, then its sums
// relative to it. The order of operations depends on the block length only. Part of the
// row-reduction engine (engine-inl.hpp); includes nothing.
// Weighted elements: SciPy ignores an element whose weight is exactly zero, even when it
// is inf or NaN, so the weight mask turns such an element into -inf before anything else.
template <class V>
DK_INLINE V mask_by_weight(V a, V b) {
  using T = typename VecTraits<V>::T;
  return select(eq(b, splat_as<V>(T(0))), splat_as<V>(-kInf), a);
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
  DK_UNROLL for (int u = 0; u < U; ++u) mx[u] = splat_as<V>(T(-kInf));
  for (int64_t i = 0; i < full; i += L) max_row<T, W>(mx, x + i, W ? b + i : nullptr);
  T m = tree_max_vec<V, U>(mx);
  for (int64_t i = full; i < len; ++i) {
    const T a = W && b[i] == T(0) ? T(-kInf) : x[i];
    m = a > m ? a : m;
  }
  return m;
}

// Pass 2 of the block x[0, len) (weights b when W), whose maximum m is known.
// When `nx` is given, the next block nx[0, nlen) is prefetched (into L2) during this
// arithmetic-bound pass, so that memory traffic overlaps arithmetic. (Computing the next
// block's maximum in the same loop was measured slower: its demand misses stall
// retirement, prefetches do not.)
// (`nx` points to stored elements P, which may be narrower than T)
template <class T, Mode M, bool W, class P = T>
inline State block_sum(const T* x, const T* b, int64_t len, T m, const P* nx = nullptr, int64_t nlen = 0) {
  static_assert(!W || M == Mode::Accurate, "weighted sums are computed in Accurate mode");
  using Ln = Lanes<T>;
  using V = typename Ln::V;
  constexpr int N = Ln::N, L = Ln::L;
  const int64_t full = len / L * L, rem = len - full;

  if (!(m > T(-kInf) && m < T(kInf))) {
    // No finite maximum: only NaN can still change the result.
    bool nan = false;
    for (int64_t i = 0; i < len; ++i) {
      if (W) nan = nan || (b[i] != T(0) && x[i] != x[i]) || !(b[i] - b[i] == T(0));
      else nan = nan || x[i] != x[i];
    }
    const double qnan = kNaN;
    return nan ? State{qnan, 0.0, qnan} : State{double(m), 0.0, 0.0};
  }

  // the last partial vector row, padded with neutral elements (-inf, weight 0)
  alignas(64) T tx[L], tb[W ? L : 1];
  for (int j = 0; j < L; ++j) tx[j] = j < rem ? x[full + j] : T(-kInf);
  if (W)
    for (int j = 0; j < L; ++j) tb[j] = j < rem ? b[full + j] : T(0);

  const V vm = splat_as<V>(m);
  const VD vm64 = splat(double(m));
  SumAcc<T> acc;
  acc_init(acc);
  constexpr int64_t kLine = 64 / sizeof(P);
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


