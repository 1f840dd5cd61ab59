#include "core/dispatch.hpp"
#include "rowreduce/kernels.hpp"

namespace divkern {
namespace isa_baseline { void fill_rowreduce_table(rowreduce::Table&); }
#if defined(DK_COMPILED_AVX2)
namespace isa_avx2 { void fill_rowreduce_table(rowreduce::Table&); }
#endif
#if defined(DK_COMPILED_AVX512)
namespace isa_avx512 { void fill_rowreduce_table(rowreduce::Table&); }
#endif

namespace rowreduce {
namespace {
// A level's fill function is itself compiled for that level (the compiler may use its
// instructions even to store function pointers), so it only runs where the CPU supports
// the level; the others keep an empty table.
struct Tables {
  Table t[kNumIsa];
  Tables() {
    isa_baseline::fill_rowreduce_table(t[(int)Isa::Baseline]);
#if defined(DK_COMPILED_AVX2)
    if (cpu_supports(Isa::Avx2)) isa_avx2::fill_rowreduce_table(t[(int)Isa::Avx2]);
#endif
#if defined(DK_COMPILED_AVX512)
    if (cpu_supports(Isa::Avx512)) isa_avx512::fill_rowreduce_table(t[(int)Isa::Avx512]);
#endif
  }
};
}  // namespace

const Table* table_for(Isa isa) {
  static const Tables tables;
  const Table& t = tables.t[(int)isa];
  return t.isa ? &t : nullptr;
}

}  // namespace rowreduce
}  // namespace divkern
