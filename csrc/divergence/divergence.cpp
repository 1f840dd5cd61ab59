// Drivers of the divergence family (compiled once): strided loads and float32 <-> double
// conversion into L1 buffers, the fixed-order sums, the work units handed to threads.
// The per-element math runs in the active ISA level's kernels (kernels.hpp), on the
// buffers; nothing here depends on the level, and nothing here is fused (-ffp-contract=off),
// so results are the same bits at every level and for every thread count.
#include "divergence/divergence.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "core/dispatch.hpp"
#include "core/layout.hpp"
#include "core/scratch.hpp"
#include "core/threads.hpp"

namespace divkern {
namespace divergence {
namespace {

// Sizes that fix the order of the sums (and so the result bits): never derived from the
// thread count or the ISA level.
constexpr int64_t kBlock = 1024;       // elements per buffer block (a multiple of kLanes)
constexpr int kLanes = 16;             // Rows: canonical partial sums, element i into lane i % 16
constexpr int64_t kRowChunk = 16384;   // Rows: lanes folded into the row's sum every chunk
constexpr int64_t kColWidth = 64;      // Columns: outputs (adjacent columns) per work unit
constexpr int64_t kColChunk = 1024;    // Columns: rows per partial sum of a column
// Scheduling only (no effect on results): elements per piece of a parallel loop.
constexpr int64_t kGrainElems = 1 << 15;

static_assert(kBlock % kLanes == 0 && kRowChunk % kBlock == 0, "blocks must not straddle lanes or chunks");

const Table& active_table() {
  const Table* t = table_for(active_isa());
  if (!t) throw std::runtime_error("divergence kernels: no table for the active ISA level");
  return *t;
}

// n values from base + off + i * stride (elements) as doubles: the memory itself when it
// already is a contiguous double run, else converted or gathered into buf.
inline const double* load_run(const void* base, bool f32, int64_t off, int64_t stride, int64_t n, double* buf) {
  if (f32) {
    const float* s = static_cast<const float*>(base) + off;
    if (stride == 1) {
      for (int64_t i = 0; i < n; ++i) buf[i] = (double)s[i];
    } else {
      for (int64_t i = 0; i < n; ++i) buf[i] = (double)s[i * stride];
    }
    return buf;
  }
  const double* s = static_cast<const double*>(base) + off;
  if (stride == 1) return s;
  for (int64_t i = 0; i < n; ++i) buf[i] = s[i * stride];
  return buf;
}

inline void store_run(void* base, bool f32, int64_t off, int64_t stride, const double* v, int64_t n) {
  if (f32) {
    float* d = static_cast<float*>(base) + off;
    for (int64_t i = 0; i < n; ++i) d[i * stride] = (float)v[i];
  } else {
    double* d = static_cast<double*>(base) + off;
    for (int64_t i = 0; i < n; ++i) d[i * stride] = v[i];
  }
}

// ------------------------------------------------------------------------ elementwise

}  // namespace

void elementwise(const ElementwiseArgs& a, int threads) {
  const int nd = std::max(a.ndim, 1);
  const int64_t one = 1, zero = 0;
  const int64_t* shape = a.ndim ? a.shape : &one;
  const int64_t* sx = a.ndim ? a.x_strides : &zero;
  const int64_t* sy = a.ndim ? a.y_strides : &zero;
  const int64_t* so = a.ndim ? a.out_strides : &zero;
  if (nd > kMaxDims) throw std::invalid_argument("elementwise: too many dimensions");
  int64_t total = 1;
  for (int k = 0; k < nd; ++k) total *= shape[k];
  if (total == 0) return;
  const bool has_y = a.op != Op::Entr;
  if (has_y && !a.y) throw std::invalid_argument("elementwise: y is missing");
  const ApplyFn fn = active_table().apply[(int)a.op];
  const int last = nd - 1;
  const int64_t inner = shape[last];

  parallel_for(total, kGrainElems, threads, [&](int64_t begin, int64_t end) {
    ScratchFrame frame;
    double* bx = frame.take<double>(kBlock);
    double* by = frame.take<double>(kBlock);
    double* bo = frame.take<double>(kBlock);
    int64_t idx[kMaxDims];
    int64_t ox = 0, oy = 0, oo = 0;
    int64_t rest = begin;
    for (int k = last; k >= 0; --k) {
      idx[k] = rest % shape[k];
      rest /= shape[k];
      ox += idx[k] * sx[k];
      oy += idx[k] * sy[k];
      oo += idx[k] * so[k];
    }
    for (int64_t i = begin; i < end;) {
      const int64_t run = std::min({end - i, inner - idx[last], kBlock});
      const double* xv = load_run(a.x, a.f32, ox, sx[last], run, bx);
      const double* yv = has_y ? load_run(a.y, a.f32, oy, sy[last], run, by) : xv;
      const bool direct = !a.f32 && so[last] == 1;
      double* dst = direct ? static_cast<double*>(a.out) + oo : bo;
      fn(xv, yv, nullptr, nullptr, 0, dst, run);
      if (!direct) store_run(a.out, a.f32, oo, so[last], bo, run);
      i += run;
      idx[last] += run;
      ox += run * sx[last];
      oy += run * sy[last];
      oo += run * so[last];
      for (int k = last; k > 0 && idx[k] == shape[k]; --k) {  // carry into the outer axes
        ox -= idx[k] * sx[k];
        oy -= idx[k] * sy[k];
        oo -= idx[k] * so[k];
        idx[k] = 0;
        ++idx[k - 1];
        ox += sx[k - 1];
        oy += sy[k - 1];
        oo += so[k - 1];
      }
    }
  });
}

// ------------------------------------------------------------------------ reductions
namespace {

struct View {
  const void* base;
  const int64_t* s;  // strides (B, R, C) in elements
  int64_t at(int64_t b, int64_t r, int64_t c) const { return b * s[0] + r * s[1] + c * s[2]; }
};

// How a sum normalises: multiply by its reciprocal, or (a sum whose reciprocal is not a
// normal double: 0, inf, NaN, subnormal) divide each element by it, as SciPy's p / sum
// does, so the special values are SciPy's.
struct Norm {
  double scale = 1.0;
  double sum = 1.0;
  bool divide = false;
};
inline Norm norm_of(double sum, bool normalise) {
  Norm n;
  if (!normalise) return n;
  const double inv = 1.0 / sum;
  n.sum = sum;
  if (std::isnormal(sum) && std::isnormal(inv)) n.scale = inv;
  else n.divide = true;
  return n;
}

inline double finish(Op op, double sum, double log_base) {
  const double v = sum / log_base;
  return op == Op::JensenShannon ? std::sqrt(v / 2.0) : v;
}

// Rows: a row's sum is 16 canonical lanes (element i of a chunk into lane i % 16), folded
// by a fixed pairwise tree at the end of each chunk of 16384 elements and added to the
// row's sum chunk by chunk.
struct LaneSum {
  double acc[kLanes];
  double total = 0.0;
  LaneSum() { std::fill(acc, acc + kLanes, 0.0); }
  void add(const double* v, int64_t n) {  // n <= kBlock, starting at a multiple of kLanes
    int64_t i = 0;
    for (; i + kLanes <= n; i += kLanes)
      for (int l = 0; l < kLanes; ++l) acc[l] += v[i + l];
    for (int l = 0; i < n; ++i, ++l) acc[l] += v[i];
  }
  void end_chunk() {
    double t[kLanes];
    std::copy(acc, acc + kLanes, t);
    for (int w = kLanes / 2; w >= 1; w /= 2)
      for (int l = 0; l < w; ++l) t[l] = t[l] + t[l + w];
    total += t[0];
    std::fill(acc, acc + kLanes, 0.0);
  }
};

struct Buffers {
  double *p, *q, *t;
  explicit Buffers(ScratchFrame& f, int64_t n)
      : p(f.take<double>(n)), q(f.take<double>(n)), t(f.take<double>(n)) {}
};

// Sums over r of the row (b, c): pass 1 the normalising sums, pass 2 the terms.
double reduce_row(const ReduceArgs& a, ApplyFn fn, const View& P, const View& Q, int64_t b, int64_t c,
                  Buffers& buf) {
  const bool has_q = a.op != Op::Entr;
  const int64_t R = a.R;
  LaneSum sp, sq;
  if (a.norm_p || (has_q && a.norm_q)) {
    for (int64_t r0 = 0; r0 < R; r0 += kRowChunk) {
      const int64_t r1 = std::min(R, r0 + kRowChunk);
      for (int64_t r = r0; r < r1; r += kBlock) {
        const int64_t n = std::min(kBlock, r1 - r);
        if (a.norm_p) sp.add(load_run(P.base, a.f32, P.at(b, r, c), P.s[1], n, buf.p), n);
        if (has_q && a.norm_q) sq.add(load_run(Q.base, a.f32, Q.at(b, r, c), Q.s[1], n, buf.q), n);
      }
      sp.end_chunk();
      sq.end_chunk();
    }
  }
  const Norm np = norm_of(sp.total, a.norm_p), nq = norm_of(sq.total, has_q && a.norm_q);
  LaneSum st;
  for (int64_t r0 = 0; r0 < R; r0 += kRowChunk) {
    const int64_t r1 = std::min(R, r0 + kRowChunk);
    for (int64_t r = r0; r < r1; r += kBlock) {
      const int64_t n = std::min(kBlock, r1 - r);
      const double* pv = load_run(P.base, a.f32, P.at(b, r, c), P.s[1], n, buf.p);
      if (np.divide) {
        for (int64_t i = 0; i < n; ++i) buf.p[i] = pv[i] / np.sum;
        pv = buf.p;
      }
      const double* qv = pv;
      if (has_q) {
        qv = load_run(Q.base, a.f32, Q.at(b, r, c), Q.s[1], n, buf.q);
        if (nq.divide) {
          for (int64_t i = 0; i < n; ++i) buf.q[i] = qv[i] / nq.sum;
          qv = buf.q;
        }
      }
      fn(pv, qv, &np.scale, &nq.scale, 0, buf.t, n);
      st.add(buf.t, n);
    }
    st.end_chunk();
  }
  return st.total;
}

// Columns: w adjacent outputs walk down r together, one lane each; a column's sum adds
// its rows in order within chunks of 1024 rows, and the chunks' sums in order.
struct ColumnState {
  double *sum_p, *sum_q, *part, *scale_p, *scale_q, *out;
  explicit ColumnState(ScratchFrame& f)
      : sum_p(f.take<double>(kColWidth)), sum_q(f.take<double>(kColWidth)), part(f.take<double>(kColWidth)),
        scale_p(f.take<double>(kColWidth)), scale_q(f.take<double>(kColWidth)), out(f.take<double>(kColWidth)) {}
};

// The column sums of one operand over r (chunked as above) into `sum`.
void column_sums(const ReduceArgs& a, const View& X, int64_t b, int64_t c0, int64_t w, double* sum, double* part,
                 double* buf) {
  std::fill(sum, sum + w, 0.0);
  for (int64_t r0 = 0; r0 < a.R; r0 += kColChunk) {
    const int64_t r1 = std::min(a.R, r0 + kColChunk);
    std::fill(part, part + w, 0.0);
    for (int64_t r = r0; r < r1; ++r) {
      const double* v = load_run(X.base, a.f32, X.at(b, r, c0), X.s[2], w, buf);
      for (int64_t l = 0; l < w; ++l) part[l] += v[l];
    }
    for (int64_t l = 0; l < w; ++l) sum[l] += part[l];
  }
}

// Scales of the lanes; the sums of lanes that divide stay in `sum`, the others are not
// needed again. Returns whether some lane divides.
bool column_norms(const double* sum, int64_t w, bool normalise, double* scale, bool* divide) {
  bool any = false;
  for (int64_t l = 0; l < w; ++l) {
    const Norm n = norm_of(sum[l], normalise);
    scale[l] = n.scale;
    divide[l] = n.divide;
    any = any || n.divide;
  }
  return any;
}

void reduce_columns(const ReduceArgs& a, ApplyFn fn, const View& P, const View& Q, int64_t b, int64_t c0, int64_t w,
                    Buffers& buf, ColumnState& cs, double* totals) {
  const bool has_q = a.op != Op::Entr;
  bool div_p[kColWidth], div_q[kColWidth];
  std::fill(cs.sum_p, cs.sum_p + w, 1.0);
  std::fill(cs.sum_q, cs.sum_q + w, 1.0);
  if (a.norm_p) column_sums(a, P, b, c0, w, cs.sum_p, cs.part, buf.p);
  if (has_q && a.norm_q) column_sums(a, Q, b, c0, w, cs.sum_q, cs.part, buf.q);
  const bool any_p = column_norms(cs.sum_p, w, a.norm_p, cs.scale_p, div_p);
  const bool any_q = column_norms(cs.sum_q, w, has_q && a.norm_q, cs.scale_q, div_q);
  std::fill(totals, totals + w, 0.0);
  auto divided = [&](const double* v, double* into, const bool* div, const double* sum) {
    if (v != into) std::copy(v, v + w, into);
    for (int64_t l = 0; l < w; ++l)
      if (div[l]) into[l] = into[l] / sum[l];
    return static_cast<const double*>(into);
  };
  for (int64_t r0 = 0; r0 < a.R; r0 += kColChunk) {
    const int64_t r1 = std::min(a.R, r0 + kColChunk);
    std::fill(cs.part, cs.part + w, 0.0);
    for (int64_t r = r0; r < r1; ++r) {
      const double* pv = load_run(P.base, a.f32, P.at(b, r, c0), P.s[2], w, buf.p);
      if (any_p) pv = divided(pv, buf.p, div_p, cs.sum_p);
      const double* qv = pv;
      if (has_q) {
        qv = load_run(Q.base, a.f32, Q.at(b, r, c0), Q.s[2], w, buf.q);
        if (any_q) qv = divided(qv, buf.q, div_q, cs.sum_q);
      }
      fn(pv, qv, cs.scale_p, cs.scale_q, 1, buf.t, w);
      for (int64_t l = 0; l < w; ++l) cs.part[l] += buf.t[l];
    }
    for (int64_t l = 0; l < w; ++l) totals[l] += cs.part[l];
  }
}

}  // namespace

void reduce(const ReduceArgs& a, int threads) {
  if (a.op == Op::KlDiv) throw std::invalid_argument("reduce: op must be Entr, RelEntr or JensenShannon");
  const bool has_q = a.op != Op::Entr;
  if (has_q && !a.q) throw std::invalid_argument("reduce: q is missing");
  if (a.B < 0 || a.R < 0 || a.C < 0) throw std::invalid_argument("reduce: negative extent");
  if (a.B == 0 || a.C == 0) return;
  const ApplyFn fn = active_table().apply[(int)a.op];
  const View P{a.p, a.p_strides}, Q{has_q ? a.q : a.p, has_q ? a.q_strides : a.p_strides};
  auto store = [&](int64_t b, int64_t c, double v) {
    const int64_t off = b * a.out_strides[0] + c * a.out_strides[1];
    if (a.f32) static_cast<float*>(a.out)[off] = (float)v;
    else static_cast<double*>(a.out)[off] = v;
  };
  const bool columns = a.C >= 8 && a.p_strides[2] == 1 && (a.p_strides[1] != 1 || a.R <= 1);
  if (!columns) {
    const int64_t grain = std::max<int64_t>(1, kGrainElems / std::max<int64_t>(a.R, 1));
    parallel_for(a.B * a.C, grain, threads, [&](int64_t begin, int64_t end) {
      ScratchFrame frame;
      Buffers buf(frame, kBlock);
      for (int64_t u = begin; u < end; ++u) {
        const int64_t b = u / a.C, c = u % a.C;
        store(b, c, finish(a.op, reduce_row(a, fn, P, Q, b, c, buf), a.log_base));
      }
    });
    return;
  }
  const int64_t tiles = (a.C + kColWidth - 1) / kColWidth;
  const int64_t grain = std::max<int64_t>(1, kGrainElems / std::max<int64_t>(kColWidth * a.R, 1));
  parallel_for(a.B * tiles, grain, threads, [&](int64_t begin, int64_t end) {
    ScratchFrame frame;
    Buffers buf(frame, kColWidth);
    ColumnState cs(frame);
    for (int64_t u = begin; u < end; ++u) {
      const int64_t b = u / tiles, c0 = (u % tiles) * kColWidth;
      const int64_t w = std::min(kColWidth, a.C - c0);
      reduce_columns(a, fn, P, Q, b, c0, w, buf, cs, cs.out);
      for (int64_t l = 0; l < w; ++l) store(b, c0 + l, finish(a.op, cs.out[l], a.log_base));
    }
  });
}

}  // namespace divergence
}  // namespace divkern
