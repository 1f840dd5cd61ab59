// The row-reduction engine, in the order its parts build on each other. Re-included per
// ISA level inside `namespace divkern::DK_ISA_NS` (lse_kernels.cpp) after
// simd/vec-inl.hpp and simd/math-inl.hpp; every file includes nothing itself.
//
//   state-inl.hpp            row states (m, c, s), the kernel modes, merge
//   loads-inl.hpp            element loads: float16 converted block by block
//   blocks-inl.hpp           contiguous blocks: maximum and sums of an L1-resident block
//   rows-inl.hpp             Rows / Gather layouts: a stretch of a row, block by block
//   lanes-inl.hpp            tile kernels: one row per SIMD lane (Columns, short rows)
//   writers-inl.hpp          output writers shared by the ops
//   ops/logsumexp-inl.hpp    LogSumExp, WeightedLogSumExp
//   ops/softmax-inl.hpp      Softmax, LogSoftmax
//   tiles-inl.hpp            tile entry points: rows produced on the fly (TileReducer)
//   driver-inl.hpp           work units over the layouts, instantiated per (op, type)
//
// What an op supplies, and a worked example of a new one: csrc/rowreduce/README.md.
#include "rowreduce/state-inl.hpp"
#include "rowreduce/loads-inl.hpp"
#include "rowreduce/blocks-inl.hpp"
#include "rowreduce/rows-inl.hpp"
#include "rowreduce/lanes-inl.hpp"
#include "rowreduce/writers-inl.hpp"
#include "rowreduce/ops/logsumexp-inl.hpp"
#include "rowreduce/ops/softmax-inl.hpp"
#include "rowreduce/tiles-inl.hpp"
#include "rowreduce/driver-inl.hpp"
