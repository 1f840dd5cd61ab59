// The BLAS under the fused linear cross-entropy: OpenBLAS from the scipy-openblas32 wheel
// (the build NumPy and SciPy ship), whose symbols carry the prefix scipy_. Only this file
// and blas.cpp know it: the driver asks for row-major GEMMs.
//
// OpenBLAS's threaded GEMM splits the inner dimension K into other blocks than its
// single-threaded GEMM (level3_thread.c halves the last two blocks, level3.c rounds them
// to the kernel's unroll), so a product changes in its last bits between 1 and 2+ OpenBLAS
// threads (600 x 600 x 600 does). divkern therefore runs every GEMM single-threaded, on
// blocks fixed by the shape, from its own threads: SingleThreadedBlas holds OpenBLAS at
// one thread for the duration of a call.
#pragma once

#include <cstdint>

namespace divkern {
namespace blas {

// C = alpha * op(A) * op(B) + beta * C, row-major; op(X) = Xᵀ when trans_x. (beta = 0:
// C is not read.) Every dimension and leading dimension must fit in 32 bits.
void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
          const float* b, int64_t ldb, float beta, float* c, int64_t ldc);
void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, double alpha, const double* a, int64_t lda,
          const double* b, int64_t ldb, double beta, double* c, int64_t ldc);

// OpenBLAS's thread count, and its setter (process-wide in OpenBLAS's pthreads build).
int num_threads();
void set_num_threads(int n);

// While one exists, OpenBLAS runs on the calling threads only (its thread count is 1);
// the count set before the first of them is restored when the last one ends. Calls made
// concurrently from several threads share the setting.
class SingleThreadedBlas {
 public:
  SingleThreadedBlas();
  ~SingleThreadedBlas();
  SingleThreadedBlas(const SingleThreadedBlas&) = delete;
  SingleThreadedBlas& operator=(const SingleThreadedBlas&) = delete;
};

// OpenBLAS's name for the CPU's kernels (e.g. "SkylakeX"), for reports.
const char* corename();

}  // namespace blas
}  // namespace divkern
