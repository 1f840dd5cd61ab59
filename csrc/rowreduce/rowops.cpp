#include "rowreduce/rowops.hpp"

#include <stdexcept>

#include "core/dispatch.hpp"
#include "core/threads.hpp"
#include "rowreduce/kernels.hpp"

namespace divkern {
namespace rowreduce {

static_assert(kNumRowOps == sizeof(RowOpTable::run) / sizeof(RowOpTable::run[0]), "one table row per op");

void run_rowop(const ReduceSpec& spec, DType dtype, RowOpId op, const RowOpParams& prm, int threads) {
  if (dtype == DType::F16) throw std::invalid_argument("internal: row ops take float32 or float64");
  ReduceSpec s = spec;
  s.allow_columns = false;  // rows are reduced whole, one at a time (in place or gathered)
  s.full_output = false;
  s.flip_reduced = false;  // class indices and weights name positions along the class axis
  RowOpTask t;
  t.plan = plan_reduction(s);
  t.prm = &prm;
  if (spec.base[kTarget]) t.target_bytes = spec.elem[kTarget];
  const ReducePlan& p = t.plan;
  if (p.rows == 0) return;
  // units of whole rows, sized from the shape alone (the results do not depend on them)
  const int64_t n = p.n > 0 ? p.n : 1;
  t.rows_per_unit = tuning::kUnitWork / n > 1 ? tuning::kUnitWork / n : 1;
  t.units = (p.rows + t.rows_per_unit - 1) / t.rows_per_unit;
  const RowOpTable* table = rowop_table_for(active_isa());
  if (!table) throw std::runtime_error("internal: no kernels for the active ISA level");
  auto f = table->run[(int)op][dtype == DType::F64 ? 1 : 0];
  threads = threads < 1 ? 1 : threads > max_threads() ? max_threads() : threads;
  const int64_t grain = (t.units + 8 * (int64_t)threads - 1) / (8 * (int64_t)threads);
  parallel_for(t.units, grain, threads, [&](int64_t u0, int64_t u1) { f(t, u0, u1); });
}

}  // namespace rowreduce
}  // namespace divkern
