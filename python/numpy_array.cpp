// numpy <-> qcal::Array: dtype mapping and shared ownership across the two.
#include "numpy_array.hpp"

#include <memory>

#include "qcal/error.hpp"

namespace py = pybind11;

namespace qcal::python {
namespace {

struct DtypeRow {
  char kind;
  py::ssize_t itemsize;
  ElementType type;
  const char* numpy_name;
};
constexpr DtypeRow kDtypes[] = {
    {'f', 4, ElementType::kFloat32, "float32"}, {'f', 8, ElementType::kFloat64, "float64"},
    {'f', 2, ElementType::kFloat16, "float16"}, {'i', 1, ElementType::kInt8, "int8"},
    {'u', 1, ElementType::kUInt8, "uint8"},     {'i', 2, ElementType::kInt16, "int16"},
    {'u', 2, ElementType::kUInt16, "uint16"},   {'i', 4, ElementType::kInt32, "int32"},
    {'u', 4, ElementType::kUInt32, "uint32"},   {'i', 8, ElementType::kInt64, "int64"},
    {'u', 8, ElementType::kUInt64, "uint64"},   {'b', 1, ElementType::kBool, "bool"},
};

ElementType element_type(const py::dtype& dtype, const std::string& what) {
  if (dtype.byteorder() == '>') {
    throw Error(ErrorCode::kInvalidArgument, what + ": big-endian arrays are not supported");
  }
  for (const auto& row : kDtypes) {
    if (row.kind == dtype.kind() && row.itemsize == dtype.itemsize()) return row.type;
  }
  throw Error(ErrorCode::kInvalidArgument, what + ": arrays of dtype " +
                                               py::str(py::handle(dtype)).cast<std::string>() +
                                               " are not supported");
}

}  // namespace

Array array_from_numpy(const py::handle& object, const std::string& what) {
  // Shared as it is when already C-contiguous and aligned; otherwise numpy makes such a copy.
  auto a = py::array::ensure(object, py::array::c_style);
  if (!a) {
    PyErr_Clear();
    throw Error(ErrorCode::kInvalidArgument,
                what + ": expected a numpy array, got " +
                    std::string(py::str(py::type::of(object).attr("__name__"))));
  }
  Array out;
  out.type = element_type(a.dtype(), what);
  for (py::ssize_t d = 0; d < a.ndim(); ++d) out.shape.push_back(a.shape(d));
  void* data = const_cast<void*>(a.data());
  // The deleter may run on any thread, without the GIL: it takes it to release the array.
  PyObject* owner = a.release().ptr();
  out.data = std::shared_ptr<void>(data, [owner](void*) {
    py::gil_scoped_acquire gil;
    Py_DECREF(owner);
  });
  return out;
}

py::array numpy_from_array(const Array& array) {
  const char* name = "float32";
  for (const auto& row : kDtypes) {
    if (row.type == array.type) name = row.numpy_name;
  }
  auto* keep = new std::shared_ptr<void>(array.data);
  py::capsule owner(keep, [](void* p) { delete static_cast<std::shared_ptr<void>*>(p); });
  std::vector<py::ssize_t> shape(array.shape.begin(), array.shape.end());
  return py::array(py::dtype(name), shape, array.data.get(), owner);
}

}  // namespace qcal::python
