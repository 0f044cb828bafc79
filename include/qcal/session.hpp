// qcal::Session: an ONNX model loaded into qcal's engine, run on arrays (float32 and the other
// element types the model takes).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "qcal/array.hpp"

namespace qcal {

struct TensorInfo {
  std::string name;
  ElementType type = ElementType::kFloat32;
  std::vector<std::int64_t> shape;  // -1 for a dynamic dimension
};

class Session {
 public:
  // Loads the model; throws qcal::Error naming the file and every unsupported node.
  explicit Session(const std::string& model, int threads = 0);
  ~Session();
  Session(Session&&) noexcept;
  Session& operator=(Session&&) noexcept;

  const std::vector<TensorInfo>& inputs() const;
  const std::vector<TensorInfo>& outputs() const;
  // Every model input by name; returns every output by name. Inputs are read in place; outputs
  // are new arrays.
  std::map<std::string, Array> run(const std::map<std::string, Array>& inputs);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace qcal
