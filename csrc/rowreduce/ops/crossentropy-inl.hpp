// The cross-entropy row ops (rowops.hpp) over the row-op driver (rowops-inl.hpp):
//   CrossEntropyIndex  integer targets, class weights, ignore_index, label smoothing,
//                      z-loss; loss, lse and the gradient of each row
//   CrossEntropyProb   probability targets (operand kY), the same options
//   SoftmaxEntropy     -sum p log p of p = softmax(x)
//   LogSoftmaxAt       log_softmax(x)[target]
// Part of the row-reduction engine (engine-inl.hpp); includes nothing.
//
// With lse = m + L (RowLse), every loss is written relative to the row maximum m, so that
// nothing cancels at large logits: lse - x_t = (m - x_t) + L, and the smoothing and
// probability-target sums are sums of w_c (m - x_c) >= 0. The gradient of a row is
//   g_j = A p_j - B [j = t] - D w_j t'_j,   p_j = exp(x_j - m) / S,
// with per-row constants A, B, D (the gradient scale, which carries 1/T and the mean's
// denominators, included); its elements are computed in double and rounded once.

// double of element j of a row
template <class T>
inline double at(const T* x, int64_t j) {
  return double(x[j]);
}

// nll = lse - x_t, written to keep the precision of a dominant target (x_t = m); NaN for
// rows without a finite log-sum-exp (+inf or NaN logits, or every class masked), as torch
inline double minus_log_p(const RowLse& l, double xt) { return is_finite(l.lse) ? (l.m - xt) + l.L : kNaN; }

// A tile of short rows (x transposed into `tile`) with nothing but per-row results to
// write: f(l, x_t) gives row l's result from its target's logit (t = -1 for an ignored
// row, -2 out of range). The same arithmetic as row(), without its per-row set-up.
template <class T, class F>
inline void tile_results(const RowOpTask& t, RowCursor& cur, const T* tile, int64_t cnt, const RowLse* lx, F f) {
  const ReducePlan& p = t.plan;
  const int64_t n = p.n, ignore = t.prm->ignore_index;
  const bool with_lse = p.present[kSign];
  for (int64_t l = 0; l < cnt; ++l, cur.next()) {
    const int64_t tg = row_target(t, cur);
    const bool in_range = tg >= 0 && tg < n && tg != ignore;
    const double xt = in_range ? double(tile[tg * kSmallTile + l]) : 0.0;
    *operand_at<double>(p, kOut, cur) = f(l, in_range ? tg : tg == ignore ? -1 : -2, xt);
    if (with_lse) *operand_at<double>(p, kSign, cur) = lx[l].lse;
  }
}

struct CrossEntropyIndex {
  static constexpr bool kTwoInputs = false;
  static constexpr bool kTileRows = true;

  template <class T>
  static bool tile_rows(const RowOpTask& t, RowCursor& cur, const T* tile, int64_t cnt, const RowLse* lx) {
    const RowOpParams& q = *t.prm;
    if (t.plan.present[kGrad] || q.smoothing != 0.0) return false;
    const double* w = q.class_weight;
    tile_results(t, cur, tile, cnt, lx, [&](int64_t l, int64_t tg, double xt) {
      if (tg < 0) return tg == -1 ? 0.0 : kNaN;
      const double nll = minus_log_p(lx[l], xt);
      return w ? w[tg] * nll : nll;
    });
    return true;
  }

  template <class T>
  static void row(const RowOpTask& t, const RowCursor& cur, const RowView<T>& v, const RowLse& l, const RowLse&) {
    const RowOpParams& q = *t.prm;
    const ReducePlan& p = t.plan;
    const int64_t n = v.n;
    if (p.present[kSign]) *operand_at<double>(p, kSign, cur) = l.lse;
    double* loss = operand_at<double>(p, kOut, cur);
    const int64_t tg = row_target(t, cur);
    if (tg == q.ignore_index || tg < 0 || tg >= n) {
      // ignored (out-of-range targets are refused by the Python layer before the call)
      const bool ignored = tg == q.ignore_index;
      *loss = ignored ? 0.0 : kNaN;
      if (v.gx) fill_row(v.gx, n, ignored ? T(0) : T(kNaN));
      return;
    }
    const double* w = q.class_weight;
    const double wt = w ? w[tg] : 1.0;
    const double eps = q.smoothing, keep = 1.0 - eps;
    const double nll = minus_log_p(l, at(v.x, tg));
    double res = eps == 0.0 ? wt * nll : keep * (wt * nll);
    if (eps != 0.0) {
      // sum_c w_c (lse - x_c) = sum_c w_c (m - x_c) + W L
      double r;
      const T mt = T(l.m);
      rider_sums<T, 1>(
          n,
          [&](int64_t j, int64_t k, VD* out) {
            VD a[kHalves<T>], wc[kHalves<T>];
            load_wide(v.x, j, k, mt, a);
            load_weights<T>(w, j, k, wc);
            DK_UNROLL for (int h = 0; h < kHalves<T>; ++h) out[h] = wc[h] * (splat(l.m) - a[h]);
          },
          &r);
      const double smooth = is_finite(l.lse) ? r + q.weight_sum * l.L : kNaN;
      res += eps / double(n) * smooth;
    }
    *loss = res;  // the z-loss is added by the caller, from the lse (its 'mean' has its own denominator)
    if (!v.gx) return;
    const double A = q.grad_scale * (wt * keep + eps * q.weight_sum / double(n)) + q.z_scale * 2.0 * q.z_loss * l.lse;
    const double B = q.grad_scale * wt * keep, D = q.grad_scale * eps / double(n);
    const double a_over_s = A / l.S;
    const T mt = T(l.m);
    // the target's exp(x_t - m), with the bits write_row's vectors give it, read before
    // the row is written (the gradient may overwrite the logits)
    const double e_t = element_exp(v.x, tg, mt);
    write_row(v.gx, n, [&](int64_t j, int64_t k, VD* r) {
      VD e[kHalves<T>], wc[kHalves<T>];
      exp_shifted(v.x, j, k, mt, e);
      if (D != 0.0) load_weights<T>(w, j, k, wc);
      DK_UNROLL for (int h = 0; h < kHalves<T>; ++h) {
        r[h] = e[h] * splat(a_over_s);
        if (D != 0.0) r[h] = r[h] - splat(D) * wc[h];
      }
    });
    v.gx[tg] = T((e_t * a_over_s - (D != 0.0 ? D * wt : 0.0)) - B);
  }

  // exp(x_t - m) with the bits write_row's vectors gave element t
  template <class T>
  static double element_exp(const T* x, int64_t tg, T m) {
    using V = typename Lanes<T>::V;
    alignas(64) T e[Lanes<T>::N];
    store(e, exp_nonpos(splat_as<V>(x[tg]) - splat_as<V>(m)));
    return double(e[0]);
  }
};

struct CrossEntropyProb {
  static constexpr bool kTwoInputs = false;
  static constexpr bool kTileRows = false;

  template <class T>
  static void row(const RowOpTask& t, const RowCursor& cur, const RowView<T>& v, const RowLse& l, const RowLse&) {
    const RowOpParams& q = *t.prm;
    const ReducePlan& p = t.plan;
    const int64_t n = v.n;
    if (p.present[kSign]) *operand_at<double>(p, kSign, cur) = l.lse;
    const double* w = q.class_weight;
    const double eps = q.smoothing, keep = 1.0 - eps;
    const T mt = T(l.m);
    // sums of w_c t_c, w_c t_c (m - x_c) and w_c (m - x_c); a zero target takes no part
    // (a masked class, x_c = -inf, beside it is not 0 * inf)
    double r[3];
    rider_sums<T, 3>(
        n,
        [&](int64_t j, int64_t k, VD* out) {
          VD a[kHalves<T>], tc[kHalves<T>], wc[kHalves<T>];
          load_wide(v.x, j, k, mt, a);
          load_wide(v.y, j, k, T(0), tc);
          load_weights<T>(w, j, k, wc);
          DK_UNROLL for (int h = 0; h < kHalves<T>; ++h) {
            const VD d = splat(l.m) - a[h];
            const VD wt = wc[h] * tc[h];
            out[h] = wt;
            out[kHalves<T> + h] = select(eq(tc[h], splat(0.0)), splat(0.0), wt * d);
            out[2 * kHalves<T> + h] = wc[h] * d;
          }
        },
        r);
    const double tw = r[0];
    double res;
    if (is_finite(l.lse)) {
      res = keep * (r[1] + tw * l.L);
      if (eps != 0.0) res += eps / double(n) * (r[2] + q.weight_sum * l.L);
    } else {
      res = kNaN;
    }
    *operand_at<double>(p, kOut, cur) = res;  // without the z-loss, as above
    if (!v.gx) return;
    const double A = q.grad_scale * (keep * tw + eps * q.weight_sum / double(n)) + q.z_scale * 2.0 * q.z_loss * l.lse;
    const double a_over_s = A / l.S, gs = q.grad_scale, smooth = eps / double(n);
    write_row(v.gx, n, [&](int64_t j, int64_t k, VD* rr) {
      VD e[kHalves<T>], tc[kHalves<T>], wc[kHalves<T>];
      exp_shifted(v.x, j, k, mt, e);
      load_wide(v.y, j, k, T(0), tc);
      load_weights<T>(w, j, k, wc);
      DK_UNROLL for (int h = 0; h < kHalves<T>; ++h)
        rr[h] = e[h] * splat(a_over_s) - splat(gs) * (wc[h] * (splat(keep) * tc[h] + splat(smooth)));
    });
  }
};

struct SoftmaxEntropy {
  static constexpr bool kTwoInputs = false;
  static constexpr bool kTileRows = false;

  template <class T>
  static void row(const RowOpTask& t, const RowCursor& cur, const RowView<T>& v, const RowLse& l, const RowLse&) {
    const ReducePlan& p = t.plan;
    double* out = operand_at<double>(p, kOut, cur);
    if (!is_finite(l.lse)) {
      *out = kNaN;
      return;
    }
    // H = L - sum e_j (x_j - m) / S: two non-negative terms
    double r;
    const T mt = T(l.m);
    rider_sums<T, 1>(
        v.n,
        [&](int64_t j, int64_t k, VD* o) {
          VD e[kHalves<T>], a[kHalves<T>];
          exp_shifted(v.x, j, k, mt, e);
          load_wide(v.x, j, k, mt, a);
          DK_UNROLL for (int h = 0; h < kHalves<T>; ++h)
            o[h] = select(eq(e[h], splat(0.0)), splat(0.0), e[h] * (a[h] - splat(l.m)));
        },
        &r);
    *out = l.L - r / l.S;
  }
};

struct LogSoftmaxAt {
  static constexpr bool kTwoInputs = false;
  static constexpr bool kTileRows = true;

  template <class T>
  static bool tile_rows(const RowOpTask& t, RowCursor& cur, const T* tile, int64_t cnt, const RowLse* lx) {
    tile_results(t, cur, tile, cnt, lx,
                 [&](int64_t l, int64_t tg, double xt) { return tg < 0 ? kNaN : -minus_log_p(lx[l], xt); });
    return true;
  }

  template <class T>
  static void row(const RowOpTask& t, const RowCursor& cur, const RowView<T>& v, const RowLse& l, const RowLse&) {
    const int64_t tg = row_target(t, cur);
    *operand_at<double>(t.plan, kOut, cur) = tg < 0 || tg >= v.n ? kNaN : -minus_log_p(l, at(v.x, tg));
  }
};
