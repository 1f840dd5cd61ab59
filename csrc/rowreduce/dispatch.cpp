#include "core/dispatch.hpp"
#include "rowreduce/kernels.hpp"

namespace divkern {
DK_LEVEL_FILLS(fill_rowreduce_table, rowreduce::Table)
DK_LEVEL_FILLS(fill_rowreduce_test_hooks, rowreduce::TestHooks)
DK_LEVEL_FILLS(fill_rowop_table, rowreduce::RowOpTable)

namespace rowreduce {
const Table* table_for(Isa isa) {
  static const LevelTables<Table> tables(DK_LEVEL_FILL_ARRAY(fill_rowreduce_table));
  return tables.get(isa);
}
const RowOpTable* rowop_table_for(Isa isa) {
  static const LevelTables<RowOpTable> tables(DK_LEVEL_FILL_ARRAY(fill_rowop_table));
  return tables.get(isa);
}
const TestHooks* test_hooks_for(Isa isa) {
  static const LevelTables<TestHooks> tables(DK_LEVEL_FILL_ARRAY(fill_rowreduce_test_hooks));
  return tables.get(isa);
}
}  // namespace rowreduce
}  // namespace divkern
