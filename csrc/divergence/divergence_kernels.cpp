// Divergence kernels of one ISA level: the elementwise maps of kernels.hpp over contiguous
// double buffers. CMake compiles this file once per level with that level's flags and
// DK_ISA_NS / DK_ISA_NAME defined, like rowreduce/lse_kernels.cpp; only
// fill_divergence_table() is visible.
#include "core/kernel_unit.hpp"
#include "divergence/kernels.hpp"

namespace divkern {
namespace DK_ISA_NS {

#include "simd/vec-inl.hpp"
#include "simd/math-inl.hpp"
#include "divergence/terms-inl.hpp"

namespace {

using divergence::Op;

template <Op op>
DK_INLINE VD term(VD x, VD y) {
  if constexpr (op == Op::Entr) return entr_of(x);
  else if constexpr (op == Op::RelEntr) return rel_entr_of(x, y);
  else if constexpr (op == Op::KlDiv) return kl_div_of(x, y);
  else return js_of(x, y);
}

// Scaled (x * sx, y * sy) or plain; the tail is a partial vector with neutral lanes (1.0),
// computed like any other.
template <Op op, bool kScaled, bool kStep>
void apply_loop(const double* x, const double* y, const double* sx, const double* sy, double* out, int64_t n) {
  constexpr bool kY = op != Op::Entr;
  int64_t i = 0;
  auto scale = [&](VD a, const double* s, int64_t at, int64_t len) {
    if constexpr (!kScaled) return a;
    else if constexpr (kStep) return a * (len == kND ? load(s + at) : load_partial(s + at, len, 1.0));
    else return a * splat(s[0]);
  };
  for (; i + kND <= n; i += kND) {
    const VD a = scale(load(x + i), sx, i, kND);
    const VD b = kY ? scale(load(y + i), sy, i, kND) : a;
    store(out + i, term<op>(a, b));
  }
  if (i < n) {
    const int64_t len = n - i;
    const VD a = scale(load_partial(x + i, len, 1.0), sx, i, len);
    const VD b = kY ? scale(load_partial(y + i, len, 1.0), sy, i, len) : a;
    store_partial(out + i, term<op>(a, b), len);
  }
}

template <Op op>
void apply(const double* x, const double* y, const double* sx, const double* sy, int64_t sstep, double* out,
           int64_t n) {
  if (!sx) apply_loop<op, false, false>(x, y, sx, sy, out, n);
  else if (sstep) apply_loop<op, true, true>(x, y, sx, sy, out, n);
  else apply_loop<op, true, false>(x, y, sx, sy, out, n);
}

}  // namespace

void fill_divergence_table(divergence::Table& t) {
  t.isa = DK_ISA_NAME;
  t.apply[(int)Op::Entr] = &apply<Op::Entr>;
  t.apply[(int)Op::RelEntr] = &apply<Op::RelEntr>;
  t.apply[(int)Op::KlDiv] = &apply<Op::KlDiv>;
  t.apply[(int)Op::JensenShannon] = &apply<Op::JensenShannon>;
}

}  // namespace DK_ISA_NS
}  // namespace divkern
