// What crosses from the divergence drivers (divergence.cpp, compiled once) to the kernels
// of one ISA level (divergence_kernels.cpp, compiled per level): one elementwise map per
// op over contiguous double buffers. Everything else (loads, dtype conversion, strides,
// sums, threads) is the drivers' and does not depend on the level.
#pragma once

#include <cstdint>

#include "core/cpu.hpp"

namespace divkern {
namespace divergence {

// The per-element functions (terms-inl.hpp):
//   Entr           -x log x                                   (scipy.special.entr)
//   RelEntr        x log(x / y)                               (scipy.special.rel_entr)
//   KlDiv          x log(x / y) - x + y                       (scipy.special.kl_div)
//   JensenShannon  rel_entr(x, m) + rel_entr(y, m), m = (x + y) / 2, as a sum of two
//                  kl_div terms (the same value for finite non-negative input, never < 0)
enum class Op : int { Entr = 0, RelEntr = 1, KlDiv = 2, JensenShannon = 3 };
constexpr int kNumOps = 4;

// out[i] = op(x[i] * sx[i * sstep], y[i] * sy[i * sstep]) for i < n. `sx`/`sy` null: no
// scaling (the elementwise functions); `y` is ignored by Entr. Every lane of every level
// computes the same bits (single IEEE operations per lane, csrc/simd/README.md).
using ApplyFn = void (*)(const double* x, const double* y, const double* sx, const double* sy, int64_t sstep,
                         double* out, int64_t n);

struct Table {
  const char* isa = nullptr;
  ApplyFn apply[kNumOps] = {};
};

// The table of a level, or nullptr when it is not compiled in or this CPU cannot run it.
const Table* table_for(Isa isa);

}  // namespace divergence
}  // namespace divkern
