// Which ISA level's kernels run. Chosen once at first use (the best level that is both
// compiled in and supported by the CPU); the Python layer applies DIVKERN_ISA at import
// and tests switch levels in-process with set_active_isa.
#pragma once

#include "core/cpu.hpp"

namespace divkern {

bool isa_compiled(Isa isa);
Isa best_isa();
Isa active_isa();
// Throws std::invalid_argument when the level is not compiled into this build, and
// std::runtime_error when this CPU cannot run it.
void set_active_isa(Isa isa);

// The kernel tables of one family, one per ISA level. A level's fill function is itself
// compiled for that level (the compiler may use its instructions even to store function
// pointers), so it only runs where the CPU supports the level; the others stay empty.
// `fill[i]` is null for a level that is not compiled in.
// DK_LEVEL_FILLS(FN, TYPE) declares `void FN(TYPE&)` in every compiled ISA namespace (the
// *_kernels.cpp files define them) and DK_LEVEL_FILL_ARRAY(FN) lists them for LevelTables.
#if defined(DK_COMPILED_AVX2)
#define DK_WITH_AVX2(yes, no) yes
#else
#define DK_WITH_AVX2(yes, no) no
#endif
#if defined(DK_COMPILED_AVX512)
#define DK_WITH_AVX512(yes, no) yes
#else
#define DK_WITH_AVX512(yes, no) no
#endif
#define DK_LEVEL_FILLS(FN, TYPE)            \
  namespace isa_baseline { void FN(TYPE&); } \
  DK_WITH_AVX2(namespace isa_avx2 { void FN(TYPE&); }, )  \
  DK_WITH_AVX512(namespace isa_avx512 { void FN(TYPE&); }, )
#define DK_LEVEL_FILL_ARRAY(FN) \
  { &isa_baseline::FN, DK_WITH_AVX2(&isa_avx2::FN, nullptr), DK_WITH_AVX512(&isa_avx512::FN, nullptr) }

template <class Table>
class LevelTables {
 public:
  using Fill = void (*)(Table&);
  explicit LevelTables(const Fill (&fill)[kNumIsa]) {
    for (int i = 0; i < kNumIsa; ++i) {
      filled_[i] = fill[i] && cpu_supports((Isa)i);
      if (filled_[i]) fill[i](tables_[i]);
    }
  }
  // The table of a level, or nullptr when it is not compiled in or this CPU cannot run it.
  const Table* get(Isa isa) const { return filled_[(int)isa] ? &tables_[(int)isa] : nullptr; }

 private:
  Table tables_[kNumIsa];
  bool filled_[kNumIsa] = {};
};

}  // namespace divkern
