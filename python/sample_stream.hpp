// Python iterables as a qcal::SampleStream: any iterable of arrays or {input name: array}
// dicts, or an object with get_next() (ONNX Runtime's CalibrationDataReader), pulled one sample
// at a time on the calibrating thread, which holds the GIL only while pulling.
#pragma once

#include <pybind11/pybind11.h>

#include <memory>
#include <optional>
#include <string>

#include "qcal/data.hpp"

namespace qcal::python {

class PyStream : public SampleStream {
 public:
  // Called with the GIL held.
  explicit PyStream(const pybind11::handle& source);
  ~PyStream() override;
  std::optional<StreamSample> next() override;
  std::string description() const override { return description_; }
  // A Python exception the iterator raised (KeyboardInterrupt too), re-raised by the binding
  // instead of the qcal::Error that stopped the run.
  std::shared_ptr<pybind11::error_already_set> pending_error() const { return pending_; }

 private:
  std::optional<StreamSample> pull();

  pybind11::object iterator_;  // from iter(source), or the reader itself
  bool reader_ = false;        // get_next() until None
  std::string description_;
  std::int64_t index_ = 0;
  std::shared_ptr<pybind11::error_already_set> pending_;
};

}  // namespace qcal::python
