#include "core/layout.hpp"

#include <algorithm>
#include <cstdlib>
#include <stdexcept>
#include <string>

namespace divkern {
namespace {

struct Axis {
  int64_t size;
  int64_t stride[kNumOperands];
};

// Sort axes outermost first by the magnitude of the input stride (ties keep their order),
// then merge neighbours that every operand traverses as one.
int canonicalise(Axis* axes, int count) {
  std::stable_sort(axes, axes + count, [](const Axis& a, const Axis& b) {
    return std::llabs(a.stride[kX]) > std::llabs(b.stride[kX]);
  });
  int out = 0;
  for (int i = 0; i < count; ++i) {
    if (out > 0) {
      Axis& prev = axes[out - 1];
      bool mergeable = true;
      for (int op = 0; op < kNumOperands; ++op)
        mergeable = mergeable && prev.stride[op] == axes[i].stride[op] * axes[i].size;
      if (mergeable) {
        prev.size *= axes[i].size;
        for (int op = 0; op < kNumOperands; ++op) prev.stride[op] = axes[i].stride[op];
        continue;
      }
    }
    axes[out++] = axes[i];
  }
  return out;
}

void to_dims(const Axis* axes, int count, Dims& d) {
  d.nd = count;
  for (int k = 0; k < count; ++k) {
    d.size[k] = axes[k].size;
    for (int op = 0; op < kNumOperands; ++op) d.stride[op][k] = axes[k].stride[op];
  }
}

bool unit_or_broadcast(int64_t s) { return s == 0 || s == 1; }

}  // namespace

ReducePlan plan_reduction(const ReduceSpec& spec) {
  if (spec.ndim < 0 || spec.ndim > kMaxDims)
    throw std::invalid_argument("x: at most " + std::to_string(kMaxDims) + " dimensions are supported");
  ReducePlan plan;
  for (int op = 0; op < kNumOperands; ++op) {
    plan.present[op] = spec.base[op] != nullptr;
    plan.base[op] = static_cast<char*>(spec.base[op]);
    if (plan.present[op] && spec.elem[op] <= 0) throw std::invalid_argument("internal: operand without an element size");
  }
  Axis kept[kMaxDims], red[kMaxDims];
  int nk = 0, nr = 0;
  for (int k = 0; k < spec.ndim; ++k) {
    int64_t size = spec.shape[k];
    if (size < 0) throw std::invalid_argument("x: negative dimension");
    Axis a;
    a.size = size;
    for (int op = 0; op < kNumOperands; ++op)
      a.stride[op] = plan.present[op] ? spec.strides[op][k] : 0;
    if (!spec.full_output && spec.reduce[k]) {
      a.stride[kOut] = 0;
      a.stride[kSign] = 0;
    }
    if (size == 1) continue;  // contributes nothing to any offset
    if (size > 0 && a.stride[kX] < 0 && (spec.flip_reduced || !spec.reduce[k])) {
      // Walk this axis backwards in every operand: same elements, same pairing.
      for (int op = 0; op < kNumOperands; ++op) {
        plan.base[op] += (size - 1) * a.stride[op] * spec.elem[op];
        a.stride[op] = -a.stride[op];
      }
    }
    if (spec.reduce[k]) red[nr++] = a;
    else kept[nk++] = a;
  }
  nk = canonicalise(kept, nk);
  nr = canonicalise(red, nr);
  plan.n = 1;
  for (int k = 0; k < nr; ++k) plan.n *= red[k].size;
  plan.rows = 1;
  for (int k = 0; k < nk; ++k) plan.rows *= kept[k].size;
  if (nr == 0) {  // nothing left to reduce (all reduced axes have size 1): rows of length 1
    red[0].size = 1;
    for (int op = 0; op < kNumOperands; ++op) red[0].stride[op] = ((op == kOut || op == kSign) && !spec.full_output) || op == kTarget ? 0 : 1;
    nr = 1;
  }
  to_dims(red, nr, plan.inner);

  const bool weighted = plan.present[kB];
  const Axis& in_last = red[nr - 1];
  bool rows_ok = nr == 1 && in_last.stride[kX] == 1 && (!weighted || unit_or_broadcast(in_last.stride[kB])) &&
                 (!spec.full_output || in_last.stride[kOut] == 1);
  for (int op : {kY, kGrad, kGradY}) rows_ok = rows_ok && (!plan.present[op] || in_last.stride[op] == 1);
  bool cols_ok = false;
  if (!rows_ok && !weighted && nk > 0 && spec.allow_columns) {  // weighted sums run row by row (Accurate mode)
    const Axis& lane = kept[nk - 1];
    cols_ok = lane.stride[kX] == 1 && (!spec.full_output || lane.stride[kOut] == 1);
  }
  if (rows_ok) {
    plan.layout = Layout::Rows;
    to_dims(kept, nk, plan.outer);
  } else if (cols_ok) {
    plan.layout = Layout::Columns;
    const Axis& lane = kept[nk - 1];
    plan.lanes = lane.size;
    for (int op = 0; op < kNumOperands; ++op) plan.lane_stride[op] = lane.stride[op];
    to_dims(kept, nk - 1, plan.outer);
  } else {
    plan.layout = Layout::Gather;
    to_dims(kept, nk, plan.outer);
  }
  return plan;
}

}  // namespace divkern
