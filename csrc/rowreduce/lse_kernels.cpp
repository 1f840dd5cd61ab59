// Row-reduction kernels of one ISA level. CMake compiles this file once per level with
// that level's flags and DK_ISA_NS / DK_ISA_NAME defined (see CMakeLists.txt); each copy
// exports only fill_rowreduce_table(), so no inline function of one level can be merged
// into another by the linker.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <type_traits>

#if defined(__SSE2__) || defined(__AVX2__) || defined(__AVX512F__)
#include <immintrin.h>
#endif

#include "rowreduce/kernels.hpp"

#ifndef DK_ISA_NS
#error "DK_ISA_NS must name the ISA namespace (set by CMake)"
#endif

namespace divkern {
namespace DK_ISA_NS {

using rowreduce::kColMaxBlock;
using rowreduce::kColTileBytes;
using rowreduce::Op;
using rowreduce::State;
using rowreduce::Task;

#include "core/odometer-inl.hpp"
#include "simd/vec-inl.hpp"
#include "simd/math-inl.hpp"
#include "simd/half-inl.hpp"
#include "rowreduce/engine-inl.hpp"

void fill_rowreduce_table(rowreduce::Table& t) {
  t.isa = DK_ISA_NAME;
  t.f32 = {&Units<float>::run, &Units<float>::finish, &Units<float>::write};
  t.f64 = {&Units<double>::run, &Units<double>::finish, &Units<double>::write};
  t.exp_f32 = &exp_f32;
  t.exp_f64 = &exp_f64;
  t.exp_term_f32 = &exp_term_elementwise<float>;
  t.fmadd_f32 = &fmadd_f32;
  t.exp_term_f64 = &exp_term_elementwise<double>;
  t.log_f64 = &log_f64;
  t.log1p_f64 = &log1p_f64;
  t.log_table_f64 = &log_table_f64;
  t.stream_sum_f32 = &stream_sum_f32;
  t.half_to_float = &half_to_float;
  t.float_to_half = &float_to_half;
}

}  // namespace DK_ISA_NS
}  // namespace divkern
