// The divergence family's C++ entry points: SciPy's elementwise entr / rel_entr / kl_div
// over strided arrays, and the normalise-then-sum reductions behind stats.entropy and
// spatial.distance.jensenshannon. No Python here; the bindings (bindings/divergence.cpp)
// hand over arrays the Python layer has already broadcast, typed and laid out.
//
// Element types: float32 or float64 (inputs and output alike); everything is computed in
// double and float32 results are rounded once. Strides are in elements and may be
// negative or zero. Results are bitwise identical for any thread count and ISA level: the
// order of every sum is fixed by the shape (README.md in this folder).
#pragma once

#include <cstdint>

#include "divergence/kernels.hpp"

namespace divkern {
namespace divergence {

struct ElementwiseArgs {
  Op op = Op::Entr;  // Entr (x only), RelEntr or KlDiv
  bool f32 = false;  // element type of x, y and out
  int ndim = 0;
  const int64_t* shape = nullptr;
  const void* x = nullptr;
  const int64_t* x_strides = nullptr;
  const void* y = nullptr;  // ignored by Entr
  const int64_t* y_strides = nullptr;
  void* out = nullptr;
  const int64_t* out_strides = nullptr;
};

void elementwise(const ElementwiseArgs& a, int threads);

// A reduction over axis 1 of (B, R, C) views: out[b, c] = finish(sum over r of
// op(p[b, r, c] / P[b, c], q[b, r, c] / Q[b, c])), P and Q the sums over r of p and q (or 1
// where norm_p / norm_q is false).
//   Entr           entropy of p (q unused): sum / log_base
//   RelEntr        relative entropy of p to q: sum / log_base
//   JensenShannon  the Jensen-Shannon distance: sqrt(sum / log_base / 2)
struct ReduceArgs {
  Op op = Op::Entr;
  bool f32 = false;
  int64_t B = 1, R = 0, C = 1;
  const void* p = nullptr;
  int64_t p_strides[3] = {0, 0, 0};
  const void* q = nullptr;
  int64_t q_strides[3] = {0, 0, 0};
  bool norm_p = true, norm_q = true;
  void* out = nullptr;
  int64_t out_strides[2] = {0, 0};
  double log_base = 1.0;
};

void reduce(const ReduceArgs& a, int threads);

}  // namespace divergence
}  // namespace divkern
