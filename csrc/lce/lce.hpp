// The fused linear cross-entropy: the C++ entry point (no Python here; csrc/bindings/lce.cpp
// calls it, python/divkern/_lce.py owns the interface).
//
// For every row i that is not ignored (label[i] >= 0), with logits x = hidden[i] · Wᵀ + bias:
//   lse_i  = log Σ_j exp(x_j)
//   loss_i = (1 − ε)(lse_i − x_label) + ε(lse_i − Σ_j x_j / V) + z · lse_i²
// (torch.nn.functional.cross_entropy with label_smoothing = ε, plus the z-loss); with
// gradients, dloss/dx_j = scale · (softmax_j · (1 + 2z·lse) − ε/V − (1 − ε)·[j = label])
// is pushed through the linear layer. The (N, V) logits are never stored: row blocks of
// them are produced by GEMMs (OpenBLAS, blas.hpp), reduced by the row-reduction engine's
// tile entry point (rowreduce/tiles-inl.hpp), turned into their gradient in place, and
// multiplied into grad_hidden and grad_weight. How and why: csrc/lce/README.md.
#pragma once

#include <cstdint>

namespace divkern {
namespace lce {

enum class DType : int { F32 = 0, F64 = 1 };

struct Problem {
  DType dtype = DType::F32;
  int64_t n = 0, h = 0, v = 0;  // hidden (n, h), weight (v, h), v >= 1
  // hidden row i at hidden + i * ld_hidden (unit stride along h)
  const void* hidden = nullptr;
  int64_t ld_hidden = 0;
  // weight (j, k) at weight + j * ld_weight + k, or, when weight_col_major, at
  // weight + j + k * ld_weight (a transposed (h, v) array, used in place)
  const void* weight = nullptr;
  int64_t ld_weight = 0;
  bool weight_col_major = false;
  const void* bias = nullptr;     // (v,) contiguous, or null
  const int64_t* label = nullptr; // (n,): a class in [0, v), or negative: ignored row
  double smoothing = 0.0;         // ε in [0, 1]
  double z_loss = 0.0;            // z >= 0
  // outputs
  double* row_loss = nullptr;     // (n,): loss_i of the rows that are not ignored (others untouched)
  // gradients of scale · Σ_i loss_i, all or none: C-contiguous (n, h), (v, h), and (v,)
  // when bias is given (grad_bias may be null otherwise); every entry is written
  double grad_scale = 0.0;
  void* grad_hidden = nullptr;
  void* grad_weight = nullptr;
  void* grad_bias = nullptr;
};

// Runs on up to `threads` threads (the results do not depend on it). Throws
// std::invalid_argument for a problem outside the contract above (a bug in the caller).
void linear_cross_entropy(const Problem& p, int threads);

// Block rows and vocabulary chunk the call plans for a problem (tests, benchmarks).
struct Blocking {
  int64_t block_rows, vocab_chunk, grad_groups, tile_bytes;
};
Blocking blocking(DType dtype, int64_t n, int64_t h, int64_t v);

}  // namespace lce
}  // namespace divkern
