// divkern._core: the compiled half of divkern. One small init function per family.
#include <pybind11/pybind11.h>

namespace divkern {
namespace bind {
void init_config(pybind11::module_& m);
void init_special(pybind11::module_& m);
void init_rowops(pybind11::module_& m);
void init_divergence(pybind11::module_& m);
void init_lce(pybind11::module_& m);
}  // namespace bind
}  // namespace divkern

PYBIND11_MODULE(_core, m) {
  m.doc() = "divkern's C++ kernels (private: use the divkern package)";
  divkern::bind::init_config(m);
  divkern::bind::init_special(m);
  divkern::bind::init_rowops(m);
  divkern::bind::init_divergence(m);
  divkern::bind::init_lce(m);
}
