#include "rowreduce/rowreduce.hpp"

#include <cstdint>
#include <stdexcept>
#include <vector>

#include "core/dispatch.hpp"
#include "core/threads.hpp"
#include "rowreduce/lse_fallback.hpp"

namespace divkern {
namespace rowreduce {
namespace {

using namespace tuning;

// Bytes of the output when it is one contiguous block of memory (C order), else 0.
int64_t contiguous_output_bytes(const ReduceSpec& spec, int elem) {
  int64_t total = elem, expect = elem;
  for (int k = spec.ndim - 1; k >= 0; --k) {
    const int64_t size = spec.shape[k], stride = spec.strides[kOut][k] * elem;
    if (size == 1) continue;
    if (stride != expect) return 0;  // not C-contiguous: let the kernels fault it
    expect *= size;
    total *= size;
  }
  return total;
}

// Writes one byte per 4 KiB page of [base, base + bytes) (its own value), split between threads.
void prefault(void* out, int64_t bytes, int threads) {
  volatile char* base = static_cast<volatile char*>(out);
  const int64_t pages = (bytes + 4095) / 4096;
  parallel_for(pages, (pages + threads - 1) / threads, threads, [&](int64_t p0, int64_t p1) {
    for (int64_t q = p0; q < p1; ++q) base[q * 4096] = base[q * 4096];
  });
}

}  // namespace

Plan::Plan(const ReduceSpec& spec, DType dtype, Op op) : dtype_(dtype), second_pass_(op != Op::LogSumExp) {
  // compute-type bytes (they fix the work decomposition: float16 decomposes as float32) and
  // the stored bytes of the input, the weights and a full-size output
  const int elem = dtype == DType::F64 ? 8 : 4, stored = dtype == DType::F16 ? 2 : elem;
  if ((op != Op::LogSumExp) != spec.full_output)
    throw std::invalid_argument("internal: softmax outputs have the input's shape, log-sum-exp's are reduced");
  for (int k = 0; k < kNumOperands; ++k)
    if (spec.base[k] && spec.elem[k] != (k == kX || k == kB || spec.full_output ? stored : elem))
      throw std::invalid_argument("internal: operand element size does not match the dtype");
  Task& t = t_;
  t.plan = plan_reduction(spec);
  const ReducePlan& p = t.plan;
  for (int k = 0; k < kNumOperands; ++k) {
    spec_base_[k] = spec.base[k];
    shift_[k] = spec.base[k] ? p.base[k] - static_cast<char*>(spec.base[k]) : 0;
  }
  if (p.rows == 0 || p.n == 0) return;  // empty inputs are answered by the Python layer
  const bool weighted = p.present[kB];
  id_ = op == Op::Softmax                ? OpId::Softmax
                  : op == Op::LogSoftmax ? OpId::LogSoftmax
                  : weighted             ? OpId::WeightedLogSumExp
                                         : OpId::LogSumExp;
  t.return_sign = p.present[kSign];
  if (weighted && dtype == DType::F16)
    throw std::invalid_argument("internal: weighted float16 sums take float32 copies (the Python layer)");
  t.weighted_fallback = dtype == DType::F64 ? &weighted_fallback_f64 : &weighted_fallback_f32;
  // a full-size output beyond any cache is streamed to memory (no read for ownership)
  t.stream_out = op != Op::LogSumExp ? (double)p.rows * (double)p.n * stored > kStreamBytes
                                     : (double)p.rows * elem >= kStreamResultBytes;

  if (p.layout == Layout::Columns) {
    // A unit reads `col_block` positions of `lane_tile` adjacent lanes, a stretch of 16 KiB
    // at each position (tuning.hpp says why these sizes).
    t.lane_tile = kColTileBytes / elem;
    const int64_t width = p.lanes < t.lane_tile ? p.lanes : t.lane_tile;
    int64_t block = kColMaxBlock;
    while (block > 8 && block * width * elem > kColBlockBytes) block /= 2;
    t.col_block = block;
    // at least kMinUnits units where the reduction is long enough (chunks of 8 blocks or
    // more), so that machines with more cores than this one have work for each (the shape
    // alone decides)
    const int64_t tiles = (p.lanes + t.lane_tile - 1) / t.lane_tile, outer = p.rows / p.lanes;
    int64_t blocks_per_chunk = kColBlocksPerChunk;
    auto units = [&](int64_t bpc) { return outer * tiles * ((p.n + block * bpc - 1) / (block * bpc)); };
    while (blocks_per_chunk > 8 && units(blocks_per_chunk) < kMinUnits) blocks_per_chunk /= 2;
    t.chunk = block * blocks_per_chunk;
    t.nchunks = (p.n + t.chunk - 1) / t.chunk;
    t.units = outer * tiles * t.nchunks;
  } else {
    t.chunk = kRowChunk;
    t.nchunks = (p.n + t.chunk - 1) / t.chunk;
    if (t.nchunks == 1) {
      t.rows_per_unit = kUnitWork / p.n > 1 ? kUnitWork / p.n : 1;
      t.units = (p.rows + t.rows_per_unit - 1) / t.rows_per_unit;
    } else {
      t.units = p.rows * t.nchunks;
    }
  }
  if (t.nchunks > 1) {
    states_.resize((size_t)(p.rows * t.nchunks));
    t.states = states_.data();
    if (second_pass_) {
      stats_.resize((size_t)(2 * p.rows));
      t.row_stats = stats_.data();
    }
  }
  // a large full-size output that is one block of memory (a fresh array, usually) is
  // faulted in first, in parallel (run)
  prefault_bytes_ = t.stream_out && spec.full_output ? contiguous_output_bytes(spec, stored) : 0;
}

void Plan::run(int threads, void* const* base) {
  Task& t = t_;
  const ReducePlan& p = t.plan;
  if (p.rows == 0 || p.n == 0) return;
  for (int k = 0; k < kNumOperands; ++k)
    if (spec_base_[k]) {
      void* b = base && base[k] ? base[k] : spec_base_[k];
      t.plan.base[k] = static_cast<char*>(b) + shift_[k];
    }

  const Table* table = table_for(active_isa());
  if (!table) throw std::runtime_error("internal: no kernels for the active ISA level");
  const Fns& f = table->fns[(int)id_][(int)dtype_];
  threads = threads < 1 ? 1 : threads > max_threads() ? max_threads() : threads;
  // Page faults taken in the middle of the second pass stall that thread's arithmetic;
  // taken here, one thread per stretch, they overlap.
  if (prefault_bytes_) prefault(base && base[kOut] ? base[kOut] : spec_base_[kOut], prefault_bytes_, threads);

  // Contiguous runs of units per piece (a few pieces per thread, for balance): each thread
  // then streams its own stretch of memory, and first-touches its own pages of a fresh
  // output (page faults on one huge page from two threads serialise).
  const int64_t grain = (t.units + 8 * (int64_t)threads - 1) / (8 * (int64_t)threads);
  parallel_for(t.units, grain, threads, [&](int64_t u0, int64_t u1) { f.run(t, u0, u1); });
  if (t.nchunks > 1) {
    parallel_for(p.rows, 256, threads, [&](int64_t r0, int64_t r1) { f.finish(t, r0, r1); });
    if (second_pass_)
      parallel_for(t.units, grain, threads, [&](int64_t u0, int64_t u1) { f.write(t, u0, u1); });
  }
}

void run(const ReduceSpec& spec, DType dtype, Op op, int threads) { Plan(spec, dtype, op).run(threads); }


void convert_half(const void* src, void* dst, int64_t n, bool to_half, int threads) {
  const Table* table = table_for(active_isa());
  if (!table) throw std::runtime_error("internal: no kernels for the active ISA level");
  constexpr int64_t kPiece = 1 << 16;
  threads = threads < 1 ? 1 : threads > max_threads() ? max_threads() : threads;
  parallel_for((n + kPiece - 1) / kPiece, 1, threads, [&](int64_t p0, int64_t p1) {
    const int64_t i0 = p0 * kPiece, i1 = p1 * kPiece < n ? p1 * kPiece : n;
    if (to_half)
      table->float_to_half(static_cast<const float*>(src) + i0, static_cast<uint16_t*>(dst) + i0, i1 - i0);
    else
      table->half_to_float(static_cast<const uint16_t*>(src) + i0, static_cast<float*>(dst) + i0, i1 - i0);
  });
}

}  // namespace rowreduce
}  // namespace divkern
