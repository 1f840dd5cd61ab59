// Native SIMD vectors for the ISA this translation unit is compiled for.
//
// Re-included once per ISA level inside `namespace divkern::DK_ISA_NS` (see
// csrc/rowreduce/lse_kernels.cpp): it includes nothing itself, and everything it defines
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

#ifndef DK_INLINE
#if defined(_MSC_VER)
#define DK_INLINE __forceinline
#define DK_NOINLINE __declspec(noinline)
#define DK_UNROLL
#else
#define DK_INLINE inline __attribute__((always_inline))
#define DK_NOINLINE __attribute__((noinline))
#define DK_UNROLL _Pragma("GCC unroll 16")
#endif
#endif

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
// ------------------------------------------------------------------------ AVX-512
#define DK_VEC_NAME "avx512"
constexpr int kNF = 16, kND = 8;
struct VF { __m512 v; };
struct VD { __m512d v; };
struct MF { __mmask16 k; };
struct MD { __mmask8 k; };

inline VF splat(float x) { return {_mm512_set1_ps(x)}; }
inline VD splat(double x) { return {_mm512_set1_pd(x)}; }
inline VF load(const float* p) { return {_mm512_loadu_ps(p)}; }
inline VD load(const double* p) { return {_mm512_loadu_pd(p)}; }
inline VF load_partial(const float* p, int64_t n, float fill) {
  return {_mm512_mask_loadu_ps(_mm512_set1_ps(fill), (__mmask16)((1u << n) - 1u), p)};
}
inline VD load_partial(const double* p, int64_t n, double fill) {
  return {_mm512_mask_loadu_pd(_mm512_set1_pd(fill), (__mmask8)((1u << n) - 1u), p)};
}
inline void store(float* p, VF a) { _mm512_storeu_ps(p, a.v); }
inline void store(double* p, VD a) { _mm512_storeu_pd(p, a.v); }
inline void store_partial(float* p, VF a, int64_t n) {
  _mm512_mask_storeu_ps(p, (__mmask16)((1u << n) - 1u), a.v);
}
inline void store_partial(double* p, VD a, int64_t n) {
  _mm512_mask_storeu_pd(p, (__mmask8)((1u << n) - 1u), a.v);
}
// Non-temporal store for outputs that will not be read again soon (p aligned to the
// vector size).
inline void stream_store(float* p, VF a) { _mm512_stream_ps(p, a.v); }
inline void stream_store(double* p, VD a) { _mm512_stream_pd(p, a.v); }
inline void stream_fence() { _mm_sfence(); }

inline VF operator+(VF a, VF b) { return {_mm512_add_ps(a.v, b.v)}; }
inline VF operator-(VF a, VF b) { return {_mm512_sub_ps(a.v, b.v)}; }
inline VF operator*(VF a, VF b) { return {_mm512_mul_ps(a.v, b.v)}; }
inline VF fmadd(VF a, VF b, VF c) { return {_mm512_fmadd_ps(a.v, b.v, c.v)}; }
inline VF sub_exact_product(VF c, VF a, VF b) { return {_mm512_fnmadd_ps(a.v, b.v, c.v)}; }
inline VD operator+(VD a, VD b) { return {_mm512_add_pd(a.v, b.v)}; }
inline VD operator-(VD a, VD b) { return {_mm512_sub_pd(a.v, b.v)}; }
inline VD operator*(VD a, VD b) { return {_mm512_mul_pd(a.v, b.v)}; }
inline VD operator/(VD a, VD b) { return {_mm512_div_pd(a.v, b.v)}; }
inline VF vmax(VF a, VF b) { return {_mm512_max_ps(a.v, b.v)}; }
inline VD vmax(VD a, VD b) { return {_mm512_max_pd(a.v, b.v)}; }

inline MF eq(VF a, VF b) { return {_mm512_cmp_ps_mask(a.v, b.v, _CMP_EQ_OQ)}; }
inline MF lt(VF a, VF b) { return {_mm512_cmp_ps_mask(a.v, b.v, _CMP_LT_OQ)}; }
inline MF nan_mask(VF a) { return {_mm512_cmp_ps_mask(a.v, a.v, _CMP_UNORD_Q)}; }
inline MD eq(VD a, VD b) { return {_mm512_cmp_pd_mask(a.v, b.v, _CMP_EQ_OQ)}; }
inline MD lt(VD a, VD b) { return {_mm512_cmp_pd_mask(a.v, b.v, _CMP_LT_OQ)}; }
inline MD nan_mask(VD a) { return {_mm512_cmp_pd_mask(a.v, a.v, _CMP_UNORD_Q)}; }
inline MF operator|(MF a, MF b) { return {(__mmask16)(a.k | b.k)}; }
inline MD operator|(MD a, MD b) { return {(__mmask8)(a.k | b.k)}; }
inline MF operator&(MF a, MF b) { return {(__mmask16)(a.k & b.k)}; }
inline MD operator&(MD a, MD b) { return {(__mmask8)(a.k & b.k)}; }
inline bool any(MF m) { return m.k != 0; }
inline bool any(MD m) { return m.k != 0; }
inline bool all(MD m) { return m.k == (__mmask8)((1u << kND) - 1); }
inline VF select(MF m, VF a, VF b) { return {_mm512_mask_blend_ps(m.k, b.v, a.v)}; }
inline VD select(MD m, VD a, VD b) { return {_mm512_mask_blend_pd(m.k, b.v, a.v)}; }
// acc + x where m is set / unset (other lanes keep acc): one masked add
inline VF add_if(MF m, VF acc, VF x) { return {_mm512_mask_add_ps(acc.v, m.k, acc.v, x.v)}; }
inline VD add_if(MD m, VD acc, VD x) { return {_mm512_mask_add_pd(acc.v, m.k, acc.v, x.v)}; }
inline VF add_unless(MF m, VF acc, VF x) { return {_mm512_mask_add_ps(acc.v, (__mmask16)~m.k, acc.v, x.v)}; }
inline VD add_unless(MD m, VD acc, VD x) { return {_mm512_mask_add_pd(acc.v, (__mmask8)~m.k, acc.v, x.v)}; }

// float lanes [0, kND) and [kND, kNF) widened to double
inline VD lo_f64(VF a) { return {_mm512_cvtps_pd(_mm512_castps512_ps256(a.v))}; }
inline VD hi_f64(VF a) {
  return {_mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(a.v), 1)))};
}
// two double vectors rounded (to nearest) into one float vector, lanes in order
inline VF to_f32(VD lo, VD hi) {
  __m256 l = _mm512_cvtpd_ps(lo.v), h = _mm512_cvtpd_ps(hi.v);
  return {_mm512_castpd_ps(_mm512_insertf64x4(_mm512_castpd256_pd512(_mm256_castps_pd(l)),
                                              _mm256_castps_pd(h), 1))};
}

// 2^k from t = k + 1.5*2^23 (the magic-number rounding of the exp reduction): the low
// mantissa bits of t hold k, so adding the exponent bias and shifting gives the bits of
// 2^k. Valid for k in [-126, 127].
inline VF pow2_magic(VF t) {
  __m512i b = _mm512_add_epi32(_mm512_castps_si512(t.v), _mm512_set1_epi32(127));
  return {_mm512_castsi512_ps(_mm512_slli_epi32(b, 23))};
}
inline VD pow2_magic(VD t) {
  __m512i b = _mm512_add_epi64(_mm512_castpd_si512(t.v), _mm512_set1_epi64(1023));
  return {_mm512_castsi512_pd(_mm512_slli_epi64(b, 52))};
}
// p * 2^k rounded once, for integral k in [-200, 0] (float) / [-1100, 0] (double), with
// gradual underflow. vscalef does it in one instruction; the other levels compute the
// same correctly rounded value in two exact steps (see scale_exact below).
inline VF scale_exact(VF p, VF k, VF) { return {_mm512_scalef_ps(p.v, k.v)}; }
inline VD scale_exact(VD p, VD k, VD) { return {_mm512_scalef_pd(p.v, k.v)}; }
#define DK_HAVE_NATIVE_SCALEF 1
// tbl[j] with j = the low 4 bits of t's bit pattern (t = magic + integer, see exp_term_n)
inline VD lookup16(const double* tbl, VD t) {
  return {_mm512_permutex2var_pd(_mm512_loadu_pd(tbl), _mm512_castpd_si512(t.v), _mm512_loadu_pd(tbl + 8))};
}
// Pairwise trees over the lanes of one vector, lane j with lane j + w for w = half, quarter,
// ..., 1 (the first operand of vmax is lane j + w): the canonical horizontal reductions.
inline double fold_sum(VD v) {
  __m256d a = _mm256_add_pd(_mm512_castpd512_pd256(v.v), _mm512_extractf64x4_pd(v.v, 1));
  __m128d b = _mm_add_pd(_mm256_castpd256_pd128(a), _mm256_extractf128_pd(a, 1));
  return _mm_cvtsd_f64(_mm_add_sd(b, _mm_unpackhi_pd(b, b)));
}
inline double fold_max(VD v) {
  __m256d a = _mm256_max_pd(_mm512_extractf64x4_pd(v.v, 1), _mm512_castpd512_pd256(v.v));
  __m128d b = _mm_max_pd(_mm256_extractf128_pd(a, 1), _mm256_castpd256_pd128(a));
  return _mm_cvtsd_f64(_mm_max_sd(_mm_unpackhi_pd(b, b), b));
}
inline float fold_max(VF v) {
  const __m512d d = _mm512_castps_pd(v.v);
  __m256 a = _mm256_max_ps(_mm256_castpd_ps(_mm512_extractf64x4_pd(d, 1)), _mm512_castps512_ps256(v.v));
  __m128 b = _mm_max_ps(_mm256_extractf128_ps(a, 1), _mm256_castps256_ps128(a));
  b = _mm_max_ps(_mm_movehl_ps(b, b), b);
  return _mm_cvtss_f32(_mm_max_ss(_mm_shuffle_ps(b, b, 1), b));
}
// p * 2^floor(k / 16) for integral k with p * 2^floor(k / 16) normal (t = magic + k)
inline VD scale_pow2_16(VD p, VD k, VD) { return {_mm512_scalef_pd(p.v, _mm512_mul_pd(k.v, _mm512_set1_pd(0.0625)))}; }

// In-register transposes: rows r[0..N) become columns (r[j] lane i = old r[i] lane j).
inline void transpose(VF* r) {
  __m512 t[16], u[16];
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_unpacklo_ps(r[i].v, r[i + 1].v);
    t[i + 1] = _mm512_unpackhi_ps(r[i].v, r[i + 1].v);
  }
  for (int i = 0; i < 16; i += 4) {
    u[i] = _mm512_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(1, 0, 1, 0));
    u[i + 1] = _mm512_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(3, 2, 3, 2));
    u[i + 2] = _mm512_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(1, 0, 1, 0));
    u[i + 3] = _mm512_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(3, 2, 3, 2));
  }
  for (int i = 0; i < 16; i += 8)
    for (int j = 0; j < 4; ++j) {
      t[i + j] = _mm512_shuffle_f32x4(u[i + j], u[i + j + 4], 0x88);
      t[i + j + 4] = _mm512_shuffle_f32x4(u[i + j], u[i + j + 4], 0xdd);
    }
  for (int j = 0; j < 8; ++j) {
    r[j].v = _mm512_shuffle_f32x4(t[j], t[j + 8], 0x88);
    r[j + 8].v = _mm512_shuffle_f32x4(t[j], t[j + 8], 0xdd);
  }
}
inline void transpose(VD* r) {
  __m512d t[8], u[8];
  for (int i = 0; i < 8; i += 2) {
    t[i] = _mm512_unpacklo_pd(r[i].v, r[i + 1].v);
    t[i + 1] = _mm512_unpackhi_pd(r[i].v, r[i + 1].v);
  }
  for (int i = 0; i < 8; i += 4)
    for (int j = 0; j < 2; ++j) {
      u[i + j] = _mm512_shuffle_f64x2(t[i + j], t[i + j + 2], 0x88);
      u[i + j + 2] = _mm512_shuffle_f64x2(t[i + j], t[i + j + 2], 0xdd);
    }
  for (int j = 0; j < 4; ++j) {
    r[j].v = _mm512_shuffle_f64x2(u[j], u[j + 4], 0x88);
    r[j + 4].v = _mm512_shuffle_f64x2(u[j], u[j + 4], 0xdd);
  }
}

#elif defined(__AVX2__)
// ------------------------------------------------------------------------ AVX2
#define DK_VEC_NAME "avx2"
constexpr int kNF = 8, kND = 4;
struct VF { __m256 v; };
struct VD { __m256d v; };
struct MF { __m256 m; };
struct MD { __m256d m; };

inline VF splat(float x) { return {_mm256_set1_ps(x)}; }
inline VD splat(double x) { return {_mm256_set1_pd(x)}; }
inline VF load(const float* p) { return {_mm256_loadu_ps(p)}; }
inline VD load(const double* p) { return {_mm256_loadu_pd(p)}; }
inline __m256i tail_mask32(int64_t n) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
inline __m256i tail_mask64(int64_t n) {
  return _mm256_cmpgt_epi64(_mm256_set1_epi64x(n), _mm256_setr_epi64x(0, 1, 2, 3));
}
inline VF load_partial(const float* p, int64_t n, float fill) {
  __m256i m = tail_mask32(n);
  return {_mm256_blendv_ps(_mm256_set1_ps(fill), _mm256_maskload_ps(p, m), _mm256_castsi256_ps(m))};
}
inline VD load_partial(const double* p, int64_t n, double fill) {
  __m256i m = tail_mask64(n);
  return {_mm256_blendv_pd(_mm256_set1_pd(fill), _mm256_maskload_pd(p, m), _mm256_castsi256_pd(m))};
}
inline void store(float* p, VF a) { _mm256_storeu_ps(p, a.v); }
inline void store(double* p, VD a) { _mm256_storeu_pd(p, a.v); }
inline void store_partial(float* p, VF a, int64_t n) { _mm256_maskstore_ps(p, tail_mask32(n), a.v); }
inline void store_partial(double* p, VD a, int64_t n) { _mm256_maskstore_pd(p, tail_mask64(n), a.v); }
inline void stream_store(float* p, VF a) { _mm256_stream_ps(p, a.v); }
inline void stream_store(double* p, VD a) { _mm256_stream_pd(p, a.v); }
inline void stream_fence() { _mm_sfence(); }

inline VF operator+(VF a, VF b) { return {_mm256_add_ps(a.v, b.v)}; }
inline VF operator-(VF a, VF b) { return {_mm256_sub_ps(a.v, b.v)}; }
inline VF operator*(VF a, VF b) { return {_mm256_mul_ps(a.v, b.v)}; }
inline VF fmadd(VF a, VF b, VF c) { return {_mm256_fmadd_ps(a.v, b.v, c.v)}; }
inline VF sub_exact_product(VF c, VF a, VF b) { return {_mm256_fnmadd_ps(a.v, b.v, c.v)}; }
inline VD operator+(VD a, VD b) { return {_mm256_add_pd(a.v, b.v)}; }
inline VD operator-(VD a, VD b) { return {_mm256_sub_pd(a.v, b.v)}; }
inline VD operator*(VD a, VD b) { return {_mm256_mul_pd(a.v, b.v)}; }
inline VD operator/(VD a, VD b) { return {_mm256_div_pd(a.v, b.v)}; }
inline VF vmax(VF a, VF b) { return {_mm256_max_ps(a.v, b.v)}; }
inline VD vmax(VD a, VD b) { return {_mm256_max_pd(a.v, b.v)}; }

inline MF eq(VF a, VF b) { return {_mm256_cmp_ps(a.v, b.v, _CMP_EQ_OQ)}; }
inline MF lt(VF a, VF b) { return {_mm256_cmp_ps(a.v, b.v, _CMP_LT_OQ)}; }
inline MF nan_mask(VF a) { return {_mm256_cmp_ps(a.v, a.v, _CMP_UNORD_Q)}; }
inline MD eq(VD a, VD b) { return {_mm256_cmp_pd(a.v, b.v, _CMP_EQ_OQ)}; }
inline MD lt(VD a, VD b) { return {_mm256_cmp_pd(a.v, b.v, _CMP_LT_OQ)}; }
inline MD nan_mask(VD a) { return {_mm256_cmp_pd(a.v, a.v, _CMP_UNORD_Q)}; }
inline MF operator|(MF a, MF b) { return {_mm256_or_ps(a.m, b.m)}; }
inline MD operator|(MD a, MD b) { return {_mm256_or_pd(a.m, b.m)}; }
inline MF operator&(MF a, MF b) { return {_mm256_and_ps(a.m, b.m)}; }
inline MD operator&(MD a, MD b) { return {_mm256_and_pd(a.m, b.m)}; }
inline bool any(MF m) { return _mm256_movemask_ps(m.m) != 0; }
inline bool any(MD m) { return _mm256_movemask_pd(m.m) != 0; }
inline bool all(MD m) { return _mm256_movemask_pd(m.m) == 0xF; }
inline VF select(MF m, VF a, VF b) { return {_mm256_blendv_ps(b.v, a.v, m.m)}; }
inline VD select(MD m, VD a, VD b) { return {_mm256_blendv_pd(b.v, a.v, m.m)}; }
inline VF add_if(MF m, VF acc, VF x) { return {_mm256_add_ps(acc.v, _mm256_and_ps(m.m, x.v))}; }
inline VD add_if(MD m, VD acc, VD x) { return {_mm256_add_pd(acc.v, _mm256_and_pd(m.m, x.v))}; }
inline VF add_unless(MF m, VF acc, VF x) { return {_mm256_add_ps(acc.v, _mm256_andnot_ps(m.m, x.v))}; }
inline VD add_unless(MD m, VD acc, VD x) { return {_mm256_add_pd(acc.v, _mm256_andnot_pd(m.m, x.v))}; }

inline VD lo_f64(VF a) { return {_mm256_cvtps_pd(_mm256_castps256_ps128(a.v))}; }
inline VD hi_f64(VF a) { return {_mm256_cvtps_pd(_mm256_extractf128_ps(a.v, 1))}; }
inline VF to_f32(VD lo, VD hi) {
  return {_mm256_insertf128_ps(_mm256_castps128_ps256(_mm256_cvtpd_ps(lo.v)), _mm256_cvtpd_ps(hi.v), 1)};
}

inline VF pow2_magic(VF t) {
  __m256i b = _mm256_add_epi32(_mm256_castps_si256(t.v), _mm256_set1_epi32(127));
  return {_mm256_castsi256_ps(_mm256_slli_epi32(b, 23))};
}
inline void transpose(VF* r) {
  __m256 t[8], u[8];
  for (int i = 0; i < 8; i += 2) {
    t[i] = _mm256_unpacklo_ps(r[i].v, r[i + 1].v);
    t[i + 1] = _mm256_unpackhi_ps(r[i].v, r[i + 1].v);
  }
  for (int i = 0; i < 8; i += 4) {
    u[i] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(1, 0, 1, 0));
    u[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(3, 2, 3, 2));
    u[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(1, 0, 1, 0));
    u[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(3, 2, 3, 2));
  }
  for (int j = 0; j < 4; ++j) {
    r[j].v = _mm256_permute2f128_ps(u[j], u[j + 4], 0x20);
    r[j + 4].v = _mm256_permute2f128_ps(u[j], u[j + 4], 0x31);
  }
}
inline void transpose(VD* r) {
  __m256d t0 = _mm256_unpacklo_pd(r[0].v, r[1].v), t1 = _mm256_unpackhi_pd(r[0].v, r[1].v);
  __m256d t2 = _mm256_unpacklo_pd(r[2].v, r[3].v), t3 = _mm256_unpackhi_pd(r[2].v, r[3].v);
  r[0].v = _mm256_permute2f128_pd(t0, t2, 0x20);
  r[1].v = _mm256_permute2f128_pd(t1, t3, 0x20);
  r[2].v = _mm256_permute2f128_pd(t0, t2, 0x31);
  r[3].v = _mm256_permute2f128_pd(t1, t3, 0x31);
}
inline VD pow2_magic(VD t) {
  __m256i b = _mm256_add_epi64(_mm256_castpd_si256(t.v), _mm256_set1_epi64x(1023));
  return {_mm256_castsi256_pd(_mm256_slli_epi64(b, 52))};
}
inline VD lookup16(const double* tbl, VD t) {
  const __m256i j = _mm256_and_si256(_mm256_castpd_si256(t.v), _mm256_set1_epi64x(15));
  return {_mm256_i64gather_pd(tbl, j, 8)};
}
inline double fold_sum(VD v) {
  __m128d b = _mm_add_pd(_mm256_castpd256_pd128(v.v), _mm256_extractf128_pd(v.v, 1));
  return _mm_cvtsd_f64(_mm_add_sd(b, _mm_unpackhi_pd(b, b)));
}
inline double fold_max(VD v) {
  __m128d b = _mm_max_pd(_mm256_extractf128_pd(v.v, 1), _mm256_castpd256_pd128(v.v));
  return _mm_cvtsd_f64(_mm_max_sd(_mm_unpackhi_pd(b, b), b));
}
inline float fold_max(VF v) {
  __m128 b = _mm_max_ps(_mm256_extractf128_ps(v.v, 1), _mm256_castps256_ps128(v.v));
  b = _mm_max_ps(_mm_movehl_ps(b, b), b);
  return _mm_cvtss_f32(_mm_max_ss(_mm_shuffle_ps(b, b, 1), b));
}
// 2^floor(k / 16) from the bits of t = magic + k: bits 4..15 of k are the exponent (valid
// for floor(k / 16) in [-1022, 1023]; exp_term_n's clamp keeps it >= -1018)
inline VD pow2_16(VD t) {
  __m256i b = _mm256_slli_epi64(_mm256_castpd_si256(t.v), 48);
  b = _mm256_and_si256(b, _mm256_set1_epi64x((long long)0xFFF0000000000000ull));
  return {_mm256_castsi256_pd(_mm256_add_epi64(b, _mm256_set1_epi64x(0x3FF0000000000000ll)))};
}

#elif defined(__SSE2__)
// ------------------------------------------------------------------------ SSE2 (x86-64 baseline)
#define DK_VEC_NAME "baseline"
constexpr int kNF = 4, kND = 2;
struct VF { __m128 v; };
struct VD { __m128d v; };
struct MF { __m128 m; };
struct MD { __m128d m; };

inline VF splat(float x) { return {_mm_set1_ps(x)}; }
inline VD splat(double x) { return {_mm_set1_pd(x)}; }
inline VF load(const float* p) { return {_mm_loadu_ps(p)}; }
inline VD load(const double* p) { return {_mm_loadu_pd(p)}; }
inline VF load_partial(const float* p, int64_t n, float fill) {
  alignas(16) float buf[4] = {fill, fill, fill, fill};
  for (int64_t i = 0; i < n; ++i) buf[i] = p[i];
  return {_mm_load_ps(buf)};
}
inline VD load_partial(const double* p, int64_t n, double fill) {
  alignas(16) double buf[2] = {fill, fill};
  for (int64_t i = 0; i < n; ++i) buf[i] = p[i];
  return {_mm_load_pd(buf)};
}
inline void store(float* p, VF a) { _mm_storeu_ps(p, a.v); }
inline void store(double* p, VD a) { _mm_storeu_pd(p, a.v); }
inline void store_partial(float* p, VF a, int64_t n) {
  alignas(16) float buf[4];
  _mm_store_ps(buf, a.v);
  for (int64_t i = 0; i < n; ++i) p[i] = buf[i];
}
inline void store_partial(double* p, VD a, int64_t n) {
  alignas(16) double buf[2];
  _mm_store_pd(buf, a.v);
  for (int64_t i = 0; i < n; ++i) p[i] = buf[i];
}
inline void stream_store(float* p, VF a) { _mm_stream_ps(p, a.v); }
inline void stream_store(double* p, VD a) { _mm_stream_pd(p, a.v); }
inline void stream_fence() { _mm_sfence(); }

inline VF operator+(VF a, VF b) { return {_mm_add_ps(a.v, b.v)}; }
inline VF operator-(VF a, VF b) { return {_mm_sub_ps(a.v, b.v)}; }
inline VF operator*(VF a, VF b) { return {_mm_mul_ps(a.v, b.v)}; }
// a * b + c rounded once to float, without an FMA instruction: the product of two floats is
// exact in double, so the only error of s = fl64(a b + c) is the addition's, and rounding
// s to float gives the correctly rounded result unless that second rounding is a tie
// (s exactly halfway between two floats: its low 29 mantissa bits are 1 and 28 zeros)
// that the first rounding created. Then s moves one double ulp towards the exact sum
// (its error from the exact sum comes from Knuth's two-sum), which breaks the tie the
// right way. Valid while the result is a normal float (the callers' ranges).
inline __m128 fma_tie_lanes(__m128d s) {  // 32-bit lanes 0 and 2: s is a float midpoint
  const __m128i low = _mm_and_si128(_mm_castpd_si128(s), _mm_set1_epi32(0x1FFFFFFF));
  return _mm_castsi128_ps(_mm_cmpeq_epi32(low, _mm_set_epi32(0, 0x10000000, 0, 0x10000000)));
}
DK_NOINLINE inline __m128d fma_fix_ties(__m128d p, __m128d c, __m128d s) {
  alignas(16) double ps[2], cs[2], ss[2];
  _mm_store_pd(ps, p);
  _mm_store_pd(cs, c);
  _mm_store_pd(ss, s);
  for (int i = 0; i < 2; ++i) {
    const double sv = ss[i], bv = sv - ps[i];
    const double err = (ps[i] - (sv - bv)) + (cs[i] - bv);
    const uint64_t b = bits_of(sv);
    if (err == 0 || (b & 0x1FFFFFFFull) != 0x10000000ull) continue;
    ss[i] = double_of(b + (((err > 0) == (sv > 0)) ? 1 : uint64_t(-1)));
  }
  return _mm_load_pd(ss);
}
inline VF sub_exact_product(VF c, VF a, VF b) { return {_mm_sub_ps(c.v, _mm_mul_ps(a.v, b.v))}; }
inline VF fmadd(VF a, VF b, VF c) {
  const __m128 ah = _mm_movehl_ps(a.v, a.v), bh = _mm_movehl_ps(b.v, b.v), ch = _mm_movehl_ps(c.v, c.v);
  const __m128d pl = _mm_mul_pd(_mm_cvtps_pd(a.v), _mm_cvtps_pd(b.v));
  const __m128d ph = _mm_mul_pd(_mm_cvtps_pd(ah), _mm_cvtps_pd(bh));
  const __m128d cl = _mm_cvtps_pd(c.v), chd = _mm_cvtps_pd(ch);
  __m128d sl = _mm_add_pd(pl, cl), sh = _mm_add_pd(ph, chd);
  if (_mm_movemask_ps(_mm_or_ps(fma_tie_lanes(sl), fma_tie_lanes(sh))) & 5) {  // rare
    sl = fma_fix_ties(pl, cl, sl);
    sh = fma_fix_ties(ph, chd, sh);
  }
  return {_mm_movelh_ps(_mm_cvtpd_ps(sl), _mm_cvtpd_ps(sh))};
}
inline VD operator+(VD a, VD b) { return {_mm_add_pd(a.v, b.v)}; }
inline VD operator-(VD a, VD b) { return {_mm_sub_pd(a.v, b.v)}; }
inline VD operator*(VD a, VD b) { return {_mm_mul_pd(a.v, b.v)}; }
inline VD operator/(VD a, VD b) { return {_mm_div_pd(a.v, b.v)}; }
inline VF vmax(VF a, VF b) { return {_mm_max_ps(a.v, b.v)}; }
inline VD vmax(VD a, VD b) { return {_mm_max_pd(a.v, b.v)}; }

inline MF eq(VF a, VF b) { return {_mm_cmpeq_ps(a.v, b.v)}; }
inline MF lt(VF a, VF b) { return {_mm_cmplt_ps(a.v, b.v)}; }
inline MF nan_mask(VF a) { return {_mm_cmpunord_ps(a.v, a.v)}; }
inline MD eq(VD a, VD b) { return {_mm_cmpeq_pd(a.v, b.v)}; }
inline MD lt(VD a, VD b) { return {_mm_cmplt_pd(a.v, b.v)}; }
inline MD nan_mask(VD a) { return {_mm_cmpunord_pd(a.v, a.v)}; }
inline MF operator|(MF a, MF b) { return {_mm_or_ps(a.m, b.m)}; }
inline MD operator|(MD a, MD b) { return {_mm_or_pd(a.m, b.m)}; }
inline MF operator&(MF a, MF b) { return {_mm_and_ps(a.m, b.m)}; }
inline MD operator&(MD a, MD b) { return {_mm_and_pd(a.m, b.m)}; }
inline bool any(MF m) { return _mm_movemask_ps(m.m) != 0; }
inline bool any(MD m) { return _mm_movemask_pd(m.m) != 0; }
inline bool all(MD m) { return _mm_movemask_pd(m.m) == 0x3; }
inline VF select(MF m, VF a, VF b) { return {_mm_or_ps(_mm_and_ps(m.m, a.v), _mm_andnot_ps(m.m, b.v))}; }
inline VD select(MD m, VD a, VD b) { return {_mm_or_pd(_mm_and_pd(m.m, a.v), _mm_andnot_pd(m.m, b.v))}; }
inline VF add_if(MF m, VF acc, VF x) { return {_mm_add_ps(acc.v, _mm_and_ps(m.m, x.v))}; }
inline VD add_if(MD m, VD acc, VD x) { return {_mm_add_pd(acc.v, _mm_and_pd(m.m, x.v))}; }
inline VF add_unless(MF m, VF acc, VF x) { return {_mm_add_ps(acc.v, _mm_andnot_ps(m.m, x.v))}; }
inline VD add_unless(MD m, VD acc, VD x) { return {_mm_add_pd(acc.v, _mm_andnot_pd(m.m, x.v))}; }

inline VD lo_f64(VF a) { return {_mm_cvtps_pd(a.v)}; }
inline VD hi_f64(VF a) { return {_mm_cvtps_pd(_mm_movehl_ps(a.v, a.v))}; }
inline VF to_f32(VD lo, VD hi) { return {_mm_movelh_ps(_mm_cvtpd_ps(lo.v), _mm_cvtpd_ps(hi.v))}; }

inline VF pow2_magic(VF t) {
  __m128i b = _mm_add_epi32(_mm_castps_si128(t.v), _mm_set1_epi32(127));
  return {_mm_castsi128_ps(_mm_slli_epi32(b, 23))};
}
inline void transpose(VF* r) { _MM_TRANSPOSE4_PS(r[0].v, r[1].v, r[2].v, r[3].v); }
inline void transpose(VD* r) {
  __m128d t0 = _mm_unpacklo_pd(r[0].v, r[1].v), t1 = _mm_unpackhi_pd(r[0].v, r[1].v);
  r[0].v = t0;
  r[1].v = t1;
}
inline VD pow2_magic(VD t) {
  __m128i b = _mm_add_epi64(_mm_castpd_si128(t.v), _mm_set1_epi64x(1023));
  return {_mm_castsi128_pd(_mm_slli_epi64(b, 52))};
}

inline double fold_sum(VD v) { return _mm_cvtsd_f64(_mm_add_sd(v.v, _mm_unpackhi_pd(v.v, v.v))); }
inline double fold_max(VD v) { return _mm_cvtsd_f64(_mm_max_sd(_mm_unpackhi_pd(v.v, v.v), v.v)); }
inline float fold_max(VF v) {
  __m128 b = _mm_max_ps(_mm_movehl_ps(v.v, v.v), v.v);
  return _mm_cvtss_f32(_mm_max_ss(_mm_shuffle_ps(b, b, 1), b));
}
inline VD lookup16(const double* tbl, VD t) {
  const __m128i b = _mm_castpd_si128(t.v);
  const int64_t j0 = _mm_cvtsi128_si64(b) & 15, j1 = _mm_cvtsi128_si64(_mm_unpackhi_epi64(b, b)) & 15;
  return {_mm_set_pd(tbl[j1], tbl[j0])};
}
inline VD pow2_16(VD t) {
  __m128i b = _mm_slli_epi64(_mm_castpd_si128(t.v), 48);
  b = _mm_and_si128(b, _mm_set1_epi64x((long long)0xFFF0000000000000ull));
  return {_mm_castsi128_pd(_mm_add_epi64(b, _mm_set1_epi64x(0x3FF0000000000000ll)))};
}

#else
// ------------------------------------------------------------------------ portable C++
// Non-x86 targets: plain arrays that the compiler vectorises for its default target
// (NEON on aarch64). Same operations, same bits.
#define DK_VEC_NAME "baseline"
constexpr int kNF = 8, kND = 4;
struct VF { float v[kNF]; };
struct VD { double v[kND]; };
struct MF { bool m[kNF]; };
struct MD { bool m[kND]; };

#define DK_LANES(N) for (int i = 0; i < N; ++i)
inline VF splat(float x) { VF r; DK_LANES(kNF) r.v[i] = x; return r; }
inline VD splat(double x) { VD r; DK_LANES(kND) r.v[i] = x; return r; }
inline VF load(const float* p) { VF r; DK_LANES(kNF) r.v[i] = p[i]; return r; }
inline VF fmadd(VF a, VF b, VF c) { VF r; DK_LANES(kNF) r.v[i] = std::fma(a.v[i], b.v[i], c.v[i]); return r; }
inline VF sub_exact_product(VF c, VF a, VF b) { VF r; DK_LANES(kNF) r.v[i] = c.v[i] - a.v[i] * b.v[i]; return r; }
inline VD load(const double* p) { VD r; DK_LANES(kND) r.v[i] = p[i]; return r; }
inline VF load_partial(const float* p, int64_t n, float fill) { VF r; DK_LANES(kNF) r.v[i] = i < n ? p[i] : fill; return r; }
inline VD load_partial(const double* p, int64_t n, double fill) { VD r; DK_LANES(kND) r.v[i] = i < n ? p[i] : fill; return r; }
inline void store(float* p, VF a) { DK_LANES(kNF) p[i] = a.v[i]; }
inline void store(double* p, VD a) { DK_LANES(kND) p[i] = a.v[i]; }
inline void store_partial(float* p, VF a, int64_t n) { for (int64_t i = 0; i < n; ++i) p[i] = a.v[i]; }
inline void store_partial(double* p, VD a, int64_t n) { for (int64_t i = 0; i < n; ++i) p[i] = a.v[i]; }
inline void stream_store(float* p, VF a) { store(p, a); }
inline void stream_store(double* p, VD a) { store(p, a); }
inline void stream_fence() {}

#define DK_BINOP(V, N, OP) inline V operator OP(V a, V b) { V r; DK_LANES(N) r.v[i] = a.v[i] OP b.v[i]; return r; }
DK_BINOP(VF, kNF, +) DK_BINOP(VF, kNF, -) DK_BINOP(VF, kNF, *)
DK_BINOP(VD, kND, +) DK_BINOP(VD, kND, -) DK_BINOP(VD, kND, *) DK_BINOP(VD, kND, /)
#undef DK_BINOP
inline VF vmax(VF a, VF b) { VF r; DK_LANES(kNF) r.v[i] = a.v[i] > b.v[i] ? a.v[i] : b.v[i]; return r; }
inline VD vmax(VD a, VD b) { VD r; DK_LANES(kND) r.v[i] = a.v[i] > b.v[i] ? a.v[i] : b.v[i]; return r; }
inline MF eq(VF a, VF b) { MF r; DK_LANES(kNF) r.m[i] = a.v[i] == b.v[i]; return r; }
inline MF lt(VF a, VF b) { MF r; DK_LANES(kNF) r.m[i] = a.v[i] < b.v[i]; return r; }
inline MF nan_mask(VF a) { MF r; DK_LANES(kNF) r.m[i] = a.v[i] != a.v[i]; return r; }
inline MD eq(VD a, VD b) { MD r; DK_LANES(kND) r.m[i] = a.v[i] == b.v[i]; return r; }
inline MD lt(VD a, VD b) { MD r; DK_LANES(kND) r.m[i] = a.v[i] < b.v[i]; return r; }
inline MD nan_mask(VD a) { MD r; DK_LANES(kND) r.m[i] = a.v[i] != a.v[i]; return r; }
inline MF operator|(MF a, MF b) { MF r; DK_LANES(kNF) r.m[i] = a.m[i] || b.m[i]; return r; }
inline MD operator|(MD a, MD b) { MD r; DK_LANES(kND) r.m[i] = a.m[i] || b.m[i]; return r; }
inline MF operator&(MF a, MF b) { MF r; DK_LANES(kNF) r.m[i] = a.m[i] && b.m[i]; return r; }
inline MD operator&(MD a, MD b) { MD r; DK_LANES(kND) r.m[i] = a.m[i] && b.m[i]; return r; }
inline bool any(MF m) { bool r = false; DK_LANES(kNF) r |= m.m[i]; return r; }
inline bool any(MD m) { bool r = false; DK_LANES(kND) r |= m.m[i]; return r; }
inline bool all(MD m) { bool r = true; DK_LANES(kND) r &= m.m[i]; return r; }
inline VF select(MF m, VF a, VF b) { VF r; DK_LANES(kNF) r.v[i] = m.m[i] ? a.v[i] : b.v[i]; return r; }
inline VD select(MD m, VD a, VD b) { VD r; DK_LANES(kND) r.v[i] = m.m[i] ? a.v[i] : b.v[i]; return r; }
inline VF add_if(MF m, VF acc, VF x) { VF r; DK_LANES(kNF) r.v[i] = acc.v[i] + (m.m[i] ? x.v[i] : 0.0f); return r; }
inline VD add_if(MD m, VD acc, VD x) { VD r; DK_LANES(kND) r.v[i] = acc.v[i] + (m.m[i] ? x.v[i] : 0.0); return r; }
inline VF add_unless(MF m, VF acc, VF x) { VF r; DK_LANES(kNF) r.v[i] = acc.v[i] + (m.m[i] ? 0.0f : x.v[i]); return r; }
inline VD add_unless(MD m, VD acc, VD x) { VD r; DK_LANES(kND) r.v[i] = acc.v[i] + (m.m[i] ? 0.0 : x.v[i]); return r; }
inline VD lo_f64(VF a) { VD r; DK_LANES(kND) r.v[i] = a.v[i]; return r; }
inline VD hi_f64(VF a) { VD r; DK_LANES(kND) r.v[i] = a.v[kND + i]; return r; }
inline VF to_f32(VD lo, VD hi) {
  VF r;
  DK_LANES(kND) { r.v[i] = (float)lo.v[i]; r.v[kND + i] = (float)hi.v[i]; }
  return r;
}
inline VF pow2_magic(VF t) { VF r; DK_LANES(kNF) r.v[i] = float_of((bits_of(t.v[i]) + 127u) << 23); return r; }
inline VD pow2_magic(VD t) { VD r; DK_LANES(kND) r.v[i] = double_of((bits_of(t.v[i]) + 1023u) << 52); return r; }
template <class T, int N>
inline T fold_lanes(const T* in, bool is_max) {
  T a[N];
  for (int i = 0; i < N; ++i) a[i] = in[i];
  for (int w = N / 2; w >= 1; w /= 2)
    for (int j = 0; j < w; ++j) a[j] = is_max ? (a[j + w] > a[j] ? a[j + w] : a[j]) : a[j] + a[j + w];
  return a[0];
}
inline double fold_sum(VD v) { return fold_lanes<double, kND>(v.v, false); }
inline double fold_max(VD v) { return fold_lanes<double, kND>(v.v, true); }
inline float fold_max(VF v) { return fold_lanes<float, kNF>(v.v, true); }
inline VD lookup16(const double* tbl, VD t) { VD r; DK_LANES(kND) r.v[i] = tbl[bits_of(t.v[i]) & 15]; return r; }
inline VD pow2_16(VD t) {
  VD r;
  DK_LANES(kND) r.v[i] = double_of(((bits_of(t.v[i]) << 48) & 0xFFF0000000000000ull) + 0x3FF0000000000000ull);
  return r;
}
template <class V, int N>
inline void transpose_lanes(V* r) {
  for (int i = 0; i < N; ++i)
    for (int j = i + 1; j < N; ++j) {
      auto tmp = r[i].v[j];
      r[i].v[j] = r[j].v[i];
      r[j].v[i] = tmp;
    }
}
inline void transpose(VF* r) { transpose_lanes<VF, kNF>(r); }
inline void transpose(VD* r) { transpose_lanes<VD, kND>(r); }
#undef DK_LANES
#endif

// ------------------------------------------------------------------------ shared helpers
// Ask for the cache line holding p (into L2): used to fetch the next block while the
// current one is being reduced, so that memory and arithmetic overlap. Always inlined:
// GCC finds an out-of-line wrapper of the prefetch builtin free of side effects and drops
// the calls where it was not inlined early (the short-row tiles lost every prefetch).
DK_INLINE void prefetch(const void* p) {
#if defined(__SSE2__) || defined(_M_X64)
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
