// Loader tests: IO metadata, constants, and every bad-input path naming the tensor or node.
#include "engine/model.hpp"

#include <fstream>

#include "core/error.hpp"
#include "onnx_builder.hpp"
#include "test_support.hpp"

namespace qcal::engine {
namespace {

std::string error_of(const std::string& bytes, const std::filesystem::path& base = {},
                     LoadOptions options = {}) {
  try {
    Model::load_from_bytes(bytes, base, options);
  } catch (const Error& e) {
    return e.describe();
  }
  return "";
}

test::OnnxBuilder identity_model() {
  test::OnnxBuilder b;
  b.input("x", {-1, 3, 4});
  b.output("y", {-1, 3, 4});
  b.node("Identity", {"x"}, {"y"}, "id0");
  return b;
}

TEST(Model, ReadsInputsOutputsAndDynamicDims) {
  auto b = identity_model();
  const Model m = Model::load_from_bytes(b.bytes(), {});
  ASSERT_EQ(m.inputs().size(), 1u);
  EXPECT_EQ(m.inputs()[0].name, "x");
  EXPECT_EQ(m.inputs()[0].dtype, DType::kFloat32);
  EXPECT_EQ(m.inputs()[0].shape, (Shape{-1, 3, 4}));
  EXPECT_EQ(m.inputs()[0].dim_params[0], "N");
  EXPECT_EQ(m.outputs()[0].name, "y");
  EXPECT_EQ(m.onnx_opset(), 17);
  EXPECT_EQ(m.nodes().size(), 1u);
}

TEST(Model, ConstantNodesBecomeConstantsAndInitializersAreNotInputs) {
  test::OnnxBuilder b;
  b.input("x", {2});
  b.graph().add_input()->set_name("w");  // IR<4 style: initializer listed as input
  b.initializer("w", {2}, {1.f, 2.f});
  auto* c = b.node("Constant", {}, {"k"});
  b.attr_float(c, "value_float", 3.5f);
  b.node("Identity", {"k"}, {"y"});
  b.output("y");
  const Model m = Model::load_from_bytes(b.bytes(), {});
  EXPECT_EQ(m.inputs().size(), 1u);
  ASSERT_TRUE(m.constants().count("k"));
  EXPECT_FLOAT_EQ(m.constants().at("k").data<float>()[0], 3.5f);
  EXPECT_EQ(m.constants().at("w").numel(), 2);
  EXPECT_EQ(m.nodes().size(), 1u);
}

TEST(Model, TruncatedAndCorruptProtobufAreFormatErrors) {
  const std::string good = identity_model().bytes();
  for (std::size_t cut : {good.size() / 3, good.size() / 2, good.size() - 3}) {
    // A truncated message either fails to parse or misses required parts; never a crash.
    const std::string msg = error_of(good.substr(0, cut));
    EXPECT_FALSE(msg.empty()) << "cut at " << cut;
  }
  EXPECT_NE(error_of("\xff\xff\xff\xff garbage").find("not a valid ONNX model"), std::string::npos);
}

TEST(Model, OpsetPastSupportIsNamed) {
  test::OnnxBuilder b(kMaxSupportedOpset + 1);
  b.input("x", {1});
  b.output("y", {1});
  b.node("Identity", {"x"}, {"y"});
  EXPECT_NE(error_of(b.bytes()).find("opset " + std::to_string(kMaxSupportedOpset + 1)),
            std::string::npos);
}

TEST(Model, MissingInitializerNamesNodeAndTensor) {
  test::OnnxBuilder b;
  b.input("x", {1});
  b.output("y", {1});
  b.node("Identity", {"w_missing"}, {"y"}, "the_node");
  const std::string msg = error_of(b.bytes());
  EXPECT_NE(msg.find("w_missing"), std::string::npos) << msg;
  EXPECT_NE(msg.find("the_node"), std::string::npos) << msg;
}

TEST(Model, UnsupportedOpsAreAllListed) {
  test::OnnxBuilder b;
  b.input("x", {1});
  b.output("z", {1});
  b.node("NoSuchOp", {"x"}, {"y"}, "first");
  b.node("AlsoMissing", {"y"}, {"z"}, "second");
  const std::string msg = error_of(b.bytes());
  EXPECT_NE(msg.find("2 node(s)"), std::string::npos) << msg;
  EXPECT_NE(msg.find("'first': NoSuchOp (opset 17)"), std::string::npos) << msg;
  EXPECT_NE(msg.find("'second': AlsoMissing (opset 17)"), std::string::npos) << msg;
  const Model m = Model::load_from_bytes(b.bytes(), {}, LoadOptions{false});
  EXPECT_EQ(m.unsupported_nodes().size(), 2u);
}

TEST(Model, AbsurdDeclaredSizesAreLimitErrors) {
  test::OnnxBuilder b;
  b.input("x", {1});
  b.output("y", {1});
  auto* t = b.initializer("huge", {1LL << 40, 1LL << 40}, {});
  t->set_raw_data("1234");
  b.node("Identity", {"huge"}, {"y"});
  const std::string msg = error_of(b.bytes());
  EXPECT_NE(msg.find("huge"), std::string::npos) << msg;
  test::OnnxBuilder b2;
  b2.input("x", {1});
  b2.output("y", {1});
  auto* t2 = b2.initializer("big", {1LL << 20, 1LL << 20}, {});
  t2->set_raw_data("1234");
  b2.node("Identity", {"big"}, {"y"});
  EXPECT_NE(error_of(b2.bytes()).find("limit"), std::string::npos);
  test::OnnxBuilder b3;
  b3.input("x", {1});
  b3.output("y", {1});
  b3.initializer("short", {4}, {1.f, 2.f});
  b3.node("Identity", {"short"}, {"y"});
  EXPECT_NE(error_of(b3.bytes()).find("short"), std::string::npos);
}

// bfloat16 is not read as its uint16 bits: an initializer, a graph input and a graph output of
// that type are each an error naming the tensor and the type.
TEST(Model, Bfloat16TensorsAreNamedErrors) {
  test::OnnxBuilder b;
  b.input("x", {2});
  b.output("y", {2});
  auto* t = b.initializer("w_bf16", {2}, {});
  t->set_data_type(onnx::TensorProto::BFLOAT16);
  t->set_raw_data(std::string("\x80\x3f\x00\x40", 4));
  b.node("Add", {"x", "w_bf16"}, {"y"});
  std::string msg = error_of(b.bytes());
  EXPECT_NE(msg.find("w_bf16"), std::string::npos) << msg;
  EXPECT_NE(msg.find("bfloat16"), std::string::npos) << msg;
  for (const char* role : {"input", "output"}) {
    test::OnnxBuilder g;
    const bool in = std::string(role) == "input";
    g.input("x", {2}, in ? onnx::TensorProto::BFLOAT16 : onnx::TensorProto::FLOAT);
    g.output("y", {2}, in ? onnx::TensorProto::FLOAT : onnx::TensorProto::BFLOAT16);
    g.node("Identity", {"x"}, {"y"});
    try {
      Model::load_from_bytes(g.bytes(), {});
      FAIL() << "expected an error for a bfloat16 " << role;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kUnsupported);
      const std::string d = e.describe();
      EXPECT_NE(d.find(in ? "x" : "y"), std::string::npos) << d;
      EXPECT_NE(d.find("bfloat16"), std::string::npos) << d;
      EXPECT_NE(d.find(role), std::string::npos) << d;
    }
  }
}

TEST(Model, ExternalDataStaysInsideTheModelFolder) {
  test::TempDir dir;
  std::filesystem::create_directories(dir.path() / "model");
  {
    std::ofstream(dir.path() / "secret.bin", std::ios::binary) << std::string(8, '\0');
    std::ofstream(dir.path() / "model" / "w.bin", std::ios::binary) << std::string(8, '\0');
  }
  const auto make = [](const std::string& location) {
    test::OnnxBuilder b;
    b.input("x", {1});
    b.output("y", {2});
    auto* t = b.initializer("w", {2}, {});
    t->set_data_location(onnx::TensorProto::EXTERNAL);
    auto* kv = t->add_external_data();
    kv->set_key("location");
    kv->set_value(location);
    b.node("Identity", {"w"}, {"y"});
    return b.bytes();
  };
  const auto base = dir.path() / "model";
  EXPECT_NO_THROW(Model::load_from_bytes(make("w.bin"), base));
  for (const std::string& bad : std::vector<std::string>{"../secret.bin", "/etc/passwd",
                                                         (dir.path() / "secret.bin").string()}) {
    const std::string msg = error_of(make(bad), base);
    EXPECT_NE(msg.find("escapes the model folder"), std::string::npos) << bad << ": " << msg;
    EXPECT_NE(msg.find("tensor: w"), std::string::npos) << msg;
  }
  // A symlink inside the folder pointing outside is caught by the canonical-path check.
  std::filesystem::create_symlink(dir.path() / "secret.bin", base / "link.bin");
  EXPECT_NE(error_of(make("link.bin"), base).find("escapes"), std::string::npos);
}

TEST(Model, MissingFileIsIoError) {
  try {
    Model::load("/nonexistent/model.onnx");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kIo);
    EXPECT_NE(e.describe().find("/nonexistent/model.onnx"), std::string::npos);
  }
}

}  // namespace
}  // namespace qcal::engine
