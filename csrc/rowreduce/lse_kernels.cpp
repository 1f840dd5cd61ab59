// Row-reduction kernels of one ISA level. CMake compiles this file once per level with
// that level's flags and DK_ISA_NS / DK_ISA_NAME defined (see CMakeLists.txt); each copy
// exports only fill_rowreduce_table(), so no inline function of one level can be merged
// into another by the linker.
#include "core/kernel_unit.hpp"
#include "core/scratch.hpp"
#include "rowreduce/kernels.hpp"
#include "rowreduce/rowreduce.hpp"

namespace divkern {
namespace DK_ISA_NS {

namespace tuning = rowreduce::tuning;
using rowreduce::State;
using rowreduce::Task;
using tuning::kColMaxBlock;
using tuning::kColTileBytes;

#include "core/odometer-inl.hpp"
#include "simd/vec-inl.hpp"
#include "simd/math-inl.hpp"
#include "simd/half-inl.hpp"
#include "rowreduce/engine-inl.hpp"

template <class Op, class S>
rowreduce::Fns fns() {
  return {&Units<S, Op>::run, &Units<S, Op>::finish, &Units<S, Op>::write};
}

template <class Op>
void fill_op(rowreduce::Table& t, rowreduce::OpId id) {
  t.fns[(int)id][(int)rowreduce::DType::F32] = fns<Op, float>();
  t.fns[(int)id][(int)rowreduce::DType::F64] = fns<Op, double>();
  if constexpr (!Op::kWeighted) t.fns[(int)id][(int)rowreduce::DType::F16] = fns<Op, uint16_t>();
}

template <class T>
void tile_lse(const T* x, int64_t rows, int64_t cols, int64_t tile_rows, int64_t tile_cols, bool lanes, double* out) {
  std::unique_ptr<double[]> st(new double[(size_t)(3 * rows)]);
  TileReducer<T> r(st.get(), st.get() + rows, st.get() + 2 * rows, rows);
  r.reset();
  for (int64_t q0 = 0; q0 < cols; q0 += tile_cols) {
    const int64_t nq = cols - q0 < tile_cols ? cols - q0 : tile_cols;
    for (int64_t r0 = 0; r0 < rows; r0 += tile_rows) {
      const int64_t nr = rows - r0 < tile_rows ? rows - r0 : tile_rows;
      if (lanes) r.add_lanes(x + q0 * rows + r0, nq, rows, r0, nr);
      else r.add_rows(x + r0 * cols + q0, nr, nq, cols, r0);
    }
  }
  r.finish_lse(out);
}

void fill_rowreduce_test_hooks(rowreduce::TestHooks& h) {
  h.tile_lse_f32 = &tile_lse<float>;
  h.tile_lse_f64 = &tile_lse<double>;
}

void fill_rowreduce_table(rowreduce::Table& t) {
  t.isa = DK_ISA_NAME;
  fill_op<LogSumExp>(t, rowreduce::OpId::LogSumExp);
  fill_op<WeightedLogSumExp>(t, rowreduce::OpId::WeightedLogSumExp);
  fill_op<Softmax>(t, rowreduce::OpId::Softmax);
  fill_op<LogSoftmax>(t, rowreduce::OpId::LogSoftmax);
  t.half_to_float = &half_to_float;
  t.float_to_half = &float_to_half;
}

}  // namespace DK_ISA_NS
}  // namespace divkern
