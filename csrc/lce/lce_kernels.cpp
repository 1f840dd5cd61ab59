// The fused linear cross-entropy's kernels of one ISA level: each row of a GEMM-produced
// logits tile is reduced by the row-reduction engine's tile entry point (TileReducer),
// scored, and, with gradients, overwritten by its gradient while it is in cache. CMake
// compiles this file once per level (see rowreduce/lse_kernels.cpp); only
// fill_lce_table() is visible.
#include "core/kernel_unit.hpp"
#include "core/scratch.hpp"
#include "lce/kernels.hpp"
#include "rowreduce/kernels.hpp"
#include "rowreduce/rowreduce.hpp"

namespace divkern {
namespace DK_ISA_NS {

namespace tuning = rowreduce::tuning;
using rowreduce::State;
using rowreduce::Task;
using tuning::kColMaxBlock;
using tuning::kColTileBytes;

#include "core/odometer-inl.hpp"
#include "simd/vec-inl.hpp"
#include "simd/math-inl.hpp"
#include "simd/half-inl.hpp"
#include "rowreduce/engine-inl.hpp"

namespace {

// The gradient of the elements other than the label: exp(x − max) · k1 − k2, with
// k1 = scale · (1 + 2z·lse) / Σ exp(x − max) and k2 = scale · ε / V.
template <class T>
struct GradMap {
  using V = typename Lanes<T>::V;
  V vm, k1, k2;
  DK_INLINE V operator()(V a) const { return exp_nonpos(a - vm) * k1 - k2; }
};

template <class T>
void rows(const lce::RowPass& p, int64_t r0, int64_t r1) {
  using V = typename Lanes<T>::V;
  const int64_t v = p.v;
  const T* bias = static_cast<const T*>(p.bias);
  const double eps = p.smoothing, z = p.z_loss, scale = p.grad_scale;
  for (int64_t r = r0; r < r1; ++r) {
    T* x = static_cast<T*>(p.tile) + r * p.ld;
    if (bias)  // one IEEE addition per element: the same bits at every level
      for (int64_t j = 0; j < v; ++j) x[j] = x[j] + bias[j];
    double m, c, s, lse;
    TileReducer<T> red(&m, &c, &s, 1);
    red.reset();
    red.add_rows(x, 1, v, p.ld, 0);
    red.finish_lse(&lse);
    const int64_t t = p.label[r];
    const double xt = double(x[t]);
    // lse − x_t in double: where the label dominates, lse = max + log(Σ), max = x_t
    // exactly, and the small loss keeps the accuracy of log(Σ)
    double loss = lse - xt;
    if (eps != 0.0) loss = (1.0 - eps) * loss + eps * (lse - tile_row_sum(x, v) / double(v));
    if (z != 0.0) loss += z * lse * lse;
    p.loss[r] = loss;
    if (!p.grad) continue;

    if (!(lse > -kInf && lse < kInf)) {  // NaN in the row, or an infinite logit
      for (int64_t j = 0; j < v; ++j) x[j] = T(kNaN);
      continue;
    }
    const double zf = 1.0 + 2.0 * z * lse;
    const double k1 = scale * zf / (c + s), k2 = scale * eps / double(v);
    map_segment(x, x, v, false, GradMap<T>{splat_as<V>(T(m)), splat_as<V>(T(k1)), splat_as<V>(T(k2))});
    // the label's own term in double: softmax_t − (1 − ε) cancels where the label dominates
    const double pt = exp_nonpos(SD{xt - lse}).v;
    x[t] = T(scale * (pt * zf - eps / double(v) - (1.0 - eps)));
  }
}

}  // namespace

void fill_lce_table(lce::Table& t) {
  t.isa = DK_ISA_NAME;
  t.rows_f32 = &rows<float>;
  t.rows_f64 = &rows<double>;
}

}  // namespace DK_ISA_NS
}  // namespace divkern
