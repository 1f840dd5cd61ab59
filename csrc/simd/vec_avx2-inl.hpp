// AVX2 + FMA backend of the vector vocabulary (vec-inl.hpp). Included inside the per-ISA
// namespace; includes nothing.
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
DK_INLINE void transpose(VF* r) {
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
DK_INLINE void transpose(VD* r) {
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

