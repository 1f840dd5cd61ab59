// Row ops over the row-reduction engine: softmax cross-entropy (class-index and
// probability targets) with its gradient, the entropy of a softmax, selected
// log-probabilities, and divergences between two arrays of logits (KL, JS, TV) with their
// gradients. The C++ entry point of that family (no Python here; csrc/bindings calls it);
// python/divkern/_ce.py owns the interface and documents the semantics.
//
// Every op reduces the logits x of each row to their log-sum-exp state with the engine's
// Masked block kernels (one read of x from memory), and then runs the op's own passes over
// the row while it is in cache: sums that need the row's log-sum-exp first (label
// smoothing, entropy, the divergences) and the gradients. Results do not depend on the
// number of threads or on the ISA level (docs/accuracy.md).
#pragma once

#include <cstdint>

#include "core/layout.hpp"
#include "rowreduce/rowreduce.hpp"

namespace divkern {
namespace rowreduce {

enum class RowOpId : int {
  CrossEntropy = 0,      // integer targets (kTarget): loss (kOut), lse (kSign), gradient (kGrad)
  CrossEntropyProb = 1,  // probability targets (kY, the logits' shape)
  SoftmaxEntropy = 2,    // entropy of softmax(x) in nats (kOut)
  LogSoftmaxAt = 3,      // log_softmax(x)[target] (kOut)
  KL = 4,                // KL(softmax(x) || softmax(y)) (kOut), gradients kGrad, kGradY
  JSD = 5,               // generalised Jensen-Shannon divergence with weight beta
  TVD = 6,               // total variation distance
};
constexpr int kNumRowOps = 7;

// Per-call constants. Outputs kOut and kSign are float64 per row; gradients have the
// logits' dtype. The Python layer has already divided the logits by the temperature.
struct RowOpParams {
  // cross-entropy
  const double* class_weight = nullptr;  // C weights, or null (all 1)
  double weight_sum = 0.0;               // sum of the class weights (C when null)
  int64_t ignore_index = -100;           // integer targets equal to it are ignored
  bool target_signed = true;             // how kTarget's bits are read (its element size is the spec's)
  double smoothing = 0.0;                // label smoothing
  double z_loss = 0.0;                   // z * lse^2 per row: in the gradient (the caller adds it to the loss)
  // gradient scales: of the cross-entropy (or divergence) part and of the z-loss part;
  // they carry 1/T and the mean's denominators
  double grad_scale = 1.0;
  double z_scale = 1.0;
  // divergences
  double beta = 0.5;
};

// Operands: kX (read), kY (read: second logits or probability targets), kTarget (read:
// integer per row), kOut (written: float64 per row), kSign (written, optional: the lse of
// each row, float64), kGrad / kGradY (written, optional: full-size, the logits' dtype).
// The reduction is over the spec's reduced axes (one axis in practice). float32 or
// float64 (dtype F16 is not taken: the Python layer converts).
void run_rowop(const ReduceSpec& spec, DType dtype, RowOpId op, const RowOpParams& prm, int threads);

}  // namespace rowreduce
}  // namespace divkern
