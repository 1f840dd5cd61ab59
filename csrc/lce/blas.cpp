// OpenBLAS (scipy-openblas32) behind blas.hpp. The prototypes are those of the wheel's
// cblas.h (scipy_openblas32/include, 0.3.x), with blasint = int (USE_64BITINT=0) and the
// CBLAS enums as their int values; declared here so that the sources compile without the
// wheel's headers (only the link needs the library).
#include "lce/blas.hpp"

#include <mutex>

extern "C" {
void scipy_cblas_sgemm(int order, int trans_a, int trans_b, int m, int n, int k, float alpha, const float* a, int lda,
                       const float* b, int ldb, float beta, float* c, int ldc);
void scipy_cblas_dgemm(int order, int trans_a, int trans_b, int m, int n, int k, double alpha, const double* a,
                       int lda, const double* b, int ldb, double beta, double* c, int ldc);
void scipy_openblas_set_num_threads(int num_threads);
int scipy_openblas_get_num_threads(void);
char* scipy_openblas_get_corename(void);
}

namespace divkern {
namespace blas {

namespace {
constexpr int kRowMajor = 101, kNoTrans = 111, kTrans = 112;
inline int op(bool t) { return t ? kTrans : kNoTrans; }
}  // namespace

void gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda, const float* b,
          int64_t ldb, float beta, float* c, int64_t ldc) {
  scipy_cblas_sgemm(kRowMajor, op(ta), op(tb), (int)m, (int)n, (int)k, alpha, a, (int)lda, b, (int)ldb, beta, c,
                    (int)ldc);
}

void gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, double alpha, const double* a, int64_t lda,
          const double* b, int64_t ldb, double beta, double* c, int64_t ldc) {
  scipy_cblas_dgemm(kRowMajor, op(ta), op(tb), (int)m, (int)n, (int)k, alpha, a, (int)lda, b, (int)ldb, beta, c,
                    (int)ldc);
}

int num_threads() { return scipy_openblas_get_num_threads(); }
void set_num_threads(int n) { scipy_openblas_set_num_threads(n); }
const char* corename() { return scipy_openblas_get_corename(); }

namespace {
std::mutex g_mutex;
int g_holders = 0;
int g_saved = 1;
}  // namespace

SingleThreadedBlas::SingleThreadedBlas() {
  std::lock_guard<std::mutex> lock(g_mutex);
  if (g_holders++ == 0) {
    g_saved = scipy_openblas_get_num_threads();
    if (g_saved != 1) scipy_openblas_set_num_threads(1);
  }
}

SingleThreadedBlas::~SingleThreadedBlas() {
  std::lock_guard<std::mutex> lock(g_mutex);
  if (--g_holders == 0 && g_saved != 1) scipy_openblas_set_num_threads(g_saved);
}

}  // namespace blas
}  // namespace divkern
