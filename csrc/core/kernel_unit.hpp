// The common head of every source compiled once per ISA level (the *_kernels.cpp files):
// the standard headers the per-ISA -inl.hpp files rely on (they include nothing), the
// portable spellings and the intrinsics of the level, and the check that CMake named the
// level's namespace. Include it first, outside any namespace.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <type_traits>

#include "core/platform.hpp"
#if defined(DK_X86_SSE2) || defined(__AVX2__) || defined(__AVX512F__)
#include <immintrin.h>
#endif

#ifndef DK_ISA_NS
#error "DK_ISA_NS must name the ISA namespace (set by CMake)"
#endif
