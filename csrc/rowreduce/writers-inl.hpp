// Output writers shared by the ops: elementwise second passes and reduced results, with
// non-temporal stores for outputs beyond the caches. Part of the row-reduction engine
// (engine-inl.hpp); includes nothing.

// out[0, len) = f(x[0, len)), vector by vector. With `stream`, the stores that cover
// whole 64-byte lines are non-temporal: a large output then costs one write to memory
// instead of a read for ownership plus a write.
template <class T, class F>
DK_INLINE void map_segment(const T* x, T* out, int64_t len, bool stream, F f) {
  constexpr int N = Lanes<T>::N;
  int64_t j = 0;
  if (stream && reinterpret_cast<uintptr_t>(out) % sizeof(T) == 0) {
    int64_t head = (int64_t)(((64 - (reinterpret_cast<uintptr_t>(out) & 63)) & 63) / sizeof(T));
    head = head < len ? head : len;
    for (; j < head; j += N) {
      const int64_t k = head - j < N ? head - j : N;
      store_partial(out + j, f(load_partial(x + j, k, T(0))), k);
    }
    j = head;
    for (; j + N <= len; j += N) stream_store(out + j, f(load(x + j)));
  } else {
    for (; j + N <= len; j += N) store(out + j, f(load(x + j)));
  }
  if (j < len) store_partial(out + j, f(load_partial(x + j, len - j, T(0))), len - j);
}

// Second pass over elements [0, len) of a row: softmax or log_softmax from (p1, p2).

// dst[0, n) = src[0, n) rounded to T.
template <class T>
inline void store_converted(T* dst, const double* src, int64_t n, bool stream) {
  using V = typename Lanes<T>::V;
  constexpr int N = Lanes<T>::N;
  auto vec = [&](int64_t i) {
    if constexpr (std::is_same<T, float>::value) return to_f32(load(src + i), load(src + i + kND));
    else return load(src + i);
  };
  int64_t i = 0;
  if (stream) {  // non-temporal stores need whole aligned vectors: plain ones up to there
    for (; i < n && (reinterpret_cast<uintptr_t>(dst + i) & (sizeof(V) - 1)) != 0; ++i) dst[i] = T(src[i]);
    for (; i + N <= n; i += N) stream_store(dst + i, vec(i));
  }
  for (; i + N <= n; i += N) store(dst + i, vec(i));
  for (; i < n; ++i) dst[i] = T(src[i]);
}

// Stores the reduced results (and signs, when the task has them) of `count` rows starting
// at the cursor (advances it).
template <class T>
inline void store_reduced(const Task& t, RowCursor& cur, const double* res, const double* sgn, int64_t count) {
  T* out = operand<T>(t.plan, kOut);
  T* sign = t.return_sign ? operand<T>(t.plan, kSign) : nullptr;
  if (cur.flat && cur.flat_step[kOut] == 1 && (!sign || cur.flat_step[kSign] == 1)) {
    // results of consecutive rows are adjacent (a fresh output array): vector stores
    store_converted(out + cur.flat_off[kOut], res, count, t.stream_out);
    if (sign) store_converted(sign + cur.flat_off[kSign], sgn, count, t.stream_out);
    for (int op = 0; op < kNumOperands; ++op) cur.flat_off[op] += count * cur.flat_step[op];
    return;
  }
  RowCursor c = cur;  // a local copy stays in registers
  for (int64_t i = 0; i < count; ++i, c.next()) {
    out[c.off(kOut)] = T(res[i]);
    if (sign) sign[c.off(kSign)] = T(sgn[i]);
  }
  cur = c;
}

