// The log-sum-exp ops: log(sum(b * exp(x))) over each row, with SciPy's sign and
// special-value conventions, as reduced outputs (the result, and its sign on request).
//   LogSumExp          unweighted: Fast sums; results near zero are recomputed in
//                      Accurate mode (below)
//   WeightedLogSumExp  weights b: Accurate sums; rows SciPy defines through its direct
//                      formula, or whose weights at the maximum cancel, are finished by the
//                      driver's weighted fallback (Task::weighted_fallback)
// Part of the row-reduction engine (engine-inl.hpp; the op contract is in
// csrc/rowreduce/README.md); includes nothing.
//
// Finalisation turns states into results, lanes of VD at a time; the rows it cannot
// finish are reported back:
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
using tuning::kLogGroup;
template <bool kTableLog>
inline uint64_t finalize_lse_unweighted(const double* m, const double* c, const double* s, int64_t count,
                                        double* out, double* sign, bool want_sign) {
  const VD zero = splat(0.0), one = splat(1.0), inf = splat(kInf), nan = splat(kNaN);
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
        auto empty = eq(vm[g], splat(-kInf));
        res = select(empty, splat(-kInf), res);
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
  const VD zero = splat(0.0), one = splat(1.0), nan = splat(kNaN);
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

// Accurate mode for `cnt` (<= kSmallTile) rows of at most kSmallRow<double> elements, in
// any layout, several at a time: the rows are widened to double into a transposed tile
// and reduced one row per lane in Masked mode (exact a - max, double exp, the maximum
// kept apart), which is Accurate mode for either input type. Row by row, the set-up of
// a recomputation cost ~20x a Fast row of 3 elements, and the log-sum-exp of short rows
// is often near zero.
template <class S>
DK_NOINLINE void accurate_short_rows(const Task& t, const int64_t* rows, int64_t cnt, double* m, double* c, double* s) {
  const ReducePlan& p = t.plan;
  const int64_t n = p.n;
  ScratchFrame frame;
  double* const tile = frame.take<double>(kSmallRow<double> * kSmallTile);
  alignas(64) int64_t off[kSmallRow<double>], inner[kSmallRow<double>];
  Odometer in;
  in.seek(p.inner, 0);
  for (int64_t j = 0; j < n; ++j, in.next()) {
    off[j] = j * kSmallTile;
    inner[j] = in.off[kX];  // element offsets within a row (the same for every row)
  }
  const S* x = operand<S>(p, kX);
  const S* ptr[kSmallTile];
  RowCursor cur;  // rows ascend: walk to each instead of seeking
  cur.seek(p, rows[0]);
  for (int64_t l = 0, r = rows[0]; l < cnt; ++l) {
    for (; r < rows[l]; ++r) cur.next();
    ptr[l] = x + cur.off(kX);
  }
  if constexpr (kInPlace<S>) {
    if (p.layout == Layout::Rows) {  // contiguous rows: vector transposes (the same values)
      if constexpr (std::is_same<S, double>::value) {
        transpose_rows<double>(ptr, cnt, n, tile);
      } else {
        float* const ftile = frame.take<float>(kSmallRow<double> * kSmallTile);
        transpose_rows<float>(ptr, cnt, n, ftile);
        for (int64_t j = 0; j < n; ++j)
          for (int64_t l = 0; l < cnt; l += kNF) {
            const VF v = load(ftile + j * kSmallTile + l);
            store(tile + j * kSmallTile + l, lo_f64(v));
            store(tile + j * kSmallTile + l + kND, hi_f64(v));
          }
      }
      lanes_block<double, Mode::Masked>(tile, off, n, cnt, true, m, c, s);
      return;
    }
  }
  for (int64_t l = 0; l < cnt; ++l)
    for (int64_t j = 0; j < n; ++j) tile[j * kSmallTile + l] = double(to_compute(ptr[l][inner[j]]));
  lanes_block<double, Mode::Masked>(tile, off, n, cnt, true, m, c, s);
}

static_assert(tuning::kBatch <= 64, "finalize_lse_unweighted returns the rows to recompute as a 64-bit mask");
static_assert(tuning::kBatch <= kSmallTile, "accurate_short_rows puts a batch's rows in one tile");

struct LogSumExp {
  static constexpr Mode kMode = Mode::Fast;
  static constexpr bool kWeighted = false;
  static constexpr bool kSecondPass = false;
  static constexpr bool kRefines = true;  // rows near zero: row_state and refine_batch below
  // results with |y| < kSure are certainly recomputed by finish(): Fast and Accurate results
  // differ by far less than kSensitive - kSure
  static constexpr double kSure = 1.75;

  // Results of `count` (<= kBatch) rows row0.. from their states, stored at `out` (advanced).
  // Rows in `refined` take its Accurate state (computed while the row was in cache, by
  // row_state) instead of a recomputation from memory; the others near zero are recomputed.
  // Returns the rows whose results are near zero (recomputed or refined).
  template <class S>
  static uint64_t finish(const Task& t, RowCursor& out, int64_t row0, const double* m, const double* c,
                         const double* s, int64_t count, const RefinedRows* refined = nullptr) {
    using T = Compute<S>;
    alignas(64) double r1[tuning::kBatch], r2[tuning::kBatch];
    const uint64_t known = refined ? refined->mask : 0;
    const uint64_t all = count == 64 ? ~uint64_t(0) : (uint64_t(1) << count) - 1;
    uint64_t redo = known == all ? 0
                                 : finalize_lse_unweighted<std::is_same<T, float>::value>(m, c, s, count, r1, r2,
                                                                                          t.return_sign);
    const uint64_t near = redo | known;
    if (known) {  // their results in one finalisation (the logarithms in lockstep)
      alignas(64) double km[tuning::kBatch], kc[tuning::kBatch], ks[tuning::kBatch], q1[tuning::kBatch],
          q2[tuning::kBatch];
      int64_t at[tuning::kBatch], k = 0;
      for (int64_t i = 0; i < count; ++i)
        if (known >> i & 1) {
          km[k] = refined->at[i].m;
          kc[k] = refined->at[i].c;
          ks[k] = refined->at[i].s;
          at[k++] = i;
        }
      finalize_lse_unweighted<false>(km, kc, ks, k, q1, q2, t.return_sign);
      for (int64_t j = 0; j < k; ++j) {
        r1[at[j]] = q1[j];
        r2[at[j]] = q2[j];
      }
    }
    redo &= ~known;
    if (redo) recompute<S>(t, row0, redo, count, r1, r2);
    store_reduced<T>(t, out, r1, r2, count);
    return near;
  }

  // Short rows (a batch of `cnt` <= 64 rows row0.., after a batch whose results were all
  // near zero): their Accurate states in `at`, and the mask of the rows whose results are
  // clearly near zero, for which finish() would recompute exactly these states (the margin
  // kSensitive - kSure as in row_state). Rows of more than kSmallRow<double> elements are
  // left to the tile kernels (mask 0).
  template <class S>
  static uint64_t refine_batch(const Task& t, int64_t row0, int64_t cnt, State* at) {
    if (t.plan.n > kSmallRow<double>) return 0;
    alignas(64) double am[tuning::kBatch], ac[tuning::kBatch], as[tuning::kBatch], y[tuning::kBatch],
        sg[tuning::kBatch];
    int64_t rows[tuning::kBatch];
    for (int64_t i = 0; i < cnt; ++i) rows[i] = row0 + i;
    accurate_short_rows<S>(t, rows, cnt, am, ac, as);
    finalize_lse_unweighted<false>(am, ac, as, cnt, y, sg, false);
    uint64_t sure = 0;
    for (int64_t i = 0; i < cnt; ++i) {
      at[i] = State{am[i], ac[i], as[i]};
      sure |= uint64_t(y[i] * y[i] < kSure * kSure) << i;
    }
    return sure;
  }

  // The state of a whole contiguous or gathered row of one unit and, when its result is
  // near zero (finalize_lse_unweighted's recomputation test), its Accurate state, computed
  // while the row is still in cache (`refined` says so). Log-probabilities and mixture
  // log-likelihoods make whole arrays of such rows: with `hint` (the previous row was near
  // zero) the row is first reduced in Accurate mode from memory, and again in Fast mode
  // (from cache) only when its result is not clearly near zero. Either way the result is
  // the one finish() gives after a recomputation from memory: Fast and Accurate results
  // differ by far less than the margin kSensitive - kSure.
  template <class S>
  static State row_state(const RowBlocks<S>& rb, int64_t n, const S* next_row, bool& hint, State& accurate,
                         bool& refined) {
    using T = Compute<S>;
    double y, sg;
    if (hint) {
      accurate = range_state<Mode::Accurate, false>(rb, 0, n, next_row);
      finalize_lse_unweighted<false>(&accurate.m, &accurate.c, &accurate.s, 1, &y, &sg, false);
      refined = y * y < kSure * kSure;  // false for NaN and infinities
      hint = refined;
      return refined ? accurate : range_state<Mode::Fast, false>(rb, 0, n);
    }
    const State fast = range_state<Mode::Fast, false>(rb, 0, n, next_row);
    // A Fast sum holds the maximum's own term, so 1 - 1e-6 < sum <= n < 2^64 and the
    // result lies in [m - 1e-6, m + 44.4]: far from zero, the exact test is not needed.
    const bool far = fast.m >= kSensitive + 0.5 || fast.m <= -kSensitive - 45.0;
    refined = !far &&
              finalize_lse_unweighted<std::is_same<T, float>::value>(&fast.m, &fast.c, &fast.s, 1, &y, &sg, false);
    if (refined) accurate = range_state<Mode::Accurate, false>(rb, 0, n);
    hint = refined;
    return fast;
  }

  // Recomputes in Accurate mode the rows row0 + i (i < cnt) whose bit i is set in `redo`,
  // and replaces their results in r1/r2.
  template <class S>
  static void recompute(const Task& t, int64_t row0, uint64_t redo, int64_t cnt, double* r1, double* r2) {
    int64_t at[tuning::kBatch], rows[tuning::kBatch] = {}, nredo = 0;
    for (int64_t i = 0; i < cnt; ++i)
      if (redo >> i & 1) {
        at[nredo] = i;
        rows[nredo++] = row0 + i;
      }
    if (t.plan.n <= kSmallRow<double>) {
      alignas(64) double am[tuning::kBatch], ac[tuning::kBatch], as[tuning::kBatch], q1[tuning::kBatch],
          q2[tuning::kBatch];
      accurate_short_rows<S>(t, rows, nredo, am, ac, as);
      finalize_lse_unweighted<false>(am, ac, as, nredo, q1, q2, t.return_sign);
      for (int64_t k = 0; k < nredo; ++k) {
        r1[at[k]] = q1[k];
        r2[at[k]] = q2[k];
      }
    } else {
      for (int64_t k = 0; k < nredo; ++k) {
        const State st = accurate_row_state<S>(t, rows[k]);
        finalize_lse_unweighted<false>(&st.m, &st.c, &st.s, 1, &r1[at[k]], &r2[at[k]], t.return_sign);
      }
    }
  }
};

struct WeightedLogSumExp {
  static constexpr Mode kMode = Mode::Accurate;
  static constexpr bool kWeighted = true;
  static constexpr bool kSecondPass = false;
  static constexpr bool kRefines = false;

  template <class S>
  static uint64_t finish(const Task& t, RowCursor& out, int64_t row0, const double* m, const double* c,
                         const double* s, int64_t count, const RefinedRows* = nullptr) {
    using T = Compute<S>;
    alignas(64) double r1[tuning::kBatch], r2[tuning::kBatch];
    bool redo[tuning::kBatch];
    finalize_lse_weighted(m, c, s, count, r1, r2, t.return_sign, redo);
    for (int64_t i = 0; i < count; ++i)
      if (redo[i]) t.weighted_fallback(t, row0 + i, &r1[i], &r2[i]);
    store_reduced<T>(t, out, r1, r2, count);
    return 0;
  }
};
