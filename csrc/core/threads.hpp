// Thread pool control (OpenMP) and a parallel loop that never lets an exception escape a
// parallel region. Without OpenMP everything runs on the calling thread.
#pragma once

#include <cstdint>
#include <functional>

namespace divkern {

bool have_openmp();
// Threads a call uses when it does not say: OpenMP's current limit for the calling thread
// (OMP_NUM_THREADS, divkern.set_num_threads, threadpoolctl all set it).
int default_threads();
void set_default_threads(int n);

// Runs body(begin, end) over [0, count) in pieces of at most `grain` items on up to
// `threads` threads. Pieces are independent: the result must not depend on which thread
// runs which piece. The first exception thrown by a piece is rethrown after the loop.
void parallel_for(int64_t count, int64_t grain, int threads,
                  const std::function<void(int64_t, int64_t)>& body);

}  // namespace divkern
