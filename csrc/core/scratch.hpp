// Per-thread scratch memory for the kernels' tiles and block buffers, so that worker stacks
// stay small (musl's threads get 128 KiB; an op with two inputs would overflow them) and
// nothing is allocated per block.
//
//   ScratchFrame f;              // marks the calling thread's arena
//   float* tile = f.take<float>(n);   // 64-byte aligned, valid until f goes out of scope
//
// Frames nest (last taken, first released). Compiled once, never per ISA level: the
// kernels call it, nothing of it is inlined into them but a cast.
#pragma once

#include <cstddef>
#include <cstdint>

namespace divkern {

class ScratchFrame {
 public:
  ScratchFrame();
  ~ScratchFrame();
  ScratchFrame(const ScratchFrame&) = delete;
  ScratchFrame& operator=(const ScratchFrame&) = delete;

  // n objects of a trivial type T, 64-byte aligned, uninitialised.
  template <class T>
  T* take(int64_t n) {
    return static_cast<T*>(take_bytes(static_cast<size_t>(n) * sizeof(T)));
  }
  void* take_bytes(size_t bytes);

 private:
  size_t chunk_, used_;
};

// Bytes the calling thread's arena holds (for tests).
size_t scratch_capacity();

}  // namespace divkern
