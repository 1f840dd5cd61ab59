// Row states and their merge: the algebra every row reduction of the engine is built on.
// Re-included per ISA level inside `namespace divkern::DK_ISA_NS` after simd/vec-inl.hpp
// and simd/math-inl.hpp (engine-inl.hpp lists the engine's files in order); includes
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
  static constexpr int L = tuning::kLanesF32;  // canonical accumulation lanes of a row block
  static constexpr int64_t kBlock = tuning::kBlockF32;
};
template <> struct Lanes<double> {
  using V = VD;
  static constexpr int N = kND;
  static constexpr int L = tuning::kLanesF64;
  static constexpr int64_t kBlock = tuning::kBlockF64;
};
using tuning::kFlushRows;
using tuning::kSmallTile;
template <class T>
constexpr int64_t kSmallRow = tuning::kSmallRowBytes / sizeof(T);  // rows reduced one per lane

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

// States of rows of a batch (at most 64) that an op computed again in another mode while
// the rows were in cache (an op with kRefines): bit i of `mask` marks row i, whose state
// is at[i].
struct RefinedRows {
  uint64_t mask = 0;
  State at[64];
};

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

