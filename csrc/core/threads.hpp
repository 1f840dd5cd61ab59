// Thread pool control (OpenMP) and a parallel loop that never lets an exception escape a
// parallel region. Without OpenMP everything runs on the calling thread.
#pragma once

#include <cstdint>
#include <functional>

namespace divkern {

bool have_openmp();
// Threads a call uses when it does not say: OpenMP's current limit for the calling thread
// (OMP_NUM_THREADS, divkern.set_num_threads, threadpoolctl all set it); 1 in a process
// forked after divkern was loaded (in_forked_child).
int default_threads();
void set_default_threads(int n);

// Whether this process was created by fork() after divkern was loaded (POSIX). OpenMP's
// runtime (libgomp) cannot run a parallel region in such a child once the parent ran one:
// its worker threads are not copied and the child would wait for them forever. divkern
// therefore runs serially there.
bool in_forked_child();

// Runs body(begin, end) over [0, count) in pieces of at most `grain` items on up to
// `threads` threads (one, in a forked child). Pieces are independent: the result must not
// depend on which thread runs which piece. The first exception thrown by a piece is rethrown after the loop.
void parallel_for(int64_t count, int64_t grain, int threads,
                  const std::function<void(int64_t, int64_t)>& body);

}  // namespace divkern
