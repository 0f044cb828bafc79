// The op-level vocabulary shared by ops/ and engine/: a node as the kernels see it (name, op,
// opset, input/output tensor names, attributes), independent of protobuf.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "core/error.hpp"
#include "core/tensor.hpp"

namespace qcal::ops {

// One ONNX attribute value. Graph-valued attributes (If/Loop bodies) are not supported.
using AttrValue = std::variant<std::int64_t, float, std::string, Tensor, std::vector<std::int64_t>,
                               std::vector<float>, std::vector<std::string>>;

struct NodeDef {
  std::string name;     // ONNX node name; the loader makes one up ("<op>_<index>") when empty
  std::string op_type;  // spec spelling: "Conv", "QuantizeLinear"
  std::string domain;   // "" for the default ONNX domain
  int opset = 0;        // the model's opset for this node's domain
  std::vector<std::string> inputs;   // tensor names; "" marks an omitted optional input
  std::vector<std::string> outputs;  // tensor names; "" marks an omitted optional output
  std::map<std::string, AttrValue> attributes;

  bool has(const std::string& key) const { return attributes.count(key) != 0; }

  // Typed attribute access; a missing attribute gives `fallback`, a wrong type throws
  // qcal::Error naming the node and the attribute.
  std::int64_t attr_int(const std::string& key, std::int64_t fallback) const;
  float attr_float(const std::string& key, float fallback) const;
  std::string attr_string(const std::string& key, const std::string& fallback) const;
  std::vector<std::int64_t> attr_ints(const std::string& key,
                                      const std::vector<std::int64_t>& fallback = {}) const;
  std::vector<float> attr_floats(const std::string& key,
                                 const std::vector<float>& fallback = {}) const;
  const Tensor* attr_tensor(const std::string& key) const;  // nullptr when absent
  // Required variants throw when the attribute is absent.
  std::int64_t require_int(const std::string& key) const;
  std::vector<std::int64_t> require_ints(const std::string& key) const;

  // An Error of the given code with node/op context already attached.
  Error error(ErrorCode code, const std::string& message) const;
};

}  // namespace qcal::ops
