#include "core/dispatch.hpp"
#include "divergence/kernels.hpp"

namespace divkern {
DK_LEVEL_FILLS(fill_divergence_table, divergence::Table)

namespace divergence {
const Table* table_for(Isa isa) {
  static const LevelTables<Table> tables(DK_LEVEL_FILL_ARRAY(fill_divergence_table));
  return tables.get(isa);
}
}  // namespace divergence
}  // namespace divkern
