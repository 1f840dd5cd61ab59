// entr / rel_entr / kl_div and the entropy / Jensen-Shannon reductions: convert, release
// the GIL, call. The Python layer (python/divkern/_divergence.py) has already chosen the
// dtype (float32 or float64 for every operand), broadcast the operands and shaped them.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "bindings/convert.hpp"
#include "divergence/divergence.hpp"

namespace divkern {
namespace bind {

namespace {

using divergence::Op;

Op op_of(const std::string& name) {
  if (name == "entr") return Op::Entr;
  if (name == "rel_entr") return Op::RelEntr;
  if (name == "kl_div") return Op::KlDiv;
  if (name == "jensenshannon") return Op::JensenShannon;
  throw std::invalid_argument("op: unknown divergence '" + name + "'");
}

// float32 -> true, float64 -> false; anything else is the caller's bug.
bool is_f32(const py::array& a, const char* name) {
  const auto dt = dtype_of(a, name);
  if (dt == rowreduce::DType::F16) throw py::type_error(std::string(name) + ": expected float32 or float64");
  return dt == rowreduce::DType::F32;
}

std::vector<int64_t> strides_of(const py::array& a, const char* name, bool f32, bool writable) {
  std::vector<int64_t> s((size_t)a.ndim());
  if (a.ndim())
    element_strides(a, name, (int)a.ndim(), f32 ? rowreduce::DType::F32 : rowreduce::DType::F64, writable, s.data());
  else if (writable && !a.writeable())
    throw std::invalid_argument(std::string(name) + ": array is read-only");
  return s;
}

void elementwise(const std::string& op_name, const py::array& x, const py::object& y_obj, const py::array& out,
                 int threads) {
  divergence::ElementwiseArgs a;
  a.op = op_of(op_name);
  if (a.op == Op::JensenShannon) throw std::invalid_argument("op: not an elementwise function");
  a.f32 = is_f32(x, "x");
  const int nd = (int)x.ndim();
  std::vector<int64_t> shape(x.shape(), x.shape() + nd);
  auto sx = strides_of(x, "x", a.f32, false);
  auto so = strides_of(out, "out", a.f32, true);
  if (is_f32(out, "out") != a.f32 || out.ndim() != nd) throw std::invalid_argument("out: dtype or ndim differs from x");
  std::vector<int64_t> sy(sx.size(), 0);
  py::array y;
  if (a.op != Op::Entr) {
    y = y_obj.cast<py::array>();
    if (is_f32(y, "y") != a.f32 || y.ndim() != nd) throw std::invalid_argument("y: dtype or ndim differs from x");
    sy = strides_of(y, "y", a.f32, false);
    a.y = y.data();
  }
  for (int k = 0; k < nd; ++k)
    if (out.shape(k) != shape[(size_t)k] || (a.op != Op::Entr && y.shape(k) != shape[(size_t)k]))
      throw std::invalid_argument("x, y, out: shapes differ");
  a.ndim = nd;
  a.shape = shape.data();
  a.x = x.data();
  a.x_strides = sx.data();
  a.y_strides = sy.data();
  a.out = const_cast<py::array&>(out).mutable_data();
  a.out_strides = so.data();
  py::gil_scoped_release nogil;
  divergence::elementwise(a, threads);
}

void reduce(const std::string& op_name, const py::array& p, const py::object& q_obj, bool norm_p, bool norm_q,
            const py::array& out, double log_base, int threads) {
  divergence::ReduceArgs a;
  a.op = op_of(op_name);
  if (a.op == Op::KlDiv) throw std::invalid_argument("op: kl_div is not a reduction");
  a.f32 = is_f32(p, "p");
  if (p.ndim() != 3) throw std::invalid_argument("p: expected a (B, R, C) array");
  if (out.ndim() != 2 || out.shape(0) != p.shape(0) || out.shape(1) != p.shape(2))
    throw std::invalid_argument("out: expected shape (B, C)");
  if (is_f32(out, "out") != a.f32) throw std::invalid_argument("out: dtype differs from p");
  const auto sp = strides_of(p, "p", a.f32, false);
  const auto so = strides_of(out, "out", a.f32, true);
  a.B = p.shape(0);
  a.R = p.shape(1);
  a.C = p.shape(2);
  a.p = p.data();
  for (int k = 0; k < 3; ++k) a.p_strides[k] = sp[(size_t)k];
  a.out = const_cast<py::array&>(out).mutable_data();
  a.out_strides[0] = so[0];
  a.out_strides[1] = so[1];
  py::array q;
  if (a.op != Op::Entr) {
    q = q_obj.cast<py::array>();
    if (is_f32(q, "q") != a.f32 || q.ndim() != 3) throw std::invalid_argument("q: dtype or ndim differs from p");
    for (int k = 0; k < 3; ++k)
      if (q.shape(k) != p.shape(k)) throw std::invalid_argument("q: shape differs from p");
    const auto sq = strides_of(q, "q", a.f32, false);
    a.q = q.data();
    for (int k = 0; k < 3; ++k) a.q_strides[k] = sq[(size_t)k];
  }
  a.norm_p = norm_p;
  a.norm_q = norm_q;
  a.log_base = log_base;
  py::gil_scoped_release nogil;
  divergence::reduce(a, threads);
}

}  // namespace

void init_divergence(py::module_& m) {
  m.def("divergence_elementwise", &elementwise, py::arg("op"), py::arg("x"), py::arg("y"), py::arg("out"),
        py::arg("threads"),
        "entr(x), rel_entr(x, y) or kl_div(x, y) into `out`: x, y, out of one shape and dtype (float32 or float64).");
  m.def("divergence_reduce", &reduce, py::arg("op"), py::arg("p"), py::arg("q"), py::arg("norm_p"),
        py::arg("norm_q"), py::arg("out"), py::arg("log_base"), py::arg("threads"),
        "Entropy ('entr'), relative entropy ('rel_entr') or Jensen-Shannon distance ('jensenshannon') over\n"
        "axis 1 of (B, R, C) arrays p and q into out (B, C), p and q normalised by their sums where asked.");
}

}  // namespace bind
}  // namespace divkern
