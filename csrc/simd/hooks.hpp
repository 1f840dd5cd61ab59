// The elementwise math of each ISA level, exposed for the accuracy tests (tests/test_math.py
// through the _core.math / _core.fmadd hooks) and the native benchmark's bandwidth probe.
// Kept apart from the production kernel tables: nothing in a computation calls these.
#pragma once

#include <cstdint>

#include "core/cpu.hpp"

namespace divkern {
namespace simd {

struct MathHooks {
  void (*exp_f32)(const float*, float*, int64_t) = nullptr;
  void (*exp_f64)(const double*, double*, int64_t) = nullptr;
  void (*exp_term_f32)(const float*, float*, int64_t) = nullptr;  // the Fast sums' exp
  void (*fmadd_f32)(const float*, const float*, const float*, float*, int64_t) = nullptr;
  void (*exp_term_f64)(const double*, double*, int64_t) = nullptr;
  void (*log_f64)(const double*, double*, int64_t) = nullptr;
  void (*log1p_f64)(const double*, double*, int64_t) = nullptr;
  void (*log_table_f64)(const double*, double*, int64_t) = nullptr;  // the float results' log
  // Sum of n floats read with this level's widest loads: the benchmarks' bandwidth probe.
  double (*stream_sum_f32)(const float*, int64_t) = nullptr;
};

// The hooks of an ISA level, or nullptr when it is not compiled in or this CPU cannot run it.
const MathHooks* hooks_for(Isa isa);

}  // namespace simd
}  // namespace divkern
