// float16 <-> float32 conversion of contiguous arrays, correctly rounded (to nearest, ties
// to even, with subnormals, overflow to infinity and NaN kept NaN): NumPy's casts, except
// that a signalling NaN comes out quiet. Re-included per ISA
// level inside `namespace divkern::DK_ISA_NS`; includes nothing. With F16C (the AVX2 and
// AVX-512 levels) the hardware converts; elsewhere the bit manipulations below give the
// same bits, NaN included (quieted, upper payload bits kept, as F16C does).

inline float half_bits_to_float(uint16_t h) {
  const uint32_t sign = (uint32_t)(h & 0x8000u) << 16, exp = (h >> 10) & 0x1Fu, man = h & 0x3FFu;
  uint32_t bits;
  if (exp == 0x1Fu) {
    bits = sign | 0x7F800000u | (man << 13) | (man ? 0x00400000u : 0u);  // inf, or NaN made quiet
  } else if (exp != 0) {
    bits = sign | ((exp + 112u) << 23) | (man << 13);
  } else if (man == 0) {
    bits = sign;
  } else {  // subnormal half: normalise
    int e = -1;
    uint32_t m = man;
    do {
      ++e;
      m <<= 1;
    } while (!(m & 0x400u));
    bits = sign | ((uint32_t)(112 - e) << 23) | ((m & 0x3FFu) << 13);
  }
  return float_of(bits);
}

inline uint16_t float_to_half_bits(float f) {
  const uint32_t x = bits_of(f);
  const uint16_t sign = (uint16_t)((x >> 16) & 0x8000u);
  const uint32_t ax = x & 0x7FFFFFFFu;
  if (ax >= 0x7F800000u)  // inf, or NaN made quiet with its upper payload bits
    return (uint16_t)(sign | 0x7C00u | (ax > 0x7F800000u ? 0x0200u | ((ax >> 13) & 0x3FFu) : 0u));
  if (ax >= 0x477FF000u) return (uint16_t)(sign | 0x7C00u);  // rounds to >= 65520: infinity
  if (ax >= 0x38800000u) {  // normal half: drop 13 bits, to nearest even
    const uint32_t r = ax - 0x38000000u;  // rebias the exponent (127 -> 15)
    const uint32_t h = (r + 0x0FFFu + ((r >> 13) & 1u)) >> 13;
    return (uint16_t)(sign | h);
  }
  if (ax < 0x33000000u) return sign;  // below half the smallest subnormal: +-0
  // subnormal half: the significand with its implicit bit, shifted right to the 2^-24 grid
  const uint32_t e = ax >> 23, m = (ax & 0x7FFFFFu) | 0x800000u;
  const uint32_t shift = 126u - e;  // 14..24
  const uint32_t h = m >> shift, rest = m & ((1u << shift) - 1u), half = 1u << (shift - 1);
  return (uint16_t)(sign | (h + (rest > half || (rest == half && (h & 1u)))));
}

inline void half_to_float(const uint16_t* src, float* dst, int64_t n) {
  int64_t i = 0;
#if defined(__AVX512F__)
  for (; i + 16 <= n; i += 16)
    _mm512_storeu_ps(dst + i, _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + i))));
#elif defined(DK_X86_F16C)
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i))));
#endif
  for (; i < n; ++i) dst[i] = half_bits_to_float(src[i]);
}

inline void float_to_half(const float* src, uint16_t* dst, int64_t n) {
  int64_t i = 0;
#if defined(__AVX512F__)
  for (; i + 16 <= n; i += 16)
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + i),
                        _mm512_cvtps_ph(_mm512_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
#elif defined(DK_X86_F16C)
  for (; i + 8 <= n; i += 8)
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + i),
                     _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
#endif
  for (; i < n; ++i) dst[i] = float_to_half_bits(src[i]);
}
