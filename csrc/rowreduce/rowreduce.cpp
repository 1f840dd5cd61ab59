#include "rowreduce/rowreduce.hpp"

#include <cmath>
#include <stdexcept>
#include <vector>

#include "core/dispatch.hpp"
#include "core/threads.hpp"

namespace divkern {
namespace rowreduce {
namespace {

#include "core/odometer-inl.hpp"

using namespace tuning;

// Weighted rows the kernels hand back (kernels.hpp: Task::weighted_fallback).
//  * A row holding an infinite or NaN input (with a nonzero weight) or weight, or whose
//    weights are all zero: SciPy's result is its direct formula log(sum(b * exp(a))),
//    evaluated here in the input precision with its overflow and 0 * inf semantics.
//  * Otherwise the weights of the maximal elements cancel exactly and every other term
//    underflowed relative to the maximum: reduce again below that maximum, as often as
//    needed (exact: log(e^800 - e^800 + e^0) = 0).
template <class T>
void weighted_fallback(const Task& t, int64_t row, double* res, double* sign) {
  const ReducePlan& p = t.plan;
  RowCursor cur;
  cur.seek(p, row);
  const T* x = reinterpret_cast<const T*>(p.base[kX]) + cur.off(kX);
  const T* b = reinterpret_cast<const T*>(p.base[kB]) + cur.off(kB);
  auto for_each = [&](auto&& f) {
    Odometer in;
    in.seek(p.inner, 0);
    for (int64_t i = 0; i < p.n; ++i, in.next()) f(x[in.off[kX]], b[in.off[kB]]);
  };
  bool direct = false, any_weight = false;
  for_each([&](T a, T w) {
    direct = direct || !std::isfinite(w) || (w != 0 && !std::isfinite(a));
    any_weight = any_weight || w != 0;
  });
  direct = direct || !any_weight;
  auto finish = [&](double value, double sgn) {
    *sign = sgn;
    *res = !t.return_sign && sgn < 0 ? std::nan("") : value;
  };
  if (direct) {
    T sum = 0;
    for_each([&](T a, T w) { sum += w * std::exp(a); });
    const T sgn = sum > 0 ? T(1) : sum < 0 ? T(-1) : sum == 0 ? T(0) : sum;
    *sign = double(sgn);
    *res = double(std::log(t.return_sign ? std::fabs(sum) : sum));
    return;
  }
  double cap = HUGE_VAL;
  for (;;) {
    double m = -HUGE_VAL;
    for_each([&](T a, T w) {
      if (w != 0 && a < cap && a > m) m = a;
    });
    if (m == -HUGE_VAL) return finish(-HUGE_VAL, 0.0);  // nothing left: an exact zero
    double c = 0, s = 0;
    for_each([&](T a, T w) {
      if (w == 0 || !(a <= m)) return;
      if (a == m) c += double(w);
      else s += double(w) * std::exp(double(a) - m);
    });
    if (c == 0 && s == 0) {
      cap = m;
      continue;
    }
    const double total = c + s;
    return finish(std::log(std::fabs(total)) + m, total > 0 ? 1.0 : total < 0 ? -1.0 : 0.0);
  }
}

// Writes one byte per 4 KiB page of the output (its own value) when the output is one
// contiguous block of memory, split between threads.
void prefault_output(const ReduceSpec& spec, int elem, int threads) {
  int64_t total = elem, expect = elem;
  for (int k = spec.ndim - 1; k >= 0; --k) {
    const int64_t size = spec.shape[k], stride = spec.strides[kOut][k] * elem;
    if (size == 1) continue;
    if (stride != expect) return;  // not C-contiguous: let the kernels fault it
    expect *= size;
    total *= size;
  }
  volatile char* base = static_cast<volatile char*>(spec.base[kOut]);
  const int64_t pages = (total + 4095) / 4096;
  parallel_for(pages, (pages + threads - 1) / threads, threads, [&](int64_t p0, int64_t p1) {
    for (int64_t q = p0; q < p1; ++q) base[q * 4096] = base[q * 4096];
  });
}

}  // namespace

void run(const ReduceSpec& spec, DType dtype, Op op, int threads) {
  // compute-type bytes (they fix the work decomposition: float16 decomposes as float32) and
  // the stored bytes of the input, the weights and a full-size output
  const int elem = dtype == DType::F64 ? 8 : 4, stored = dtype == DType::F16 ? 2 : elem;
  if ((op != Op::LogSumExp) != spec.full_output)
    throw std::invalid_argument("internal: softmax outputs have the input's shape, log-sum-exp's are reduced");
  for (int k = 0; k < kNumOperands; ++k)
    if (spec.base[k] && spec.elem[k] != (k == kX || k == kB || spec.full_output ? stored : elem))
      throw std::invalid_argument("internal: operand element size does not match the dtype");
  Task t;
  t.plan = plan_reduction(spec);
  const ReducePlan& p = t.plan;
  if (p.rows == 0 || p.n == 0) return;  // empty inputs are answered by the Python layer
  const bool weighted = p.present[kB];
  const OpId id = op == Op::Softmax      ? OpId::Softmax
                  : op == Op::LogSoftmax ? OpId::LogSoftmax
                  : weighted             ? OpId::WeightedLogSumExp
                                         : OpId::LogSumExp;
  t.return_sign = p.present[kSign];
  if (weighted && dtype == DType::F16)
    throw std::invalid_argument("internal: weighted float16 sums take float32 copies (the Python layer)");
  t.weighted_fallback = dtype == DType::F64 ? &weighted_fallback<double> : &weighted_fallback<float>;
  // a full-size output beyond any cache is streamed to memory (no read for ownership)
  t.stream_out = op != Op::LogSumExp ? (double)p.rows * (double)p.n * stored > kStreamBytes
                                     : (double)p.rows * elem >= kStreamResultBytes;

  if (p.layout == Layout::Columns) {
    // A unit reads `col_block` positions of `lane_tile` adjacent lanes, a stretch of 16 KiB
    // at each position: few enough positions that the hardware prefetcher follows every
    // stretch (16 positions was 4% faster than 32 on (32000, 4096) and 16% on (3000,
    // 100000), 8 slower again; 64 was 15% slower than 32), long enough stretches to keep it
    // streaming.
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
  std::vector<State> states;
  std::vector<double> stats;
  if (t.nchunks > 1) {
    states.resize((size_t)(p.rows * t.nchunks));
    t.states = states.data();
    if (op != Op::LogSumExp) {
      stats.resize((size_t)(2 * p.rows));
      t.row_stats = stats.data();
    }
  }

  const Table* table = table_for(active_isa());
  if (!table) throw std::runtime_error("internal: no kernels for the active ISA level");
  const Fns& f = table->fns[(int)id][(int)dtype];
  threads = threads < 1 ? 1 : threads > max_threads() ? max_threads() : threads;
  // A large full-size output that is one block of memory (a fresh array, usually): fault
  // its pages in first, in parallel, one thread per stretch. Page faults taken in the middle
  // of the second pass stall that thread's arithmetic; taken here, they overlap.
  if (t.stream_out && spec.full_output) prefault_output(spec, stored, threads);

  // Contiguous runs of units per piece (a few pieces per thread, for balance): each thread
  // then streams its own stretch of memory, and first-touches its own pages of a fresh
  // output (page faults on one huge page from two threads serialise).
  const int64_t grain = (t.units + 8 * (int64_t)threads - 1) / (8 * (int64_t)threads);
  parallel_for(t.units, grain, threads, [&](int64_t u0, int64_t u1) { f.run(t, u0, u1); });
  if (t.nchunks > 1) {
    parallel_for(p.rows, 256, threads, [&](int64_t r0, int64_t r1) { f.finish(t, r0, r1); });
    if (op != Op::LogSumExp)
      parallel_for(t.units, grain, threads, [&](int64_t u0, int64_t u1) { f.write(t, u0, u1); });
  }
}

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
