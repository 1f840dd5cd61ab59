// logsumexp / softmax / log_softmax kernels: convert, release the GIL, call.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <string>
#include <vector>

#include "bindings/convert.hpp"
#include "rowreduce/rowreduce.hpp"

namespace divkern {
namespace bind {

namespace {

// Shared by both entry points: x's shape and strides, the reduced axes, the operands.
struct SpecBuilder {
  ReduceSpec spec;
  std::vector<int64_t> shape;
  std::vector<int64_t> strides[kNumOperands];
  rowreduce::DType dtype;

  SpecBuilder(const py::array& x, const std::vector<int>& axes) {
    dtype = dtype_of(x, "x");
    const int nd = (int)x.ndim();
    shape.assign(x.shape(), x.shape() + nd);
    for (auto& s : strides) s.assign((size_t)nd, 0);
    element_strides(x, "x", nd, dtype, false, strides[kX].data());
    spec.elem[kX] = (int)x.itemsize();
    spec.ndim = nd;
    spec.shape = shape.data();
    spec.base[kX] = const_cast<void*>(x.data());
    for (int a : axes) {
      if (a < 0 || a >= nd) throw std::invalid_argument("axis out of range");
      spec.reduce[a] = true;
    }
  }
  void add(int op, py::array a, const char* name, bool writable) {
    // float16 input has float32 log-sum-exp results (a full-size output stays float16)
    const bool reduced = (op == kOut || op == kSign) && !spec.full_output;
    const auto expect = reduced && dtype == rowreduce::DType::F16 ? rowreduce::DType::F32 : dtype;
    element_strides(a, name, spec.ndim, expect, writable, strides[op].data());
    spec.elem[op] = (int)a.itemsize();
    // a reduced output holds one element along each reduced axis
    for (int k = 0; k < spec.ndim; ++k) {
      const int64_t expect = (op == kOut || op == kSign) && spec.reduce[k] && !spec.full_output ? 1 : shape[(size_t)k];
      if (a.shape(k) != expect) throw std::invalid_argument(std::string(name) + ": shape mismatch");
    }
    spec.base[op] = writable ? a.mutable_data() : const_cast<void*>(a.data());
  }
  void run(rowreduce::Op op, int threads) {
    for (int k = 0; k < kNumOperands; ++k) spec.strides[k] = strides[k].data();
    py::gil_scoped_release nogil;
    rowreduce::run(spec, dtype, op, threads);
  }
  const ReduceSpec& finished() {
    for (int k = 0; k < kNumOperands; ++k) spec.strides[k] = strides[k].data();
    return spec;
  }
};

// Test hook of rowreduce::Plan: plans `op` on (xs[0], outs[0]) and runs that one plan on
// every pair (xs[i], outs[i]), which must share the first pair's shapes, strides and dtypes.
void plan_repeat(const std::vector<py::array>& xs, const std::vector<int>& axes, const std::vector<py::array>& outs,
                 const std::string& op_name, int threads) {
  if (xs.empty() || xs.size() != outs.size()) throw std::invalid_argument("xs, outs: one output per input");
  const rowreduce::Op op = op_name == "logsumexp" ? rowreduce::Op::LogSumExp
                           : op_name == "softmax" ? rowreduce::Op::Softmax
                           : op_name == "log_softmax" ? rowreduce::Op::LogSoftmax
                                                      : throw std::invalid_argument("op: unknown");
  std::vector<SpecBuilder> specs;
  specs.reserve(xs.size());
  for (size_t i = 0; i < xs.size(); ++i) {
    specs.emplace_back(xs[i], axes);
    specs.back().spec.full_output = op != rowreduce::Op::LogSumExp;
    specs.back().add(kOut, outs[i], "outs", true);
    for (int k = 0; k < kNumOperands; ++k)
      if (specs.back().strides[k] != specs[0].strides[k] || specs.back().shape != specs[0].shape ||
          specs.back().dtype != specs[0].dtype)
        throw std::invalid_argument("xs, outs: every pair needs the first pair's shape, strides and dtypes");
  }
  rowreduce::Plan plan(specs[0].finished(), specs[0].dtype, op);
  py::gil_scoped_release nogil;
  for (auto& sb : specs) plan.run(threads, sb.spec.base);
}

void logsumexp(const py::array& x, const std::vector<int>& axes, const py::object& b, const py::array& out,
               const py::object& sign, int threads) {
  SpecBuilder sb(x, axes);
  if (!b.is_none()) sb.add(kB, b.cast<py::array>(), "b", false);
  sb.add(kOut, out, "out", true);
  if (!sign.is_none()) sb.add(kSign, sign.cast<py::array>(), "sign", true);
  sb.run(rowreduce::Op::LogSumExp, threads);
}

void softmax(const py::array& x, const std::vector<int>& axes, const py::array& out, bool log, int threads) {
  SpecBuilder sb(x, axes);
  sb.spec.full_output = true;
  sb.add(kOut, out, "out", true);
  sb.run(log ? rowreduce::Op::LogSoftmax : rowreduce::Op::Softmax, threads);
}

// float16 <-> float32 between two contiguous arrays of the same size.
void convert_half(const py::array& src, const py::array& dst, int threads) {
  const bool to_half = src.dtype().kind() == 'f' && src.dtype().itemsize() == 4;
  const bool from_half = src.dtype().kind() == 'f' && src.dtype().itemsize() == 2;
  if (!(to_half && dst.dtype().kind() == 'f' && dst.dtype().itemsize() == 2) &&
      !(from_half && dst.dtype().kind() == 'f' && dst.dtype().itemsize() == 4))
    throw py::type_error("convert_half: expected float16 -> float32 or float32 -> float16");
  const int flags = py::array::c_style;
  if (!(src.flags() & flags) || !(dst.flags() & flags) || !dst.writeable())
    throw std::invalid_argument("convert_half: src and dst must be C-contiguous and dst writable");
  if (src.size() != dst.size()) throw std::invalid_argument("convert_half: src and dst sizes differ");
  if (!native_order(src.dtype()) || !native_order(dst.dtype()))
    throw py::type_error("convert_half: byte order is not the machine's");
  if (reinterpret_cast<uintptr_t>(src.data()) % (uintptr_t)src.itemsize() != 0 ||
      reinterpret_cast<uintptr_t>(dst.data()) % (uintptr_t)dst.itemsize() != 0)
    throw std::invalid_argument("convert_half: data is not aligned to its item size");
  const void* s = src.data();
  void* d = const_cast<py::array&>(dst).mutable_data();
  const int64_t n = (int64_t)src.size();
  py::gil_scoped_release nogil;
  rowreduce::convert_half(s, d, n, to_half, threads);
}

}  // namespace

void init_special(py::module_& m) {
  m.def("convert_half", &convert_half, py::arg("src"), py::arg("dst"), py::arg("threads"),
        "float16 -> float32 or float32 -> float16 (rounded to nearest even) between C-contiguous arrays.");
  m.def("logsumexp", &logsumexp, py::arg("x"), py::arg("axes"), py::arg("b"), py::arg("out"), py::arg("sign"),
        py::arg("threads"),
        "log(sum(b * exp(x))) over `axes` into `out` (and `sign`), which keep the reduced axes as size 1.\n"
        "Dtypes must match (float32 or float64); `b` is broadcast to x's shape or None.");
  m.def("plan_repeat", &plan_repeat, py::arg("xs"), py::arg("axes"), py::arg("outs"), py::arg("op"),
        py::arg("threads"), "Test hook: one rowreduce::Plan run on several arrays of one layout.");
  m.def("softmax", &softmax, py::arg("x"), py::arg("axes"), py::arg("out"), py::arg("log"), py::arg("threads"),
        "softmax (log=False) or log_softmax (log=True) of x over `axes` into `out` (x's shape and dtype).");
}

}  // namespace bind
}  // namespace divkern
