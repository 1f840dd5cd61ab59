// SSE2 (the x86-64 baseline) backend of the vector vocabulary (vec-inl.hpp). Included inside
// the per-ISA namespace; includes nothing.
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
DK_INLINE void transpose(VF* r) { _MM_TRANSPOSE4_PS(r[0].v, r[1].v, r[2].v, r[3].v); }
DK_INLINE void transpose(VD* r) {
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

