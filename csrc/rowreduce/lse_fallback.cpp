// The weighted rows the log-sum-exp kernels cannot finish (ops/logsumexp-inl.hpp:
// WeightedLogSumExp), finished elementwise: SciPy's direct formula, or the reduction below
// a maximum whose weights cancel. Compiled once (scalar code, no ISA level).
#include "rowreduce/lse_fallback.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

namespace divkern {
namespace rowreduce {
namespace {

#include "core/odometer-inl.hpp"

// Exact test that a sum of finite doubles is zero: a fixed-point accumulator over the whole
// double range (bit 0 is 2^-1074), 32 bits per int64 limb, carries resolved on demand.
class ExactZeroSum {
 public:
  void add(double w) {
    uint64_t bits;
    std::memcpy(&bits, &w, sizeof bits);
    const int field = int(bits >> 52 & 0x7ff);
    const uint64_t mant = (bits & ((uint64_t(1) << 52) - 1)) | (field ? uint64_t(1) << 52 : 0);
    const int p = field ? field - 1 : 0;  // w = +-mant * 2^(p - 1074)
    const int k = p >> 5, r = p & 31;
    const int64_t sgn = bits >> 63 ? -1 : 1;
    limb_[k] += sgn * int64_t((mant << r) & 0xffffffffu);
    limb_[k + 1] += sgn * int64_t((mant >> (32 - r)) & 0xffffffffu);
    limb_[k + 2] += sgn * int64_t(r ? mant >> (64 - r) : 0);
    lo_ = k < lo_ ? k : lo_;
    hi_ = k + 2 > hi_ ? k + 2 : hi_;
    if (++adds_ == (int64_t(1) << 30)) normalize();  // limbs stay far from overflow
  }
  bool zero() {
    if (normalize() != 0) return false;
    for (int k = lo_; k <= hi_; ++k)
      if (limb_[k]) return false;
    return true;
  }
  void clear() {
    for (int k = lo_; k <= hi_; ++k) limb_[k] = 0;
    lo_ = kLimbs;
    hi_ = -1;
    adds_ = 0;
  }

 private:
  // bits 0 .. 2045 + 52 for the values, and room for the carries of 2^31 additions
  static constexpr int kLimbs = 68;
  // limbs in [0, 2^32) from lo_ up, the carry out of the top one returned (the limbs
  // above hi_ are zero, and hi_ < kLimbs - 1 leaves the carry room)
  int64_t normalize() {
    int64_t carry = 0;
    for (int k = lo_ < kLimbs ? lo_ : 0; k < kLimbs - 1 && (k <= hi_ || carry); ++k) {
      const int64_t v = limb_[k] + carry, low = v & 0xffffffff;
      carry = (v - low) / (int64_t(1) << 32);
      limb_[k] = low;
      hi_ = k > hi_ ? k : hi_;
    }
    adds_ = 0;
    return carry;
  }
  int64_t limb_[kLimbs] = {};
  int lo_ = kLimbs, hi_ = -1;
  int64_t adds_ = 0;
};

// Weighted rows the kernels hand back (kernels.hpp: Task::weighted_fallback).
//  * A row holding an infinite or NaN input (with a nonzero weight) or weight, or whose
//    weights are all zero: SciPy's result is its direct formula log(sum(b * exp(a))),
//    evaluated here in the input precision with its overflow and 0 * inf semantics.
//  * Otherwise the weights of the maximal elements cancel exactly and every other term
//    underflowed relative to the maximum: reduce again below that maximum, as often as
//    needed (exact: log(e^800 - e^800 + e^0) = 0).
//
// The reduction below the maximum takes the distinct values of the row ("levels"; elements
// of zero weight take no part) from the top. At level m the row is evaluated as
//   c = sum of the weights at m, s = sum of w * exp(a - m) over a < m, both in array order,
// and the first level where c or s is nonzero gives the result log|c + s| + m. Evaluating
// each level in turn costs O(n) a level, O(n^2) for n/2 levels whose weights all cancel.
// So a level is evaluated only where that can end the search, and the others are passed
// over in O(1) each after an O(n log n) preparation (the elements sorted by value, stably:
// a level's weights stay in array order, and its c is the evaluation's sum):
//  * c: the weights of the level, summed in array order as the evaluation does;
//  * whether an element below the level is "live" there: its term w * exp(a - m) (the
//    evaluation's expression) is nonzero and the weights of its value do not sum to exactly
//    zero (exact arithmetic). A term only grows as m comes down to the element (std::exp is
//    monotone), so an element is live on one run of levels above its own (found by a guess
//    from the underflow threshold, checked, or else by bisection); a running count over
//    the levels then tells whether any element is live at each.
// A level with c = 0 and no live element below is passed over. There the evaluation's s is
// a sum of terms that cancel exactly, value by value (the terms of a value share one exp,
// and its weights sum to 0): either exactly 0, and the evaluation would go on below too, or
// a pure rounding residue of those cancelling terms (one value's terms added in between
// another's), where the level-by-level search stopped and returned log|residue| + m for a
// sum whose exact value there is 0. Only then does the level chosen here differ from the
// level-by-level search's (docs/accuracy.md). Every other level is evaluated as before, in
// array order, so its result has the same bits. An evaluated level can still give c = 0
// and s = 0 while live terms exist (their sum lost to rounding: e^(0 - m) - e^(2^-60 - m)
// is 0 in double); the search then goes on below as before, but after kMaxLostLevels such
// levels it evaluates only levels whose own weights do not sum to zero (one more
// evaluation at most), which bounds the cost by O(n log n) on any input.
// The first kDirectLevels levels are evaluated directly, without the preparation, while
// that decides them (c != 0 ends the search; c = 0 with every term below zero passes the
// level over, as above): the usual fallback row ends one level down, and costs two
// passes as it did.
constexpr int kDirectLevels = 4;
constexpr int kMaxLostLevels = 16;

template <class T>
void weighted_fallback(const Task& t, int64_t row, double* res, double* sign) {
  const ReducePlan& p = t.plan;
  RowCursor cur;
  cur.seek(p, row);
  const T* x = reinterpret_cast<const T*>(p.base[kX]) + cur.off(kX);
  const T* b = reinterpret_cast<const T*>(p.base[kB]) + cur.off(kB);
  auto for_each = [&](auto&& f) {
    Odometer in;
    in.seek(p.inner, 0);
    for (int64_t i = 0; i < p.n; ++i, in.next()) f(x[in.off[kX]], b[in.off[kB]]);
  };
  bool direct = false, any_weight = false;
  for_each([&](T a, T w) {
    direct = direct || !std::isfinite(w) || (w != 0 && !std::isfinite(a));
    any_weight = any_weight || w != 0;
  });
  direct = direct || !any_weight;
  auto finish = [&](double value, double sgn) {
    *sign = sgn;
    *res = !t.return_sign && sgn < 0 ? std::nan("") : value;
  };
  if (direct) {
    T sum = 0;
    for_each([&](T a, T w) { sum += w * std::exp(a); });
    const T sgn = sum > 0 ? T(1) : sum < 0 ? T(-1) : sum == 0 ? T(0) : sum;
    *sign = double(sgn);
    *res = double(std::log(t.return_sign ? std::fabs(sum) : sum));
    return;
  }
  // Evaluates the level at m (c, s in array order); `term`: some term below m is nonzero.
  auto evaluate = [&](double m, double& c, double& s, bool& term) {
    c = 0;
    s = 0;
    term = false;
    for_each([&](T a, T w) {
      if (w == 0 || !(a <= m)) return;
      if (a == m) {
        c += double(w);
      } else {
        const double u = double(w) * std::exp(double(a) - m);
        s += u;
        term = term || u != 0;
      }
    });
  };
  auto finish_total = [&](double m, double c, double s) {
    const double total = c + s;
    finish(std::log(std::fabs(total)) + m, total > 0 ? 1.0 : total < 0 ? -1.0 : 0.0);
  };
  // The first levels directly, O(n) each, while no liveness is needed: a level with c != 0
  // ends the search, one whose terms below are all zero is passed over.
  double cap = HUGE_VAL;  // the levels below cap remain
  for (int k = 0; k < kDirectLevels; ++k) {
    double m = -HUGE_VAL;
    for_each([&](T a, T w) {
      if (w != 0 && a < cap && a > m) m = a;
    });
    if (m == -HUGE_VAL) return finish(-HUGE_VAL, 0.0);  // nothing left: an exact zero
    double c, s;
    bool term;
    evaluate(m, c, s, term);
    if (c != 0) return finish_total(m, c, s);
    if (term) break;  // the search below decides this level
    cap = m;
  }
  // the elements of nonzero weight (all finite here) below cap, by value from the top, in
  // array order among equal values (-0 and +0 are one level, as a == m takes them)
  struct Item {
    double a, w;
  };
  std::vector<Item> items;
  for_each([&](T a, T w) {
    if (w != 0 && a < cap) items.push_back({double(a), double(w)});
  });
  std::stable_sort(items.begin(), items.end(), [](const Item& l, const Item& r) { return l.a > r.a; });
  std::vector<size_t> start;  // level j: items[start[j] .. start[j + 1])
  std::vector<double> value;  // level j's value: its first element in array order, the
                              // maximum the level-by-level search found (the first of equal maxima)
  for (size_t i = 0; i < items.size(); ++i)
    if (i == 0 || items[i].a < items[i - 1].a) {
      start.push_back(i);
      value.push_back(items[i].a);
    }
  const size_t levels = start.size();
  start.push_back(items.size());
  // cover[j]: elements whose live run starts at level j, minus those whose run ends above j
  std::vector<int64_t> cover(levels + 1, 0);
  ExactZeroSum exact;
  for (size_t g = 1; g < levels; ++g) {
    exact.clear();
    for (size_t i = start[g]; i < start[g + 1]; ++i) exact.add(items[i].w);
    if (exact.zero()) continue;
    for (size_t i = start[g]; i < start[g + 1]; ++i) {
      const Item e = items[i];
      auto live_at = [&](size_t j) { return e.w * std::exp(e.a - value[j]) != 0; };
      // The first live level, guessed: w * exp(a - m) underflows to 0 below about
      // 2^-1075, where m exceeds a + 745.13 + min(0, log|w|); the guess stands if that
      // level is live and the one above it is not, else bisection finds it.
      const double reach = 745.1332191019412 + (std::fabs(e.w) < 1 ? std::log(std::fabs(e.w)) : 0.0);
      size_t first = size_t(std::partition_point(value.begin(), value.begin() + (std::ptrdiff_t)g,
                                                 [&](double v) { return v > e.a + reach; }) -
                            value.begin());
      if (first == g || !live_at(first) || (first > 0 && live_at(first - 1))) {
        if (!live_at(g - 1)) continue;  // dead at every level above its own
        size_t lo = 0, hi = g - 1;      // live_at(hi)
        if (live_at(lo)) hi = lo;
        while (hi - lo > 1) {  // !live_at(lo), live_at(hi)
          const size_t mid = lo + (hi - lo) / 2;
          (live_at(mid) ? hi : lo) = mid;
        }
        first = hi;
      }
      ++cover[first];
      --cover[g];
    }
  }
  int lost = 0;
  int64_t live = 0;
  for (size_t j = 0; j < levels; ++j) {
    live += cover[j];
    double cj = 0;
    for (size_t i = start[j]; i < start[j + 1]; ++i) cj += items[i].w;
    if (cj == 0 && (live == 0 || lost >= kMaxLostLevels)) continue;
    double c, s;
    bool term;
    evaluate(value[j], c, s, term);
    if (c == 0 && s == 0) {
      ++lost;
      continue;
    }
    return finish_total(value[j], c, s);
  }
  finish(-HUGE_VAL, 0.0);  // nothing left: an exact zero
}

}  // namespace

void weighted_fallback_f32(const Task& t, int64_t row, double* res, double* sign) {
  weighted_fallback<float>(t, row, res, sign);
}
void weighted_fallback_f64(const Task& t, int64_t row, double* res, double* sign) {
  weighted_fallback<double>(t, row, res, sign);
}

}  // namespace rowreduce
}  // namespace divkern
