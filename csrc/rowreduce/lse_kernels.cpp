// Row-reduction kernels of one ISA level. CMake compiles this file once per level with
// that level's flags and DK_ISA_NS / DK_ISA_NAME defined (see CMakeLists.txt); each copy
// exports only fill_rowreduce_table(), so no inline function of one level can be merged
// into another by the linker.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <type_traits>

#include "core/platform.hpp"
#if defined(DK_X86_SSE2) || defined(__AVX2__) || defined(__AVX512F__)
#include <immintrin.h>
#endif

#include "core/scratch.hpp"
#include "rowreduce/kernels.hpp"
#include "rowreduce/rowreduce.hpp"

#ifndef DK_ISA_NS
#error "DK_ISA_NS must name the ISA namespace (set by CMake)"
#endif

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
