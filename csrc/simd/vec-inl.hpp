// Native SIMD vectors for the ISA this translation unit is compiled for.
//
// Re-included once per ISA level inside `namespace divkern::DK_ISA_NS` (see
// csrc/rowreduce/lse_kernels.cpp): it includes only its backends (vec_<level>-inl.hpp, one per
// target, each including nothing), and everything it defines
// lives in that per-ISA namespace, so the linker can never merge an AVX-512 inline
// function into the baseline build (numpy#25274).
//
// Every level exposes the same small vocabulary over
//   VF / VD  native vectors of float / double  (kNF / kND lanes)
//   MF / MD  their lane masks
// and every operation is a single IEEE-754 operation per lane (or an exact bit
// manipulation), so a kernel written against this vocabulary computes the same bits at
// every level. The one fused operation is `fmadd(a, b, c)` on float vectors: a * b + c
// rounded once, with the FMA instruction where the level has one and computed to the same
// correctly rounded value where it has none (SSE2: in double, see there); nothing else is
// fused (the build passes -ffp-contract=off so the compiler does not fuse on its own).
// `sub_exact_product(c, a, b)` is c - a * b for a product that is exact (one rounding
// with or without FMA; the FMA levels fuse it).
//
// `add_if(m, acc, x)` / `add_unless(m, acc, x)` add x to acc in the lanes where m is set /
// unset. The other lanes either keep acc (AVX-512 masked add) or add +0.0 to it: the same
// value, because accumulators are never -0.0.
//
// `transpose(r)` turns the N x N block of vectors r[0..N) around its diagonal (N = lanes).
//
// `vmax(a, b)` has the x86 semantics `a > b ? a : b` on every level: it returns `b` when
// either operand is NaN. Kernels rely on that to choose whether NaN propagates.

// DK_INLINE, DK_NOINLINE, DK_UNROLL, DK_X86_SSE2: core/platform.hpp (included by the
// *_kernels.cpp files before the ISA namespace).

// The bit pattern of a float / double and back (exact), for the bit manipulations of
// scalar and portable code.
inline uint32_t bits_of(float x) {
  uint32_t b;
  std::memcpy(&b, &x, 4);
  return b;
}
inline uint64_t bits_of(double x) {
  uint64_t b;
  std::memcpy(&b, &x, 8);
  return b;
}
inline float float_of(uint32_t b) {
  float x;
  std::memcpy(&x, &b, 4);
  return x;
}
inline double double_of(uint64_t b) {
  double x;
  std::memcpy(&x, &b, 8);
  return x;
}

#if defined(__AVX512F__)
#include "simd/vec_avx512-inl.hpp"
#elif defined(__AVX2__)
#include "simd/vec_avx2-inl.hpp"
#elif defined(DK_X86_SSE2)
#include "simd/vec_sse2-inl.hpp"
#else
#include "simd/vec_portable-inl.hpp"
#endif

// ------------------------------------------------------------------------ shared helpers
// Ask for the cache line holding p (into L2): used to fetch the next block while the
// current one is being reduced, so that memory and arithmetic overlap. Always inlined:
// GCC finds an out-of-line wrapper of the prefetch builtin free of side effects and drops
// the calls where it was not inlined early (the short-row tiles lost every prefetch).
DK_INLINE void prefetch(const void* p) {
#if defined(DK_X86_SSE2)
  _mm_prefetch(static_cast<const char*>(p), _MM_HINT_T1);
#elif defined(__GNUC__)
  __builtin_prefetch(p, 0, 3);
#else
  (void)p;
#endif
}

// A one-lane "vector" of double with the same vocabulary, so that the math templates also
// give the scalar functions used to merge partial states. Same operations, same bits as
// any lane of VD.
struct SD { double v; };
inline SD splat_sd(double x) { return {x}; }
inline SD operator+(SD a, SD b) { return {a.v + b.v}; }
inline SD operator-(SD a, SD b) { return {a.v - b.v}; }
inline SD operator*(SD a, SD b) { return {a.v * b.v}; }
inline SD operator/(SD a, SD b) { return {a.v / b.v}; }
inline SD vmax(SD a, SD b) { return {a.v > b.v ? a.v : b.v}; }
struct MS { bool m; };
inline MS eq(SD a, SD b) { return {a.v == b.v}; }
inline MS lt(SD a, SD b) { return {a.v < b.v}; }
inline MS nan_mask(SD a) { return {a.v != a.v}; }
inline MS operator|(MS a, MS b) { return {a.m || b.m}; }
inline MS operator&(MS a, MS b) { return {a.m && b.m}; }
inline bool any(MS m) { return m.m; }
inline SD select(MS m, SD a, SD b) { return {m.m ? a.v : b.v}; }
inline SD pow2_magic(SD t) { return {double_of((bits_of(t.v) + 1023u) << 52)}; }

// Lane traits, so templates can name the scalar, mask and splat of a vector type.
template <class V> struct VecTraits;
template <> struct VecTraits<VF> { using T = float; using M = MF; static constexpr int N = kNF; };
template <> struct VecTraits<VD> { using T = double; using M = MD; static constexpr int N = kND; };
template <> struct VecTraits<SD> { using T = double; using M = MS; static constexpr int N = 1; };
template <class V> inline V splat_as(typename VecTraits<V>::T x);
template <> inline VF splat_as<VF>(float x) { return splat(x); }
template <> inline VD splat_as<VD>(double x) { return splat(x); }
template <> inline SD splat_as<SD>(double x) { return splat_sd(x); }

#if !defined(DK_HAVE_NATIVE_SCALEF)
inline VD scale_pow2_16(VD p, VD, VD t) { return p * pow2_16(t); }
#endif
#if !defined(DK_HAVE_NATIVE_SCALEF)
// p * 2^k rounded once (gradual underflow included) for integral k >= -1100. When every
// lane has k > -(bias - 2) the result is normal and one exact multiply by 2^k does it;
// otherwise split k = k1 + k2 with both halves in the normal range: p * 2^k1 is exact and
// the second multiply rounds once, which is the correctly rounded result, the same value
// vscalef gives on AVX-512.
template <class V>
DK_INLINE V scale_exact(V p, V k, V t_magic) {
  using T = typename VecTraits<V>::T;
  constexpr T kMin = sizeof(T) == 4 ? T(-125) : T(-1021);
  constexpr T kMagic = sizeof(T) == 4 ? T(12582912.0f) : T(6755399441055744.0);  // 1.5*2^mant
  if (!any(lt(k, splat_as<V>(kMin)))) return p * pow2_magic(t_magic);
  V k1 = (k * splat_as<V>(T(0.5)) + splat_as<V>(kMagic)) - splat_as<V>(kMagic);
  V k2 = k - k1;
  V s1 = pow2_magic(k1 + splat_as<V>(kMagic));
  V s2 = pow2_magic(k2 + splat_as<V>(kMagic));
  return (p * s1) * s2;
}
#endif
inline SD scale_exact(SD p, SD k, SD t_magic) {
  if (!(k.v < -1021.0)) return p * pow2_magic(t_magic);
  constexpr double kMagic = 6755399441055744.0;
  SD k1 = {(k.v * 0.5 + kMagic) - kMagic};
  SD k2 = {k.v - k1.v};
  return (p * pow2_magic(SD{k1.v + kMagic})) * pow2_magic(SD{k2.v + kMagic});
}
