// Divergences between the softmaxes of two logit arrays (rowops.hpp), over the row-op
// driver (rowops-inl.hpp); both rows are reduced to their log-sum-exp states in the same
// pass over the row, then the op's sums and gradients run over the cached rows:
//   KL   KL(P || Q) = sum p_j ((x_j - y_j) - (lse_x - lse_y))
//   JSD  beta KL(P || M) + (1 - beta) KL(Q || M), M = beta P + (1 - beta) Q, each KL a sum
//        of the non-negative terms a log(a / m) - a + m
//   TVD  sum |p_j - q_j| / 2
// with p_j = exp(x_j - m_x) / S_x, q_j likewise. Classes that are -inf in both arrays have
// p_j = q_j = 0 and take no part; identical rows give exactly 0 and zero gradients.
// Part of the row-reduction engine (engine-inl.hpp); includes nothing.

template <class T>
DK_INLINE void probs(const T* x, int64_t j, int64_t k, const RowLse& l, VD* out) {
  exp_shifted(x, j, k, T(l.m), out);
  DK_UNROLL for (int h = 0; h < kHalves<T>; ++h) out[h] = out[h] / splat(l.S);
}

inline bool both_finite(const RowLse& a, const RowLse& b) { return is_finite(a.lse) && is_finite(b.lse); }

template <class T>
inline void nan_row(const RowOpTask& t, const RowCursor& cur, const RowView<T>& v) {
  *operand_at<double>(t.plan, kOut, cur) = kNaN;
  if (v.gx) fill_row(v.gx, v.n, T(kNaN));
  if (v.gy) fill_row(v.gy, v.n, T(kNaN));
}

struct KLDivergence {
  static constexpr bool kTwoInputs = true;
  static constexpr bool kTileRows = false;

  template <class T>
  static void row(const RowOpTask& t, const RowCursor& cur, const RowView<T>& v, const RowLse& lx, const RowLse& ly) {
    if (!both_finite(lx, ly)) return nan_row(t, cur, v);
    const double D = (lx.m - ly.m) + (lx.L - ly.L);
    const T mt = T(lx.m);
    // p_j ((x_j - y_j) - D), 0 where p_j is (x_j = -inf)
    auto terms = [&](int64_t j, int64_t k, VD* e, VD* d) {
      VD a[kHalves<T>], b[kHalves<T>];
      exp_shifted(v.x, j, k, mt, e);
      load_wide(v.x, j, k, T(0), a);
      load_wide(v.y, j, k, T(0), b);
      DK_UNROLL for (int h = 0; h < kHalves<T>; ++h) d[h] = (a[h] - b[h]) - splat(D);
    };
    double r;
    rider_sums<T, 1>(
        v.n,
        [&](int64_t j, int64_t k, VD* o) {
          VD e[kHalves<T>], d[kHalves<T>];
          terms(j, k, e, d);
          DK_UNROLL for (int h = 0; h < kHalves<T>; ++h) o[h] = select(eq(e[h], splat(0.0)), splat(0.0), e[h] * d[h]);
        },
        &r);
    const double kl = r / lx.S;
    *operand_at<double>(t.plan, kOut, cur) = kl < 0.0 ? 0.0 : kl;  // rounding below the true value, >= 0
    const double gs = t.prm->grad_scale;
    if (v.gx)
      write_row(v.gx, v.n, [&](int64_t j, int64_t k, VD* o) {
        VD e[kHalves<T>], d[kHalves<T>];
        terms(j, k, e, d);
        DK_UNROLL for (int h = 0; h < kHalves<T>; ++h) {
          const VD pj = e[h] / splat(lx.S);
          o[h] = select(eq(e[h], splat(0.0)), splat(0.0), splat(gs) * (pj * (d[h] - splat(kl))));
        }
      });
    if (v.gy)
      write_row(v.gy, v.n, [&](int64_t j, int64_t k, VD* o) {
        VD p[kHalves<T>], q[kHalves<T>];
        probs(v.x, j, k, lx, p);
        probs(v.y, j, k, ly, q);
        DK_UNROLL for (int h = 0; h < kHalves<T>; ++h) o[h] = splat(gs) * (q[h] - p[h]);
      });
  }
};

// a log(a / m) - a + m >= 0 for a, m >= 0 (0 when a == m), and log(a / m), accurate for a
// close to m: with u = (a - m) / m it is m ((1 + u) log1p(u) - u), by its series below
// |u| = 0.01 (terms to u^8: the rest is below 2^-52 of the value).
DK_INLINE VD rel_term(VD a, VD m, VD& log_ratio) {
  const VD zero = splat(0.0);
  const VD u = (a - m) / m;
  const VD l1p = log1p(u);
  log_ratio = l1p;
  const VD direct = (splat(1.0) + u) * l1p - u;
  VD ser = splat(1.0 / 56);
  ser = splat(-1.0 / 42) + u * ser;
  ser = splat(1.0 / 30) + u * ser;
  ser = splat(-1.0 / 20) + u * ser;
  ser = splat(1.0 / 12) + u * ser;
  ser = splat(-1.0 / 6) + u * ser;
  ser = splat(0.5) + u * ser;
  ser = (u * u) * ser;
  const VD au = select(lt(u, zero), zero - u, u);
  VD f = m * select(lt(au, splat(0.01)), ser, direct);
  f = select(eq(a, zero), m, f);      // nothing of a: the term is m
  f = select(eq(m, zero), zero, f);   // neither (a = 0 too)
  return f;
}

struct JSDivergence {
  static constexpr bool kTwoInputs = true;
  static constexpr bool kTileRows = false;

  template <class T>
  static void row(const RowOpTask& t, const RowCursor& cur, const RowView<T>& v, const RowLse& lx, const RowLse& ly) {
    if (!both_finite(lx, ly)) return nan_row(t, cur, v);
    const double beta = t.prm->beta;
    const bool with_p = beta != 0.0, with_q = beta != 1.0;
    auto terms = [&](int64_t j, int64_t k, VD* p, VD* q, VD* fp, VD* fq, VD* lp, VD* lq) {
      probs(v.x, j, k, lx, p);
      probs(v.y, j, k, ly, q);
      DK_UNROLL for (int h = 0; h < kHalves<T>; ++h) {
        // exactly q where p == q, and exactly p at beta = 1
        const VD m = with_q ? q[h] + splat(beta) * (p[h] - q[h]) : p[h];
        fp[h] = with_p ? rel_term(p[h], m, lp[h]) : splat(0.0);
        fq[h] = with_q ? rel_term(q[h], m, lq[h]) : splat(0.0);
      }
    };
    double r[2];
    rider_sums<T, 2>(
        v.n,
        [&](int64_t j, int64_t k, VD* o) {
          VD p[kHalves<T>], q[kHalves<T>], lp[kHalves<T>], lq[kHalves<T>];
          terms(j, k, p, q, o, o + kHalves<T>, lp, lq);
        },
        r);
    const double klp = r[0], klq = r[1];
    *operand_at<double>(t.plan, kOut, cur) = (with_p ? beta * klp : 0.0) + (with_q ? (1.0 - beta) * klq : 0.0);
    const double gs = t.prm->grad_scale;
    // d/dx_j = beta p_j (log(p_j / m_j) - KL(P || M)); likewise for y: both gradients in
    // one sweep over the cached rows
    if (!v.gx && !v.gy) return;
    const double cp = with_p ? gs * beta : 0.0, cq = with_q ? gs * (1.0 - beta) : 0.0;
    constexpr int N = Lanes<T>::N, H = kHalves<T>;
    for (int64_t j = 0; j < v.n; j += N) {
      const int64_t k = v.n - j < N ? v.n - j : N;
      VD p[H], q[H], fp[H], fq[H], lp[H], lq[H], gp[H], gq[H];
      terms(j, k, p, q, fp, fq, lp, lq);
      DK_UNROLL for (int h = 0; h < H; ++h) {
        gp[h] = with_p ? select(eq(p[h], splat(0.0)), splat(0.0), splat(cp) * (p[h] * (lp[h] - splat(klp)))) : splat(0.0);
        gq[h] = with_q ? select(eq(q[h], splat(0.0)), splat(0.0), splat(cq) * (q[h] * (lq[h] - splat(klq)))) : splat(0.0);
      }
      if (v.gx) store_wide(v.gx, j, k, gp);
      if (v.gy) store_wide(v.gy, j, k, gq);
    }
  }
};

struct TVDistance {
  static constexpr bool kTwoInputs = true;
  static constexpr bool kTileRows = false;

  template <class T>
  static void row(const RowOpTask& t, const RowCursor& cur, const RowView<T>& v, const RowLse& lx, const RowLse& ly) {
    if (!both_finite(lx, ly)) return nan_row(t, cur, v);
    // s_j = sign(p_j - q_j) / 2 (0 where equal)
    auto terms = [&](int64_t j, int64_t k, VD* p, VD* q, VD* s) {
      probs(v.x, j, k, lx, p);
      probs(v.y, j, k, ly, q);
      DK_UNROLL for (int h = 0; h < kHalves<T>; ++h)
        s[h] = select(lt(q[h], p[h]), splat(0.5), select(lt(p[h], q[h]), splat(-0.5), splat(0.0)));
    };
    double r[3];
    rider_sums<T, 3>(
        v.n,
        [&](int64_t j, int64_t k, VD* o) {
          VD p[kHalves<T>], q[kHalves<T>], s[kHalves<T>];
          terms(j, k, p, q, s);
          DK_UNROLL for (int h = 0; h < kHalves<T>; ++h) {
            o[h] = s[h] * (p[h] - q[h]);  // |p - q| / 2
            o[kHalves<T> + h] = p[h] * s[h];
            o[2 * kHalves<T> + h] = q[h] * s[h];
          }
        },
        r);
    *operand_at<double>(t.plan, kOut, cur) = r[0];
    const double gs = t.prm->grad_scale;
    auto grad = [&](T* g, bool of_p) {
      const double mean_s = of_p ? r[1] : r[2], sign = of_p ? gs : -gs;
      write_row(g, v.n, [&](int64_t j, int64_t k, VD* o) {
        VD p[kHalves<T>], q[kHalves<T>], s[kHalves<T>];
        terms(j, k, p, q, s);
        DK_UNROLL for (int h = 0; h < kHalves<T>; ++h)
          o[h] = splat(sign) * ((of_p ? p[h] : q[h]) * (s[h] - splat(mean_s)));
      });
    };
    if (v.gx) grad(v.gx, true);
    if (v.gy) grad(v.gy, false);
  }
};
