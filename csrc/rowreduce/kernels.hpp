// What crosses the boundary between the ISA-independent driver (rowreduce.cpp) and the
// per-ISA kernel objects (lse_kernels.cpp, compiled once per level): plain structs and
// function pointers only.
#pragma once

#include <cstdint>

#include "core/cpu.hpp"
#include "core/layout.hpp"
#include "rowreduce/tuning.hpp"

namespace divkern {
namespace rowreduce {

// The public operations (rowreduce.hpp). Each is one op policy (ops/*.hpp) or, for a
// weighted log-sum-exp, the weighted one: OpId names the table entry.
enum class Op : int { LogSumExp = 0, Softmax = 1, LogSoftmax = 2 };
enum class OpId : int { LogSumExp = 0, WeightedLogSumExp = 1, Softmax = 2, LogSoftmax = 3 };
constexpr int kNumOps = 4;

// Partial log-sum-exp of some elements of a row, relative to their maximum `m`:
//   c = total weight of the elements equal to m,
//   s = sum of w * exp(a - m) over the others.
// log-sum-exp = m + log(c) + log1p(s / c). Keeping the maximum's own weight out of `s` is
// what preserves log1p precision when one element dominates (lse([0, -40]) = 4.2e-18).
// m = -inf with c = s = 0 is the empty state; m = NaN or s = NaN mark a NaN result.
struct State {
  double m, c, s;
};

// Fixed, shape-derived work decomposition. Every size below is chosen by the driver from
// the shape alone, so the order of floating-point operations never depends on the ISA
// level or on the number of threads.
struct Task {
  ReducePlan plan;
  bool return_sign = false;  // sign output present; without it negative sums give NaN
  bool stream_out = false;   // outputs larger than the caches: non-temporal stores
  int64_t chunk = 0;           // Rows/Gather: elements per unit; Columns: reduction positions per unit
  int64_t nchunks = 1;         // units per row along the reduction
  int64_t rows_per_unit = 1;   // Rows/Gather with nchunks == 1
  int64_t lane_tile = 0;       // Columns: lanes per unit
  int64_t col_block = 0;       // Columns: reduction positions per block
  int64_t units = 0;
  State* states = nullptr;     // nchunks > 1: [rows][nchunks]
  double* row_stats = nullptr; // nchunks > 1 and softmax/log_softmax: [2][rows] (p1s, then p2s)
  // Weighted rows the kernels cannot finish (SciPy's direct formula applies, or the
  // weights at the maximum cancel exactly): recomputed by the driver, elementwise.
  void (*weighted_fallback)(const Task&, int64_t row, double* res, double* sign) = nullptr;
};

struct Fns {
  // Phase 1 over units [u0, u1): complete results when nchunks == 1, else partial states.
  void (*run)(const Task&, int64_t u0, int64_t u1);
  // nchunks > 1: merge the partial states of rows [r0, r1) in chunk order; write the
  // log-sum-exp outputs, or the per-row statistics of softmax/log_softmax.
  void (*finish)(const Task&, int64_t r0, int64_t r1);
  // nchunks > 1, softmax/log_softmax: write the outputs of units [u0, u1).
  void (*write)(const Task&, int64_t u0, int64_t u1);
};

struct Table {
  const char* isa = nullptr;
  // [OpId][DType: float32, float64, float16 (computed in float32; none for weighted sums)]
  Fns fns[kNumOps][3]{};
  // float16 (as bits) <-> float32, correctly rounded: float16 data is reduced in float32.
  void (*half_to_float)(const uint16_t*, float*, int64_t) = nullptr;
  void (*float_to_half)(const float*, uint16_t*, int64_t) = nullptr;
};

// The table of an ISA level, or nullptr when that level was not compiled in or this CPU
// cannot run it.
const Table* table_for(Isa isa);

// Row ops (rowops.hpp): what the per-ISA kernels of rowops_kernels.cpp are given.
struct RowOpParams;
struct RowOpTask {
  ReducePlan plan;
  const RowOpParams* prm = nullptr;
  int target_bytes = 8;  // element size of kTarget
  int64_t rows_per_unit = 1;
  int64_t units = 0;
};
struct RowOpTable {
  const char* isa = nullptr;
  // [RowOpId][DType: float32, float64]: rows of units [u0, u1)
  void (*run[7][2])(const RowOpTask&, int64_t u0, int64_t u1) = {};
};
const RowOpTable* rowop_table_for(Isa isa);

// Test hooks of the engine's parts that no public function reaches alone (tests only).
struct TestHooks {
  // log-sum-exp of each row of a (rows, cols) C-ordered matrix fed to a TileReducer in
  // tiles of (tile_rows, tile_cols), column tiles outermost: as rows (add_rows) or, with
  // `lanes`, x holds (cols, rows) and positions are fed as side-by-side lanes (add_lanes).
  void (*tile_lse_f32)(const float* x, int64_t rows, int64_t cols, int64_t tile_rows, int64_t tile_cols, bool lanes,
                       double* out) = nullptr;
  void (*tile_lse_f64)(const double* x, int64_t rows, int64_t cols, int64_t tile_rows, int64_t tile_cols, bool lanes,
                       double* out) = nullptr;
};
const TestHooks* test_hooks_for(Isa isa);

}  // namespace rowreduce
}  // namespace divkern
