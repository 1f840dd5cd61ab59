// What crosses from the fused linear cross-entropy's driver (lce.cpp, compiled once) to
// its per-ISA kernels (lce_kernels.cpp, compiled once per level): plain structs and
// function pointers.
#pragma once

#include <cstdint>

#include "core/cpu.hpp"

namespace divkern {
namespace lce {

// The rows of one block of logits, produced by the GEMM into `tile` (row r at
// tile + r * ld, v columns): the kernel adds the bias, reduces each row with the
// engine's TileReducer, writes loss_r, and with `grad` turns the row into its gradient in
// place.
struct RowPass {
  void* tile = nullptr;
  int64_t ld = 0, v = 0;
  const void* bias = nullptr;
  const int64_t* label = nullptr;   // per block row, a class in [0, v)
  double smoothing = 0.0, z_loss = 0.0;
  bool grad = false;
  double grad_scale = 0.0;
  double* loss = nullptr;           // per block row
};

struct Table {
  const char* isa = nullptr;
  // rows [r0, r1) of the block, float32 or float64 tiles
  void (*rows_f32)(const RowPass&, int64_t r0, int64_t r1) = nullptr;
  void (*rows_f64)(const RowPass&, int64_t r0, int64_t r1) = nullptr;
};

// The table of an ISA level, or nullptr when it is not compiled in or this CPU cannot run it.
const Table* table_for(Isa isa);

}  // namespace lce
}  // namespace divkern
