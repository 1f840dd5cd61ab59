// Thread control (OpenMP) and a parallel loop that never lets an exception escape a
// parallel region. Without OpenMP everything runs on the calling thread.
//
// divkern never changes OpenMP's own settings (omp_set_num_threads): its default thread
// count is its own, process-wide, and every parallel region is given its thread count.
#pragma once

#include <cstdint>
#include <functional>

namespace divkern {

bool have_openmp();

// The most threads divkern starts for one call: 4 per hardware thread of the machine, at
// most 1024 (1 without OpenMP). Larger requests are clipped to it.
int max_threads();

// Threads a call uses when it does not say, for the calling thread:
//  * divkern's process-wide setting (set_default_threads), initially OpenMP's default for
//    the process (OMP_NUM_THREADS, else the number of CPUs OpenMP sees);
//  * lowered to the calling thread's OpenMP limit where that has been changed on this
//    thread (threadpoolctl.threadpool_limits, omp_set_num_threads), that is where it
//    differs from OpenMP's default for the process; a thread limit equal to that default
//    cannot be told from none;
//  * clipped to [1, max_threads()]; 1 in a process forked after divkern was loaded
//    (in_forked_child) and without OpenMP.
int default_threads();
// Set divkern's process-wide setting, clipped to [1, max_threads()]; n <= 0 restores the
// initial one (OpenMP's default for the process).
void set_default_threads(int n);

// Whether this process was created by fork() after divkern was loaded (POSIX). OpenMP's
// runtime (libgomp) cannot run a parallel region in such a child once the parent ran one:
// its worker threads are not copied and the child would wait for them forever. divkern
// therefore runs serially there.
bool in_forked_child();

// Runs body(begin, end) over [0, count) in pieces of at most `grain` items on up to
// min(`threads`, pieces, max_threads()) threads (one, in a forked child). Pieces are
// independent: the result must not depend on which thread runs which piece. The first
// exception thrown by a piece is rethrown after the loop.
void parallel_for(int64_t count, int64_t grain, int threads,
                  const std::function<void(int64_t, int64_t)>& body);

}  // namespace divkern
