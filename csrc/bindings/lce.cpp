// linear_cross_entropy: convert, release the GIL, call. python/divkern/_lce.py has checked
// the arguments and allocated the outputs; the checks here guard the C++ contract.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <algorithm>
#include <stdexcept>
#include <string>

#include "bindings/convert.hpp"
#include "lce/blas.hpp"
#include "lce/lce.hpp"

namespace divkern {
namespace bind {

namespace {

lce::DType float_dtype(const py::array& a, const char* name) {
  const auto dt = a.dtype();
  if (!native_order(dt)) throw py::type_error(std::string(name) + ": byte order is not the machine's");
  if (dt.kind() == 'f' && dt.itemsize() == 4) return lce::DType::F32;
  if (dt.kind() == 'f' && dt.itemsize() == 8) return lce::DType::F64;
  throw py::type_error(std::string(name) + ": expected float32 or float64, got " + std::string(py::str(dt)));
}

void same_dtype(const py::array& a, lce::DType dt, const char* name) {
  if (float_dtype(a, name) != dt) throw py::type_error(std::string(name) + ": dtype does not match hidden's");
}

void aligned(const py::array& a, const char* name) {
  if (reinterpret_cast<uintptr_t>(a.data()) % (uintptr_t)a.itemsize() != 0)
    throw std::invalid_argument(std::string(name) + ": data is not aligned to its item size");
}

// A fresh C-contiguous output of the given shape and dtype.
void* output(const py::object& o, lce::DType dt, int64_t rows, int64_t cols, const char* name) {
  if (o.is_none()) return nullptr;
  py::array a = o.cast<py::array>();
  same_dtype(a, dt, name);
  if (!(a.flags() & py::array::c_style) || !a.writeable())
    throw std::invalid_argument(std::string(name) + ": expected a writable C-contiguous array");
  if (a.size() != rows * cols) throw std::invalid_argument(std::string(name) + ": wrong size");
  aligned(a, name);
  return a.mutable_data();
}

void linear_cross_entropy(const py::array& hidden, const py::array& weight, const py::object& bias,
                          const py::array& label, double smoothing, double z_loss, const py::array& row_loss,
                          double grad_scale, const py::object& grad_hidden, const py::object& grad_weight,
                          const py::object& grad_bias, int threads) {
  lce::Problem p;
  p.dtype = float_dtype(hidden, "hidden");
  same_dtype(weight, p.dtype, "weight");
  if (hidden.ndim() != 2 || weight.ndim() != 2) throw std::invalid_argument("hidden, weight: expected 2-d arrays");
  const int64_t es = (int64_t)hidden.itemsize();
  p.n = hidden.shape(0);
  p.h = hidden.shape(1);
  p.v = weight.shape(0);
  if (weight.shape(1) != p.h) throw std::invalid_argument("weight: shape (V, H) with hidden's H expected");
  aligned(hidden, "hidden");
  aligned(weight, "weight");
  // hidden: rows with unit stride along H; weight: row-major (unit stride along H) or
  // column-major (unit stride along V). Strides of axes of length 1, and of empty arrays, do not matter.
  auto stride = [&](const py::array& a, int k, int64_t len) -> int64_t {
    const int64_t st = (int64_t)a.strides(k);
    return len <= 1 || a.size() == 0 ? -1 : st % es == 0 && st > 0 ? st / es : -2;
  };
  const int64_t hs0 = stride(hidden, 0, p.n), hs1 = stride(hidden, 1, p.h);
  if (!(hs1 == -1 || hs1 == 1) || hs0 == -2 || (hs0 > 0 && hs0 < p.h))
    throw std::invalid_argument("hidden: expected rows with unit stride that do not overlap");
  p.ld_hidden = std::max<int64_t>({hs0, p.h, 1});
  const int64_t ws0 = stride(weight, 0, p.v), ws1 = stride(weight, 1, p.h);
  if ((ws1 == -1 || ws1 == 1) && ws0 != -2 && (ws0 < 0 || ws0 >= p.h)) {
    p.ld_weight = std::max<int64_t>({ws0, p.h, 1});
  } else if ((ws0 == -1 || ws0 == 1) && ws1 != -2 && (ws1 < 0 || ws1 >= p.v)) {
    p.weight_col_major = true;
    p.ld_weight = std::max<int64_t>({ws1, p.v, 1});
  } else {
    throw std::invalid_argument("weight: expected unit stride along one axis, without overlap");
  }
  p.hidden = hidden.data();
  p.weight = weight.data();
  if (!bias.is_none()) {
    py::array b = bias.cast<py::array>();
    same_dtype(b, p.dtype, "bias");
    if (b.ndim() != 1 || b.shape(0) != p.v || (p.v > 1 && b.strides(0) != es))
      throw std::invalid_argument("bias: expected a contiguous (V,) array");
    aligned(b, "bias");
    p.bias = b.data();
  }
  if (label.ndim() != 1 || label.shape(0) != p.n || label.dtype().kind() != 'i' || label.itemsize() != 8 ||
      !(label.flags() & py::array::c_style) || !native_order(label.dtype()))
    throw std::invalid_argument("label: expected a contiguous int64 (N,) array");
  aligned(label, "label");
  p.label = static_cast<const int64_t*>(label.data());
  if (row_loss.ndim() != 1 || row_loss.shape(0) != p.n || row_loss.dtype().kind() != 'f' ||
      row_loss.itemsize() != 8 || !(row_loss.flags() & py::array::c_style) || !row_loss.writeable())
    throw std::invalid_argument("row_loss: expected a writable contiguous float64 (N,) array");
  p.row_loss = static_cast<double*>(const_cast<py::array&>(row_loss).mutable_data());
  p.smoothing = smoothing;
  p.z_loss = z_loss;
  p.grad_scale = grad_scale;
  p.grad_hidden = output(grad_hidden, p.dtype, p.n, p.h, "grad_hidden");
  p.grad_weight = output(grad_weight, p.dtype, p.v, p.h, "grad_weight");
  p.grad_bias = output(grad_bias, p.dtype, 1, p.v, "grad_bias");
  py::gil_scoped_release nogil;
  lce::linear_cross_entropy(p, threads);
}

}  // namespace

void init_lce(py::module_& m) {
  m.def("linear_cross_entropy", &linear_cross_entropy, py::arg("hidden"), py::arg("weight"), py::arg("bias"),
        py::arg("label"), py::arg("smoothing"), py::arg("z_loss"), py::arg("row_loss"), py::arg("grad_scale"),
        py::arg("grad_hidden"), py::arg("grad_weight"), py::arg("grad_bias"), py::arg("threads"),
        "Fused linear cross-entropy (csrc/lce/lce.hpp): per-row losses into row_loss (float64; rows whose\n"
        "label is negative are left untouched) and, when given, the gradients of grad_scale * their sum.");
  m.def("lce_blocking", [](const std::string& dtype, int64_t n, int64_t h, int64_t v) {
        const auto b = lce::blocking(dtype == "float32" ? lce::DType::F32 : lce::DType::F64, n, h, v);
        py::dict d;
        d["block_rows"] = b.block_rows;
        d["vocab_chunk"] = b.vocab_chunk;
        d["grad_groups"] = b.grad_groups;
        d["tile_bytes"] = b.tile_bytes;
        return d;
      }, py::arg("dtype"), py::arg("n"), py::arg("h"), py::arg("v"),
      "The blocking linear_cross_entropy plans for n rows that are not ignored (tests, benchmarks).");
  m.def("blas_get_num_threads", &blas::num_threads, "OpenBLAS's (scipy-openblas32) thread count.");
  m.def("blas_set_num_threads", &blas::set_num_threads, py::arg("n"), "Set OpenBLAS's (scipy-openblas32) thread count.");
  m.def("blas_corename", []() { return std::string(blas::corename()); }, "OpenBLAS's kernel name for this CPU.");
}

}  // namespace bind
}  // namespace divkern
