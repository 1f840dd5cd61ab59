// Compiler- and target-neutral spellings used by the kernels (GCC, Clang, MSVC, MinGW).
#pragma once

#include <limits>

// x86 SIMD levels: GCC and Clang define __SSE2__ / __AVX2__ / __AVX512F__ from the target
// flags; MSVC never defines __SSE2__ (it is implied on x64), and defines __AVX2__ /
// __AVX512F__ under /arch.
#if defined(__SSE2__) || defined(_M_X64) || defined(_M_AMD64) || (defined(_M_IX86_FP) && _M_IX86_FP >= 2)
#define DK_X86_SSE2 1
#endif

// F16C: implied by MSVC's /arch:AVX2 (the avx2 level runs only where the CPU has it).
#if defined(__F16C__) || (defined(_MSC_VER) && !defined(__clang__) && defined(__AVX2__))
#define DK_X86_F16C 1
#endif

// Results must not depend on the ISA level: no contraction of a*b+c into an FMA (GCC and
// Clang get -ffp-contract=off from CMake; MSVC before VS 2022 contracts under /arch:AVX2).
#if defined(_MSC_VER) && !defined(__clang__) && !defined(__GNUC__)
#pragma fp_contract(off)
#endif

#if defined(_MSC_VER) && !defined(__clang__)
#define DK_INLINE __forceinline
#define DK_NOINLINE __declspec(noinline)
#define DK_UNROLL
#else
#define DK_INLINE inline __attribute__((always_inline))
#define DK_NOINLINE __attribute__((noinline))
#define DK_UNROLL _Pragma("GCC unroll 16")
#endif

namespace divkern {
// Constants instead of compiler builtins (MSVC has no __builtin_inf / __builtin_nan).
constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
}  // namespace divkern
