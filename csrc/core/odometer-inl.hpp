// Walking a ReducePlan's loops: multi-index odometers and the cursor over reduced rows.
//
// Included inside a namespace by each user (the per-ISA kernel namespaces and the
// driver's anonymous namespace), never at namespace scope of a shared header: an inline
// function compiled with AVX-512 flags must not be merged into the baseline build by the
// linker (numpy#25274). Includes nothing; needs core/layout.hpp before it.

// Offsets of successive multi-indices of `d` (C order) for each operand, in elements.
struct Odometer {
  const Dims* d = nullptr;
  int64_t idx[kMaxDims];
  int64_t off[kNumOperands];

  void seek(const Dims& dims, int64_t linear) {
    d = &dims;
    for (int op = 0; op < kNumOperands; ++op) off[op] = 0;
    for (int k = dims.nd - 1; k >= 0; --k) {
      int64_t s = dims.size[k];
      idx[k] = s ? linear % s : 0;
      linear = s ? linear / s : 0;
      for (int op = 0; op < kNumOperands; ++op) off[op] += idx[k] * dims.stride[op][k];
    }
  }
  void next() {
    for (int k = d->nd - 1; k >= 0; --k) {
      for (int op = 0; op < kNumOperands; ++op) off[op] += d->stride[op][k];
      if (++idx[k] < d->size[k]) return;
      for (int op = 0; op < kNumOperands; ++op) off[op] -= idx[k] * d->stride[op][k];
      idx[k] = 0;
    }
  }
  // `count` steps (>= 1) along the last axis, where the current run has at least `count`
  // left; carries into the outer axes when the run ends exactly.
  void advance_run(int64_t count) {
    const int last = d->nd - 1;
    for (int op = 0; op < kNumOperands; ++op) off[op] += (count - 1) * d->stride[op][last];
    idx[last] += count - 1;
    next();
  }
};

// Base offsets (in elements) of reduced row r for each operand. Rows are numbered in the
// order of the plan's outer loop; in the Columns layout row r is lane r % lanes of outer
// index r / lanes. With at most one outer axis (the common case once axes are merged) a
// step is one add per operand.
struct RowCursor {
  const ReducePlan* p = nullptr;
  Odometer od;
  int64_t lane = 0;
  bool flat = false;
  int64_t flat_off[kNumOperands], flat_step[kNumOperands];

  void seek(const ReducePlan& plan, int64_t r) {
    p = &plan;
    flat = plan.layout != Layout::Columns && plan.outer.nd <= 1;
    if (flat) {
      for (int op = 0; op < kNumOperands; ++op) {
        flat_step[op] = plan.outer.nd ? plan.outer.stride[op][0] : 0;
        flat_off[op] = r * flat_step[op];
      }
      return;
    }
    if (plan.layout == Layout::Columns) {
      od.seek(plan.outer, r / plan.lanes);
      lane = r % plan.lanes;
    } else {
      od.seek(plan.outer, r);
      lane = 0;
    }
  }
  int64_t off(int op) const { return flat ? flat_off[op] : od.off[op] + lane * p->lane_stride[op]; }
  void next() {
    if (flat) {
      for (int op = 0; op < kNumOperands; ++op) flat_off[op] += flat_step[op];
      return;
    }
    if (p->layout == Layout::Columns) {
      if (++lane < p->lanes) return;
      lane = 0;
    }
    od.next();
  }
};
