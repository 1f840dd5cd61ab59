#include "core/scratch.hpp"

#include <cstdlib>
#include <new>
#include <vector>

namespace divkern {
namespace {

constexpr size_t kAlign = 64;
constexpr size_t kChunkBytes = size_t(1) << 20;  // a thread's first chunk: every tile of today's kernels

struct Chunk {
  char* base;
  size_t cap;
};

// The chunks of one thread, used as a stack: the current chunk is the last one in use.
struct Arena {
  std::vector<Chunk> chunks;
  size_t current = 0;  // index of the chunk being filled
  size_t used = 0;     // bytes used in it
  ~Arena() {
    for (Chunk& c : chunks) free_chunk(c);
  }
  void* take(size_t bytes) {
    bytes = (bytes + kAlign - 1) / kAlign * kAlign;
    for (;;) {
      if (current < chunks.size() && chunks[current].cap - used >= bytes) {
        void* p = chunks[current].base + used;
        used += bytes;
        return p;
      }
      if (current + 1 < chunks.size() && chunks[current + 1].cap >= bytes) {
        ++current;
        used = 0;
        continue;
      }
      // a new chunk after the current one (a larger request than the later chunks hold
      // replaces them: they are not in use)
      const size_t cap = bytes > kChunkBytes ? bytes : kChunkBytes;
      void* mem = nullptr;
#if defined(_WIN32)
      mem = _aligned_malloc(cap, kAlign);
#else
      if (posix_memalign(&mem, kAlign, cap) != 0) mem = nullptr;
#endif
      if (!mem) throw std::bad_alloc();
      const size_t at = chunks.empty() ? 0 : current + 1;
      if (at < chunks.size()) {
        free_chunk(chunks[at]);
        chunks[at] = {static_cast<char*>(mem), cap};
      } else {
        chunks.push_back({static_cast<char*>(mem), cap});
      }
      current = at;
      used = 0;
    }
  }
  static void free_chunk(Chunk& c) {
#if defined(_WIN32)
    _aligned_free(c.base);
#else
    std::free(c.base);
#endif
  }
};

Arena& arena() {
  thread_local Arena a;
  return a;
}

}  // namespace

ScratchFrame::ScratchFrame() {
  Arena& a = arena();
  chunk_ = a.current;
  used_ = a.used;
}

ScratchFrame::~ScratchFrame() {
  Arena& a = arena();
  a.current = chunk_;
  a.used = used_;
}

void* ScratchFrame::take_bytes(size_t bytes) { return arena().take(bytes); }

size_t scratch_capacity() {
  size_t total = 0;
  for (const Chunk& c : arena().chunks) total += c.cap;
  return total;
}

}  // namespace divkern
