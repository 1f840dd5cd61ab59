// Sizes of the fused linear cross-entropy (lce.cpp), with what chose them. As in
// rowreduce/tuning.hpp, a size marked [bits] fixes where partial results are combined,
// so changing it changes the last bits of results; every one is derived from the shape
// alone, never from the thread count.
#pragma once

#include <cstdint>

namespace divkern {
namespace lce {
namespace tuning {

// Bytes of the logits tile of one row block (block rows x V), the call's only large
// scratch: 256 float32 rows of a 32000 vocabulary. [bits]: the block rows are the K of
// the grad_weight GEMMs (grad_weight += dlogitsᵀ · hidden, one GEMM per block).
// grad_weight's GEMM ran at 177 GF/s with 256 rows, 246 GF/s with 512 (2 threads,
// H = 1024, V = 32000); 256 keeps the call's scratch under 10% of N·V·4 at N = 4096.
constexpr int64_t kTileBytes = int64_t(32) << 20;
// [bits] the block rows are a multiple of this, between these bounds (when N allows).
constexpr int64_t kRowAlign = 16;
constexpr int64_t kMinBlockRows = 16;
constexpr int64_t kMaxBlockRows = 1024;

// [bits] columns of the vocabulary per GEMM call: the logits and grad_weight GEMMs run
// one call per vocabulary chunk (a single-threaded OpenBLAS call each, chunks shared
// among threads); grad_hidden sums its chunks' products in a fixed order. 1024, 2048
// and 4000 columns ran within 5% of each other and of OpenBLAS's own threading (2 threads).
constexpr int64_t kVocabChunk = 2048;
// [bits] grad_hidden = dlogits · weight is a sum over the vocabulary: its chunks form at
// most this many groups, summed chunk after chunk inside a group (one thread each) and
// then group after group. More groups, more threads for that GEMM, and one partial
// (block rows x H) buffer per group beyond the first.
constexpr int64_t kGradGroups = 8;
// Bytes of those partial buffers, at most (fewer groups when H is large).
constexpr int64_t kPartialBytes = int64_t(8) << 20;
// [bits] columns of grad_hidden per GEMM call: splits that GEMM further for threads when
// H is large. (Every GEMM call's shape is [bits]: OpenBLAS picks its kernels, and so its
// summation order, from the shape of the call.)
constexpr int64_t kHiddenChunk = 2048;

}  // namespace tuning
}  // namespace lce
}  // namespace divkern
