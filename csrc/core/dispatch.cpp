#include "core/dispatch.hpp"

#include <atomic>
#include <stdexcept>
#include <string>

namespace divkern {

bool isa_compiled(Isa isa) {
  switch (isa) {
    case Isa::Baseline: return true;
#if defined(DK_COMPILED_AVX2)
    case Isa::Avx2: return true;
#endif
#if defined(DK_COMPILED_AVX512)
    case Isa::Avx512: return true;
#endif
    default: return false;
  }
}

Isa best_isa() {
  for (int i = kNumIsa - 1; i > 0; --i)
    if (isa_compiled((Isa)i) && cpu_supports((Isa)i)) return (Isa)i;
  return Isa::Baseline;
}

namespace {
std::atomic<int>& active() {
  static std::atomic<int> level{(int)best_isa()};
  return level;
}
}  // namespace

Isa active_isa() { return (Isa)active().load(std::memory_order_relaxed); }

void set_active_isa(Isa isa) {
  if (!isa_compiled(isa))
    throw std::invalid_argument(std::string("ISA level '") + isa_name(isa) + "' is not compiled into this build");
  if (!cpu_supports(isa))
    throw std::runtime_error(std::string("this CPU (") + cpu_brand() + ") cannot run ISA level '" + isa_name(isa) +
                             "'");
  active().store((int)isa, std::memory_order_relaxed);
}

}  // namespace divkern
