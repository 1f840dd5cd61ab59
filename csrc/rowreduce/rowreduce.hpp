// Log-sum-exp, softmax and log_softmax over any set of axes of a strided array: the C++
// entry point of the row-reduction family (no Python here; csrc/bindings calls it).
//
// Semantics follow scipy.special (see python/divkern/special.py for the full contract):
//   LogSumExp   out = log(sum(b * exp(x))) over the reduced axes, sign when requested;
//   Softmax     out = exp(x - lse), full shape;   LogSoftmax  out = x - lse.
// Accuracy and determinism: docs/accuracy.md; the memory patterns: core/layout.hpp.
#pragma once

#include <vector>

#include "core/layout.hpp"
#include "rowreduce/kernels.hpp"

namespace divkern {
namespace rowreduce {

// Element types of the input (and of softmax outputs): float16 is computed in float32, and
// its log-sum-exp results are float32.
enum class DType : int { F32 = 0, F64 = 1, F16 = 2 };

// `spec.base[kX]` is read, `spec.base[kB]` (optional) are the weights, `spec.base[kOut]`
// (and `spec.base[kSign]` for LogSumExp with return_sign) are written. Softmax and
// LogSoftmax need spec.full_output. Runs the active ISA level's kernels on up to
// `threads` threads; the result does not depend on either.
void run(const ReduceSpec& spec, DType dtype, Op op, int threads);

// The same reduction planned once and run many times (Sinkhorn's iterations): the loops,
// work units and partial-state buffers are made at construction; run() reads the operands
// of the spec, or those at `base` (entries may be null: the spec's), which must have the
// spec's shape, strides and dtypes. Results are those of run() above, bit for bit.
class Plan {
 public:
  Plan(const ReduceSpec& spec, DType dtype, Op op);
  Plan(const Plan&) = delete;  // the task points into the plan's own buffers
  Plan& operator=(const Plan&) = delete;
  void run(int threads, void* const* base = nullptr);

 private:
  Task t_;
  DType dtype_;
  OpId id_ = OpId::LogSumExp;
  bool second_pass_;
  std::vector<State> states_;
  std::vector<double> stats_;
  void* spec_base_[kNumOperands] = {};
  int64_t shift_[kNumOperands] = {};  // the plan's base minus the spec's (negative strides flipped)
  int64_t prefault_bytes_ = 0;        // a contiguous full-size output faulted in before the run
};

// n contiguous float16 values (as bits) to float32, or back (to_half), correctly rounded,
// with the active ISA level's conversion on up to `threads` threads: float16 input is
// reduced in float32 and its results rounded once.
void convert_half(const void* src, void* dst, int64_t n, bool to_half, int threads);

}  // namespace rowreduce
}  // namespace divkern
