// The softmax and log_softmax ops: a reduction to per-row statistics (p1, p2), then a
// second pass that writes a full-size output from them:
//   softmax      p1 = max, p2 = 1 / sum,   out = exp(x - p1) * p2      (Fast sums)
//   log_softmax  p1 = max, p2 = log(sum),  out = (x - p1) - p2         (Masked sums: the
//                largest element's tiny log-probability survives)
// Special rows are folded into p1: NaN for all-NaN output rows (any NaN, or max = -inf),
// +inf for rows holding +inf. Part of the row-reduction engine (engine-inl.hpp; the op
// contract is in csrc/rowreduce/README.md); includes nothing.

template <bool kLog>
struct SoftmaxOp {
  static constexpr Mode kMode = kLog ? Mode::Masked : Mode::Fast;
  static constexpr bool kWeighted = false;
  static constexpr bool kSecondPass = true;
  static constexpr bool kRefines = false;

  // (p1, p2) of `count` rows from their states; p1/p2 may alias m/c (each vector of states
  // is read before it is written).
  static void stats(const double* m, const double* c, const double* s, int64_t count, double* p1, double* p2) {
    const VD nan = splat(kNaN);
    for (int64_t i = 0; i < count; i += kND) {
      const int64_t k = count - i < kND ? count - i : kND;
      VD vm = load_partial(m + i, k, 0.0), vc = load_partial(c + i, k, 1.0), vs = load_partial(s + i, k, 0.0);
      VD q = !kLog ? splat(1.0) / (vc + vs)
                   : any(lt(splat(0.0), vs) | lt(vs, splat(0.0)) | nan_mask(vs)) ? log1p(vs / vc) + log(vc) : log(vc);
      VD pm = select(nan_mask(vs) | nan_mask(vc) | eq(vm, splat(-kInf)), nan, vm);
      store_partial(p1 + i, pm, k);
      store_partial(p2 + i, q, k);
    }
  }

  // Second pass over elements [0, len) of a contiguous row segment.
  template <class T>
  static void write_segment(const T* x, T* out, int64_t len, double p1, double p2, bool stream = false) {
    using V = typename Lanes<T>::V;
    if (!(p1 > -kInf && p1 < kInf)) {
      // NaN rows, and rows holding +inf: softmax is NaN everywhere; log_softmax is -inf
      // except at the infinite elements (SciPy's arithmetic: x - inf - inf).
      for (int64_t j = 0; j < len; ++j) {
        T v = T(kNaN);
        if (kLog && p1 == kInf) v = x[j] == T(kInf) ? T(kNaN) : T(-kInf);
        out[j] = v;
      }
      return;
    }
    if constexpr (!kLog) {
      map_segment(x, out, len, stream, ExpScaled<V>{splat_as<V>(T(p1)), splat_as<V>(T(p2))});
    } else if constexpr (std::is_same<T, float>::value) {
      map_segment(x, out, len, stream, ShiftedF32{splat(p1), splat(p2)});
    } else {
      map_segment(x, out, len, stream, Shifted<V>{splat_as<V>(T(p1)), splat(p2)});
    }
  }

  // The second pass's elementwise maps, as functors whose call is always inlined into
  // map_segment's loop (GCC did not inline the equivalent lambdas: a call per vector).
  template <class V>
  struct ExpScaled {  // softmax: exp(x - max) * (1 / sum)
    V vm, inv;
    DK_INLINE V operator()(V a) const { return exp_nonpos(a - vm) * inv; }
  };
  template <class V>
  struct Shifted {  // float64 log_softmax: (x - max) - log(sum)
    V vm;
    VD l64;
    DK_INLINE V operator()(V a) const { return (a - vm) - l64; }
  };
  struct ShiftedF32 {  // float32 log_softmax: (x - max) - log(sum) in double, rounded once,
    VD m64, l64;       // which keeps the tiny negative value of a dominant element (SciPy
                       // returns 0 there, scipy#19521)
    DK_INLINE VF operator()(VF a) const { return to_f32((lo_f64(a) - m64) - l64, (hi_f64(a) - m64) - l64); }
  };

  // Per-lane (p1, p2) of a tile of side-by-side lanes, prepared once for all its
  // positions: whether each vector holds a lane without a finite maximum, and for float
  // softmax the statistics already rounded to float.
  template <class T>
  struct LaneStats {
    const double* p1;
    const double* p2;
    std::unique_ptr<bool[]> special;
    std::unique_ptr<float[]> f1, f2;
    LaneStats(const double* q1, const double* q2, int64_t width) : p1(q1), p2(q2) {
      constexpr int N = Lanes<T>::N;
      special.reset(new bool[(size_t)((width + N - 1) / N)]);
      for (int64_t j = 0; j < width; j += N) {
        bool sp = false;
        for (int64_t l = j; l < width && l < j + N; ++l) sp = sp || !(q1[l] > -kInf && q1[l] < kInf);
        special[(size_t)(j / N)] = sp;
      }
      if (std::is_same<T, float>::value && !kLog) {
        f1.reset(new float[(size_t)width]);
        f2.reset(new float[(size_t)width]);
        for (int64_t l = 0; l < width; ++l) {
          f1[(size_t)l] = float(q1[l]);
          f2[(size_t)l] = float(q2[l]);
        }
      }
    }
  };

  // Second pass for one reduction position of `width` side-by-side lanes.
  template <class T>
  static void write_lanes(const T* x, T* out, int64_t width, const LaneStats<T>& st) {
    using V = typename Lanes<T>::V;
    constexpr int N = Lanes<T>::N;
    const double* p1 = st.p1;
    const double* p2 = st.p2;
    for (int64_t j = 0; j < width; j += N) {
      const int64_t k = width - j < N ? width - j : N;
      if (st.special[(size_t)(j / N)]) {
        for (int64_t l = 0; l < k; ++l) write_segment<T>(x + j + l, out + j + l, 1, p1[j + l], p2[j + l]);
        continue;
      }
      V a = k == N ? load(x + j) : load_partial(x + j, k, T(0));
      V r;
      if constexpr (std::is_same<T, float>::value) {
        if constexpr (!kLog) {
          const VF m = k == N ? load(st.f1.get() + j) : load_partial(st.f1.get() + j, k, 0.0f);
          const VF q = k == N ? load(st.f2.get() + j) : load_partial(st.f2.get() + j, k, 0.0f);
          r = exp_nonpos(a - m) * q;
        } else {
          const int64_t k0 = k < kND ? k : kND, k1 = k - k0;
          // (no pointer past the statistics when the second half is empty)
          VD m0 = load_partial(p1 + j, k0, 0.0), m1 = k1 ? load_partial(p1 + j + kND, k1, 0.0) : splat(0.0);
          VD q0 = load_partial(p2 + j, k0, 0.0), q1 = k1 ? load_partial(p2 + j + kND, k1, 0.0) : splat(0.0);
          r = to_f32((lo_f64(a) - m0) - q0, (hi_f64(a) - m1) - q1);
        }
      } else {
        VD m0 = load_partial(p1 + j, k, 0.0), q0 = load_partial(p2 + j, k, 0.0);
        r = !kLog ? exp_nonpos(a - m0) * q0 : (a - m0) - q0;
      }
      if (k == N) store(out + j, r);
      else store_partial(out + j, r, k);
    }
  }
};

using Softmax = SoftmaxOp<false>;
using LogSoftmax = SoftmaxOp<true>;
