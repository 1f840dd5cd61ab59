// Cross-entropy and logit-divergence kernels (rowreduce/rowops.hpp): convert, release the
// GIL, call. python/divkern/_ce.py prepares every array.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <string>
#include <vector>

#include "bindings/convert.hpp"
#include "rowreduce/rowops.hpp"

namespace divkern {
namespace bind {

namespace {

using rowreduce::RowOpId;

RowOpId op_of(const std::string& name) {
  if (name == "cross_entropy") return RowOpId::CrossEntropy;
  if (name == "cross_entropy_prob") return RowOpId::CrossEntropyProb;
  if (name == "softmax_entropy") return RowOpId::SoftmaxEntropy;
  if (name == "log_softmax_at") return RowOpId::LogSoftmaxAt;
  if (name == "kl") return RowOpId::KL;
  if (name == "jsd") return RowOpId::JSD;
  if (name == "tvd") return RowOpId::TVD;
  throw std::invalid_argument("op: unknown row op " + name);
}

// x: the logits, reduced along `axis`. Per-row arrays (target, loss, lse) have x's shape
// with size 1 along the axis; full-size ones (y, grad, grad_y) x's shape and dtype.
void rowop(const std::string& name, const py::array& x, const py::object& y, const py::object& target,
           const py::array& loss, const py::object& lse, const py::object& grad, const py::object& grad_y, int axis,
           const py::object& class_weight, double weight_sum, int64_t ignore_index, double smoothing, double z_loss,
           double grad_scale, double z_scale, double beta, int threads) {
  const RowOpId op = op_of(name);
  const auto dtype = dtype_of(x, "x");
  if (dtype == rowreduce::DType::F16) throw py::type_error("x: float32 or float64 expected");
  const int nd = (int)x.ndim();
  if (axis < 0 || axis >= nd) throw std::invalid_argument("axis out of range");
  std::vector<int64_t> shape(x.shape(), x.shape() + nd);
  std::vector<int64_t> strides[kNumOperands];
  for (auto& s : strides) s.assign((size_t)nd, 0);
  ReduceSpec spec;
  spec.ndim = nd;
  spec.shape = shape.data();
  spec.reduce[axis] = true;
  auto add = [&](int role, const py::array& a, const char* what, bool writable, bool per_row, rowreduce::DType dt) {
    element_strides(a, what, nd, dt, writable, strides[role].data());
    for (int k = 0; k < nd; ++k) {
      const int64_t expect = per_row && k == axis ? 1 : shape[(size_t)k];
      if (a.shape(k) != expect) throw std::invalid_argument(std::string(what) + ": shape mismatch");
    }
    if (per_row) strides[role][(size_t)axis] = 0;
    spec.elem[role] = (int)a.itemsize();
    spec.base[role] = writable ? const_cast<py::array&>(a).mutable_data() : const_cast<void*>(a.data());
  };
  add(kX, x, "x", false, false, dtype);
  if (!y.is_none()) add(kY, y.cast<py::array>(), "y", false, false, dtype);
  add(kOut, loss, "loss", true, true, rowreduce::DType::F64);
  if (!lse.is_none()) add(kSign, lse.cast<py::array>(), "lse", true, true, rowreduce::DType::F64);
  if (!grad.is_none()) add(kGrad, grad.cast<py::array>(), "grad", true, false, dtype);
  if (!grad_y.is_none()) add(kGradY, grad_y.cast<py::array>(), "grad_y", true, false, dtype);
  rowreduce::RowOpParams prm;
  if (!target.is_none()) {
    const py::array t = target.cast<py::array>();
    const auto tdt = t.dtype();
    if (tdt.kind() != 'i' && tdt.kind() != 'u') throw py::type_error("target: integer array expected");
    if (!native_order(tdt)) throw py::type_error("target: byte order is not the machine's");
    if (t.ndim() != nd) throw std::invalid_argument("target: dimensions do not match");
    const int64_t item = (int64_t)t.itemsize();
    if (reinterpret_cast<uintptr_t>(t.data()) % (uintptr_t)item != 0)
      throw std::invalid_argument("target: data is not aligned to its item size");
    for (int k = 0; k < nd; ++k) {
      if (t.shape(k) != (k == axis ? 1 : shape[(size_t)k])) throw std::invalid_argument("target: shape mismatch");
      if (t.strides(k) % item != 0) throw std::invalid_argument("target: strides must be multiples of the item size");
      strides[kTarget][(size_t)k] = k == axis ? 0 : t.strides(k) / item;
    }
    spec.elem[kTarget] = (int)item;
    spec.base[kTarget] = const_cast<void*>(t.data());
    prm.target_signed = tdt.kind() == 'i';
  }
  std::vector<double> w;
  if (!class_weight.is_none()) {
    const auto cw = py::array_t<double, py::array::c_style | py::array::forcecast>::ensure(class_weight);
    if (!cw || cw.ndim() != 1 || cw.shape(0) != shape[(size_t)axis])
      throw std::invalid_argument("weight: one float64 weight per class expected");
    w.assign(cw.data(), cw.data() + cw.shape(0));
    prm.class_weight = w.data();
  }
  prm.weight_sum = weight_sum;
  prm.ignore_index = ignore_index;
  prm.smoothing = smoothing;
  prm.z_loss = z_loss;
  prm.grad_scale = grad_scale;
  prm.z_scale = z_scale;
  prm.beta = beta;
  for (int k = 0; k < kNumOperands; ++k) spec.strides[k] = strides[k].data();
  py::gil_scoped_release nogil;
  rowreduce::run_rowop(spec, dtype, op, prm, threads);
}

}  // namespace

void init_rowops(py::module_& m) {
  m.def("rowop", &rowop, py::arg("op"), py::arg("x"), py::arg("y"), py::arg("target"), py::arg("loss"),
        py::arg("lse"), py::arg("grad"), py::arg("grad_y"), py::arg("axis"), py::arg("class_weight"),
        py::arg("weight_sum"), py::arg("ignore_index"), py::arg("smoothing"), py::arg("z_loss"),
        py::arg("grad_scale"), py::arg("z_scale"), py::arg("beta"), py::arg("threads"),
        "A row op (cross_entropy, cross_entropy_prob, softmax_entropy, log_softmax_at, kl, jsd, tvd) of x\n"
        "along `axis`: per-row float64 results in `loss` (and `lse`), gradients in `grad`/`grad_y`.");
}

}  // namespace bind
}  // namespace divkern
