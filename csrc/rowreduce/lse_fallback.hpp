// Weighted log-sum-exp rows finished elementwise (Task::weighted_fallback): rows SciPy
// defines through its direct formula log(sum(b * exp(a))) (an infinite or NaN value or
// weight, or all weights zero), and rows whose weights at the maximum cancel exactly,
// reduced again below it in O(n log n). lse_fallback.cpp explains the method.
#pragma once

#include <cstdint>

#include "rowreduce/kernels.hpp"

namespace divkern {
namespace rowreduce {

void weighted_fallback_f32(const Task& t, int64_t row, double* res, double* sign);
void weighted_fallback_f64(const Task& t, int64_t row, double* res, double* sign);

}  // namespace rowreduce
}  // namespace divkern
