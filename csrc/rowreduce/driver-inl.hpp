// ---------------------------------------------------------------- units
// The driver: work units over the layouts of a ReducePlan (Rows, Columns, Gather), for one
// op (ops/*.hpp) and one stored element type S (computed in T = Compute<S>, loads-inl.hpp).
// Units<S, Op>::run / finish / write fill the kernel table entry of (Op, S) at each ISA
// level (kernels.hpp: Fns). Everything op-specific is a
// compile-time member of Op (the contract: csrc/rowreduce/README.md), so the loops below
// are generated once per op with no runtime op switch. Part of the row-reduction engine
// (engine-inl.hpp); includes nothing.

// Writes pass 2 of a second-pass op over elements [i0, i1) of the row at `cur`.
template <class Op, class S>
inline void write_row_range(const Task& t, const RowCursor& cur, int64_t i0, int64_t i1, double p1, double p2,
                            const BlockBuffers<Compute<S>>& buf) {
  using T = Compute<S>;
  const ReducePlan& p = t.plan;
  const S* x = operand<S>(p, kX) + cur.off(kX);
  S* out = operand<S>(p, kOut) + cur.off(kOut);
  if constexpr (kInPlace<S>) {
    if (p.layout == Layout::Rows) {
      Op::template write_segment<T>(x + i0, out + i0, i1 - i0, p1, p2, t.stream_out);
      return;
    }
  }
  constexpr int64_t B = Lanes<T>::kBlock;
  RowBlocks<S> rb(p, cur, buf);
  for (int64_t i = i0; i < i1; i += B) {
    const int64_t len = i1 - i < B ? i1 - i : B;
    Op::template write_segment<T>(rb.xs(i, len, buf.x), buf.out, len, p1, p2);
    if (p.layout == Layout::Rows) store_run(out + i, buf.out, len);
    else rb.scatter(kOut, out, i, len, buf.out);
  }
}

template <class S, class Op>
struct Units {
  using T = Compute<S>;
  static constexpr int64_t kBatch = tuning::kBatch;  // rows finalised together
  // the tile kernels (one row per lane) run Fast or Masked sums, unweighted
  static constexpr bool kLanes = !Op::kWeighted && Op::kMode != Mode::Accurate;

  // Finalises `count` row states (arrays) and writes the results of those rows, starting
  // at row `row0` under the row cursor `cur` (advanced). Second-pass rows get their second
  // pass here, over elements pass2_range[0..1).
  // `buf`: the unit's block buffers (second-pass ops). `refined` (count <= kBatch only):
  // rows the op computed again while they were in cache. Returns the mask of rows whose
  // results the op found near zero (count <= kBatch; ops with kRefines).
  static uint64_t complete(const Task& t, RowCursor& cur, int64_t row0, double* m, double* c, double* s,
                           int64_t count, const int64_t* pass2_range, const BlockBuffers<T>* buf = nullptr,
                           const RefinedRows* refined = nullptr) {
    uint64_t near = 0;
    for (int64_t i0 = 0; i0 < count; i0 += kBatch) {
      const int64_t cnt = count - i0 < kBatch ? count - i0 : kBatch;
      if constexpr (!Op::kSecondPass) {
        near = Op::template finish<S>(t, cur, row0 + i0, m + i0, c + i0, s + i0, cnt, refined);
      } else {
        alignas(64) double r1[kBatch], r2[kBatch];
        Op::stats(m + i0, c + i0, s + i0, cnt, r1, r2);
        for (int64_t i = 0; i < cnt; ++i, cur.next())
          write_row_range<Op, S>(t, cur, pass2_range[0], pass2_range[1], r1[i], r2[i], *buf);
      }
    }
    return near;
  }

  static State row_state(const RowBlocks<S>& rb, int64_t i0, int64_t i1, const S* next_row = nullptr) {
    return range_state<Op::kMode, Op::kWeighted>(rb, i0, i1, next_row);
  }

  // Rows/Gather with one unit per group of whole rows.
  static void rows_whole(const Task& t, int64_t u) {
    const ReducePlan& p = t.plan;
    const int64_t r0 = u * t.rows_per_unit;
    const int64_t r1 = r0 + t.rows_per_unit < p.rows ? r0 + t.rows_per_unit : p.rows;
    const int64_t range[2] = {0, p.n};
    // rows per batch: enough to vectorise the finalisation, few enough that softmax rows
    // are still in cache for their second pass
    int64_t batch = kBatch;
    if constexpr (Op::kSecondPass) {
      const int64_t fit = (int64_t)tuning::kSecondPassBatchBytes / (p.n * (int64_t)sizeof(T));
      batch = fit < 1 ? 1 : (fit < kBatch ? fit : kBatch);
    }
    RowCursor cur, wcur;
    cur.seek(p, r0);
    wcur = cur;
    ScratchFrame frame;
    const BlockBuffers<T> buf(frame);
    const bool short_rows = kLanes && p.layout == Layout::Rows && p.n <= kSmallRow<T>;
    T* const tile = short_rows ? frame.take<T>(kSmallRow<T> * kSmallTile) : nullptr;
    T* const stage = short_rows && !kInPlace<S> ? frame.take<T>(kSmallRow<T> * kSmallTile) : nullptr;
    alignas(64) double m[kBatch], c[kBatch], s[kBatch];
    RefinedRows refined;
    bool hint = false;  // kRefines: the op's guess for the next row, from the previous one
    bool batch_hint = false;  // kRefines, short rows: the previous batch was near zero throughout
    for (int64_t b0 = r0; b0 < r1; b0 += batch) {
      const int64_t cnt = r1 - b0 < batch ? r1 - b0 : batch;
      const uint64_t all = cnt == 64 ? ~uint64_t(0) : (uint64_t(1) << cnt) - 1;
      refined.mask = 0;
      if (tile) {
        if constexpr (Op::kRefines) {
          // a batch like the previous one is reduced in the op's second mode first, and in
          // the tile kernels only if some row of it is not clearly what that mode is for
          if (batch_hint) refined.mask = Op::template refine_batch<S>(t, b0, cnt, refined.at);
        }
        if (refined.mask != all) {
          small_rows(t, cur, cnt, p.rows - (b0 + cnt), tile, stage, m, c, s);
        } else {
          for (int64_t i = 0; i < cnt; ++i) {
            m[i] = refined.at[i].m;
            c[i] = refined.at[i].c;
            s[i] = refined.at[i].s;
          }
          advance(cur, cnt);
        }
      } else {
        for (int64_t i = 0; i < cnt; ++i) {
          RowBlocks<S> rb(p, cur, buf);
          cur.next();
          const S* next_row = b0 + i + 1 < r1 ? operand<S>(p, kX) + cur.off(kX) : nullptr;
          State st;
          if constexpr (Op::kRefines) {
            bool again = false;
            st = Op::template row_state<S>(rb, p.n, next_row, hint, refined.at[i], again);
            refined.mask |= uint64_t(again) << i;
          } else {
            st = row_state(rb, 0, p.n, next_row);
          }
          m[i] = st.m;
          c[i] = st.c;
          s[i] = st.s;
        }
      }
      const uint64_t near = complete(t, wcur, b0, m, c, s, cnt, range, &buf, &refined);
      batch_hint = tile && near == all;
    }
  }

  static void advance(RowCursor& cur, int64_t rows) {
    if (cur.flat) {
      for (int op = 0; op < kNumOperands; ++op) cur.flat_off[op] += rows * cur.flat_step[op];
    } else {
      for (int64_t i = 0; i < rows; ++i) cur.next();
    }
  }

  // Short contiguous rows: transpose a tile so that each SIMD lane holds one row, then
  // reduce all rows of the tile at once (no per-row horizontal work).
  // `rows_after`: rows of the array after these `count` (what may be prefetched).
  // `tile`, and `stage` where S is converted: kSmallRow<T> * kSmallTile elements of scratch.
  DK_NOINLINE static void small_rows(const Task& t, RowCursor& cur, int64_t count, int64_t rows_after, T* tile,
                                     T* stage, double* m, double* c, double* s) {
    const ReducePlan& p = t.plan;
    const int64_t n = p.n;
    const S* x = operand<S>(p, kX);
    alignas(64) int64_t off[kSmallRow<T>];
    for (int64_t j = 0; j < n; ++j) off[j] = j * kSmallTile;
    for (int64_t i0 = 0; i0 < count; i0 += kSmallTile) {
      const int64_t cnt = count - i0 < kSmallTile ? count - i0 : kSmallTile;
      // row pointers of this tile; with one outer axis they are equally spaced
      const S* srows[kSmallTile];
      const char* pf = nullptr;
      int64_t pf_bytes = 0;
      if (cur.flat) {
        const S* base = x + cur.flat_off[kX];
        const int64_t step = cur.flat_step[kX];
        for (int64_t l = 0; l < cnt; ++l) srows[l] = base + l * step;
        // rows two tiles ahead, fetched while this tile is reduced (lanes_block spreads
        // the prefetches; contiguous rows only: strided ones are left to the hardware)
        const int64_t ahead = (count - i0 - cnt) + rows_after - 2 * kSmallTile;  // rows there from 2 tiles on
        if (step == n && ahead > 0) {
          pf = reinterpret_cast<const char*>(base + 2 * kSmallTile * step);
          pf_bytes = (ahead < cnt ? ahead : cnt) * step * (int64_t)sizeof(S);
        }
        for (int op = 0; op < kNumOperands; ++op) cur.flat_off[op] += cnt * cur.flat_step[op];
      } else {
        for (int64_t l = 0; l < cnt; ++l, cur.next()) srows[l] = x + cur.off(kX);
      }
      // the rows as compute values: in place, or converted into the staging tile
      const T* rows[kSmallTile];
      for (int64_t l = 0; l < cnt; ++l) rows[l] = load_run(srows[l], n, stage + l * n);
      transpose_rows<T>(rows, cnt, n, tile);
      if constexpr (kLanes) lanes_block<T, Op::kMode>(tile, off, n, cnt, true, m + i0, c + i0, s + i0, pf, pf_bytes);
    }
  }

  // A Columns unit: outer index o, lanes [lane0, lane0 + width), positions [p0, p1)
  // (chunk k); its first row is row0.
  struct ColumnUnit {
    Odometer outer;
    int64_t k, lane0, width, p0, p1, row0;
    ColumnUnit(const Task& t, int64_t u) {
      const ReducePlan& p = t.plan;
      const int64_t tiles = (p.lanes + t.lane_tile - 1) / t.lane_tile;
      const int64_t o = u / (tiles * t.nchunks), rem = u % (tiles * t.nchunks);
      k = rem % t.nchunks;
      lane0 = rem / t.nchunks * t.lane_tile;
      width = p.lanes - lane0 < t.lane_tile ? p.lanes - lane0 : t.lane_tile;
      p0 = k * t.chunk;
      p1 = p0 + t.chunk < p.n ? p0 + t.chunk : p.n;
      row0 = o * p.lanes + lane0;
      outer.seek(p.outer, o);
    }
  };

  // Columns: (outer index, lane tile, chunk of positions).
  static void columns(const Task& t, int64_t u) {
    const ReducePlan& p = t.plan;
    const ColumnUnit cu(t, u);
    const Odometer& outer = cu.outer;
    const int64_t k = cu.k, lane0 = cu.lane0, width = cu.width, p0 = cu.p0, p1 = cu.p1;
    const S* x = operand<S>(p, kX) + outer.off[kX] + lane0;

    // running lane states (m, c, s), 72 or 96 KiB, in the thread's scratch arena
    constexpr int64_t kMaxTile = kColTileBytes / sizeof(T);
    ScratchFrame frame;
    double* const lm = frame.take<double>(3 * kMaxTile);
    double* const lc = lm + kMaxTile;
    double* const ls = lc + kMaxTile;
    // positions of the current block (the hardware prefetcher follows each lane tile's
    // rows; prefetching the next block by hand made axis-0 reductions ~5% slower)
    alignas(64) int64_t offs[kColMaxBlock];
    // converted stored elements: each block's positions as one tile of compute values
    T* const tile = kInPlace<S> ? nullptr : frame.take<T>(t.col_block * width);
    Odometer in;
    in.seek(p.inner, p0);
    for (int64_t q = p0; q < p1; q += t.col_block) {
      const int64_t len = p1 - q < t.col_block ? p1 - q : t.col_block;
      for (int64_t r = 0; r < len; ++r, in.next()) offs[r] = in.off[kX];
      if constexpr (kLanes) {
        if constexpr (kInPlace<S>) {
          lanes_block<T, Op::kMode>(x, offs, len, width, q == p0, lm, lc, ls);
        } else {
          for (int64_t r = 0; r < len; ++r) {
            load_run(x + offs[r], width, tile + r * width);
            offs[r] = r * width;
          }
          lanes_block<T, Op::kMode>(tile, offs, len, width, q == p0, lm, lc, ls);
        }
      }
    }
    const int64_t row0 = cu.row0;
    if (t.nchunks > 1) {
      for (int64_t j = 0; j < width; ++j) t.states[(row0 + j) * t.nchunks + k] = State{lm[j], lc[j], ls[j]};
      return;
    }
    if constexpr (!Op::kSecondPass) {
      RowCursor cur;
      cur.seek(p, row0);
      complete(t, cur, row0, lm, lc, ls, width, nullptr);
    } else {
      // per-lane (p1, p2) in place of (m, c): each vector of states is read before it is written
      for (int64_t j = 0; j < width; j += kBatch) {
        const int64_t cnt = width - j < kBatch ? width - j : kBatch;
        Op::stats(lm + j, lc + j, ls + j, cnt, lm + j, lc + j);
      }
      write_columns(t, outer, lane0, width, p0, p1, lm, lc);
    }
  }

  static void write_columns(const Task& t, const Odometer& outer, int64_t lane0, int64_t width, int64_t p0,
                            int64_t p1, const double* q1, const double* q2) {
    const ReducePlan& p = t.plan;
    const S* x = operand<S>(p, kX) + outer.off[kX] + lane0;
    S* out = operand<S>(p, kOut) + outer.off[kOut] + lane0;
    const typename Op::template LaneStats<T> st(q1, q2, width);
    ScratchFrame frame;
    T* const xs = kInPlace<S> ? nullptr : frame.take<T>(2 * width);  // a position in, a position out
    Odometer in;
    in.seek(p.inner, p0);
    for (int64_t q = p0; q < p1; ++q, in.next()) {
      if constexpr (kInPlace<S>) {
        Op::template write_lanes<T>(x + in.off[kX], out + in.off[kOut], width, st);
      } else {
        Op::template write_lanes<T>(load_run(x + in.off[kX], width, xs), xs + width, width, st);
        store_run(out + in.off[kOut], xs + width, width);
      }
    }
  }

  static void run(const Task& t, int64_t u0, int64_t u1) {
    run_units(t, u0, u1);
    if (t.stream_out) stream_fence();  // order this thread's non-temporal stores
  }

  static void run_units(const Task& t, int64_t u0, int64_t u1) {
    const ReducePlan& p = t.plan;
    ScratchFrame frame;
    const BlockBuffers<T> buf(frame);
    for (int64_t u = u0; u < u1; ++u) {
      if (p.layout == Layout::Columns) {
        columns(t, u);
      } else if (t.nchunks == 1) {
        rows_whole(t, u);
      } else {
        const int64_t r = u / t.nchunks, k = u % t.nchunks;
        RowCursor cur;
        cur.seek(p, r);
        RowBlocks<S> rb(p, cur, buf);
        const int64_t i0 = k * t.chunk, i1 = i0 + t.chunk < p.n ? i0 + t.chunk : p.n;
        t.states[u] = row_state(rb, i0, i1);
      }
    }
  }

  static void finish(const Task& t, int64_t r0, int64_t r1) {
    finish_rows(t, r0, r1);
    if (t.stream_out) stream_fence();  // log-sum-exp results may be non-temporal stores
  }

  static void finish_rows(const Task& t, int64_t r0, int64_t r1) {
    alignas(64) double m[kBatch], c[kBatch], s[kBatch];
    RowCursor cur;
    cur.seek(t.plan, r0);
    for (int64_t b0 = r0; b0 < r1; b0 += kBatch) {
      const int64_t cnt = r1 - b0 < kBatch ? r1 - b0 : kBatch;
      for (int64_t i = 0; i < cnt; ++i) {
        const State* st = t.states + (b0 + i) * t.nchunks;
        State acc = st[0];
        for (int64_t k = 1; k < t.nchunks; ++k) merge(acc, st[k]);
        m[i] = acc.m;
        c[i] = acc.c;
        s[i] = acc.s;
      }
      if constexpr (!Op::kSecondPass) {
        complete(t, cur, b0, m, c, s, cnt, nullptr);
      } else {
        alignas(64) double q1[kBatch], q2[kBatch];
        Op::stats(m, c, s, cnt, q1, q2);
        for (int64_t i = 0; i < cnt; ++i) {
          t.row_stats[b0 + i] = q1[i];
          t.row_stats[t.plan.rows + b0 + i] = q2[i];
        }
      }
    }
  }

  static void write(const Task& t, int64_t u0, int64_t u1) {
    write_units(t, u0, u1);
    if (t.stream_out) stream_fence();
  }

  static void write_units(const Task& t, int64_t u0, int64_t u1) {
    if constexpr (Op::kSecondPass) write_second_pass(t, u0, u1);
  }

  static void write_second_pass(const Task& t, int64_t u0, int64_t u1) {
    const ReducePlan& p = t.plan;
    ScratchFrame frame;
    const BlockBuffers<T> buf(frame);
    for (int64_t u = u0; u < u1; ++u) {
      if (p.layout == Layout::Columns) {
        const ColumnUnit cu(t, u);
        write_columns(t, cu.outer, cu.lane0, cu.width, cu.p0, cu.p1, t.row_stats + cu.row0,
                      t.row_stats + p.rows + cu.row0);
      } else {
        const int64_t r = u / t.nchunks, k = u % t.nchunks;
        RowCursor cur;
        cur.seek(p, r);
        const int64_t i0 = k * t.chunk, i1 = i0 + t.chunk < p.n ? i0 + t.chunk : p.n;
        write_row_range<Op, S>(t, cur, i0, i1, t.row_stats[r], t.row_stats[p.rows + r], buf);
      }
    }
  }
};

