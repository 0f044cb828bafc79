// QDQ ONNX writer: graph view extraction, weight quantization, Q/DQ insertion, checker.
#include "export/qdq_writer.hpp"

#include <onnx/checker.h>
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <set>

#include "core/error.hpp"
#include "export/onnx_proto_util.hpp"

namespace qcal::exporter {
namespace {

// Float data of an initializer (raw_data or float_data); throws when not float32.
std::vector<float> float_values(const onnx::TensorProto& t, const std::string& what) {
  if (t.data_type() != onnx::TensorProto::FLOAT) {
    Error e(ErrorCode::kUnsupported, "weight is not float32; cannot quantize it");
    e.with("file", what).with("tensor", t.name());
    throw e;
  }
  if (t.data_location() == onnx::TensorProto::EXTERNAL) {
    Error e(ErrorCode::kUnsupported, "weights in external data files are not quantized yet");
    e.with("file", what).with("tensor", t.name());
    throw e;
  }
  std::int64_t numel = 1;
  for (auto d : t.dims()) numel *= d;
  std::vector<float> v;
  if (!t.raw_data().empty()) {
    if (t.raw_data().size() != static_cast<std::size_t>(numel) * 4) {
      Error e(ErrorCode::kFormat, "initializer raw_data size does not match its dims");
      e.with("file", what).with("tensor", t.name());
      throw e;
    }
    v.resize(static_cast<std::size_t>(numel));
    std::memcpy(v.data(), t.raw_data().data(), v.size() * 4);  // little-endian host
  } else {
    v.assign(t.float_data().begin(), t.float_data().end());
    if (v.size() != static_cast<std::size_t>(numel)) {
      Error e(ErrorCode::kFormat, "initializer float_data size does not match its dims");
      e.with("file", what).with("tensor", t.name());
      throw e;
    }
  }
  return v;
}

class NameMaker {
 public:
  explicit NameMaker(const onnx::GraphProto& g) {
    for (const auto& n : g.node()) {
      used_.insert(n.name());
      for (const auto& o : n.output()) used_.insert(o);
      for (const auto& i : n.input()) used_.insert(i);
    }
    for (const auto& t : g.initializer()) used_.insert(t.name());
    for (const auto& i : g.input()) used_.insert(i.name());
  }
  std::string make(const std::string& base) {
    std::string name = base;
    for (int k = 1; used_.count(name); ++k) name = base + "_" + std::to_string(k);
    used_.insert(name);
    return name;
  }

 private:
  std::set<std::string> used_;
};

void add_scalar_initializer(onnx::GraphProto& g, const std::string& name, float value) {
  auto* t = g.add_initializer();
  t->set_name(name);
  t->set_data_type(onnx::TensorProto::FLOAT);
  t->add_float_data(value);
}

void add_zero_point(onnx::GraphProto& g, const std::string& name, ActivationType type,
                    std::int32_t zp) {
  auto* t = g.add_initializer();
  t->set_name(name);
  if (type == ActivationType::kUInt8Asymmetric) {
    t->set_data_type(onnx::TensorProto::UINT8);
    const auto b = static_cast<std::uint8_t>(zp);
    t->set_raw_data(std::string(1, static_cast<char>(b)));
  } else {
    t->set_data_type(onnx::TensorProto::INT8);
    const auto b = static_cast<std::int8_t>(zp);
    t->set_raw_data(std::string(1, static_cast<char>(b)));
  }
}

onnx::NodeProto make_node(const std::string& op, const std::string& name,
                          std::vector<std::string> inputs, const std::string& output) {
  onnx::NodeProto n;
  n.set_op_type(op);
  n.set_name(name);
  for (auto& i : inputs) n.add_input(i);
  n.add_output(output);
  return n;
}

}  // namespace

GraphView read_graph_view(const std::string& model_bytes, const std::string& what) {
  const auto model = parse_model(model_bytes, what);
  GraphView view;
  const auto& g = model.graph();
  for (const auto& t : g.initializer()) {
    view.initializers.insert(t.name());
    view.initializer_shapes[t.name()] = {t.dims().begin(), t.dims().end()};
  }
  for (const auto& i : g.input()) {
    if (!view.initializers.count(i.name())) view.inputs.push_back(i.name());
  }
  for (const auto& o : g.output()) view.outputs.push_back(o.name());
  for (const auto& n : g.node()) {
    GraphNode node;
    node.name = n.name();
    node.op_type = n.op_type();
    node.domain = n.domain();
    node.inputs = {n.input().begin(), n.input().end()};
    node.outputs = {n.output().begin(), n.output().end()};
    for (const auto& a : n.attribute()) {
      if (a.type() == onnx::AttributeProto::INT) node.int_attributes[a.name()] = a.i();
    }
    if (node.op_type == "Constant") {
      // Constant outputs are constants, not activations (PaddleOCR exports keep its weights so).
      for (const auto& o : node.outputs) view.initializers.insert(o);
      for (const auto& a : n.attribute()) {
        if (a.name() == "value" && a.type() == onnx::AttributeProto::TENSOR &&
            n.output_size() == 1) {
          view.initializer_shapes[n.output(0)] = {a.t().dims().begin(), a.t().dims().end()};
        }
      }
    }
    view.nodes.push_back(std::move(node));
  }
  return view;
}

QuantizedWeight quantize_weight_symmetric(const std::vector<float>& values,
                                          const std::vector<std::int64_t>& shape, int axis) {
  QuantizedWeight q;
  std::size_t channels = 1, inner = values.size(), outer = 1;
  if (axis >= 0) {
    if (static_cast<std::size_t>(axis) >= shape.size()) throw_invalid("weight axis out of range");
    channels = static_cast<std::size_t>(shape[static_cast<std::size_t>(axis)]);
    inner = 1;
    for (std::size_t d = static_cast<std::size_t>(axis) + 1; d < shape.size(); ++d) {
      inner *= static_cast<std::size_t>(shape[d]);
    }
    outer = channels == 0 ? 0 : values.size() / (channels * inner);
  }
  std::vector<float> absmax(channels, 0.0f);
  for (std::size_t o = 0; o < outer; ++o) {
    for (std::size_t c = 0; c < channels; ++c) {
      for (std::size_t i = 0; i < inner; ++i) {
        const float v = std::fabs(values[(o * channels + c) * inner + i]);
        absmax[c] = std::max(absmax[c], v);
      }
    }
  }
  q.scales.resize(channels);
  for (std::size_t c = 0; c < channels; ++c) q.scales[c] = calib::symmetric_int8(absmax[c]).scale;
  q.values.resize(values.size());
  for (std::size_t o = 0; o < outer; ++o) {
    for (std::size_t c = 0; c < channels; ++c) {
      for (std::size_t i = 0; i < inner; ++i) {
        const std::size_t k = (o * channels + c) * inner + i;
        // QuantizeLinear: round half to even (nearbyint in the default mode), then saturate;
        // symmetric weights use [-127, 127] so that -128 never appears (TensorRT's range).
        const float r = std::nearbyint(values[k] / q.scales[c]);
        q.values[k] = static_cast<std::int8_t>(std::clamp(r, -127.0f, 127.0f));
      }
    }
  }
  return q;
}

namespace {

// Weights held by Constant nodes (tensor `value`): quantized like initializers.
std::map<std::string, const onnx::TensorProto*> constant_values(const onnx::GraphProto& g) {
  std::map<std::string, const onnx::TensorProto*> out;
  for (const auto& n : g.node()) {
    if (n.op_type() != "Constant" || !n.domain().empty() || n.output_size() != 1) continue;
    for (const auto& a : n.attribute()) {
      if (a.name() == "value" && a.type() == onnx::AttributeProto::TENSOR)
        out[n.output(0)] = &a.t();
    }
  }
  return out;
}

// One QDQ model being written: the parsed model and what each step added.
class QdqWriter {
 public:
  QdqWriter(const std::string& model_bytes, const std::string& what)
      : what_(what),
        model_(parse_model(model_bytes, what)),
        g_(*model_.mutable_graph()),
        names_(g_) {}

  QdqResult write(const PlacementPlan& plan,
                  const std::map<std::string, calib::QuantParams>& activation_params,
                  ActivationType activation_type) {
    check_input();
    quantize_weights(plan);
    add_activation_pairs(plan, activation_params, activation_type);
    rewire(plan);
    if (opset_ < 11) quantize_biases(plan, activation_params);
    reorder();
    drop_unused_weights();
    // Stale value_info for rewired tensors stays valid (types unchanged); new tensors need none.
    result_.model_bytes = model_.SerializeAsString();
    if (input_checks_) check_onnx_model(result_.model_bytes, what_);
    return std::move(result_);
  }

 private:
  // A model the checker already rejects cannot be held to a clean result; say so instead.
  void check_input() {
    try {
      onnx::checker::check_model(model_);
    } catch (const std::exception& ex) {
      input_checks_ = false;
      result_.warnings.push_back(std::string("the input model fails the ONNX checker (") +
                                 ex.what() + "); the QDQ model is not checked either");
    }
    opset_ = default_opset(model_);
    if (opset_ < 10) {
      Error e(ErrorCode::kUnsupported,
              "QuantizeLinear/DequantizeLinear need opset >= 10; the model has opset " +
                  std::to_string(opset_));
      e.with("file", what_);
      throw e;
    }
  }

  // The float source of weight `name`: an initializer, or a float Constant node's value.
  const onnx::TensorProto* weight_source(
      const std::string& name, const std::map<std::string, const onnx::TensorProto*>& constants) {
    for (const auto& t : g_.initializer()) {
      if (t.name() == name) return &t;
    }
    const auto c = constants.find(name);
    if (c == constants.end() || c->second->data_type() != onnx::TensorProto::FLOAT) return nullptr;
    constant_weights_.insert(name);
    return c->second;
  }

  // Quantize weights into new int8 initializers, each followed by one DequantizeLinear.
  void quantize_weights(const PlacementPlan& plan) {
    const auto constants = constant_values(g_);
    for (const auto& [name, wp] : plan.weights) {
      const onnx::TensorProto* src = weight_source(name, constants);
      if (!src) continue;
      int axis = wp.axis;
      if (axis >= 0 && opset_ < 13) {
        axis = -1;
        if (!warned_axis_) {
          result_.warnings.push_back("opset " + std::to_string(opset_) +
                                     " < 13: weights are quantized per tensor (per-channel "
                                     "DequantizeLinear needs opset 13)");
          warned_axis_ = true;
        }
      }
      add_weight(name, *src, axis);
    }
  }

  void add_weight(const std::string& name, const onnx::TensorProto& src, int axis) {
    const std::vector<std::int64_t> shape(src.dims().begin(), src.dims().end());
    const auto q = quantize_weight_symmetric(float_values(src, what_), shape, axis);
    const std::string qname = names_.make(name + "_quantized");
    const std::string sname = names_.make(name + "_scale");
    const std::string zname = names_.make(name + "_zero_point");
    const std::string dqname = names_.make(name + "_DequantizeLinear_Output");
    auto* qt = g_.add_initializer();
    qt->set_name(qname);
    qt->set_data_type(onnx::TensorProto::INT8);
    for (auto d : shape) qt->add_dims(d);
    qt->set_raw_data(std::string(reinterpret_cast<const char*>(q.values.data()), q.values.size()));
    auto* st = g_.add_initializer();
    st->set_name(sname);
    st->set_data_type(onnx::TensorProto::FLOAT);
    auto* zt = g_.add_initializer();
    zt->set_name(zname);
    zt->set_data_type(onnx::TensorProto::INT8);
    if (axis >= 0) {
      st->add_dims(static_cast<std::int64_t>(q.scales.size()));
      zt->add_dims(static_cast<std::int64_t>(q.scales.size()));
    }
    for (float s : q.scales) st->add_float_data(s);
    zt->set_raw_data(std::string(q.scales.size(), '\0'));
    auto dq = make_node("DequantizeLinear", names_.make(name + "_DequantizeLinear"),
                        {qname, sname, zname}, dqname);
    if (axis >= 0) {
      auto* a = dq.add_attribute();
      a->set_name("axis");
      a->set_type(onnx::AttributeProto::INT);
      a->set_i(axis);
    }
    head_nodes_.push_back(std::move(dq));
    weight_dq_[name] = dqname;
    if (axis < 0 && q.scales.size() == 1) weight_scale_[name] = q.scales[0];
    ++result_.weights;
  }

  // Below opset 11 the float bias of a Conv/Gemm whose input and weight are quantized is written
  // as int32 with its DequantizeLinear (scale = input scale x weight scale, zero point 0), as
  // ONNX Runtime's own quantizer writes it. Left float, ONNX Runtime (1.20 on) quantizes it at
  // load with a Round node, which opset 10 does not have, and refuses the model. The values are
  // the ones its transform computes: round half to even of bias / scale, saturated to int32.
  void quantize_biases(const PlacementPlan& plan,
                       const std::map<std::string, calib::QuantParams>& params) {
    std::map<std::size_t, float> input_scale;  // node -> scale of its quantized input 0
    for (const auto& [tensor, uses] : plan.activations) {
      for (const auto& u : uses) {
        if (u.input == 0) input_scale[u.node] = params.at(tensor).scale;
      }
    }
    std::map<std::size_t, float> weight_scale;  // node -> per-tensor scale of its weight
    for (const auto& [name, wp] : plan.weights) {
      const auto it = weight_scale_.find(name);
      if (it == weight_scale_.end()) continue;
      for (const auto& u : wp.uses) {
        if (u.input == 1) weight_scale[u.node] = it->second;
      }
    }
    for (const auto& [node, sx] : input_scale) {
      const auto sw = weight_scale.find(node);
      if (sw != weight_scale.end()) quantize_bias(node, sx * sw->second);
    }
  }

  void quantize_bias(std::size_t node_index, float scale) {
    auto& node = *g_.mutable_node(static_cast<int>(node_index));
    if ((node.op_type() != "Conv" && node.op_type() != "Gemm") || node.input_size() < 3) return;
    const onnx::TensorProto* bias = weight_source(node.input(2), constant_values(g_));
    if (!bias || bias->data_type() != onnx::TensorProto::FLOAT || bias->dims_size() != 1 ||
        !(scale > 0.0f) || !std::isfinite(scale)) {
      return;
    }
    const std::string name = node.input(2);
    const std::vector<float> values = float_values(*bias, what_);
    std::vector<std::int32_t> q(values.size());
    for (std::size_t i = 0; i < values.size(); ++i) {
      // Round half to even (nearbyint in the default mode), then saturate, as QuantizeLinear.
      const double r = std::nearbyint(static_cast<double>(values[i] / scale));
      q[i] = static_cast<std::int32_t>(std::clamp(r, -2147483648.0, 2147483647.0));
    }
    const std::string qname = names_.make(name + "_quantized");
    const std::string sname = names_.make(name + "_scale");
    const std::string zname = names_.make(name + "_zero_point");
    const std::string dqname = names_.make(name + "_DequantizeLinear_Output");
    auto* qt = g_.add_initializer();
    qt->set_name(qname);
    qt->set_data_type(onnx::TensorProto::INT32);
    qt->add_dims(static_cast<std::int64_t>(q.size()));
    qt->set_raw_data(std::string(reinterpret_cast<const char*>(q.data()), q.size() * 4));
    add_scalar_initializer(g_, sname, scale);
    auto* zt = g_.add_initializer();
    zt->set_name(zname);
    zt->set_data_type(onnx::TensorProto::INT32);
    zt->add_int32_data(0);
    node.set_input(2, dqname);
    head_nodes_.push_back(make_node("DequantizeLinear", names_.make(name + "_DequantizeLinear"),
                                    {qname, sname, zname}, dqname));
    quantized_biases_.insert(name);
  }

  // Activation Q/DQ pairs: one shared pair per tensor, placed right after its producer.
  void add_activation_pairs(const PlacementPlan& plan,
                            const std::map<std::string, calib::QuantParams>& params,
                            ActivationType activation_type) {
    for (const auto& [tensor, uses] : plan.activations) {
      auto it = params.find(tensor);
      if (it == params.end()) {
        Error e(ErrorCode::kInternal, "no calibrated range for a tensor the QDQ plan quantizes");
        e.with("tensor", tensor);
        throw e;
      }
      const auto& qp = it->second;
      const std::string sname = names_.make(tensor + "_scale");
      const std::string zname = names_.make(tensor + "_zero_point");
      const std::string qout = names_.make(tensor + "_QuantizeLinear_Output");
      const std::string dqout = names_.make(tensor + "_DequantizeLinear_Output");
      add_scalar_initializer(g_, sname, qp.scale);
      add_zero_point(g_, zname, activation_type, qp.zero_point);
      after_tensor_[tensor].push_back(make_node(
          "QuantizeLinear", names_.make(tensor + "_QuantizeLinear"), {tensor, sname, zname}, qout));
      after_tensor_[tensor].push_back(make_node("DequantizeLinear",
                                                names_.make(tensor + "_DequantizeLinear"),
                                                {qout, sname, zname}, dqout));
      activation_dq_[tensor] = dqout;
      ++result_.activation_pairs;
    }
  }

  // The planned uses read the dequantized tensors.
  void rewire(const PlacementPlan& plan) {
    auto& nodes = *g_.mutable_node();
    for (const auto& [tensor, uses] : plan.activations) {
      for (const auto& u : uses) {
        nodes[static_cast<int>(u.node)].set_input(static_cast<int>(u.input),
                                                  activation_dq_[tensor]);
      }
    }
    for (const auto& [name, wp] : plan.weights) {
      auto it = weight_dq_.find(name);
      if (it == weight_dq_.end()) continue;
      for (const auto& u : wp.uses) {
        nodes[static_cast<int>(u.node)].set_input(static_cast<int>(u.input), it->second);
      }
    }
  }

  void append_pairs_after(const std::string& tensor,
                          google::protobuf::RepeatedPtrField<onnx::NodeProto>& ordered) {
    auto it = after_tensor_.find(tensor);
    if (it == after_tensor_.end()) return;
    for (auto& n : it->second) *ordered.Add() = std::move(n);
    after_tensor_.erase(it);
  }

  // Rebuild the node list in topological order.
  void reorder() {
    google::protobuf::RepeatedPtrField<onnx::NodeProto> ordered;
    for (auto& n : head_nodes_) *ordered.Add() = std::move(n);
    for (const auto& in : g_.input()) append_pairs_after(in.name(), ordered);
    for (auto& node : *g_.mutable_node()) {
      std::vector<std::string> outs(node.output().begin(), node.output().end());
      *ordered.Add() = std::move(node);
      for (const auto& o : outs) append_pairs_after(o, ordered);
    }
    if (!after_tensor_.empty()) {
      Error e(ErrorCode::kInternal, "QDQ plan names a tensor that no node produces");
      e.with("tensor", after_tensor_.begin()->first);
      throw e;
    }
    g_.mutable_node()->Swap(&ordered);
  }

  // Drop float weights nobody reads any more (a weight also used by a float node stays), and a
  // weight's Constant node when nothing reads its float value any more.
  void drop_unused_weights() {
    std::set<std::string> still_used;
    for (const auto& n : g_.node()) {
      for (const auto& i : n.input()) still_used.insert(i);
    }
    for (const auto& o : g_.output()) still_used.insert(o.name());
    auto* inits = g_.mutable_initializer();
    for (int k = inits->size() - 1; k >= 0; --k) {
      const auto& name = inits->Get(k).name();
      if ((weight_dq_.count(name) || quantized_biases_.count(name)) && !still_used.count(name))
        inits->DeleteSubrange(k, 1);
    }
    auto* kept_nodes = g_.mutable_node();
    for (int k = kept_nodes->size() - 1; k >= 0; --k) {
      const auto& n = kept_nodes->Get(k);
      if (n.op_type() == "Constant" && n.output_size() == 1 &&
          constant_weights_.count(n.output(0)) && !still_used.count(n.output(0))) {
        kept_nodes->DeleteSubrange(k, 1);
      }
    }
    auto* inputs = g_.mutable_input();
    for (int k = inputs->size() - 1; k >= 0; --k) {
      const auto& name = inputs->Get(k).name();
      if (weight_dq_.count(name) && !still_used.count(name)) inputs->DeleteSubrange(k, 1);
    }
  }

  const std::string& what_;
  onnx::ModelProto model_;
  onnx::GraphProto& g_;
  NameMaker names_;
  QdqResult result_;
  bool input_checks_ = true;
  bool warned_axis_ = false;
  int opset_ = 0;
  std::vector<onnx::NodeProto> head_nodes_;       // weight DQs, placed first
  std::map<std::string, std::string> weight_dq_;  // float initializer -> dequantized tensor
  std::map<std::string, float> weight_scale_;     // per-tensor quantized weight -> its scale
  std::set<std::string> quantized_biases_;        // float biases written as int32 + DQ
  std::set<std::string> constant_weights_;        // quantized weights from Constant nodes
  std::map<std::string, std::vector<onnx::NodeProto>> after_tensor_;
  std::map<std::string, std::string> activation_dq_;
};

}  // namespace

QdqResult write_qdq_model(const std::string& model_bytes, const std::string& what,
                          const PlacementPlan& plan,
                          const std::map<std::string, calib::QuantParams>& activation_params,
                          ActivationType activation_type) {
  return QdqWriter(model_bytes, what).write(plan, activation_params, activation_type);
}

void check_onnx_model(const std::string& model_bytes, const std::string& what) {
  auto model = parse_model(model_bytes, what);
  try {
    onnx::checker::check_model(model);
  } catch (const std::exception& ex) {
    Error e(ErrorCode::kFormat, std::string("the ONNX checker rejects the model: ") + ex.what());
    e.with("file", what);
    throw e;
  }
}

onnx::ModelProto parse_model(const std::string& bytes, const std::string& what) {
  onnx::ModelProto model;
  if (!model.ParseFromString(bytes)) {
    Error e(ErrorCode::kFormat, "not a valid ONNX model (protobuf parse failed)");
    e.with("file", what);
    throw e;
  }
  return model;
}

int default_opset(const onnx::ModelProto& model) {
  for (const auto& o : model.opset_import()) {
    if (o.domain().empty() || o.domain() == "ai.onnx") return static_cast<int>(o.version());
  }
  return 0;
}

}  // namespace qcal::exporter
