// Conversions between the public API's types (include/qcal) and the libraries' (core Tensor,
// DType), and the Control checks every long run shares.
#pragma once

#include <string>

#include "core/tensor.hpp"
#include "qcal/array.hpp"

namespace qcal::api {

DType to_dtype(ElementType type);
ElementType to_element_type(DType dtype);  // throws kUnsupported for kUndefined
// The array's memory as a tensor (no copy; the tensor keeps the array's owner alive).
Tensor to_tensor(const Array& array);
// The tensor's memory as an array (no copy).
Array to_array(const Tensor& tensor);

// Throws qcal::Error(kCancelled) when the control's flag is set.
void check_cancel(const Control& control, const std::string& stage);

}  // namespace qcal::api
