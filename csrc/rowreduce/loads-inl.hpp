// Element loads: how stored elements become the values the kernels compute with. float32
// and float64 are read in place; float16 (stored as its bits, `uint16_t`) is computed in
// float32 and converted block by block, tile by tile, into the thread's scratch arena, so
// a float16 input costs no copy proportional to its size. The converted values are exactly
// those of a float32 copy, and the reduction order depends on the compute type only, so
// results equal the float32 computation of the same values, bit for bit. Part of the
// row-reduction engine (engine-inl.hpp); includes nothing.

template <class S> struct ComputeOf { using type = S; };
template <> struct ComputeOf<uint16_t> { using type = float; };
template <class S> using Compute = typename ComputeOf<S>::type;
// whether stored elements are the computed values (no conversion)
template <class S> constexpr bool kInPlace = std::is_same<S, Compute<S>>::value;

DK_INLINE float to_compute(uint16_t h) { return half_bits_to_float(h); }
DK_INLINE float to_compute(float x) { return x; }
DK_INLINE double to_compute(double x) { return x; }
DK_INLINE uint16_t to_storage(float x, uint16_t*) { return float_to_half_bits(x); }
DK_INLINE float to_storage(float x, float*) { return x; }
DK_INLINE double to_storage(double x, double*) { return x; }

// n contiguous stored elements as compute values: in place, or converted into `buf`.
template <class S>
DK_INLINE const Compute<S>* load_run(const S* p, int64_t n, Compute<S>* buf) {
  if constexpr (kInPlace<S>) {
    (void)n, (void)buf;
    return p;
  } else {
    half_to_float(p, buf, n);
    return buf;
  }
}

// n contiguous compute values stored (converted, rounded to nearest even for float16).
template <class S>
DK_INLINE void store_run(S* dst, const Compute<S>* src, int64_t n) {
  if constexpr (kInPlace<S>) {
    for (int64_t i = 0; i < n; ++i) dst[i] = src[i];
  } else {
    float_to_half(src, dst, n);
  }
}
