// Portable C++ backend of the vector vocabulary (vec-inl.hpp): arrays of lanes, for targets
// without an x86 SIMD level. Included inside the per-ISA namespace; includes nothing.
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
DK_INLINE void transpose(VF* r) { transpose_lanes<VF, kNF>(r); }
DK_INLINE void transpose(VD* r) { transpose_lanes<VD, kND>(r); }
#undef DK_LANES
