// PyStream: next() takes the GIL, pulls one item and shares its arrays (no copy).
#include "sample_stream.hpp"

#include "numpy_array.hpp"
#include "qcal/error.hpp"

namespace py = pybind11;

namespace qcal::python {

PyStream::PyStream(const py::handle& source) {
  const std::string type = py::str(py::type::of(source).attr("__name__"));
  if (py::hasattr(source, "get_next")) {
    iterator_ = py::reinterpret_borrow<py::object>(source);
    reader_ = true;
    description_ = "a " + type + " (get_next)";
    return;
  }
  iterator_ = py::reinterpret_borrow<py::object>(py::iter(source));
  description_ = "a Python " + type;
}

PyStream::~PyStream() {
  // Destroyed by the calibrating thread, which may not hold the GIL.
  py::gil_scoped_acquire gil;
  iterator_ = py::object();
  pending_.reset();
}

std::optional<StreamSample> PyStream::next() {
  py::gil_scoped_acquire gil;
  try {
    if (PyErr_CheckSignals() != 0) throw py::error_already_set();
    return pull();
  } catch (py::error_already_set& e) {
    pending_ = std::make_shared<py::error_already_set>(std::move(e));
    throw Error(ErrorCode::kInvalidArgument, "the data raised " + std::string(pending_->what()) +
                                                 " at sample " + std::to_string(index_));
  }
}

std::optional<StreamSample> PyStream::pull() {
  py::object item;
  if (reader_) {
    item = iterator_.attr("get_next")();
    if (item.is_none()) return std::nullopt;
  } else {
    PyObject* raw = PyIter_Next(iterator_.ptr());
    if (!raw) {
      if (PyErr_Occurred()) throw py::error_already_set();
      return std::nullopt;
    }
    item = py::reinterpret_steal<py::object>(raw);
  }
  const std::string what = "sample " + std::to_string(index_++) + " of " + description_;
  StreamSample s;
  if (py::isinstance<py::dict>(item)) {
    for (const auto& [key, value] : item.cast<py::dict>()) {
      const std::string name = py::str(key);
      s.inputs.emplace_back(name, array_from_numpy(value, what + ", input '" + name + "'"));
    }
  } else {
    s.inputs.emplace_back("", array_from_numpy(item, what));
  }
  return s;
}

}  // namespace qcal::python
