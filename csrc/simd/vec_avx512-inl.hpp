// AVX-512 (F, DQ, BW, VL) backend of the vector vocabulary (vec-inl.hpp). Included inside the
// per-ISA namespace; includes nothing.
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
DK_INLINE void transpose(VF* r) {
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
DK_INLINE void transpose(VD* r) {
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

