#include "core/dispatch.hpp"
#include "lce/kernels.hpp"

namespace divkern {
DK_LEVEL_FILLS(fill_lce_table, lce::Table)

namespace lce {
const Table* table_for(Isa isa) {
  static const LevelTables<Table> tables(DK_LEVEL_FILL_ARRAY(fill_lce_table));
  return tables.get(isa);
}
}  // namespace lce
}  // namespace divkern
