// The elementwise math hooks of one ISA level (simd/hooks.hpp). CMake compiles this file
// once per level with that level's flags, like the kernels (rowreduce/lse_kernels.cpp).
#include "core/kernel_unit.hpp"
#include "simd/hooks.hpp"

namespace divkern {
namespace DK_ISA_NS {

#include "simd/vec-inl.hpp"
#include "simd/math-inl.hpp"

template <class T, class F>
inline void map_math(const T* x, T* y, int64_t n, F f) {
  using V = typename std::conditional<std::is_same<T, float>::value, VF, VD>::type;
  constexpr int N = VecTraits<V>::N;
  int64_t i = 0;
  for (; i + N <= n; i += N) store(y + i, f(load(x + i)));
  if (i < n) store_partial(y + i, f(load_partial(x + i, n - i, T(0))), n - i);
}
inline void exp_f32(const float* x, float* y, int64_t n) { map_math(x, y, n, [](VF v) { return exp(v); }); }
inline void exp_f64(const double* x, double* y, int64_t n) { map_math(x, y, n, [](VD v) { return exp(v); }); }
inline void fmadd_f32(const float* a, const float* b, const float* c, float* y, int64_t n) {
  int64_t i = 0;
  for (; i + kNF <= n; i += kNF) store(y + i, fmadd(load(a + i), load(b + i), load(c + i)));
  if (i < n)
    store_partial(y + i, fmadd(load_partial(a + i, n - i, 0.0f), load_partial(b + i, n - i, 0.0f),
                               load_partial(c + i, n - i, 0.0f)), n - i);
}
template <class T>
inline void exp_term_elementwise(const T* x, T* y, int64_t n) {
  map_math(x, y, n, [](auto v) {
    exp_term_n<1>(&v);
    return v;
  });
}
inline void log_f64(const double* x, double* y, int64_t n) { map_math(x, y, n, [](VD v) { return log(v); }); }
inline void log1p_f64(const double* x, double* y, int64_t n) { map_math(x, y, n, [](VD v) { return log1p(v); }); }
inline void log_table_f64(const double* x, double* y, int64_t n) {
  map_math(x, y, n, [](VD v) {
    log_table_n<1>(&v);
    return v;
  });
}

// Reads n floats as fast as the loads allow (four independent accumulators).
inline double stream_sum_f32(const float* x, int64_t n) {
  VF a0 = splat(0.0f), a1 = a0, a2 = a0, a3 = a0;
  int64_t i = 0;
  for (; i + 4 * kNF <= n; i += 4 * kNF) {
    a0 = a0 + load(x + i);
    a1 = a1 + load(x + i + kNF);
    a2 = a2 + load(x + i + 2 * kNF);
    a3 = a3 + load(x + i + 3 * kNF);
  }
  alignas(64) float l[kNF];
  store(l, (a0 + a1) + (a2 + a3));
  double s = 0;
  for (int j = 0; j < kNF; ++j) s += l[j];
  for (; i < n; ++i) s += x[i];
  return s;
}

void fill_math_hooks(simd::MathHooks& h) {
  h.exp_f32 = &exp_f32;
  h.exp_f64 = &exp_f64;
  h.exp_term_f32 = &exp_term_elementwise<float>;
  h.fmadd_f32 = &fmadd_f32;
  h.exp_term_f64 = &exp_term_elementwise<double>;
  h.log_f64 = &log_f64;
  h.log1p_f64 = &log1p_f64;
  h.log_table_f64 = &log_table_f64;
  h.stream_sum_f32 = &stream_sum_f32;
}

}  // namespace DK_ISA_NS
}  // namespace divkern
