// The fused linear cross-entropy's driver (compiled once): row blocks, GEMMs, threads.
// The plan of a call, and why (csrc/lce/README.md has the whole story):
//
//   for each block of R rows that are not ignored (R from tuning::kTileBytes):
//     tile (R x V)      = hidden_block · Wᵀ             one GEMM per vocabulary chunk
//     each tile row     : + bias, log-sum-exp and loss (TileReducer), and with gradients
//                         the row's dloss/dlogits in place            (lce_kernels.cpp)
//     grad_weight[c]   (+)= tile[:, c]ᵀ · hidden_block  one GEMM per chunk c
//     grad_bias[c]      += Σ_rows tile[:, c]            in double, rows in order
//     grad_hidden_block  = Σ_c tile[:, c] · W[c]        chunks summed in order within
//                                                       each of G groups, then the groups
//
// Every GEMM is a single-threaded OpenBLAS call on a block fixed by the shape, and the
// calls are shared among divkern's threads: a call's result does not depend on which
// thread runs it, every sum over chunks or blocks runs in a fixed order, so results are
// bitwise identical for any thread count (blas.hpp says why OpenBLAS's own threads are
// not used). No scratch grows with the thread count: the tile, G − 1 partial
// grad_hidden blocks and a few per-row vectors.
#include "lce/lce.hpp"

#include <algorithm>
#include <cstring>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/dispatch.hpp"
#include "core/threads.hpp"
#include "lce/blas.hpp"
#include "lce/kernels.hpp"
#include "lce/tuning.hpp"

namespace divkern {
namespace lce {

namespace {

// n elements of T, 64-byte aligned, uninitialised, freed with the buffer.
template <class T>
class Buffer {
 public:
  Buffer() = default;
  explicit Buffer(int64_t n) { reset(n); }
  void reset(int64_t n) {
    p_.reset(n > 0 ? static_cast<T*>(::operator new(sizeof(T) * (size_t)n, std::align_val_t(64))) : nullptr);
  }
  T* get() const { return p_.get(); }
  explicit operator bool() const { return bool(p_); }

 private:
  struct Free {
    void operator()(T* p) const { ::operator delete(p, std::align_val_t(64)); }
  };
  std::unique_ptr<T, Free> p_;
};

int64_t elem_size(DType dt) { return dt == DType::F32 ? 4 : 8; }

// The chunk [v0, v0 + len) of the vocabulary.
struct Chunk {
  int64_t v0, len;
};

template <class T>
class Driver {
 public:
  Driver(const Problem& p, int threads, const Table& table)
      : p_(p), threads_(threads), rows_fn_(std::is_same<T, float>::value ? (void (*)(const RowPass&, int64_t, int64_t))table.rows_f32
                                                                          : table.rows_f64) {
    hidden_ = static_cast<const T*>(p.hidden);
    weight_ = static_cast<const T*>(p.weight);
    grad_ = p.grad_hidden || p.grad_weight || p.grad_bias;
    gh_ = static_cast<T*>(p.grad_hidden);
    gw_ = static_cast<T*>(p.grad_weight);
    gb_ = static_cast<T*>(p.grad_bias);
  }

  void run() {
    const int64_t n = p_.n, h = p_.h, v = p_.v;
    valid_.reserve((size_t)n);
    for (int64_t i = 0; i < n; ++i)
      if (p_.label[i] >= 0) valid_.push_back(i);
    const int64_t nv = (int64_t)valid_.size();
    if (grad_) zero_ignored_rows();
    if (nv == 0) {
      if (grad_) {
        if (h) std::memset(gw_, 0, sizeof(T) * (size_t)(v * h));
        if (gb_) std::memset(gb_, 0, sizeof(T) * (size_t)v);
      }
      return;
    }
    bl_ = blocking(std::is_same<T, float>::value ? DType::F32 : DType::F64, nv, h, v);
    for (int64_t v0 = 0; v0 < v; v0 += bl_.vocab_chunk) chunks_.push_back({v0, std::min(bl_.vocab_chunk, v - v0)});
    const int64_t R = bl_.block_rows;
    ldt_ = (v + 15) / 16 * 16;  // 64-byte rows
    tile_.reset(R * ldt_);
    loss_.reset(R);
    label_.reset(R);
    if (grad_ && bl_.grad_groups > 1) partial_.reset((bl_.grad_groups - 1) * R * h);
    if (gb_) {
      bias_acc_.reset(v);
      std::fill(bias_acc_.get(), bias_acc_.get() + v, 0.0);
    }
    blas::SingleThreadedBlas single;
    for (int64_t r0 = 0; r0 < nv; r0 += R) block(r0, std::min(R, nv - r0), r0 == 0);
    if (gb_)
      for (int64_t j = 0; j < v; ++j) gb_[j] = T(bias_acc_.get()[j]);
  }

 private:
  void zero_ignored_rows() {
    const int64_t h = p_.h;
    if (!h) return;
    for (int64_t i = 0; i < p_.n; ++i)
      if (p_.label[i] < 0) std::memset(gh_ + i * h, 0, sizeof(T) * (size_t)h);
  }

  // Valid rows [r0, r0 + nb) (indices into valid_); `first`: grad_weight not yet written.
  void block(int64_t r0, int64_t nb, bool first) {
    const int64_t h = p_.h, v = p_.v;
    const int64_t* rows = valid_.data() + r0;
    const bool consecutive = rows[nb - 1] - rows[0] == nb - 1;
    // the block's hidden rows, in place when they are consecutive
    const T* hb = hidden_ + rows[0] * p_.ld_hidden;
    int64_t ldh = p_.ld_hidden;
    if (!consecutive && h) {
      if (!hidden_buf_) hidden_buf_.reset(bl_.block_rows * h);
      for (int64_t i = 0; i < nb; ++i)
        std::memcpy(hidden_buf_.get() + i * h, hidden_ + rows[i] * p_.ld_hidden, sizeof(T) * (size_t)h);
      hb = hidden_buf_.get();
      ldh = h;
    }
    for (int64_t i = 0; i < nb; ++i) label_.get()[i] = p_.label[rows[i]];
    T* tile = tile_.get();
    const int64_t ldt = ldt_;
    const int64_t nchunks = (int64_t)chunks_.size();

    // logits, chunk by chunk
    parallel_for(nchunks, 1, threads_, [&](int64_t c0, int64_t c1) {
      for (int64_t c = c0; c < c1; ++c) {
        const Chunk ch = chunks_[(size_t)c];
        if (!h) {
          for (int64_t i = 0; i < nb; ++i) std::fill(tile + i * ldt + ch.v0, tile + i * ldt + ch.v0 + ch.len, T(0));
          continue;
        }
        const T* w = p_.weight_col_major ? weight_ + ch.v0 : weight_ + ch.v0 * p_.ld_weight;
        blas::gemm(false, !p_.weight_col_major, nb, ch.len, h, T(1), hb, ldh, w, p_.ld_weight, T(0), tile + ch.v0, ldt);
      }
    });

    // bias, losses, and the gradient of the logits, row by row
    RowPass rp;
    rp.tile = tile;
    rp.ld = ldt;
    rp.v = v;
    rp.bias = p_.bias;
    rp.label = label_.get();
    rp.smoothing = p_.smoothing;
    rp.z_loss = p_.z_loss;
    rp.grad = grad_;
    rp.grad_scale = p_.grad_scale;
    rp.loss = loss_.get();
    const int64_t grain = std::max<int64_t>(1, nb / (8 * (int64_t)threads_));
    parallel_for(nb, grain, threads_, [&](int64_t i0, int64_t i1) { rows_fn_(rp, i0, i1); });
    for (int64_t i = 0; i < nb; ++i) p_.row_loss[rows[i]] = loss_.get()[i];
    if (!grad_) return;

    // grad_weight and grad_bias, chunk by chunk
    parallel_for(nchunks, 1, threads_, [&](int64_t c0, int64_t c1) {
      for (int64_t c = c0; c < c1; ++c) {
        const Chunk ch = chunks_[(size_t)c];
        if (gb_) {
          double* acc = bias_acc_.get() + ch.v0;
          for (int64_t i = 0; i < nb; ++i) {
            const T* g = tile + i * ldt + ch.v0;
            for (int64_t j = 0; j < ch.len; ++j) acc[j] += double(g[j]);
          }
        }
        if (h)
          blas::gemm(true, false, ch.len, h, nb, T(1), tile + ch.v0, ldt, hb, ldh, first ? T(0) : T(1),
                     gw_ + ch.v0 * h, h);
      }
    });
    if (!h) return;

    // grad_hidden: group g sums its chunks in order into its own destination
    T* dest = gh_ + rows[0] * h;
    if (!consecutive) {
      if (!grad_buf_) grad_buf_.reset(bl_.block_rows * h);
      dest = grad_buf_.get();
    }
    const int64_t G = bl_.grad_groups;
    const int64_t hchunk = tuning::kHiddenChunk, nh = (h + hchunk - 1) / hchunk;
    parallel_for(G * nh, 1, threads_, [&](int64_t q0, int64_t q1) {
      for (int64_t q = q0; q < q1; ++q) {
        const int64_t g = q / nh, h0 = (q % nh) * hchunk, hc = std::min(hchunk, h - h0);
        T* out = g == 0 ? dest : partial_.get() + (g - 1) * nb * h;
        const int64_t cb = g * nchunks / G, ce = (g + 1) * nchunks / G;
        for (int64_t c = cb; c < ce; ++c) {
          const Chunk ch = chunks_[(size_t)c];
          const T* w = p_.weight_col_major ? weight_ + h0 * p_.ld_weight + ch.v0 : weight_ + ch.v0 * p_.ld_weight + h0;
          blas::gemm(false, p_.weight_col_major, nb, hc, ch.len, T(1), tile + ch.v0, ldt, w, p_.ld_weight,
                     c == cb ? T(0) : T(1), out + h0, h);
        }
      }
    });
    if (G > 1) {  // dest += partial 1, then partial 2, ... (a fixed order)
      parallel_for(nb, std::max<int64_t>(1, nb / (4 * (int64_t)threads_)), threads_, [&](int64_t i0, int64_t i1) {
        for (int64_t i = i0; i < i1; ++i) {
          T* d = dest + i * h;
          for (int64_t g = 1; g < G; ++g) {
            const T* s = partial_.get() + (g - 1) * nb * h + i * h;
            for (int64_t k = 0; k < h; ++k) d[k] = d[k] + s[k];
          }
        }
      });
    }
    if (!consecutive)
      for (int64_t i = 0; i < nb; ++i) std::memcpy(gh_ + rows[i] * h, dest + i * h, sizeof(T) * (size_t)h);
  }

  const Problem& p_;
  const int threads_;
  void (*rows_fn_)(const RowPass&, int64_t, int64_t);
  const T* hidden_;
  const T* weight_;
  bool grad_;
  T *gh_, *gw_, *gb_;
  Blocking bl_{};
  std::vector<int64_t> valid_;
  std::vector<Chunk> chunks_;
  int64_t ldt_ = 0;
  Buffer<T> tile_, partial_, hidden_buf_, grad_buf_;
  Buffer<double> loss_, bias_acc_;
  Buffer<int64_t> label_;
};

void check(bool ok, const char* what) {
  if (!ok) throw std::invalid_argument(std::string("linear_cross_entropy: ") + what);
}

}  // namespace

Blocking blocking(DType dtype, int64_t n, int64_t h, int64_t v) {
  const int64_t es = elem_size(dtype);
  int64_t rows = tuning::kTileBytes / std::max<int64_t>(1, v * es);
  rows = std::min(std::max(rows, tuning::kMinBlockRows), tuning::kMaxBlockRows) / tuning::kRowAlign * tuning::kRowAlign;
  rows = std::max<int64_t>(1, std::min(rows, n));
  const int64_t nchunks = (v + tuning::kVocabChunk - 1) / tuning::kVocabChunk;
  int64_t groups = std::min(tuning::kGradGroups, nchunks);
  groups = std::min(groups, 1 + tuning::kPartialBytes / std::max<int64_t>(1, rows * h * es));
  groups = std::max<int64_t>(1, groups);
  return {rows, tuning::kVocabChunk, groups, rows * ((v + 15) / 16 * 16) * es};
}

void linear_cross_entropy(const Problem& p, int threads) {
  constexpr int64_t kMax32 = 2147483647;
  check(p.n >= 0 && p.h >= 0 && p.v >= 1, "need n >= 0, h >= 0 and v >= 1");
  check(p.n <= kMax32 && p.h <= kMax32 && p.v <= kMax32 && p.ld_hidden <= kMax32 && p.ld_weight <= kMax32 &&
            (p.v + 15) / 16 * 16 <= kMax32,
        "dimensions beyond the 32-bit BLAS");
  check(p.label && p.row_loss && (p.n == 0 || p.hidden) && p.weight, "missing operand");
  check(p.ld_hidden >= p.h && p.ld_weight >= (p.weight_col_major ? p.v : p.h), "leading dimensions too small");
  const bool grad = p.grad_hidden || p.grad_weight || p.grad_bias;
  check(!grad || ((p.grad_hidden || p.n * p.h == 0) && (p.grad_weight || p.h == 0) && (p.grad_bias || !p.bias)),
        "gradients come all together");
  check(p.smoothing >= 0.0 && p.smoothing <= 1.0 && p.z_loss >= 0.0, "smoothing in [0, 1] and z_loss >= 0");
  for (int64_t i = 0; i < p.n; ++i) check(p.label[i] < p.v, "label out of range");
  const Table* table = table_for(active_isa());
  if (!table) throw std::runtime_error("internal: no lce kernels for the active ISA level");
  threads = threads < 1 ? 1 : threads > max_threads() ? max_threads() : threads;
  if (p.dtype == DType::F32) Driver<float>(p, threads, *table).run();
  else Driver<double>(p, threads, *table).run();
}

}  // namespace lce
}  // namespace divkern
