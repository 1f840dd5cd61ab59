// Runtime configuration: ISA levels, threads, CPU description, and the elementwise math
// kernels of each level (for the accuracy tests).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "core/cpu.hpp"
#include "core/dispatch.hpp"
#include "core/threads.hpp"
#include "rowreduce/kernels.hpp"
#include "simd/hooks.hpp"

namespace divkern {
namespace bind {

namespace py = pybind11;

namespace {

Isa isa_from(const std::string& name) {
  Isa isa;
  if (!parse_isa(name, &isa))
    throw std::invalid_argument("unknown ISA level '" + name + "' (expected baseline, avx2 or avx512)");
  return isa;
}

template <class T>
py::array_t<T> apply(void (*fn)(const T*, T*, int64_t), const py::array_t<T, py::array::c_style | py::array::forcecast>& x) {
  py::array_t<T> y(x.request().shape);
  const T* src = x.data();
  T* dst = y.mutable_data();
  const int64_t n = (int64_t)x.size();
  {
    py::gil_scoped_release nogil;
    fn(src, dst, n);
  }
  return y;
}

// The math hooks of a named ISA level, which must be compiled in and runnable on this CPU.
const simd::MathHooks* level_hooks(const std::string& isa_name_) {
  const simd::MathHooks* t = simd::hooks_for(isa_from(isa_name_));
  if (!t) throw std::invalid_argument("ISA level '" + isa_name_ + "' is not compiled into this build");
  if (!cpu_supports(isa_from(isa_name_))) throw std::runtime_error("this CPU cannot run ISA level '" + isa_name_ + "'");
  return t;
}

py::array math(const std::string& name, const py::array& x, const std::string& isa_name_) {
  const simd::MathHooks* t = level_hooks(isa_name_);
  const bool f32 = x.dtype().kind() == 'f' && x.dtype().itemsize() == 4;
  if (name == "exp") {
    if (f32) return apply<float>(t->exp_f32, x);
    return apply<double>(t->exp_f64, x);
  }
  if (name == "exp_term") {
    if (f32) return apply<float>(t->exp_term_f32, x);
    return apply<double>(t->exp_term_f64, x);
  }
  if (f32) throw py::type_error("math: '" + name + "' is implemented for float64 only");
  if (name == "log") return apply<double>(t->log_f64, x);
  if (name == "log1p") return apply<double>(t->log1p_f64, x);
  if (name == "log_table") return apply<double>(t->log_table_f64, x);
  throw std::invalid_argument("math: unknown function '" + name + "'");
}

using F32Array = py::array_t<float, py::array::c_style | py::array::forcecast>;
py::array fmadd(const F32Array& a, const F32Array& b, const F32Array& c, const std::string& isa_name_) {
  const simd::MathHooks* t = level_hooks(isa_name_);
  if (a.ndim() != 1 || b.ndim() != 1 || c.ndim() != 1 || a.size() != b.size() || a.size() != c.size())
    throw std::invalid_argument("fmadd: a, b and c must be 1-d arrays of one length");
  py::array_t<float> y(a.size());
  t->fmadd_f32(a.data(), b.data(), c.data(), y.mutable_data(), (int64_t)a.size());
  return y;
}

template <class T>
py::array tile_lse_typed(const py::array_t<T, py::array::c_style | py::array::forcecast>& x, bool lanes,
                         int64_t tile_rows, int64_t tile_cols, const rowreduce::TestHooks* h) {
  if (x.ndim() != 2 || tile_rows < 1 || tile_cols < 1) throw std::invalid_argument("tile_lse: a 2-d x and positive tiles");
  const int64_t rows = lanes ? x.shape(1) : x.shape(0), cols = lanes ? x.shape(0) : x.shape(1);
  py::array_t<double> out(rows);
  void (*fn)(const T*, int64_t, int64_t, int64_t, int64_t, bool, double*);
  if constexpr (std::is_same<T, float>::value) fn = h->tile_lse_f32;
  else fn = h->tile_lse_f64;
  fn(x.data(), rows, cols, tile_rows, tile_cols, lanes, out.mutable_data());
  return out;
}

py::array tile_lse(const py::array& x, bool lanes, int64_t tile_rows, int64_t tile_cols, const std::string& isa) {
  isa_from(isa);
  if (!cpu_supports(isa_from(isa))) throw std::runtime_error("this CPU cannot run ISA level '" + isa + "'");
  const rowreduce::TestHooks* h = rowreduce::test_hooks_for(isa_from(isa));
  if (!h) throw std::invalid_argument("ISA level '" + isa + "' is not compiled into this build");
  if (x.dtype().kind() == 'f' && x.dtype().itemsize() == 4) return tile_lse_typed<float>(x, lanes, tile_rows, tile_cols, h);
  return tile_lse_typed<double>(x, lanes, tile_rows, tile_cols, h);
}

}  // namespace

void init_config(py::module_& m) {
  m.def("isa_compiled", []() {
    std::vector<std::string> r;
    for (int i = 0; i < kNumIsa; ++i)
      if (isa_compiled((Isa)i)) r.push_back(isa_name((Isa)i));
    return r;
  }, "ISA levels compiled into this build, lowest first.");
  m.def("isa_supported", [](const std::string& n) { return cpu_supports(isa_from(n)); },
        "Whether this CPU can run the named ISA level.");
  m.def("get_isa", []() { return std::string(isa_name(active_isa())); }, "The ISA level in use.");
  m.def("set_isa", [](const std::string& n) { set_active_isa(isa_from(n)); },
        "Select the ISA level (ValueError if unknown or not compiled, RuntimeError if unsupported).");
  m.def("best_isa", []() { return std::string(isa_name(best_isa())); });
  m.def("cpu_brand", &cpu_brand);
  m.def("have_openmp", &have_openmp);
  m.def("get_num_threads", &default_threads,
        "Threads a call made on this thread uses by default: divkern's process-wide setting,\n"
        "at most this thread's OpenMP limit where that was changed (threadpoolctl), at most\n"
        "max_threads(); 1 in a forked child or without OpenMP.");
  m.def("set_num_threads", &set_default_threads, py::arg("n"),
        "Set divkern's process-wide default (clipped to [1, max_threads()]; n <= 0 restores\n"
        "OpenMP's default). Never calls omp_set_num_threads.");
  m.def("max_threads", &max_threads,
        "The most threads one call starts: 4 per hardware thread, at most 1024 (1 without OpenMP).");
  m.def("fmadd", &fmadd, py::arg("a"), py::arg("b"), py::arg("c"), py::arg("isa"),
        "a * b + c on float32 arrays, rounded once, as an ISA level computes it (FMA instruction or emulation).");
  m.def("tile_lse", &tile_lse, py::arg("x"), py::arg("lanes"), py::arg("tile_rows"), py::arg("tile_cols"),
        py::arg("isa"), "Test hook: log-sum-exp of x's rows (of its columns with lanes=True) through the engine's tile\n"
        "entry point (TileReducer), fed in tiles of (tile_rows, tile_cols).");
  m.def("math", &math, py::arg("name"), py::arg("x"), py::arg("isa"),
        "Apply divkern's elementwise exp or exp_term (float32/float64; the Fast sums' exp), log, log1p\n"
        "or log_table (float64, the log of float log-sum-exp results) of an ISA level.");
}

}  // namespace bind
}  // namespace divkern
