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

// Work sizes. They depend on the shape only (never on threads or ISA), because the block
// and chunk boundaries fix the order in which partial results are combined.
constexpr int64_t kRowChunk = 65536;   // elements of a row per unit (a multiple of every block)
constexpr int64_t kUnitWork = 65536;   // elements per unit when several short rows share one
constexpr int64_t kColMaxBlock = 256;  // Columns: positions per block, at most
constexpr int64_t kColBlocksPerChunk = 256;

// SciPy's definition where the stable formula is not finite: log(sum(b * exp(a))) in the
// input precision, elementwise (only for weighted rows holding inf or NaN).
template <class T>
void naive_row(const Task& t, int64_t row, double* res, double* sign) {
  const ReducePlan& p = t.plan;
  RowCursor cur;
  cur.seek(p, row);
  const T* x = reinterpret_cast<const T*>(p.base[kX]) + cur.off(kX);
  const T* b = reinterpret_cast<const T*>(p.base[kB]) + cur.off(kB);
  Odometer in;
  in.seek(p.inner, 0);
  T sum = 0;
  for (int64_t i = 0; i < p.n; ++i, in.next()) sum += b[in.off[kB]] * std::exp(x[in.off[kX]]);
  const T sgn = sum > 0 ? T(1) : sum < 0 ? T(-1) : sum == 0 ? T(0) : sum;
  *sign = double(sgn);
  *res = double(std::log(t.return_sign ? std::fabs(sum) : sum));
}

}  // namespace

void run(const ReduceSpec& spec, DType dtype, Op op, int threads) {
  const int elem = dtype == DType::F32 ? 4 : 8;
  if ((op != Op::LogSumExp) != spec.full_output)
    throw std::invalid_argument("internal: softmax outputs have the input's shape, log-sum-exp's are reduced");
  Task t;
  t.plan = plan_reduction(spec, elem);
  const ReducePlan& p = t.plan;
  if (p.rows == 0 || p.n == 0) return;  // empty inputs are answered by the Python layer
  t.op = op;
  t.weighted = p.present[kB];
  t.return_sign = p.present[kSign];
  t.naive = dtype == DType::F32 ? &naive_row<float> : &naive_row<double>;

  if (p.layout == Layout::Columns) {
    t.lane_tile = dtype == DType::F32 ? 1024 : 512;
    const int64_t width = p.lanes < t.lane_tile ? p.lanes : t.lane_tile;
    int64_t block = kColMaxBlock;
    while (block > 8 && block * width > kUnitWork) block /= 2;
    t.col_block = block;
    t.chunk = block * kColBlocksPerChunk;
    t.nchunks = (p.n + t.chunk - 1) / t.chunk;
    const int64_t tiles = (p.lanes + t.lane_tile - 1) / t.lane_tile;
    t.units = (p.rows / p.lanes) * tiles * t.nchunks;
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
  const Fns& f = dtype == DType::F32 ? table->f32 : table->f64;
  threads = threads < 1 ? 1 : threads;
  parallel_for(t.units, 1, threads, [&](int64_t u0, int64_t u1) { f.run(t, u0, u1); });
  if (t.nchunks > 1) {
    parallel_for(p.rows, 256, threads, [&](int64_t r0, int64_t r1) { f.finish(t, r0, r1); });
    if (op != Op::LogSumExp)
      parallel_for(t.units, 1, threads, [&](int64_t u0, int64_t u1) { f.write(t, u0, u1); });
  }
}

}  // namespace rowreduce
}  // namespace divkern
