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
};

// Base offsets (in elements) of reduced row r for each operand. Rows are numbered in the
// order of the plan's outer loop; in the Columns layout row r is lane r % lanes of outer
// index r / lanes.
struct RowCursor {
  const ReducePlan* p = nullptr;
  Odometer od;
  int64_t lane = 0;
  void seek(const ReducePlan& plan, int64_t r) {
    p = &plan;
    if (plan.layout == Layout::Columns) {
      od.seek(plan.outer, r / plan.lanes);
      lane = r % plan.lanes;
    } else {
      od.seek(plan.outer, r);
      lane = 0;
    }
  }
  int64_t off(int op) const { return od.off[op] + lane * p->lane_stride[op]; }
  void next() {
    if (p->layout == Layout::Columns) {
      if (++lane < p->lanes) return;
      lane = 0;
    }
    od.next();
  }
};
