// Native benchmark of the row-reduction kernels, without Python, next to a read-bandwidth
// probe so that every figure can be quoted as a fraction of the machine's limit.
//
//   dk_bench [--threads N] [--isa baseline|avx2|avx512] [--reps R] [--quick] [--only TEXT]
//            [--shape ROWS COLS AXIS [--f64]]
//
// --only keeps the cases whose "op dtype (rows, cols) axis" description contains TEXT.
// --shape times logsumexp on that one shape instead (float32, or float64 with --f64) and
// skips the in-cache rates.
//
// Prints one line per case: op, dtype, shape, axis, ISA, threads, best time, GB/s of
// input read, fraction of the measured read bandwidth, and elements per ns.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <random>
#include <string>
#include <vector>

#if defined(_WIN32)
#include <malloc.h>
#else
#include <sys/mman.h>
#endif

#include "core/cpu.hpp"
#include "core/dispatch.hpp"
#include "core/threads.hpp"
#include "rowreduce/kernels.hpp"
#include "simd/hooks.hpp"
#include "rowreduce/rowreduce.hpp"

using namespace divkern;

namespace {

// A buffer of n values v on 2 MiB-aligned memory that the kernel may back with huge pages
// (NumPy asks the same for its large arrays).
template <class T>
struct Buffer {
  T* p;
  size_t n;
  explicit Buffer(size_t n_, T v = T(0)) : n(n_) {
    const size_t align = size_t(1) << 21, bytes = (n * sizeof(T) + align - 1) / align * align;
#if defined(_WIN32)
    p = static_cast<T*>(_aligned_malloc(bytes ? bytes : align, align));
#else
    p = static_cast<T*>(std::aligned_alloc(align, bytes ? bytes : align));
#endif
    if (!p) throw std::bad_alloc();
#ifdef MADV_HUGEPAGE
    madvise(p, bytes, MADV_HUGEPAGE);
#endif
    for (size_t i = 0; i < n; ++i) p[i] = v;
  }
#if defined(_WIN32)
  ~Buffer() { _aligned_free(p); }
#else
  ~Buffer() { std::free(p); }
#endif
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  T* data() { return p; }
  T* begin() { return p; }
  T* end() { return p + n; }
};

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Streaming read of `bytes` of memory by `threads` threads with the active ISA level's
// widest loads: the reference limit the kernels are quoted against.
double read_bandwidth(size_t bytes, int threads, int reps) {
  const simd::MathHooks* table = simd::hooks_for(active_isa());
  const size_t n = bytes / sizeof(float);
  Buffer<float> a(n, 1.0f);
  double best = 1e30, sink = 0;
  for (int r = 0; r < reps; ++r) {
    std::vector<double> partial((size_t)threads * 8, 0.0);
    const double t0 = now();
    parallel_for(threads, 1, threads, [&](int64_t t0_, int64_t t1_) {
      for (int64_t t = t0_; t < t1_; ++t) {
        const size_t lo = n * (size_t)t / (size_t)threads, hi = n * (size_t)(t + 1) / (size_t)threads;
        partial[(size_t)t * 8] = table->stream_sum_f32(a.data() + lo, (int64_t)(hi - lo));
      }
    });
    best = std::min(best, now() - t0);
    for (double v : partial) sink += v;
  }
  if (sink == 42) std::printf(" ");
  return (double)(n * sizeof(float)) / best / 1e9;
}

struct Case {
  const char* op;
  bool f64;
  int64_t rows, cols;
  int axis;  // reduce along 1 (rows) or 0 (columns) of a C-ordered (rows, cols) array
};

template <class T>
double time_case(const Case& c, int threads, int reps) {
  const size_t n = (size_t)(c.rows * c.cols);
  Buffer<T> x(n);
  std::mt19937_64 rng(1);
  std::normal_distribution<double> nd;
  for (auto& v : x) v = (T)nd(rng);
  const bool full = std::strcmp(c.op, "logsumexp") != 0;
  const int64_t out_n = full ? (int64_t)n : (c.axis == 1 ? c.rows : c.cols);
  Buffer<T> out((size_t)out_n);
  int64_t shape[2] = {c.rows, c.cols};
  int64_t xs[2] = {c.cols, 1};
  int64_t os[2];
  if (full) { os[0] = c.cols; os[1] = 1; }
  else if (c.axis == 1) { os[0] = 1; os[1] = 0; }
  else { os[0] = 0; os[1] = 1; }
  ReduceSpec spec;
  spec.ndim = 2;
  spec.shape = shape;
  spec.strides[kX] = xs;
  spec.strides[kOut] = os;
  spec.base[kX] = x.data();
  spec.base[kOut] = out.data();
  spec.elem[kX] = spec.elem[kOut] = (int)sizeof(T);
  spec.reduce[c.axis] = true;
  spec.full_output = full;
  const rowreduce::Op op = !full ? rowreduce::Op::LogSumExp
                           : std::strcmp(c.op, "softmax") == 0 ? rowreduce::Op::Softmax
                                                               : rowreduce::Op::LogSoftmax;
  const rowreduce::DType dt = sizeof(T) == 4 ? rowreduce::DType::F32 : rowreduce::DType::F64;
  rowreduce::run(spec, dt, op, threads);  // warm up (page faults)
  double best = 1e30;
  for (int r = 0; r < reps; ++r) {
    const double t0 = now();
    rowreduce::run(spec, dt, op, threads);
    best = std::min(best, now() - t0);
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  int threads = default_threads(), reps = 10;
  bool quick = false, custom = false, f64 = false;
  Case shape_case{"logsumexp", false, 0, 0, 1};
  std::string only;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--threads" && i + 1 < argc) threads = std::atoi(argv[++i]);
    else if (a == "--reps" && i + 1 < argc) reps = std::atoi(argv[++i]);
    else if (a == "--quick") quick = true;
    else if (a == "--only" && i + 1 < argc) only = argv[++i];
    else if (a == "--f64") f64 = true;
    else if (a == "--shape" && i + 3 < argc) {
      custom = true;
      shape_case.rows = std::atoll(argv[++i]);
      shape_case.cols = std::atoll(argv[++i]);
      shape_case.axis = std::atoi(argv[++i]);
      if (shape_case.rows < 1 || shape_case.cols < 1 || (shape_case.axis != 0 && shape_case.axis != 1)) {
        std::fprintf(stderr, "--shape needs ROWS >= 1, COLS >= 1 and AXIS 0 or 1\n");
        return 2;
      }
    }
    else if (a == "--isa" && i + 1 < argc) {
      Isa isa;
      if (!parse_isa(argv[++i], &isa)) { std::fprintf(stderr, "unknown ISA %s\n", argv[i]); return 2; }
      set_active_isa(isa);
    } else {
      std::fprintf(stderr,
                   "usage: dk_bench [--threads N] [--isa LEVEL] [--reps R] [--quick] [--only TEXT]"
                   " [--shape ROWS COLS AXIS [--f64]]\n");
      return 2;
    }
  }
  const double scale = quick ? 0.125 : 1.0;
  const double bw = read_bandwidth((size_t)(512e6 * scale), threads, 7);
  std::printf("# CPU: %s | ISA: %s | threads: %d | read bandwidth %.1f GB/s (%.0f MB streamed)\n",
              cpu_brand().c_str(), isa_name(active_isa()), threads, bw, 512 * scale);
  // The other limit: the arithmetic rate of the same kernels on data that stays in L2 (an
  // exponential per element): long rows in both dtypes, short rows, columns.
  const Case in_cache[] = {{"logsumexp", false, 128, 4096, 1},
                           {"logsumexp", true, 128, 2048, 1},
                           {"logsumexp", false, 32768, 16, 1},
                           {"logsumexp", false, 64, 8192, 0}};
  shape_case.f64 = f64;
  for (const Case& c : in_cache) {
    if (custom) break;
    const double t = c.f64 ? time_case<double>(c, threads, 200) : time_case<float>(c, threads, 200);
    std::printf("# in-cache rate, logsumexp %s (%lld, %lld) axis %d: %.2f elem/ns (= %.1f GB/s of input)\n",
                c.f64 ? "float64" : "float32", (long long)c.rows, (long long)c.cols, c.axis,
                (double)(c.rows * c.cols) / t / 1e9, (double)(c.rows * c.cols) * (c.f64 ? 8 : 4) / t / 1e9);
  }
  std::printf("%-12s %-7s %-18s %-4s %10s %9s %8s %10s\n", "op", "dtype", "shape", "axis", "best_ms", "GB/s",
              "of_bw", "elem/ns");
  const Case cases[] = {
      {"logsumexp", false, 4096, 32000, 1}, {"logsumexp", false, 1000000, 16, 1},
      {"logsumexp", false, 64, 1000000, 1}, {"logsumexp", true, 4096, 32000, 1},
      {"logsumexp", false, 32000, 4096, 0}, {"logsumexp", false, 1000000, 16, 0},
      {"softmax", false, 4096, 32000, 1},   {"log_softmax", false, 4096, 32000, 1},
  };
  const size_t ncases = custom ? 1 : sizeof cases / sizeof cases[0];
  for (size_t ci = 0; ci < ncases; ++ci) {
    Case c = custom ? shape_case : cases[ci];
    char key[96];
    std::snprintf(key, sizeof key, "%s %s (%lld, %lld) %d", c.op, c.f64 ? "float64" : "float32", (long long)c.rows,
                  (long long)c.cols, c.axis);
    if (!only.empty() && std::string(key).find(only) == std::string::npos) continue;
    if (quick) c.rows = std::max<int64_t>(1, (int64_t)(c.rows * scale));
    const double t = c.f64 ? time_case<double>(c, threads, reps) : time_case<float>(c, threads, reps);
    const double bytes = (double)(c.rows * c.cols) * (c.f64 ? 8 : 4);
    char shape[64];
    std::snprintf(shape, sizeof shape, "(%lld, %lld)", (long long)c.rows, (long long)c.cols);
    std::printf("%-12s %-7s %-18s %-4d %10.3f %9.2f %7.0f%% %10.3f\n", c.op, c.f64 ? "float64" : "float32", shape,
                c.axis, t * 1e3, bytes / t / 1e9, 100.0 * bytes / t / 1e9 / bw, (double)(c.rows * c.cols) / t / 1e9);
  }
  return 0;
}
