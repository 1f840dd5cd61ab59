// One row per lane: the tile kernels. A tile is `len` reduction positions of `width` lanes
// that sit side by side in memory; each lane is a row of its own, reduced by the same
// block structure as contiguous rows and merged into running lane states. Used by the
// Columns layout (the array itself is the tile) and by short rows (transposed into a
// tile). Part of the row-reduction engine (engine-inl.hpp); includes nothing.
//
// Reduction of `len` positions for lanes that sit side by side in memory (stride 1):
// position r of lane j is x[xoff[r] + j]. Each lane is its own row: it runs pass 1 and
// pass 2 over the block sequentially, with the float/double staging of block_sum.
// Unweighted only (weighted reductions use the Rows or Gather layout).

template <class T, bool Partial>
DK_INLINE typename Lanes<T>::V lane_load(const T* p, int64_t k) {
  if constexpr (Partial) return load_partial(p, k, T(-kInf));
  else return load(p);
}

using tuning::kLaneGroup;

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
  const V zero = splat_as<V>(T(0)), ninf = splat_as<V>(T(-kInf));
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
    const auto notfin = nan_mask(mx[g]) | eq(mx[g], ninf) | eq(mx[g], splat_as<V>(T(kInf)));
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
  const double ninf = -kInf;
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
  const VD inf = splat(kInf), zero = splat(0.0), qnan = splat(kNaN);
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
      const auto notfin = nan_mask(bm) | eq(bm, inf) | eq(bm, splat(-kInf));
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
      VD am = load_partial(lm + at, kk, -kInf), ac = load_partial(lc + at, kk, 0.0),
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
// The rows rows[0, cnt) (cnt <= kSmallTile) of n <= kSmallRow<T> contiguous elements each,
// transposed into a tile of side-by-side lanes: position j of row l at tile[j * kSmallTile
// + l]; lanes from cnt to the next whole vector hold -inf.
template <class T>
DK_INLINE void transpose_rows(const T* const* rows, int64_t cnt, int64_t n, T* tile) {
  using V = typename Lanes<T>::V;
  constexpr int N = Lanes<T>::N;
  const V ninf = splat_as<V>(T(-kInf));
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
        r[l] = !row ? ninf : cols == N ? load(row + c0) : load_partial(row + c0, cols, T(-kInf));
      }
      transpose(r);
      for (int64_t j = 0; j < cols; ++j) store(tile + (c0 + j) * kSmallTile + g, r[j]);
    }
  }
}

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
  DK_UNROLL for (int g = 0; g < G; ++g) m0[g] = splat_as<V>(T(-kInf));
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
