// The row-op driver (rowops.hpp): whole rows, one at a time, for ops that need more than
// a log-sum-exp state (cross-entropy, the entropy of a softmax, divergences between two
// logit arrays). Part of the row-reduction engine (engine-inl.hpp lists the order);
// includes nothing.
//
// A row is reduced to its Masked log-sum-exp state by the engine's block kernels
// (block_max, block_sum, merge), or, for short contiguous rows, by the tile kernels on a
// transposed tile of rows (transpose_rows, lanes_block): one read of the row from memory.
// The op then runs its own passes over the row while it is in cache (rows up to a few
// hundred KiB): sums that need the log-sum-exp first, and the gradients. Rows that are not
// contiguous are gathered into a buffer first, and their gradients scattered after.
//
// Those passes use two helpers with a fixed order of operations at every ISA level:
//  * rider_sums: K sums of per-element double terms; element j goes to canonical lane
//    j mod 16 and the lanes are added by the fixed pairwise tree of the engine;
//  * write_row: an elementwise output computed in double (or in the input precision where
//    the op says so) and stored in the row's type.
// The ops: ops/crossentropy-inl.hpp, ops/divergences-inl.hpp.

constexpr int kRiderLanes = 16;
alignas(64) inline constexpr double kIota[kRiderLanes] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};

// double vectors per vector of T
template <class T>
constexpr int kHalves = std::is_same<T, float>::value ? 2 : 1;

// One row as the op sees it: contiguous values (in place or gathered), gradients to write
// (null when not requested), all of n elements.
template <class T>
struct RowView {
  const T* x = nullptr;
  const T* y = nullptr;
  T* gx = nullptr;
  T* gy = nullptr;
  int64_t n = 0;
};

// The log-sum-exp of a row from its Masked state: lse = m + L, L = log(c) + log1p(s / c),
// S = c + s (so that softmax = exp(x - m) / S). Rows without a finite maximum, or with
// NaN: lse is -inf (all -inf), +inf (some +inf) or NaN, and L is NaN.
struct RowLse {
  double m, L, lse, S;
};

inline void row_lses(const double* m, const double* c, const double* s, int64_t count, RowLse* out) {
  for (int64_t i = 0; i < count; i += kND) {
    const int64_t k = count - i < kND ? count - i : kND;
    const VD vm = load_partial(m + i, k, 0.0), vc = load_partial(c + i, k, 1.0), vs = load_partial(s + i, k, 0.0);
    // one element at the maximum (the usual case): log(1) = 0 and s / 1 = s exactly, the same bits
    VD L = all(eq(vc, splat(1.0))) ? log1p(vs) : log1p(vs / vc) + log(vc);
    const auto bad = nan_mask(vm) | nan_mask(vc) | nan_mask(vs);
    VD lse = vm + L;
    lse = select(eq(vm, splat(-kInf)), splat(-kInf), lse);
    lse = select(eq(vm, splat(kInf)), splat(kInf), lse);
    lse = select(bad, splat(kNaN), lse);
    L = select(lt(vm, splat(kInf)) & lt(splat(-kInf), vm), L, splat(kNaN));
    alignas(64) double fl[kND], fe[kND], fs[kND];
    store(fl, L);
    store(fe, lse);
    store(fs, vc + vs);
    for (int64_t j = 0; j < k; ++j) out[i + j] = RowLse{m[i + j], fl[j], fe[j], fs[j]};
  }
}

// Masked state of n contiguous elements, block by block, each block prefetching the next.
template <class T>
inline State contiguous_state(const T* x, int64_t n) {
  constexpr int64_t B = Lanes<T>::kBlock;
  State st{-kInf, 0.0, 0.0};
  for (int64_t i = 0; i < n; i += B) {
    const int64_t len = n - i < B ? n - i : B;
    const int64_t ahead = n - (i + B);
    const State bs = block_sum<T, Mode::Masked, false>(x + i, nullptr, len, block_max<T, false>(x + i, nullptr, len),
                                                       ahead > 0 ? x + i + B : nullptr, ahead < B ? ahead : B);
    if (i == 0) st = bs;
    else merge(st, bs);
  }
  return st;
}

// ---------------------------------------------------------------- per-element helpers
// T elements [j, j + k) of p as H double vectors (k <= N; lanes past k hold `fill`).
template <class T>
DK_INLINE void load_wide(const T* p, int64_t j, int64_t k, T fill, VD* out) {
  constexpr int N = Lanes<T>::N;
  if constexpr (std::is_same<T, float>::value) {
    const VF a = k >= N ? load(p + j) : load_partial(p + j, k, fill);
    out[0] = lo_f64(a);
    out[1] = hi_f64(a);
  } else {
    out[0] = k >= N ? load(p + j) : load_partial(p + j, k, fill);
  }
}
// class weights (double) of elements [j, j + k) as H double vectors (1 when w is null)
template <class T>
DK_INLINE void load_weights(const double* w, int64_t j, int64_t k, VD* out) {
  DK_UNROLL for (int h = 0; h < kHalves<T>; ++h) {
    const int64_t kk = k - h * kND;
    out[h] = !w ? splat(1.0) : kk >= kND ? load(w + j + h * kND) : kk > 0 ? load_partial(w + j + h * kND, kk, 0.0) : splat(0.0);
  }
}
// exp(p[j..] - m) for elements [j, j + k), computed in T (-inf past k gives 0), as H
// double vectors
template <class T>
DK_INLINE void exp_shifted(const T* p, int64_t j, int64_t k, T m, VD* out) {
  using V = typename Lanes<T>::V;
  constexpr int N = Lanes<T>::N;
  const V a = k >= N ? load(p + j) : load_partial(p + j, k, T(-kInf));
  const V e = exp_nonpos(a - splat_as<V>(m));
  if constexpr (std::is_same<T, float>::value) {
    out[0] = lo_f64(e);
    out[1] = hi_f64(e);
  } else {
    out[0] = e;
  }
}

// K sums over a row of n elements: f(j, k, t) gives the terms of elements [j, j + k)
// (k <= N, the vector width of T) in t[K * H] (term kk, half h at t[kk * H + h]); lanes
// past k are zeroed here, whatever f put there.
template <class T, int K, class F>
DK_INLINE void rider_sums(int64_t n, F f, double* out) {
  constexpr int N = Lanes<T>::N, H = kHalves<T>, U = kRiderLanes / kND;
  static_assert(kRiderLanes % N == 0, "a vector of T covers whole canonical lanes");
  VD acc[K][U];
  DK_UNROLL for (int kk = 0; kk < K; ++kk) DK_UNROLL for (int u = 0; u < U; ++u) acc[kk][u] = splat(0.0);
  int q = 0;  // the accumulator of element j: (j mod kRiderLanes) / kND
  for (int64_t j = 0; j < n; j += N) {
    const int64_t k = n - j < N ? n - j : N;
    VD t[K * H];
    f(j, k, t);
    if (k < N) {
      DK_UNROLL for (int h = 0; h < H; ++h) {
        const auto keep = lt(load(kIota + h * kND), splat(double(k)));
        DK_UNROLL for (int kk = 0; kk < K; ++kk) t[kk * H + h] = select(keep, t[kk * H + h], splat(0.0));
      }
    }
    DK_UNROLL for (int kk = 0; kk < K; ++kk) DK_UNROLL for (int h = 0; h < H; ++h) acc[kk][q + h] = acc[kk][q + h] + t[kk * H + h];
    q = (q + H) % U;
  }
  DK_UNROLL for (int kk = 0; kk < K; ++kk) out[kk] = tree_sum_vec<U>(acc[kk]);
}

// H double vectors stored as T elements [j, j + k) of `out`
template <class T>
DK_INLINE void store_wide(T* out, int64_t j, int64_t k, const VD* r) {
  typename Lanes<T>::V v;
  if constexpr (std::is_same<T, float>::value) v = to_f32(r[0], r[1]);
  else v = r[0];
  if (k == Lanes<T>::N) store(out + j, v);
  else store_partial(out + j, v, k);
}

// out[0, n) from f(j, k, r): the H double vectors of elements [j, j + k), rounded to T.
template <class T, class F>
DK_INLINE void write_row(T* out, int64_t n, F f) {
  constexpr int N = Lanes<T>::N;
  for (int64_t j = 0; j < n; j += N) {
    const int64_t k = n - j < N ? n - j : N;
    VD r[kHalves<T>];
    f(j, k, r);
    store_wide(out, j, k, r);
  }
}

template <class T>
inline void fill_row(T* out, int64_t n, T v) {
  for (int64_t j = 0; j < n; ++j) out[j] = v;
}

// scalar exp of x <= 0 and log, with the vector code's bits
inline double exp_scalar_nonpos(double x) { return exp_nonpos(SD{x}).v; }
inline double log_scalar(double x) {
  alignas(64) double r[kND];
  store(r, log(splat(x)));
  return r[0];
}

// ---------------------------------------------------------------- operands of a row
template <class T>
inline T* operand_at(const ReducePlan& p, int op, const RowCursor& cur) {
  return reinterpret_cast<T*>(p.base[op]) + cur.off(op);
}

// The integer target of the row at `cur` (any width, signed or unsigned), as int64; an
// unsigned value above INT64_MAX comes back negative (out of range).
inline int64_t row_target(const RowOpTask& t, const RowCursor& cur) {
  const char* b = t.plan.base[kTarget] + cur.off(kTarget) * t.target_bytes;
  const bool sg = t.prm->target_signed;
  switch (t.target_bytes) {
    case 1: return sg ? (int64_t) * reinterpret_cast<const int8_t*>(b) : (int64_t) * reinterpret_cast<const uint8_t*>(b);
    case 2: return sg ? (int64_t) * reinterpret_cast<const int16_t*>(b) : (int64_t) * reinterpret_cast<const uint16_t*>(b);
    case 4: return sg ? (int64_t) * reinterpret_cast<const int32_t*>(b) : (int64_t) * reinterpret_cast<const uint32_t*>(b);
    default: return sg ? *reinterpret_cast<const int64_t*>(b) : (int64_t) * reinterpret_cast<const uint64_t*>(b);
  }
}

// Elements of operand `op` of the row at `cur` gathered into buf[0, n), or scattered back.
template <class T>
inline void gather_row(const ReducePlan& p, int op, const RowCursor& cur, T* buf) {
  const T* base = reinterpret_cast<const T*>(p.base[op]) + cur.off(op);
  Odometer od;
  od.seek(p.inner, 0);
  for (int64_t j = 0; j < p.n; ++j, od.next()) buf[j] = base[od.off[op]];
}
template <class T>
inline void scatter_row(const ReducePlan& p, int op, const RowCursor& cur, const T* buf) {
  T* base = reinterpret_cast<T*>(p.base[op]) + cur.off(op);
  Odometer od;
  od.seek(p.inner, 0);
  for (int64_t j = 0; j < p.n; ++j, od.next()) base[od.off[op]] = buf[j];
}

// ---------------------------------------------------------------- the driver
// An op supplies (see ops/crossentropy-inl.hpp):
//   static constexpr bool kTwoInputs;  // y holds logits with their own log-sum-exp
//   static constexpr bool kTileRows;   // offers tile_rows: a tile of short rows at once
//   template <class T> static bool tile_rows(const RowOpTask&, RowCursor& cur, const T* tile,
//                                            int64_t cnt, const RowLse* lx);
//     (x transposed: element j of row l at tile[j * kSmallTile + l]; returns false, cursor
//     untouched, for calls it leaves to row(); else advances the cursor past the tile)
//   template <class T> static void row(const RowOpTask&, const RowCursor&, const RowView<T>&,
//                                      const RowLse& lx, const RowLse& ly);
template <class T, class Op>
struct RowOps {
  static void run(const RowOpTask& t, int64_t u0, int64_t u1) {
    const ReducePlan& p = t.plan;
    const int64_t r0 = u0 * t.rows_per_unit;
    const int64_t r1 = u1 * t.rows_per_unit < p.rows ? u1 * t.rows_per_unit : p.rows;
    if (r0 >= r1) return;
    const int64_t n = p.n;
    RowCursor cur;
    cur.seek(p, r0);
    if (p.layout == Layout::Rows && n > 0 && n <= kSmallRow<T>) return short_rows(t, cur, r1 - r0);
    const bool in_place = p.layout == Layout::Rows;
    const bool has_y = p.present[kY], has_gx = p.present[kGrad], has_gy = p.present[kGradY];
    ScratchFrame frame;
    T* const bx = in_place ? nullptr : frame.take<T>(n);
    T* const by = in_place || !has_y ? nullptr : frame.take<T>(n);
    T* const bgx = in_place || !has_gx ? nullptr : frame.take<T>(n);
    T* const bgy = in_place || !has_gy ? nullptr : frame.take<T>(n);
    for (int64_t r = r0; r < r1; ++r, cur.next()) {
      RowView<T> v;
      v.n = n;
      if (in_place) {
        v.x = operand_at<T>(p, kX, cur);
        if (has_y) v.y = operand_at<T>(p, kY, cur);
        if (has_gx) v.gx = operand_at<T>(p, kGrad, cur);
        if (has_gy) v.gy = operand_at<T>(p, kGradY, cur);
      } else {
        gather_row(p, kX, cur, bx);
        v.x = bx;
        if (has_y) {
          gather_row(p, kY, cur, by);
          v.y = by;
        }
        v.gx = bgx;
        v.gy = bgy;
      }
      const State sx = contiguous_state(v.x, n);
      RowLse lx, ly{};
      row_lses(&sx.m, &sx.c, &sx.s, 1, &lx);
      if constexpr (Op::kTwoInputs) {
        const State sy = contiguous_state(v.y, n);
        row_lses(&sy.m, &sy.c, &sy.s, 1, &ly);
      }
      Op::template row<T>(t, cur, v, lx, ly);
      if (!in_place) {
        if (has_gx) scatter_row(p, kGrad, cur, bgx);
        if (has_gy) scatter_row(p, kGradY, cur, bgy);
      }
    }
  }

  // Short contiguous rows: the states of a tile of rows at once, one row per SIMD lane.
  static void short_rows(const RowOpTask& t, RowCursor& cur, int64_t count) {
    const ReducePlan& p = t.plan;
    const int64_t n = p.n;
    ScratchFrame frame;
    T* const tile = frame.take<T>(kSmallRow<T> * kSmallTile);
    alignas(64) int64_t off[kSmallRow<T>];
    for (int64_t j = 0; j < n; ++j) off[j] = j * kSmallTile;
    alignas(64) double m[kSmallTile], c[kSmallTile], s[kSmallTile];
    RowLse lx[kSmallTile], ly[kSmallTile];
    for (int64_t i0 = 0; i0 < count; i0 += kSmallTile) {
      const int64_t cnt = count - i0 < kSmallTile ? count - i0 : kSmallTile;
      RowCursor first = cur;
      // contiguous rows two tiles ahead are prefetched while this tile is reduced (as the
      // log-sum-exp's short rows do)
      const int64_t ahead = count - (i0 + 2 * kSmallTile);
      auto states = [&](int op, RowLse* out) {
        const T* rows[kSmallTile];
        RowCursor rc = first;
        for (int64_t l = 0; l < cnt; ++l, rc.next()) rows[l] = operand_at<T>(p, op, rc);
        const char* pf = nullptr;
        int64_t pf_bytes = 0;
        if (ahead > 0 && first.flat && first.flat_step[op] == n) {
          pf = reinterpret_cast<const char*>(rows[0] + 2 * kSmallTile * n);
          pf_bytes = (ahead < cnt ? ahead : cnt) * n * (int64_t)sizeof(T);
        }
        transpose_rows<T>(rows, cnt, n, tile);
        lanes_block<T, Mode::Masked>(tile, off, n, cnt, true, m, c, s, pf, pf_bytes);
        row_lses(m, c, s, cnt, out);
      };
      states(kX, lx);
      if constexpr (Op::kTwoInputs) states(kY, ly);
      if constexpr (Op::kTileRows) {
        // the op finishes the whole tile itself when it can (x still transposed in `tile`)
        if (Op::template tile_rows<T>(t, cur, tile, cnt, lx)) continue;
      }
      for (int64_t l = 0; l < cnt; ++l, cur.next()) {
        RowView<T> v;
        v.n = n;
        v.x = operand_at<T>(p, kX, cur);
        if (p.present[kY]) v.y = operand_at<T>(p, kY, cur);
        if (p.present[kGrad]) v.gx = operand_at<T>(p, kGrad, cur);
        if (p.present[kGradY]) v.gy = operand_at<T>(p, kGradY, cur);
        Op::template row<T>(t, cur, v, lx[l], ly[l]);
      }
    }
  }
};
