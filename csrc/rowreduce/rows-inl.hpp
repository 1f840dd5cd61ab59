// Rows (Rows / Gather layouts): the state of a stretch of one row, block by block, straight
// from the array when the row is contiguous, else gathered into a buffer. Part of the
// row-reduction engine (engine-inl.hpp); includes nothing.
using tuning::kPrefetchBlocks;

template <class T>
inline T* operand(const ReducePlan& p, int op) {
  return reinterpret_cast<T*>(p.base[op]);
}

// One block each of values, weights and outputs for the gathers and scatters of a work
// unit, from the calling thread's scratch arena (core/scratch.hpp), not its stack.
template <class T>
struct BlockBuffers {
  T* x;
  T* b;
  T* out;
  explicit BlockBuffers(ScratchFrame& f)
      : x(f.take<T>(Lanes<T>::kBlock)), b(f.take<T>(Lanes<T>::kBlock)), out(f.take<T>(Lanes<T>::kBlock)) {}
};

// Compute values of elements [i0, i0 + len) of one row of stored elements S: straight into
// the array when the row is contiguous and S is computed in place, else gathered and/or
// converted into a buffer through the inner odometer.
template <class S>
struct RowBlocks {
  using T = Compute<S>;
  const ReducePlan& p;
  const S* x;
  const S* b;
  int64_t b_step;  // Rows layout: 0 (broadcast) or 1
  const BlockBuffers<T>& buf;
  RowBlocks(const ReducePlan& plan, const RowCursor& cur, const BlockBuffers<T>& buffers)
      : p(plan), x(operand<S>(plan, kX) + cur.off(kX)),
        b(plan.present[kB] ? operand<S>(plan, kB) + cur.off(kB) : nullptr),
        b_step(plan.present[kB] ? plan.inner.stride[kB][plan.inner.nd - 1] : 0), buf(buffers) {}

  // Calls f(offset of the run's first element, run stride, position in [0, len), run
  // length) for the runs along the last inner axis that cover elements [i0, i0 + len).
  template <class F>
  void for_runs(int op, int64_t i0, int64_t len, F f) const {
    Odometer od;
    od.seek(p.inner, i0);
    const int last = p.inner.nd - 1;
    const int64_t st = p.inner.stride[op][last];
    int64_t i = 0;
    while (i < len) {
      const int64_t run_len = p.inner.size[last] - od.idx[last];
      const int64_t take = run_len < len - i ? run_len : len - i;
      f(od.off[op], st, i, take);
      i += take;
      od.advance_run(take);
    }
  }
  const T* gather(int op, const S* base, int64_t i0, int64_t len, T* to) const {
    for_runs(op, i0, len, [&](int64_t off, int64_t st, int64_t i, int64_t take) {
      if (st == 1 && !kInPlace<S>) {
        load_run(base + off, take, to + i);
        return;
      }
      for (int64_t j = 0; j < take; ++j) to[i + j] = to_compute(base[off + j * st]);
    });
    return to;
  }
  void scatter(int op, S* base, int64_t i0, int64_t len, const T* from) const {
    for_runs(op, i0, len, [&](int64_t off, int64_t st, int64_t i, int64_t take) {
      if (st == 1) {
        store_run(base + off, from + i, take);
        return;
      }
      for (int64_t j = 0; j < take; ++j) base[off + j * st] = to_storage(from[i + j], base);
    });
  }
  const T* xs(int64_t i0, int64_t len, T* to) const {
    return p.layout == Layout::Rows ? load_run(x + i0, len, to) : gather(kX, x, i0, len, to);
  }
  // weights: contiguous, broadcast (filled), or gathered
  const T* bs(int64_t i0, int64_t len, T* to) const {
    if (p.layout == Layout::Rows && b_step == 1) return load_run(b + i0, len, to);
    if (p.layout == Layout::Rows) {
      const T b0 = to_compute(b[0]);
      for (int64_t j = 0; j < len; ++j) to[j] = b0;
      return to;
    }
    return gather(kB, b, i0, len, to);
  }
};

// State of elements [i0, i1) of a row (any layout; gathered when not contiguous). In a
// contiguous row each block prefetches the one kPrefetchBlocks ahead, past i1 into
// `next_row` (the start of the row read next, may be null).
template <Mode M, bool W, class S>
inline State range_state(const RowBlocks<S>& rb, int64_t i0, int64_t i1, const S* next_row = nullptr) {
  using T = Compute<S>;
  constexpr int64_t B = Lanes<T>::kBlock;
  State st{-kInf, 0.0, 0.0};
  for (int64_t i = i0; i < i1; i += B) {
    const int64_t len = i1 - i < B ? i1 - i : B;
    const T* xb = rb.xs(i, len, rb.buf.x);
    const T* bb = W ? rb.bs(i, len, rb.buf.b) : nullptr;
    const S* nx = nullptr;
    int64_t nlen = 0;
    if (rb.p.layout == Layout::Rows) {
      const int64_t ahead = i + kPrefetchBlocks * B;
      if (ahead < i1) {
        nx = rb.x + ahead;
        nlen = i1 - ahead;
      } else if (next_row) {
        nx = next_row + (ahead - i1);
        nlen = (i1 - i0) - (ahead - i1);
      }
    }
    const State bs = block_sum<T, M, W>(xb, bb, len, block_max<T, W>(xb, bb, len), nx, nlen < B ? nlen : B);
    if (i == i0) st = bs;
    else merge(st, bs);
  }
  return st;
}

// State of a whole unweighted row in Accurate mode, chunk by chunk as the driver splits
// rows, so that the result does not depend on which path asked for it.
template <class S>
inline State accurate_row_state(const Task& t, int64_t row) {
  RowCursor cur;
  cur.seek(t.plan, row);
  ScratchFrame frame;
  const BlockBuffers<Compute<S>> buf(frame);
  RowBlocks<S> rb(t.plan, cur, buf);
  const int64_t chunk = t.plan.layout == Layout::Columns ? t.plan.n : t.chunk;
  State st{-kInf, 0.0, 0.0};
  for (int64_t i = 0; i < t.plan.n; i += chunk) {
    const int64_t i1 = i + chunk < t.plan.n ? i + chunk : t.plan.n;
    const State cs = range_state<Mode::Accurate, false>(rb, i, i1);
    if (i == 0) st = cs;
    else merge(st, cs);
  }
  return st;
}
