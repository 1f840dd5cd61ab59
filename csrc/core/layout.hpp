// Strided views and the iteration plan of a reduction over some of their axes.
//
// A reduction has up to four operands that share one logical shape: the input `x`, an
// optional weight `b` (broadcast: stride 0), and outputs. Reduced outputs (log-sum-exp,
// its sign) have stride 0 along the reduced axes; full-size outputs (softmax) do not.
// Strides are in elements, may be negative or zero, and nothing here copies data.
//
// `plan_reduction` turns (shape, strides, reduced axes) into a canonical loop nest:
// size-1 axes dropped, axes with a negative input stride flipped in every operand,
// kept and reduced axes each sorted by input stride and merged where every operand
// allows it. It then names the memory pattern the kernels are specialised for:
//
//   Rows      the reduced axes form one contiguous run (stride 1): a row is a plain array;
//   Columns   the reduced axes are strided but a kept axis is contiguous: lanes of a SIMD
//             vector take consecutive kept positions and walk down the reduction together
//             (unweighted reductions only);
//   Gather    anything else: rows are gathered block by block into a contiguous buffer.
//
// The plan depends only on the shape and strides, never on the ISA level or the thread
// count, and neither does the order in which the kernels combine partial results. That is
// what makes results bitwise reproducible across machines, ISA levels and threads.
#pragma once

#include <cstdint>

namespace divkern {

constexpr int kMaxDims = 64;  // NumPy's NPY_MAXDIMS

// Operand roles. The log-sum-exp family uses the first four; the row ops of
// rowreduce/rowops.hpp (cross-entropy, logit divergences) also a second full-size input
// kY (second logits, or probability targets), a per-row integer target kTarget (any
// width: each operand has its own element size) and full-size gradients kGrad, kGradY.
// Per-row operands (kOut and kSign of a reduction, kTarget) have stride 0 along the
// reduced axes; absent operands are ignored everywhere.
enum Operand : int { kX = 0, kB = 1, kOut = 2, kSign = 3, kY = 4, kTarget = 5, kGrad = 6, kGradY = 7, kNumOperands = 8 };

struct Dims {
  int nd = 0;
  int64_t size[kMaxDims];
  int64_t stride[kNumOperands][kMaxDims];
};

enum class Layout : int { Rows = 0, Columns = 1, Gather = 2 };

struct ReducePlan {
  Layout layout = Layout::Rows;
  char* base[kNumOperands] = {};  // byte pointers
  bool present[kNumOperands] = {};
  Dims outer;        // kept axes (Columns: without the lane axis); last is fastest
  Dims inner;        // reduced axes; last is fastest
  int64_t n = 1;     // elements per row (product of inner sizes)
  int64_t rows = 1;  // number of reduced outputs (product of kept sizes, lane axis included)
  // Columns only: the kept axis vectorised across SIMD lanes.
  int64_t lanes = 1;
  int64_t lane_stride[kNumOperands] = {};
};

// Describes one reduction request over a logical shape: each operand by its base pointer,
// element size in bytes and strides in elements (its own: a float16 input beside float32
// results, an int64 target beside float32 logits). `strides[op]` and `elem[op]` are
// ignored for absent operands. Throws std::invalid_argument on inconsistent input.
struct ReduceSpec {
  int ndim = 0;
  const int64_t* shape = nullptr;
  const int64_t* strides[kNumOperands] = {};
  void* base[kNumOperands] = {};
  int elem[kNumOperands] = {};
  bool reduce[kMaxDims] = {};
  bool full_output = false;  // kOut has the full shape (softmax) rather than the reduced one
  bool allow_columns = true; // false: rows are walked one at a time (Rows or Gather)
  // false: a reduced axis with a negative stride is walked as it is, not flipped (the row
  // ops, whose class indices and class weights name positions along it)
  bool flip_reduced = true;
};

// Rows and Columns need unit stride along the vectorised axis in the input and in a
// full-size output (and in kY, kGrad, kGradY when present); Rows also in the weight (where stride 0, a broadcast, also works).
// When one of them does not fit, the plan falls back to Gather.
ReducePlan plan_reduction(const ReduceSpec& spec);

}  // namespace divkern
