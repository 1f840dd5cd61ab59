// Row-op kernels of one ISA level (rowops.hpp), compiled once per level like
// lse_kernels.cpp; exports only fill_rowop_table().
#include "core/kernel_unit.hpp"
#include "core/scratch.hpp"
#include "rowreduce/kernels.hpp"
#include "rowreduce/rowops.hpp"

namespace divkern {
namespace DK_ISA_NS {

namespace tuning = rowreduce::tuning;
using rowreduce::RowOpParams;
using rowreduce::RowOpTask;
using rowreduce::State;
using rowreduce::Task;
using tuning::kColMaxBlock;
using tuning::kColTileBytes;

#include "core/odometer-inl.hpp"
#include "simd/vec-inl.hpp"
#include "simd/math-inl.hpp"
#include "simd/half-inl.hpp"
#include "rowreduce/engine-inl.hpp"
#include "rowreduce/rowops-inl.hpp"
#include "rowreduce/ops/crossentropy-inl.hpp"
#include "rowreduce/ops/divergences-inl.hpp"

template <class Op>
void fill_rowop(rowreduce::RowOpTable& t, rowreduce::RowOpId id) {
  t.run[(int)id][0] = &RowOps<float, Op>::run;
  t.run[(int)id][1] = &RowOps<double, Op>::run;
}

void fill_rowop_table(rowreduce::RowOpTable& t) {
  using rowreduce::RowOpId;
  t.isa = DK_ISA_NAME;
  fill_rowop<CrossEntropyIndex>(t, RowOpId::CrossEntropy);
  fill_rowop<CrossEntropyProb>(t, RowOpId::CrossEntropyProb);
  fill_rowop<SoftmaxEntropy>(t, RowOpId::SoftmaxEntropy);
  fill_rowop<LogSoftmaxAt>(t, RowOpId::LogSoftmaxAt);
  fill_rowop<KLDivergence>(t, RowOpId::KL);
  fill_rowop<JSDivergence>(t, RowOpId::JSD);
  fill_rowop<TVDistance>(t, RowOpId::TVD);
}

}  // namespace DK_ISA_NS
}  // namespace divkern
