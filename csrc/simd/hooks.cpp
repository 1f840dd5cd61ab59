#include "core/dispatch.hpp"
#include "simd/hooks.hpp"

namespace divkern {
DK_LEVEL_FILLS(fill_math_hooks, simd::MathHooks)

namespace simd {
const MathHooks* hooks_for(Isa isa) {
  static const LevelTables<MathHooks> tables(DK_LEVEL_FILL_ARRAY(fill_math_hooks));
  return tables.get(isa);
}
}  // namespace simd
}  // namespace divkern
