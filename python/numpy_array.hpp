// numpy arrays <-> qcal::Array without copies: an Array over a numpy buffer keeps the array
// alive (releasing it under the GIL), and a numpy array over an Array's memory owns a reference
// to it through a capsule.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <string>

#include "qcal/array.hpp"

namespace qcal::python {

// `what` names the value in errors ("data", "sample 3", "input 'images'"). A C-contiguous,
// aligned, native-order array is shared; any other array-like is converted first (a copy).
Array array_from_numpy(const pybind11::handle& object, const std::string& what);
pybind11::array numpy_from_array(const Array& array);

}  // namespace qcal::python
