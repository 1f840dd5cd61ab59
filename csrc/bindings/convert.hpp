// NumPy array -> divkern views, without copying. The Python layer has already chosen
// dtypes, shapes and layouts; these checks only guard the C++ contract (a violation is a
// bug in the caller, reported as ValueError/TypeError, never a crash).
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <stdexcept>
#include <string>

#include "core/layout.hpp"
#include "rowreduce/rowreduce.hpp"

namespace divkern {
namespace bind {

namespace py = pybind11;

// True when `dt` stores its values in this machine's byte order.
inline bool native_order(const py::dtype& dt) {
  const char bo = dt.byteorder();
  const uint16_t probe = 1;
  const char native = *reinterpret_cast<const unsigned char*>(&probe) ? '<' : '>';
  return bo == '=' || bo == '|' || bo == native;
}

inline rowreduce::DType dtype_of(const py::array& a, const char* name) {
  const auto dt = a.dtype();
  if (!native_order(dt)) throw py::type_error(std::string(name) + ": byte order is not the machine's");
  if (dt.kind() == 'f' && dt.itemsize() == 4) return rowreduce::DType::F32;
  if (dt.kind() == 'f' && dt.itemsize() == 8) return rowreduce::DType::F64;
  if (dt.kind() == 'f' && dt.itemsize() == 2) return rowreduce::DType::F16;
  throw py::type_error(std::string(name) + ": expected a float16, float32 or float64 array, got " +
                       std::string(py::str(dt)));
}

// Fills strides (in elements) of `a`, which must have `ndim` dimensions and dtype `dt`.
inline void element_strides(const py::array& a, const char* name, int ndim, rowreduce::DType dt, bool writable,
                            int64_t* strides) {
  if (a.ndim() != ndim)
    throw std::invalid_argument(std::string(name) + ": expected " + std::to_string(ndim) + " dimensions, got " +
                                std::to_string(a.ndim()));
  if (dtype_of(a, name) != dt) throw py::type_error(std::string(name) + ": dtype does not match the input's");
  if (writable && !a.writeable()) throw std::invalid_argument(std::string(name) + ": array is read-only");
  const int64_t item = dt == rowreduce::DType::F64 ? 8 : dt == rowreduce::DType::F32 ? 4 : 2;
  if (reinterpret_cast<uintptr_t>(a.data()) % (uintptr_t)item != 0)
    throw std::invalid_argument(std::string(name) + ": data is not aligned to its item size");
  for (int k = 0; k < ndim; ++k) {
    const int64_t s = (int64_t)a.strides(k);
    if (s % item != 0)
      throw std::invalid_argument(std::string(name) + ": strides must be multiples of the item size");
    strides[k] = s / item;
  }
}

}  // namespace bind
}  // namespace divkern
