// Tile entry points: rows whose elements are not in memory as they are (a GEMM's logit
// tiles, point-cloud costs computed on the fly, Sinkhorn's shifted costs) are reduced tile
// by tile by the producer, through the same block kernels, merges and finalisation as the
// arrays the driver walks (the result-handler pattern). A family's per-ISA kernels include
// the engine and drive a TileReducer; nothing here allocates or starts threads: the
// producer owns the tiles, the order in which they arrive (fix it for determinism), and
// the threads (each thread its own rows).
//
//   TileReducer<float> r(m, c, s, rows);     // running states of `rows` rows, in (m, c, s)
//   r.reset();                                // empty rows
//   r.add_lanes(tile, len, ld, row0, width);  // tile[q * ld + j]: position q of row row0 + j
//   r.add_rows(tile, nrows, cols, ld, row0);  // tile[i * ld + q]: position q of row row0 + i
//   r.finish_lse(out);                        // log-sum-exp of each row
//   double sx = tile_row_sum(x, len);         // plain sum of a produced row (a rider)
//
// add_lanes is the Columns kernel (one row per SIMD lane, lanes side by side): for the same
// positions in the same blocks of at most tuning::kColMaxBlock it gives the bits of a
// logsumexp along axis 0. add_rows reduces each row's stretch in blocks and merges it.
// finish_lse is the log-sum-exp finalisation without the accurate recomputation of
// results near zero (a producer cannot be asked for its tile again): results are accurate
// to the error of the sums, relative to the sum (docs/accuracy.md). Part of the
// row-reduction engine (engine-inl.hpp); includes nothing.

template <class T, Mode M = Mode::Fast>
struct TileReducer {
  static_assert(M != Mode::Accurate, "tiles are reduced in Fast or Masked mode");
  double* m;
  double* c;
  double* s;
  int64_t rows;

  TileReducer(double* m_, double* c_, double* s_, int64_t rows_) : m(m_), c(c_), s(s_), rows(rows_) {}

  void reset() {
    for (int64_t i = 0; i < rows; ++i) {
      m[i] = -kInf;
      c[i] = 0.0;
      s[i] = 0.0;
    }
  }

  // `len` positions of `width` rows row0.. that sit side by side: position q of row
  // row0 + j is tile[q * ld + j].
  void add_lanes(const T* tile, int64_t len, int64_t ld, int64_t row0, int64_t width) {
    alignas(64) int64_t offs[tuning::kColMaxBlock];
    for (int64_t q0 = 0; q0 < len; q0 += tuning::kColMaxBlock) {
      const int64_t n = len - q0 < tuning::kColMaxBlock ? len - q0 : tuning::kColMaxBlock;
      for (int64_t q = 0; q < n; ++q) offs[q] = (q0 + q) * ld;
      lanes_block<T, M>(tile, offs, n, width, false, m + row0, c + row0, s + row0);
    }
  }

  // `nrows` rows row0.. of `cols` positions each: position q of row row0 + i is
  // tile[i * ld + q].
  void add_rows(const T* tile, int64_t nrows, int64_t cols, int64_t ld, int64_t row0) {
    constexpr int64_t B = Lanes<T>::kBlock;
    for (int64_t i = 0; i < nrows; ++i) {
      const T* x = tile + i * ld;
      State st{m[row0 + i], c[row0 + i], s[row0 + i]};
      for (int64_t q = 0; q < cols; q += B) {
        const int64_t len = cols - q < B ? cols - q : B;
        merge(st, block_sum<T, M, false>(x + q, nullptr, len, block_max<T, false>(x + q, nullptr, len)));
      }
      m[row0 + i] = st.m;
      c[row0 + i] = st.c;
      s[row0 + i] = st.s;
    }
  }

  // log-sum-exp of every row (rows with no element: -inf), as the reductions' results.
  void finish_lse(double* out) const {
    alignas(64) double sign[tuning::kBatch];
    for (int64_t i = 0; i < rows; i += tuning::kBatch) {
      const int64_t k = rows - i < tuning::kBatch ? rows - i : tuning::kBatch;
      finalize_lse_unweighted<std::is_same<T, float>::value>(m + i, c + i, s + i, k, out + i, sign, false);
    }
  }
};

// Plain sum of x[0, len) in double, for a producer's riders (label smoothing needs Σ x
// beside a row's log-sum-exp): element q goes to the canonical double lane q mod L (L =
// Lanes<T>::L, the blocks' lanes), float elements widened exactly, and the lanes meet in
// the blocks' fixed pairwise tree, so the bits are the same at every ISA level. The error
// is that of L double sums of len / L terms each.
template <class T>
DK_INLINE void row_sum_lanes(VD* acc, const T* x) {
  using V = typename Lanes<T>::V;
  constexpr int N = Lanes<T>::N, U = Lanes<T>::L / N;
  DK_UNROLL for (int u = 0; u < U; ++u) {
    const V a = load(x + u * N);
    if constexpr (std::is_same<T, float>::value) {
      acc[2 * u] = acc[2 * u] + lo_f64(a);
      acc[2 * u + 1] = acc[2 * u + 1] + hi_f64(a);
    } else {
      acc[u] = acc[u] + a;
    }
  }
}

template <class T>
inline double tile_row_sum(const T* x, int64_t len) {
  constexpr int L = Lanes<T>::L;
  constexpr int U64 = L / kND;
  VD acc[U64];
  DK_UNROLL for (int u = 0; u < U64; ++u) acc[u] = splat(0.0);
  const int64_t full = len / L * L;
  for (int64_t i = 0; i < full; i += L) row_sum_lanes<T>(acc, x + i);
  if (full < len) {
    alignas(64) T tail[L];
    for (int64_t j = 0; j < L; ++j) tail[j] = full + j < len ? x[full + j] : T(0);
    row_sum_lanes<T>(acc, tail);
  }
  return tree_sum_vec<U64>(acc);
}
