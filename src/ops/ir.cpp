// NodeDef attribute accessors.
#include "ops/ir.hpp"

namespace qcal::ops {
namespace {

template <typename T>
const T* get_if_typed(const NodeDef& node, const std::string& key, const char* type_name) {
  auto it = node.attributes.find(key);
  if (it == node.attributes.end()) return nullptr;
  const T* value = std::get_if<T>(&it->second);
  if (!value) {
    throw node.error(ErrorCode::kFormat, "attribute '" + key + "' is not of type " + type_name);
  }
  return value;
}

}  // namespace

Error NodeDef::error(ErrorCode code, const std::string& message) const {
  Error e(code, message);
  e.with("node", name).with("op", op_type);
  return e;
}

std::int64_t NodeDef::attr_int(const std::string& key, std::int64_t fallback) const {
  const auto* v = get_if_typed<std::int64_t>(*this, key, "int");
  return v ? *v : fallback;
}

float NodeDef::attr_float(const std::string& key, float fallback) const {
  const auto* v = get_if_typed<float>(*this, key, "float");
  return v ? *v : fallback;
}

std::string NodeDef::attr_string(const std::string& key, const std::string& fallback) const {
  const auto* v = get_if_typed<std::string>(*this, key, "string");
  return v ? *v : fallback;
}

std::vector<std::int64_t> NodeDef::attr_ints(const std::string& key,
                                             const std::vector<std::int64_t>& fallback) const {
  const auto* v = get_if_typed<std::vector<std::int64_t>>(*this, key, "ints");
  return v ? *v : fallback;
}

std::vector<float> NodeDef::attr_floats(const std::string& key,
                                        const std::vector<float>& fallback) const {
  const auto* v = get_if_typed<std::vector<float>>(*this, key, "floats");
  return v ? *v : fallback;
}

const Tensor* NodeDef::attr_tensor(const std::string& key) const {
  return get_if_typed<Tensor>(*this, key, "tensor");
}

std::int64_t NodeDef::require_int(const std::string& key) const {
  const auto* v = get_if_typed<std::int64_t>(*this, key, "int");
  if (!v) throw error(ErrorCode::kFormat, "required attribute '" + key + "' is missing");
  return *v;
}

std::vector<std::int64_t> NodeDef::require_ints(const std::string& key) const {
  const auto* v = get_if_typed<std::vector<std::int64_t>>(*this, key, "ints");
  if (!v) throw error(ErrorCode::kFormat, "required attribute '" + key + "' is missing");
  return *v;
}

}  // namespace qcal::ops
