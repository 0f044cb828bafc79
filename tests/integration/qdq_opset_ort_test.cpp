// Every QDQ model calibrate writes loads and runs in ONNX Runtime, at every opset path: a model
// kept at its opset (per tensor: 10, 12), one converted to 13 (per channel below 13), and 13+.
// Opset 10 once failed to load: ONNX Runtime quantized the float Conv bias itself with a Round
// node, which opset 10 does not have.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "core/atomic_file.hpp"
#include "core/npy.hpp"
#include "core/rng.hpp"
#include "core/tensor.hpp"
#include "test_support.hpp"

namespace qcal {
namespace {

namespace fs = std::filesystem;

void add_value(onnx::ValueInfoProto* v, const std::string& name, std::initializer_list<int> dims) {
  v->set_name(name);
  auto* t = v->mutable_type()->mutable_tensor_type();
  t->set_elem_type(onnx::TensorProto::FLOAT);
  for (int d : dims) t->mutable_shape()->add_dim()->set_dim_value(d);
}

void add_float_initializer(onnx::GraphProto& g, const std::string& name,
                           const std::vector<std::int64_t>& dims, Rng& rng) {
  auto* t = g.add_initializer();
  t->set_name(name);
  t->set_data_type(onnx::TensorProto::FLOAT);
  std::int64_t n = 1;
  for (auto d : dims) {
    t->add_dims(d);
    n *= d;
  }
  for (std::int64_t i = 0; i < n; ++i) t->add_float_data(static_cast<float>(rng.next_normal()));
}

// X [1,3,8,8] -> Conv (4 filters 3x3, bias) -> Relu -> Conv (4 filters 1x1) -> Relu -> Conv (2
// filters 1x1) -> Y, every Conv with a bias.
std::string conv_model(int opset) {
  onnx::ModelProto m;
  m.set_ir_version(7);
  auto* op = m.add_opset_import();
  op->set_domain("");
  op->set_version(opset);
  auto& g = *m.mutable_graph();
  g.set_name("convs");
  add_value(g.add_input(), "X", {1, 3, 8, 8});
  add_value(g.add_output(), "Y", {1, 2, 6, 6});
  Rng rng(7);
  add_float_initializer(g, "W1", {4, 3, 3, 3}, rng);
  add_float_initializer(g, "B1", {4}, rng);
  add_float_initializer(g, "W2", {4, 4, 1, 1}, rng);
  add_float_initializer(g, "B2", {4}, rng);
  add_float_initializer(g, "W3", {2, 4, 1, 1}, rng);
  add_float_initializer(g, "B3", {2}, rng);
  auto node = [&](const char* type, const char* name, std::vector<std::string> in,
                  const char* out) {
    auto* n = g.add_node();
    n->set_op_type(type);
    n->set_name(name);
    for (const auto& i : in) n->add_input(i);
    n->add_output(out);
  };
  node("Conv", "conv1", {"X", "W1", "B1"}, "A");
  node("Relu", "relu", {"A"}, "R");
  node("Conv", "conv2", {"R", "W2", "B2"}, "C");
  node("Relu", "relu2", {"C"}, "S");
  node("Conv", "conv3", {"S", "W3", "B3"}, "Y");
  return m.SerializeAsString();
}

TEST(QdqOpsetOrt, EveryOpsetPathLoadsAndRunsInOnnxRuntime) {
  test::TempDir dir;
  Tensor data(DType::kFloat32, {8, 3, 8, 8});
  Rng rng(3);
  float* values = data.data<float>();
  for (std::int64_t i = 0; i < data.numel(); ++i) values[i] = static_cast<float>(rng.next_normal());
  write_npy(dir / "x.npy", data);
  struct Case {
    int opset;
    const char* granularity;
    int qdq_opset;
  };
  for (const Case& c : {Case{10, "--per-tensor", 10}, Case{10, "--per-channel", 13},
                        Case{12, "--per-tensor", 12}, Case{13, "--per-tensor", 13}}) {
    const std::string name = "m" + std::to_string(c.opset) + std::string(c.granularity + 5);
    SCOPED_TRACE(name);
    const fs::path model = dir / (name + ".onnx");
    write_file_atomic(model, conv_model(c.opset));
    const fs::path out = dir / name;
    auto r = test::run_command(test::qcal_bin() + " calibrate " + model.string() + " --data " +
                               (dir / "x.npy").string() + " " + c.granularity + " -o " +
                               out.string() + " --no-report --dominant-noise off -j 2");
    ASSERT_EQ(r.exit_code, 0) << r.output;
    const fs::path qdq = out / (name + ".qdq.onnx");
    onnx::ModelProto m;
    std::ifstream f(qdq, std::ios::binary);
    ASSERT_TRUE(m.ParseFromIstream(&f));
    EXPECT_EQ(m.opset_import(0).version(), c.qdq_opset);
    // Below opset 11 a quantized Conv's bias is int32 with its DequantizeLinear; above, float.
    std::set<std::string> dequantized;
    for (const auto& n : m.graph().node()) {
      if (n.op_type() == "DequantizeLinear") dequantized.insert(n.output(0));
    }
    std::size_t quantized_convs = 0;
    for (const auto& n : m.graph().node()) {
      if (n.op_type() != "Conv" || !dequantized.count(n.input(1))) continue;
      ++quantized_convs;
      EXPECT_EQ(dequantized.count(n.input(2)), c.qdq_opset < 11 ? 1u : 0u) << n.name();
    }
    EXPECT_GE(quantized_convs, 1u);
    r = test::run_command(test::qcal_bin() + " eval " + model.string() + " " + qdq.string() +
                          " --data " + (dir / "x.npy").string() + " --runtime ort --json -o " +
                          (dir / (name + "_eval")).string() + " -j 2 2>/dev/null");
    ASSERT_EQ(r.exit_code, 0) << r.output;
    const auto open = r.output.find('{');
    const auto close = r.output.rfind('}');
    ASSERT_TRUE(open != std::string::npos && close > open) << r.output;
    const auto j = nlohmann::json::parse(r.output.substr(open, close - open + 1), nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << r.output;
    for (const auto& o : j["outputs"]) EXPECT_GT(o["cosine"].get<double>(), 0.99) << r.output;
  }
}

// All-zero calibration data gave placeholder ranges silently.
TEST(QdqOpsetOrt, PlaceholderRangesAreWarnedNamingTheTensors) {
  test::TempDir dir;
  write_npy(dir / "zeros.npy", Tensor(DType::kFloat32, {2, 3, 8, 8}));
  write_file_atomic(dir / "m.onnx", conv_model(13));
  const auto r = test::run_command(test::qcal_bin() + " calibrate " + (dir / "m.onnx").string() +
                                   " --data " + (dir / "zeros.npy").string() + " -o " +
                                   (dir / "out").string() + " --no-report --dominant-noise off");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("had no finite non-zero value in the calibration data"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("amax 1.0: X"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace qcal
