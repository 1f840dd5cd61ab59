#include "core/threads.hpp"

#include <algorithm>
#include <atomic>
#include <exception>
#include <thread>

#if defined(_OPENMP)
#include <omp.h>
#endif

// fork() exists where pthreads do (POSIX); elsewhere (Windows) there is nothing to handle.
#if defined(_OPENMP) && (defined(__unix__) || defined(__APPLE__))
#include <pthread.h>
#define DK_HAVE_ATFORK 1
#else
#define DK_HAVE_ATFORK 0
#endif

namespace divkern {
namespace {

constexpr int kThreadCap = 1024;              // max_threads(), at most
constexpr int kThreadsPerHardwareThread = 4;  // max_threads(), per hardware thread

// divkern's process-wide default thread count; 0: not set (OpenMP's default).
std::atomic<int> g_setting{0};
// Set in the child of a fork(): run serially from then on.
std::atomic<bool> g_forked{false};

#if DK_HAVE_ATFORK
void on_fork_child() { g_forked.store(true, std::memory_order_relaxed); }
// Registered when the library is loaded, so before any parallel region can have run.
[[maybe_unused]] const int g_atfork_registered = pthread_atfork(nullptr, nullptr, &on_fork_child);
#endif

#if defined(_OPENMP)
// OpenMP's default thread limit for the process (OMP_NUM_THREADS, else the CPUs it sees):
// what omp_get_max_threads() returns on a thread that never changed its own limit. The
// calling thread may have, so it is read once on a new thread.
int openmp_default() {
  static const int value = [] {
    int v = 0;
    try {
      std::thread reader([&v] { v = omp_get_max_threads(); });
      reader.join();
    } catch (...) {  // no thread to be had: the calling thread's is the best guess
      v = omp_get_max_threads();
    }
    return std::max(1, v);
  }();
  return value;
}
#endif

int clip_threads(int64_t n) { return (int)std::max<int64_t>(1, std::min<int64_t>(n, max_threads())); }

}  // namespace

bool have_openmp() {
#if defined(_OPENMP)
  return true;
#else
  return false;
#endif
}

int max_threads() {
#if defined(_OPENMP)
  static const int value = [] {
    int64_t hw = (int64_t)std::thread::hardware_concurrency();
    if (hw <= 0) hw = omp_get_num_procs();
    return (int)std::min<int64_t>(kThreadCap, kThreadsPerHardwareThread * std::max<int64_t>(1, hw));
  }();
  return value;
#else
  return 1;
#endif
}

bool in_forked_child() { return g_forked.load(std::memory_order_relaxed); }

int default_threads() {
#if defined(_OPENMP)
  if (in_forked_child()) return 1;
  const int base = openmp_default();
  const int setting = g_setting.load(std::memory_order_relaxed);
  int n = setting > 0 ? setting : base;
  const int this_thread = omp_get_max_threads();
  if (this_thread != base) n = std::min(n, this_thread);  // limited on this thread
  return clip_threads(n);
#else
  return 1;
#endif
}

void set_default_threads(int n) {
  g_setting.store(n <= 0 ? 0 : clip_threads(n), std::memory_order_relaxed);
}

void parallel_for(int64_t count, int64_t grain, int threads,
                  const std::function<void(int64_t, int64_t)>& body) {
  if (count <= 0) return;
  grain = std::max<int64_t>(1, grain);
  const int64_t pieces = (count + grain - 1) / grain;
  const int nthreads = in_forked_child() ? 1 : clip_threads(std::min<int64_t>(threads, pieces));
#if defined(_OPENMP)
  if (nthreads > 1) {
    std::exception_ptr error = nullptr;
    std::atomic<bool> failed{false};
#pragma omp parallel for num_threads(nthreads) schedule(dynamic, 1)
    for (int64_t p = 0; p < pieces; ++p) {
      if (failed.load(std::memory_order_relaxed)) continue;
      try {
        const int64_t b = p * grain;
        body(b, std::min(count, b + grain));
      } catch (...) {
#pragma omp critical(divkern_parallel_for_error)
        {
          if (!error) error = std::current_exception();
        }
        failed.store(true, std::memory_order_relaxed);
      }
    }
    if (error) std::rethrow_exception(error);
    return;
  }
#endif
  (void)nthreads;
  body(0, count);
}

}  // namespace divkern
