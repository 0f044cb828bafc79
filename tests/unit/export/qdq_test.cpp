// QDQ placement and writer: rules on a hand-built graph, checker-clean output, ONNX Runtime
// parity on a small model, and the placement on yolov8n.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "core/atomic_file.hpp"
#include "core/error.hpp"
#include "core/npy.hpp"
#include "core/rng.hpp"
#include "export/qdq_placement.hpp"
#include "export/qdq_writer.hpp"
#include "test_support.hpp"

namespace qcal::exporter {
namespace {

// A float value with `rank` symbolic dimensions (the checker wants a shape on graph IO).
void add_value(onnx::ValueInfoProto* v, const std::string& name, int rank = 4) {
  v->set_name(name);
  v->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::FLOAT);
  auto* shape = v->mutable_type()->mutable_tensor_type()->mutable_shape();
  for (int d = 0; d < rank; ++d) shape->add_dim()->set_dim_param(name + "_d" + std::to_string(d));
}

void add_weight(onnx::GraphProto& g, const std::string& name, std::vector<std::int64_t> dims,
                Rng& rng, double scale) {
  auto* t = g.add_initializer();
  t->set_name(name);
  t->set_data_type(onnx::TensorProto::FLOAT);
  std::int64_t n = 1;
  for (auto d : dims) {
    t->add_dims(d);
    n *= d;
  }
  for (std::int64_t k = 0; k < n; ++k)
    t->add_float_data(static_cast<float>(rng.next_normal() * scale));
}

onnx::NodeProto* add_node(onnx::GraphProto& g, const std::string& op, const std::string& name,
                          std::vector<std::string> in, std::vector<std::string> out) {
  auto* n = g.add_node();
  n->set_op_type(op);
  n->set_name(name);
  for (auto& i : in) n->add_input(i);
  for (auto& o : out) n->add_output(o);
  return n;
}

void add_ints(onnx::NodeProto* n, const std::string& name, std::vector<std::int64_t> v) {
  auto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INTS);
  for (auto x : v) a->add_ints(x);
}

void add_int(onnx::NodeProto* n, const std::string& name, std::int64_t v) {
  auto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(v);
}

const std::vector<std::string> kIntermediates{"c1", "r1", "p1", "c2", "a1", "c3", "g", "f", "y"};

// X -> Conv -> Relu -> MaxPool -> Conv -> Add(residual) -> Conv -> GlobalAveragePool ->
// Flatten -> Gemm -> Softmax. With all_outputs, every intermediate is also a graph output.
std::string small_model(bool all_outputs) {
  onnx::ModelProto m;
  m.set_ir_version(7);
  m.set_producer_name("qcal-test");
  auto* op = m.add_opset_import();
  op->set_domain("");
  op->set_version(13);
  auto& g = *m.mutable_graph();
  g.set_name("small");
  auto* in = g.add_input();
  add_value(in, "X");
  auto* shape = in->mutable_type()->mutable_tensor_type()->mutable_shape();
  shape->clear_dim();
  for (int d : {1, 3, 8, 8}) shape->add_dim()->set_dim_value(d);
  Rng rng(11);
  add_weight(g, "W1", {8, 3, 3, 3}, rng, 0.3);
  add_weight(g, "B1", {8}, rng, 0.1);
  add_weight(g, "W2", {8, 8, 1, 1}, rng, 0.3);
  add_weight(g, "W3", {4, 8, 1, 1}, rng, 0.3);
  add_weight(g, "Wg", {5, 4}, rng, 0.5);
  add_ints(add_node(g, "Conv", "conv1", {"X", "W1", "B1"}, {"c1"}), "pads", {1, 1, 1, 1});
  add_node(g, "Relu", "relu1", {"c1"}, {"r1"});
  auto* pool = add_node(g, "MaxPool", "pool", {"r1"}, {"p1"});
  add_ints(pool, "kernel_shape", {2, 2});
  add_ints(pool, "strides", {2, 2});
  add_node(g, "Conv", "conv2", {"p1", "W2"}, {"c2"});
  add_node(g, "Add", "add", {"c2", "p1"}, {"a1"});
  add_node(g, "Conv", "conv3", {"a1", "W3"}, {"c3"});
  add_node(g, "GlobalAveragePool", "gap", {"c3"}, {"g"});
  add_node(g, "Flatten", "flatten", {"g"}, {"f"});
  add_int(add_node(g, "Gemm", "gemm", {"f", "Wg"}, {"y"}), "transB", 1);
  add_node(g, "Softmax", "softmax", {"y"}, {"out"});
  add_value(g.add_output(), "out", 2);
  if (all_outputs) {
    for (const auto& t : kIntermediates) add_value(g.add_output(), t, t == "f" || t == "y" ? 2 : 4);
  }
  return m.SerializeAsString();
}

std::set<std::string> keys(const PlacementPlan& plan) {
  std::set<std::string> s;
  for (const auto& [k, v] : plan.activations) s.insert(k);
  return s;
}

// Rules 1 to 4 without rule 1b (output layers float), so that the Gemm is quantized too.
PlacementOptions all_layers() {
  PlacementOptions o;
  o.keep_output_layers_float = false;
  return o;
}

TEST(QdqPlacement, SmallGraphFollowsTheRules) {
  const auto view = read_graph_view(small_model(false), "small.onnx");
  const auto plan = plan_qdq(view, all_layers());
  // conv2's result goes only to the residual Add: fused into conv2 by TensorRT, no Q/DQ.
  EXPECT_EQ(keys(plan), (std::set<std::string>{"X", "r1", "p1", "a1", "c3", "f"}));
  ASSERT_EQ(plan.weights.size(), 4u);
  EXPECT_EQ(plan.weights.at("W1").axis, 0);
  EXPECT_EQ(plan.weights.at("Wg").axis, 0);         // transB = 1: [N, K], N on axis 0
  EXPECT_FALSE(plan.weights.count("B1"));           // bias stays float
  EXPECT_EQ(plan.activations.at("p1").size(), 2u);  // conv2 and the residual Add
}

TEST(QdqPlacement, OutputLayersStayFloatByDefault) {
  const auto view = read_graph_view(small_model(false), "small.onnx");
  const auto plan = plan_qdq(view, {});
  // The Gemm produces the output (only Softmax after it): float, and with it the pooling and
  // Flatten that only fed it. conv3 still feeds the Gemm's place in the graph: int8.
  EXPECT_EQ(keys(plan), (std::set<std::string>{"X", "r1", "p1", "a1"}));
  EXPECT_EQ(plan.weights.size(), 3u);
  EXPECT_FALSE(plan.weights.count("Wg"));
  EXPECT_TRUE(plan.weights.count("W3"));
  bool named = false;
  for (const auto& f : plan.float_nodes)
    named = named || f.rfind("gemm (Gemm): output layer", 0) == 0;
  EXPECT_TRUE(named);
  // Excluding the output layer does not make conv3 an output layer (decided before --exclude,
  // so mixed precision's exclusions never spread upstream), and excluding conv3 too leaves
  // conv2 int8.
  PlacementOptions o;
  o.exclude = {"gemm", "conv3"};
  const auto excluded = plan_qdq(view, o);
  EXPECT_TRUE(excluded.weights.count("W2"));
  EXPECT_FALSE(excluded.weights.count("W3"));
  o.exclude = {"gemm"};
  EXPECT_TRUE(plan_qdq(view, o).weights.count("W3"));
}

TEST(QdqPlacement, ExcludeKeepsNodesFloatAndWarnsOnNoMatch) {
  const auto view = read_graph_view(small_model(false), "small.onnx");
  PlacementOptions o;
  o.exclude = {"conv3", "gem.*", "no_such_node"};
  o.per_channel = false;
  const auto plan = plan_qdq(view, o);
  EXPECT_FALSE(plan.weights.count("W3"));
  EXPECT_FALSE(plan.weights.count("Wg"));
  EXPECT_EQ(plan.weights.at("W1").axis, -1);
  // With conv3 and gemm float, the Add and the pool-after-conv3 have no int8 consumer left.
  EXPECT_FALSE(keys(plan).count("a1"));
  EXPECT_FALSE(keys(plan).count("c3"));
  ASSERT_EQ(plan.warnings.size(), 1u);
  EXPECT_NE(plan.warnings[0].find("no_such_node"), std::string::npos);
}

TEST(QdqWriter, WeightQuantizationIsPerChannelSymmetric) {
  const std::vector<float> w{1.0f, -0.5f, 0.25f, 0.0f, 0.0f, 0.0f, -2.0f, 1.0f};
  const auto q = quantize_weight_symmetric(w, {4, 2}, 0);
  ASSERT_EQ(q.scales.size(), 4u);
  EXPECT_FLOAT_EQ(q.scales[0], 1.0f / 127);
  EXPECT_FLOAT_EQ(q.scales[2], 1.0f / 127);  // all-zero channel: usable scale
  EXPECT_EQ(q.values[0], 127);
  EXPECT_EQ(q.values[1], -64);  // -63.5 rounds half to even
  EXPECT_EQ(q.values[2], 127);
  EXPECT_EQ(q.values[3], 0);
  EXPECT_EQ(q.values[6], -127);
  EXPECT_EQ(q.values[7], 64);  // 63.5 -> 64
  const auto t = quantize_weight_symmetric(w, {4, 2}, -1);
  EXPECT_EQ(t.scales.size(), 1u);
  EXPECT_FLOAT_EQ(t.scales[0], 2.0f / 127);
}

// Runs a model in ONNX Runtime (the engine helper's Node bridge); returns output name -> file.
std::map<std::string, std::filesystem::path> run_ort(const std::filesystem::path& model,
                                                     const std::string& input_name,
                                                     const std::filesystem::path& input,
                                                     const std::filesystem::path& out_dir) {
  std::filesystem::create_directories(out_dir);
  const auto r =
      test::run_command("{ node " + std::string(QCAL_SOURCE_DIR) + "/tools/ort/ort_run.js " +
                        model.string() + " --input " + input_name + "=" + input.string() +
                        " --out " + out_dir.string() + " 2>/dev/null; }");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  std::map<std::string, std::filesystem::path> out;
  if (r.exit_code != 0) return out;
  const auto j = nlohmann::json::parse(r.output);
  for (const auto& [k, v] : j["outputs"].items()) out[k] = v.get<std::string>();
  return out;
}

double cosine(const Tensor& a, const Tensor& b) {
  const auto x = a.values<float>();
  const auto y = b.values<float>();
  double xy = 0, xx = 0, yy = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    xy += double(x[i]) * y[i];
    xx += double(x[i]) * x[i];
    yy += double(y[i]) * y[i];
  }
  return xy / std::sqrt(xx * yy + 1e-30);
}

// Symmetric int8 ranges (amax) of the intermediates from a float run's outputs, and X's.
std::map<std::string, calib::QuantParams> minmax_params(
    const std::map<std::string, std::filesystem::path>& fp32) {
  std::map<std::string, calib::QuantParams> params;
  params["X"] = calib::symmetric_int8(1.0f);
  for (const auto& t : kIntermediates) {
    const Tensor v = read_npy(fp32.at(t));
    float amax = 0;
    for (float f : v.values<float>()) amax = std::max(amax, std::fabs(f));
    params[t] = calib::symmetric_int8(amax);
  }
  return params;
}

TEST(QdqWriter, SmallModelPassesCheckerAndMatchesFloatInOnnxRuntime) {
  test::TempDir dir;
  write_file_atomic(dir / "float.onnx", small_model(true));
  Rng rng(5);
  std::vector<float> x(3 * 8 * 8);
  for (auto& v : x) v = static_cast<float>(rng.next_double() * 2 - 1);
  write_npy(dir / "x.npy", Tensor::from_values<float>({1, 3, 8, 8}, x));
  const auto fp32 = run_ort(dir / "float.onnx", "X", dir / "x.npy", dir / "fp32");
  ASSERT_FALSE(fp32.empty());
  // Ranges from the float run's intermediates (minmax), as calibration would produce.
  const auto params = minmax_params(fp32);
  const std::string model = small_model(false);
  const auto plan = plan_qdq(read_graph_view(model, "small.onnx"), all_layers());
  const auto result =
      write_qdq_model(model, "small.onnx", plan, params, ActivationType::kInt8Symmetric);
  EXPECT_TRUE(result.warnings.empty()) << result.warnings[0];
  EXPECT_EQ(result.activation_pairs, 6u);
  EXPECT_EQ(result.weights, 4u);
  write_file_atomic(dir / "qdq.onnx", result.model_bytes);
  const auto q = run_ort(dir / "qdq.onnx", "X", dir / "x.npy", dir / "q");
  ASSERT_TRUE(q.count("out"));
  const auto a = read_npy(fp32.at("out"));
  const auto b = read_npy(q.at("out"));
  EXPECT_GT(cosine(a, b), 0.99);
  // The int8 model must differ from float somewhere (the Q/DQ really act).
  EXPECT_NE(std::vector<float>(a.values<float>().begin(), a.values<float>().end()),
            std::vector<float>(b.values<float>().begin(), b.values<float>().end()));

  // uint8 asymmetric activations.
  std::map<std::string, calib::QuantParams> uparams;
  for (const auto& [k, p] : params)
    uparams[k] = calib::asymmetric_uint8(-p.scale * 127, p.scale * 127);
  const auto u =
      write_qdq_model(model, "small.onnx", plan, uparams, ActivationType::kUInt8Asymmetric);
  write_file_atomic(dir / "u8.onnx", u.model_bytes);
  const auto uq = run_ort(dir / "u8.onnx", "X", dir / "x.npy", dir / "u");
  ASSERT_TRUE(uq.count("out"));
  EXPECT_GT(cosine(a, read_npy(uq.at("out"))), 0.99);
}

// small_model with W2, W3 and Wg held by Constant nodes (as PaddleOCR exports keep weights).
std::string with_constant_weights(const std::string& bytes) {
  onnx::ModelProto m;
  m.ParseFromString(bytes);
  auto& g = *m.mutable_graph();
  google::protobuf::RepeatedPtrField<onnx::NodeProto> nodes;
  auto* inits = g.mutable_initializer();
  for (int k = inits->size() - 1; k >= 0; --k) {
    const std::string name = inits->Get(k).name();
    if (name != "W2" && name != "W3" && name != "Wg") continue;
    onnx::NodeProto c;
    c.set_op_type("Constant");
    c.set_name("const_" + name);
    c.add_output(name);
    auto* a = c.add_attribute();
    a->set_name("value");
    a->set_type(onnx::AttributeProto::TENSOR);
    *a->mutable_t() = inits->Get(k);
    *nodes.Add() = std::move(c);
    inits->DeleteSubrange(k, 1);
  }
  for (const auto& n : g.node()) *nodes.Add() = n;
  g.mutable_node()->Swap(&nodes);
  return m.SerializeAsString();
}

TEST(QdqWriter, WeightsInConstantNodesAreQuantizedLikeInitializers) {
  test::TempDir dir;
  const std::string model = with_constant_weights(small_model(false));
  write_file_atomic(dir / "float.onnx", model);
  Rng rng(6);
  std::vector<float> x(3 * 8 * 8);
  for (auto& v : x) v = static_cast<float>(rng.next_double() * 2 - 1);
  write_npy(dir / "x.npy", Tensor::from_values<float>({1, 3, 8, 8}, x));
  write_file_atomic(dir / "all.onnx", with_constant_weights(small_model(true)));
  const auto fp32 = run_ort(dir / "all.onnx", "X", dir / "x.npy", dir / "fp32");
  ASSERT_FALSE(fp32.empty());
  const auto params = minmax_params(fp32);
  const auto plan = plan_qdq(read_graph_view(model, "const.onnx"), all_layers());
  const auto result =
      write_qdq_model(model, "const.onnx", plan, params, ActivationType::kInt8Symmetric);
  EXPECT_EQ(result.weights, 4u);  // W1 (initializer) and the three Constant-node weights
  onnx::ModelProto q;
  ASSERT_TRUE(q.ParseFromString(result.model_bytes));
  for (const auto& n : q.graph().node())
    EXPECT_NE(n.op_type(), "Constant") << n.name();  // float copies gone
  std::set<std::string> int8_inits;
  for (const auto& t : q.graph().initializer()) {
    if (t.data_type() == onnx::TensorProto::INT8 && t.dims_size() > 1) int8_inits.insert(t.name());
  }
  EXPECT_EQ(int8_inits, (std::set<std::string>{"W1_quantized", "W2_quantized", "W3_quantized",
                                               "Wg_quantized"}));
  // Gemm weight [5, 4] with transB: per output row, so 5 scales.
  for (const auto& t : q.graph().initializer()) {
    if (t.name() == "Wg_scale") {
      EXPECT_EQ(t.float_data_size(), 5);
    }
  }
  write_file_atomic(dir / "qdq.onnx", result.model_bytes);
  const auto out = run_ort(dir / "qdq.onnx", "X", dir / "x.npy", dir / "q");
  ASSERT_TRUE(out.count("out"));
  EXPECT_GT(cosine(read_npy(fp32.at("out")), read_npy(out.at("out"))), 0.99);
}

TEST(QdqWriter, MissingRangeIsAnError) {
  const std::string model = small_model(false);
  const auto plan = plan_qdq(read_graph_view(model, "small.onnx"), {});
  EXPECT_THROW(write_qdq_model(model, "small.onnx", plan, {}, ActivationType::kInt8Symmetric),
               Error);
  EXPECT_THROW(read_graph_view("not a model", "x.onnx"), Error);
}

TEST(QdqPlacement, Yolov8nKeepsHeadFloatAndWritesACheckerCleanModel) {
  const auto path = test::deps_dir() / "models" / "yolov8n.onnx";
  const std::string bytes = read_file(path);
  const auto view = read_graph_view(bytes, path.string());
  const auto plan = plan_qdq(view, {});
  std::size_t convs = 0;
  for (const auto& n : view.nodes) convs += n.op_type == "Conv";
  // Every Conv gets int8 weights but the DFL one (fed by Softmax) and the six output layers:
  // the last box (cv2.i.2) and class (cv3.i.2) conv of each of the three scales.
  EXPECT_EQ(plan.weights.size(), convs - 7);
  std::set<std::string> output_layers;
  for (const auto& f : plan.float_nodes) {
    if (f.find(": output layer") != std::string::npos)
      output_layers.insert(f.substr(0, f.find(' ')));
  }
  EXPECT_EQ(output_layers, (std::set<std::string>{
                               "/model.22/cv2.0/cv2.0.2/Conv", "/model.22/cv2.1/cv2.1.2/Conv",
                               "/model.22/cv2.2/cv2.2.2/Conv", "/model.22/cv3.0/cv3.0.2/Conv",
                               "/model.22/cv3.1/cv3.1.2/Conv", "/model.22/cv3.2/cv3.2.2/Conv"}));
  EXPECT_EQ(plan_qdq(view, all_layers()).weights.size(), convs - 1);
  EXPECT_TRUE(plan.activations.count("images"));
  bool dfl_float = false;
  for (const auto& f : plan.float_nodes)
    dfl_float = dfl_float || f.find("Softmax") != std::string::npos;
  EXPECT_TRUE(dfl_float);
  // Q/DQ feed only compute ops and the ops TensorRT fuses with them: never Sigmoid, Softmax,
  // Mul or Sub (activations, box decoding) nor shape plumbing.
  for (const auto& [tensor, uses] : plan.activations) {
    for (const auto& u : uses) {
      const auto& op = view.nodes[u.node].op_type;
      EXPECT_TRUE(op == "Conv" || op == "Add" || op == "Concat" || op == "MaxPool" ||
                  op == "Resize")
          << tensor << " -> " << op;
    }
  }
  std::map<std::string, calib::QuantParams> params;
  for (const auto& [t, uses] : plan.activations) params[t] = calib::symmetric_int8(4.0f);
  const auto result =
      write_qdq_model(bytes, path.string(), plan, params, ActivationType::kInt8Symmetric);
  EXPECT_EQ(result.activation_pairs, plan.activations.size());
  EXPECT_GT(result.activation_pairs, 60u);
}

}  // namespace
}  // namespace qcal::exporter
