// Statistics combined from a Concat's / Reshape's inputs (collect_statistics' derived tensors)
// are byte-identical to observing every tensor directly, at any thread count.
#include <gtest/gtest.h>

#include "core/atomic_file.hpp"
#include "core/npy.hpp"
#include "core/rng.hpp"
#include "export/calibrate.hpp"
#include "test_support.hpp"
#include "unit/engine/onnx_builder.hpp"

namespace qcal::exporter {
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

TEST(DerivedStats, ConcatAndReshapeStatisticsEqualDirectObservation) {
  test::TempDir dir;
  const auto model = dir.path() / "cat.onnx";
  write_file_atomic(model, concat_model());
  Tensor x(DType::kFloat32, {6, 4, 8, 8});
  Rng rng(8);
  for (std::int64_t i = 0; i < x.numel(); ++i) {
    x.data<float>()[i] = static_cast<float>(rng.next_normal() * static_cast<double>(1 + (i / 256) % 6));  // ranges vary by channel
  }
  write_npy(dir.path() / "x.npy", x);

  const std::vector<std::string> required{"X", "r1", "c2", "cat", "t", "rs", "out"};
  const auto derived = derived_tensors(model, required);
  std::vector<std::string> names;
  for (const auto& d : derived) names.push_back(d.name);
  EXPECT_EQ(names, (std::vector<std::string>{"cat", "t", "rs"}));
  ASSERT_FALSE(derived.empty());
  EXPECT_EQ(derived[0].parts, (std::vector<std::string>{"r1", "c2", "r1"}));

  std::string reference;
  for (bool derive : {false, true}) {
    for (int threads : {1, 2}) {
      CalibrateOptions o;
      o.threads = threads;
      o.derive_unions = derive;
      auto source = open_array_source(dir.path() / "x.npy", "X");
      const auto stats = collect_statistics(model, required, *source, o, {}, nullptr, nullptr);
      ASSERT_TRUE(stats.has_tensor("cat") && stats.has_tensor("rs") && stats.has_tensor("t"));
      EXPECT_EQ(stats.at("cat").count(), 6u * 20 * 64);
      const std::string bytes = stats.serialize();
      if (reference.empty()) reference = bytes;
      EXPECT_EQ(bytes, reference) << "derive " << derive << ", " << threads << " threads";
    }
  }
}

}  // namespace
}  // namespace qcal::exporter
