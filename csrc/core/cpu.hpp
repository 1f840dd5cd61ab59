// CPU feature detection and the ISA levels divkern compiles its kernels for.
#pragma once

#include <string>

namespace divkern {

// Ordered: a higher level runs everything a lower one does.
enum class Isa : int { Baseline = 0, Avx2 = 1, Avx512 = 2 };
constexpr int kNumIsa = 3;

const char* isa_name(Isa isa);
// Parses "baseline", "avx2", "avx512" (case-insensitive); false if unknown.
bool parse_isa(const std::string& name, Isa* out);

// Whether this CPU and OS can run code of that level:
//   avx2   = x86-64-v3: AVX2, FMA, F16C, BMI1/2, LZCNT, MOVBE, with OS support for YMM state
//   avx512 = x86-64-v4: avx2 plus AVX-512 F, BW, CD, DQ, VL, with OS support for ZMM state
// Baseline is always supported. Detected once (cpuid, xgetbv) and cached.
bool cpu_supports(Isa isa);

// A one-line description of the processor (brand string where available).
std::string cpu_brand();

}  // namespace divkern
