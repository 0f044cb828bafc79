// Float model edits for bias correction and cross-layer equalization: constants read and
// replaced in initializers and Constant nodes, biases added or shifted per output channel.
#include "export/weight_edit.hpp"

#include <onnx/onnx_pb.h>

#include <cstring>
#include <set>

#include "core/error.hpp"
#include "export/onnx_proto_util.hpp"

namespace qcal::exporter {
namespace {

// Float values of a float32 tensor (raw_data or float_data); false for another type, external
// data or a size mismatch.
bool tensor_floats(const onnx::TensorProto& t, FloatTensor& out) {
  if (t.data_type() != onnx::TensorProto::FLOAT ||
      t.data_location() == onnx::TensorProto::EXTERNAL) {
    return false;
  }
  std::size_t numel = 1;
  for (auto d : t.dims()) {
    if (d < 0) return false;
    numel *= static_cast<std::size_t>(d);
  }
  out.shape.assign(t.dims().begin(), t.dims().end());
  if (!t.raw_data().empty()) {
    if (t.raw_data().size() != numel * sizeof(float)) return false;
    out.values.resize(numel);
    std::memcpy(out.values.data(), t.raw_data().data(), numel * sizeof(float));  // little-endian
    return true;
  }
  out.values.assign(t.float_data().begin(), t.float_data().end());
  return out.values.size() == numel;
}

void set_floats(onnx::TensorProto& t, const std::vector<float>& values) {
  t.clear_float_data();
  t.set_raw_data(
      std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float)));
}

// Every float32 constant of the graph by name: initializers and Constant nodes' `value`.
std::map<std::string, onnx::TensorProto*> constant_tensors(onnx::GraphProto& g) {
  std::map<std::string, onnx::TensorProto*> out;
  for (auto& t : *g.mutable_initializer()) out[t.name()] = &t;
  for (auto& n : *g.mutable_node()) {
    if (n.op_type() != "Constant" || !n.domain().empty() || n.output_size() != 1) continue;
    for (auto& a : *n.mutable_attribute()) {
      if (a.name() == "value" && a.type() == onnx::AttributeProto::TENSOR) {
        out[n.output(0)] = a.mutable_t();
      }
    }
  }
  return out;
}

Error edit_error(const std::string& message, const std::string& what, const std::string& node) {
  Error e(ErrorCode::kInvalidArgument, message);
  e.with("file", what).with("node", node);
  return e;
}

// Applies bias shifts to one parsed model.
class BiasEditor {
 public:
  BiasEditor(onnx::GraphProto& g, const std::string& what) : g_(g), what_(what) {
    for (const auto& n : g_.node()) {
      used_.insert(n.name());
      for (const auto& o : n.output()) used_.insert(o);
      for (const auto& i : n.input()) used_.insert(i);
    }
    for (const auto& t : g_.initializer()) used_.insert(t.name());
    for (const auto& i : g_.input()) used_.insert(i.name());
  }

  void apply(const std::vector<BiasShift>& shifts) {
    std::map<std::string, const BiasShift*> by_node;
    for (const auto& s : shifts) by_node[s.node] = &s;
    // MatMul biases insert Add nodes: collect them first, then rebuild the node list.
    std::vector<std::pair<int, onnx::NodeProto>> inserted;
    for (int k = 0; k < g_.node_size(); ++k) {
      auto it = by_node.find(node_key(g_.node(k).name(), static_cast<std::size_t>(k)));
      if (it == by_node.end()) continue;
      shift_node(*g_.mutable_node(k), *it->second, k, inserted);
      by_node.erase(it);
    }
    if (!by_node.empty()) {
      throw edit_error("bias correction names a node the model does not have", what_,
                       by_node.begin()->first);
    }
    insert_nodes(inserted);
    drop_unused_constants();
  }

 private:
  std::string make_name(const std::string& base) {
    std::string name = base;
    for (int k = 1; used_.count(name); ++k) name = base + "_" + std::to_string(k);
    used_.insert(name);
    return name;
  }

  // The current bias of a layer widened to `channels` values (zeros when absent).
  std::vector<float> current_bias(const std::string& input, std::size_t channels,
                                  const std::string& node) {
    std::vector<float> bias(channels, 0.0f);
    if (input.empty()) return bias;
    const auto constants = constant_tensors(g_);
    FloatTensor t;
    auto c = constants.find(input);
    if (c == constants.end() || !tensor_floats(*c->second, t)) {
      throw edit_error("the layer's bias '" + input + "' is not a float32 constant", what_, node);
    }
    if (t.values.size() == 1) {
      bias.assign(channels, t.values[0]);
    } else if (t.values.size() == channels) {
      bias = t.values;
    } else {
      throw edit_error("the layer's bias has " + std::to_string(t.values.size()) +
                           " values; bias correction expected 1 or " + std::to_string(channels),
                       what_, node);
    }
    return bias;
  }

  std::string add_bias_initializer(const std::string& base, const std::vector<float>& values) {
    auto* t = g_.add_initializer();
    t->set_name(make_name(base + "_bias_corrected"));
    t->set_data_type(onnx::TensorProto::FLOAT);
    t->add_dims(static_cast<std::int64_t>(values.size()));
    set_floats(*t, values);
    return t->name();
  }

  static void add_shift(std::vector<float>& bias, const std::vector<double>& shift, double div) {
    for (std::size_t c = 0; c < bias.size(); ++c) {
      bias[c] = static_cast<float>(static_cast<double>(bias[c]) + shift[c] / div);
    }
  }

  void shift_node(onnx::NodeProto& n, const BiasShift& s, int index,
                  std::vector<std::pair<int, onnx::NodeProto>>& inserted) {
    const std::string base = n.name().empty() ? n.output(0) : n.name();
    const std::size_t channels = s.shift.size();
    if (n.op_type() == "Conv" || n.op_type() == "ConvTranspose") {
      auto bias = current_bias(n.input_size() > 2 ? n.input(2) : "", channels, s.node);
      add_shift(bias, s.shift, 1.0);
      const std::string name = add_bias_initializer(base, bias);
      set_bias_input(n, name);
    } else if (n.op_type() == "Gemm") {
      shift_gemm(n, s, base);
    } else if (n.op_type() == "MatMul") {
      std::vector<float> bias(channels, 0.0f);
      add_shift(bias, s.shift, 1.0);
      const std::string bias_name = add_bias_initializer(base, bias);
      const std::string out = n.output(0);
      const std::string product = make_name(out + "_before_bias");
      n.set_output(0, product);
      onnx::NodeProto add;
      add.set_op_type("Add");
      add.set_name(make_name(base + "_bias_correction"));
      add.add_input(product);
      add.add_input(bias_name);
      add.add_output(out);
      inserted.emplace_back(index, std::move(add));
    } else {
      throw edit_error(
          "bias correction applies to Conv, ConvTranspose, Gemm and MatMul, not " + n.op_type(),
          what_, s.node);
    }
  }

  void shift_gemm(onnx::NodeProto& n, const BiasShift& s, const std::string& base) {
    onnx::AttributeProto* beta = nullptr;
    for (auto& a : *n.mutable_attribute()) {
      if (a.name() == "beta") beta = &a;
    }
    const bool has_c = n.input_size() > 2 && !n.input(2).empty();
    double beta_value = beta ? static_cast<double>(beta->f()) : 1.0;
    std::vector<float> bias = has_c && beta_value != 0.0
                                  ? current_bias(n.input(2), s.shift.size(), s.node)
                                  : std::vector<float>(s.shift.size(), 0.0f);
    if (beta_value == 0.0) {  // C was ignored: it becomes the shift alone, at beta 1
      beta->set_f(1.0f);
      beta_value = 1.0;
    }
    add_shift(bias, s.shift, beta_value);
    set_bias_input(n, add_bias_initializer(base, bias));
  }

  void set_bias_input(onnx::NodeProto& n, const std::string& name) {
    if (n.input_size() > 2 && !n.input(2).empty()) replaced_.insert(n.input(2));
    while (n.input_size() < 3) n.add_input("");
    n.set_input(2, name);
  }

  void insert_nodes(std::vector<std::pair<int, onnx::NodeProto>>& inserted) {
    if (inserted.empty()) return;
    google::protobuf::RepeatedPtrField<onnx::NodeProto> ordered;
    std::size_t next = 0;
    for (int k = 0; k < g_.node_size(); ++k) {
      *ordered.Add() = std::move(*g_.mutable_node(k));
      while (next < inserted.size() && inserted[next].first == k) {
        *ordered.Add() = std::move(inserted[next++].second);
      }
    }
    g_.mutable_node()->Swap(&ordered);
  }

  // A replaced bias nobody reads any more is removed (initializer or Constant node).
  void drop_unused_constants() {
    std::set<std::string> read;
    for (const auto& n : g_.node()) {
      for (const auto& i : n.input()) read.insert(i);
    }
    for (const auto& o : g_.output()) read.insert(o.name());
    for (const auto& i : g_.input()) read.insert(i.name());
    auto* inits = g_.mutable_initializer();
    for (int k = inits->size() - 1; k >= 0; --k) {
      const auto& name = inits->Get(k).name();
      if (replaced_.count(name) && !read.count(name)) inits->DeleteSubrange(k, 1);
    }
    auto* nodes = g_.mutable_node();
    for (int k = nodes->size() - 1; k >= 0; --k) {
      const auto& n = nodes->Get(k);
      if (n.op_type() == "Constant" && n.output_size() == 1 && replaced_.count(n.output(0)) &&
          !read.count(n.output(0))) {
        nodes->DeleteSubrange(k, 1);
      }
    }
  }

  onnx::GraphProto& g_;
  const std::string& what_;
  std::set<std::string> used_;
  std::set<std::string> replaced_;  // biases replaced by a corrected copy (removed when unread)
};

void replace_constants(onnx::GraphProto& g, const std::string& what,
                       const std::map<std::string, FloatTensor>& replacements) {
  const auto constants = constant_tensors(g);
  for (const auto& [name, value] : replacements) {
    auto c = constants.find(name);
    FloatTensor old;
    if (c == constants.end() || !tensor_floats(*c->second, old)) {
      Error e(ErrorCode::kInternal, "a weight edit names a tensor that is not a float constant");
      e.with("file", what).with("tensor", name);
      throw e;
    }
    if (old.values.size() != value.values.size()) {
      Error e(ErrorCode::kInternal, "a weight edit changes a tensor's element count");
      e.with("file", what).with("tensor", name);
      throw e;
    }
    set_floats(*c->second, value.values);
  }
}

}  // namespace

std::string node_key(const std::string& node_name, std::size_t index) {
  return node_name.empty() ? "#" + std::to_string(index) : node_name;
}

std::map<std::string, FloatTensor> read_float_constants(const std::string& model_bytes,
                                                        const std::string& what,
                                                        const std::vector<std::string>& names) {
  auto model = parse_model(model_bytes, what);
  const auto constants = constant_tensors(*model.mutable_graph());
  std::map<std::string, FloatTensor> out;
  for (const auto& name : names) {
    auto c = constants.find(name);
    FloatTensor t;
    if (c != constants.end() && tensor_floats(*c->second, t)) out[name] = std::move(t);
  }
  return out;
}

std::string edit_float_model(const std::string& model_bytes, const std::string& what,
                             const std::map<std::string, FloatTensor>& replacements,
                             const std::vector<BiasShift>& shifts) {
  auto model = parse_model(model_bytes, what);
  auto& g = *model.mutable_graph();
  replace_constants(g, what, replacements);
  if (!shifts.empty()) {
    BiasEditor(g, what).apply(shifts);
  }
  return model.SerializeAsString();
}

}  // namespace qcal::exporter
