// Opset upgrade before Q/DQ: ONNX's converter rewrites attribute-style ops, softmax-like ops on
// the last axis are made opset-13 safe, other axes are refused by name, and the engine check
// catches a conversion that changes outputs.
#include "export/opset_upgrade.hpp"

#include <gtest/gtest.h>

#include "core/error.hpp"
#include "core/rng.hpp"
#include "quantize/model_context.hpp"
#include "unit/engine/onnx_builder.hpp"

namespace qcal::quantize {
namespace {

using exporter::model_opset;
using exporter::upgrade_opset;

// The ranks the engine's shape inference gives the Softmax input: 2 after Flatten, else 4.
exporter::SoftmaxRanks ranks(bool flatten) {
  return [flatten] { return std::map<std::string, std::size_t>{{"y", flatten ? 2 : 4}}; };
}

engine::Model parse(const std::string& bytes) { return engine::Model::load_from_bytes(bytes, ""); }

// Opset 9: Clip and Slice with attributes (inputs since 11 and 10), then Softmax on `axis`.
std::string opset9_model(std::int64_t softmax_axis, bool flatten) {
  test::OnnxBuilder b(9);
  b.input("X", {1, 4, 6, 6});
  auto* clip = b.node("Clip", {"X"}, {"c"}, "clip");
  test::OnnxBuilder::attr_float(clip, "min", -0.5f);
  test::OnnxBuilder::attr_float(clip, "max", 0.75f);
  auto* slice = b.node("Slice", {"c"}, {"s"}, "slice");
  test::OnnxBuilder::attr_ints(slice, "starts", {1});
  test::OnnxBuilder::attr_ints(slice, "ends", {3});
  test::OnnxBuilder::attr_ints(slice, "axes", {1});
  std::string soft_in = "s";
  if (flatten) {
    b.node("Flatten", {"s"}, {"f"}, "flatten");
    soft_in = "f";
  }
  test::OnnxBuilder::attr_int(b.node("Softmax", {soft_in}, {"y"}, "softmax"), "axis", softmax_axis);
  b.output("y");
  return b.bytes();
}

Tensor input(std::uint64_t seed) {
  Tensor x(DType::kFloat32, {1, 4, 6, 6});
  Rng rng(seed);
  for (std::int64_t i = 0; i < x.numel(); ++i)
    x.data<float>()[i] = static_cast<float>(rng.next_normal());
  return x;
}

TEST(OpsetUpgrade, Opset9ModelConvertsTo13AndComputesTheSame) {
  const std::string model = opset9_model(1, true);  // Flatten -> rank 2: axis 1 is the last
  EXPECT_EQ(model_opset(model, "m.onnx"), 9);
  const std::string up = upgrade_opset(model, "m.onnx", 13, ranks(true));
  EXPECT_EQ(model_opset(up, "m.onnx"), 13);
  const std::vector<Tensor> inputs{input(1)};
  EXPECT_NO_THROW(check_same_outputs(parse(model), parse(up), "m.onnx", inputs));
}

TEST(OpsetUpgrade, SoftmaxOnAnInnerAxisIsRefusedByName) {
  const std::string model = opset9_model(1, false);  // rank 4, axis 1: meaning changes at 13
  try {
    upgrade_opset(model, "m.onnx", 13, ranks(false));
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kUnsupported);
    EXPECT_NE(std::string(e.what()).find("softmax"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("axis 1"), std::string::npos) << e.what();
  }
}

TEST(OpsetUpgrade, ChangedOutputsAreCaught) {
  const std::vector<Tensor> inputs{input(2)};
  try {
    check_same_outputs(parse(opset9_model(1, true)), parse(opset9_model(-1, false)), "m.onnx",
                       inputs);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kNumeric);
    EXPECT_NE(std::string(e.what()).find("tensor: y"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace qcal::quantize
