// Statistics combined from a Concat's / Reshape's inputs, a partitioning Slice set's or Split's
// outputs, or an integer-factor nearest Resize's input (collect_statistics' derived tensors)
// are byte-identical to observing every tensor directly, at any thread count.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "core/atomic_file.hpp"
#include "core/npy.hpp"
#include "core/rng.hpp"
#include "quantize/derived_tensors.hpp"
#include "test_support.hpp"
#include "unit/engine/onnx_builder.hpp"
#include "unit/quantize/collect_support.hpp"

namespace qcal::quantize {
namespace {

std::vector<float> normal(std::size_t n, Rng& rng) {
  std::vector<float> v(n);
  for (auto& x : v) x = static_cast<float>(rng.next_normal() * 0.4);
  return v;
}

// X -> Conv -> Relu = r1; X -> Conv = c2; cat = Concat(r1, c2, r1); t = Transpose(cat);
// rs = Reshape(t, [1, -1]); out = Sigmoid(rs).
std::string concat_model() {
  test::OnnxBuilder b(13);
  b.input("X", {1, 4, 8, 8});
  Rng rng(3);
  b.initializer("W1", {8, 4, 3, 3}, normal(8 * 4 * 9, rng));
  b.initializer("W2", {4, 4, 1, 1}, normal(16, rng));
  b.initializer_i64("flat", {2}, {1, -1});
  b.attr_ints(b.node("Conv", {"X", "W1"}, {"c1"}, "conv1"), "pads", {1, 1, 1, 1});
  b.node("Relu", {"c1"}, {"r1"}, "relu");
  b.node("Conv", {"X", "W2"}, {"c2"}, "conv2");
  b.attr_int(b.node("Concat", {"r1", "c2", "r1"}, {"cat"}, "cat"), "axis", 1);
  b.attr_ints(b.node("Transpose", {"cat"}, {"t"}, "transpose"), "perm", {0, 2, 3, 1});
  b.node("Reshape", {"t", "flat"}, {"rs"}, "reshape");
  b.node("Sigmoid", {"rs"}, {"out"}, "sigmoid");
  b.output("out", {1, 1280});
  return b.bytes();
}

// Collects statistics with derivation off and on, at 1 and 2 threads: the serialized bytes must
// all be equal. `check(stats)` adds per-model expectations.
template <typename Check>
void expect_derived_equals_direct(const std::filesystem::path& model,
                                  const std::filesystem::path& npy,
                                  const std::vector<std::string>& required, const Check& check) {
  std::string reference;
  for (bool derive : {false, true}) {
    for (int threads : {1, 2}) {
      CollectOptions o;
      o.threads = threads;
      o.derive_unions = derive;
      const auto stats = test::collect(model, required, npy, o);
      check(stats);
      const std::string bytes = stats.serialize();
      if (reference.empty()) reference = bytes;
      EXPECT_EQ(bytes, reference) << "derive " << derive << ", " << threads << " threads";
    }
  }
}

TEST(DerivedStats, ConcatAndReshapeStatisticsEqualDirectObservation) {
  test::TempDir dir;
  const auto model = dir.path() / "cat.onnx";
  write_file_atomic(model, concat_model());
  Tensor x(DType::kFloat32, {6, 4, 8, 8});
  Rng rng(8);
  for (std::int64_t i = 0; i < x.numel(); ++i) {
    x.data<float>()[i] = static_cast<float>(
        rng.next_normal() * static_cast<double>(1 + (i / 256) % 6));  // ranges vary by channel
  }
  write_npy(dir.path() / "x.npy", x);

  const std::vector<std::string> required{"X", "r1", "c2", "cat", "t", "rs", "out"};
  const auto derived = derived_tensors(engine::Model::load(model), required);
  std::vector<std::string> names;
  for (const auto& d : derived) names.push_back(d.name);
  EXPECT_EQ(names, (std::vector<std::string>{"cat", "t", "rs"}));
  ASSERT_FALSE(derived.empty());
  EXPECT_EQ(derived[0].parts, (std::vector<std::string>{"r1", "c2", "r1"}));
  expect_derived_equals_direct(
      model, dir.path() / "x.npy", required, [](const calib::StatsSet& stats) {
        ASSERT_TRUE(stats.has_tensor("cat") && stats.has_tensor("rs") && stats.has_tensor("t"));
        EXPECT_EQ(stats.at("cat").count(), 6u * 20 * 64);
      });
}

// a = Relu(Conv(X)) [1,8,8,8] is split by two Slices along channels (C2f's chunk), b by two
// Slices that leave a gap, c by a Split; u is a nearest 2x upsampling of a (each value 4 times),
// v a 1.5x one (values repeated unevenly).
std::string slice_model() {
  test::OnnxBuilder b(13);
  b.input("X", {1, 4, 8, 8});
  Rng rng(5);
  for (const char* w : {"W1", "W2", "W3"}) b.initializer(w, {8, 4, 3, 3}, normal(8 * 4 * 9, rng));
  b.initializer_i64("ax", {1}, {1});
  b.initializer_i64("zero", {1}, {0});
  b.initializer_i64("two", {1}, {2});
  b.initializer_i64("three", {1}, {3});
  b.initializer_i64("big", {1}, {std::int64_t{1} << 62});
  b.initializer_i64("split", {2}, {5, 3});
  b.initializer("up2", {4}, {1, 1, 2, 2});
  b.initializer("up15", {4}, {1, 1, 1.5f, 1.5f});
  const char* convs[][2] = {{"W1", "c1"}, {"W2", "c2"}, {"W3", "c"}};
  for (const auto& [w, out] : convs) {
    b.attr_ints(b.node("Conv", {"X", w}, {out}, std::string("conv_") + out), "pads", {1, 1, 1, 1});
  }
  b.node("Relu", {"c1"}, {"a"}, "relu_a");
  b.node("Relu", {"c2"}, {"b"}, "relu_b");
  b.node("Slice", {"a", "three", "big", "ax"}, {"s1"}, "slice_a1");
  b.node("Slice", {"a", "zero", "three", "ax"}, {"s0"}, "slice_a0");
  b.node("Slice", {"b", "zero", "two", "ax"}, {"q0"}, "slice_b0");
  b.node("Slice", {"b", "three", "big", "ax"}, {"q1"}, "slice_b1");
  b.attr_int(b.node("Split", {"c", "split"}, {"p0", "p1"}, "split_c"), "axis", 1);
  auto* up = b.node("Resize", {"a", "", "up2"}, {"u"}, "up2");
  test::OnnxBuilder::attr_string(up, "mode", "nearest");
  test::OnnxBuilder::attr_string(up, "coordinate_transformation_mode", "asymmetric");
  test::OnnxBuilder::attr_string(up, "nearest_mode", "floor");
  test::OnnxBuilder::attr_string(b.node("Resize", {"a", "", "up15"}, {"v"}, "up15"), "mode",
                                 "nearest");
  for (const char* o : {"s0", "s1", "q0", "q1", "p0", "p1", "u", "v"}) b.output(o);
  return b.bytes();
}

TEST(DerivedStats, SlicePartitionSplitAndUpsamplingEqualDirectObservation) {
  test::TempDir dir;
  const auto model = dir.path() / "slices.onnx";
  write_file_atomic(model, slice_model());
  Tensor x(DType::kFloat32, {5, 4, 8, 8});
  Rng rng(9);
  for (std::int64_t i = 0; i < x.numel(); ++i)
    x.data<float>()[i] = static_cast<float>(rng.next_normal());
  write_npy(dir.path() / "x.npy", x);

  const std::vector<std::string> required{"X",  "a",  "b",  "c",  "s0", "s1",
                                          "q0", "q1", "p0", "p1", "u",  "v"};
  const auto derived = derived_tensors(engine::Model::load(model), required);
  std::map<std::string, std::vector<std::string>> by_name;
  for (const auto& d : derived) by_name[d.name] = d.parts;
  // b's Slices leave channel 2 out and v repeats values unevenly: both are read directly.
  EXPECT_EQ(by_name.size(), 3u);
  EXPECT_EQ(by_name["a"], (std::vector<std::string>{"s0", "s1"}));  // in channel order
  EXPECT_EQ(by_name["c"], (std::vector<std::string>{"p0", "p1"}));
  EXPECT_EQ(by_name["u"], (std::vector<std::string>(4, "a")));
  // u is derived from a, itself derived: a comes first.
  std::vector<std::string> order;
  for (const auto& d : derived) order.push_back(d.name);
  EXPECT_LT(std::find(order.begin(), order.end(), "a"), std::find(order.begin(), order.end(), "u"));
  expect_derived_equals_direct(
      model, dir.path() / "x.npy", required, [](const calib::StatsSet& stats) {
        ASSERT_TRUE(stats.has_tensor("a") && stats.has_tensor("u") && stats.has_tensor("c"));
        EXPECT_EQ(stats.at("u").count(), 5u * 8 * 16 * 16);
      });
}

}  // namespace
}  // namespace qcal::quantize
