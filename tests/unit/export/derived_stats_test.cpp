// Statistics combined from a Concat's / Reshape's inputs (collect_statistics' derived tensors)
// are byte-identical to observing every tensor directly, at any thread count.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include "core/atomic_file.hpp"
#include "core/npy.hpp"
#include "core/rng.hpp"
#include "export/calibrate.hpp"
#include "test_support.hpp"

namespace qcal::exporter {
namespace {

onnx::NodeProto* node(onnx::GraphProto& g, const std::string& op, std::vector<std::string> in,
                      std::vector<std::string> out) {
  auto* n = g.add_node();
  n->set_op_type(op);
  n->set_name(op + "_" + out[0]);
  for (auto& i : in) n->add_input(i);
  for (auto& o : out) n->add_output(o);
  return n;
}

void ints(onnx::NodeProto* n, const std::string& name, std::vector<std::int64_t> v) {
  auto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INTS);
  for (auto x : v) a->add_ints(x);
}

void weight(onnx::GraphProto& g, const std::string& name, std::vector<std::int64_t> dims, Rng& rng) {
  auto* t = g.add_initializer();
  t->set_name(name);
  t->set_data_type(onnx::TensorProto::FLOAT);
  std::int64_t n = 1;
  for (auto d : dims) {
    t->add_dims(d);
    n *= d;
  }
  for (std::int64_t k = 0; k < n; ++k) t->add_float_data(static_cast<float>(rng.next_normal() * 0.4));
}

// X -> Conv -> Relu = r1; X -> Conv = c2; cat = Concat(r1, c2, r1); t = Transpose(cat);
// rs = Reshape(t, [1, -1]); out = Sigmoid(rs).
std::string concat_model() {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.set_producer_name("qcal-test");
  auto* op = m.add_opset_import();
  op->set_domain("");
  op->set_version(13);
  auto& g = *m.mutable_graph();
  g.set_name("cat");
  auto* in = g.add_input();
  in->set_name("X");
  in->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::FLOAT);
  for (int d : {1, 4, 8, 8}) in->mutable_type()->mutable_tensor_type()->mutable_shape()->add_dim()->set_dim_value(d);
  Rng rng(3);
  weight(g, "W1", {8, 4, 3, 3}, rng);
  weight(g, "W2", {4, 4, 1, 1}, rng);
  auto* shape = g.add_initializer();
  shape->set_name("flat");
  shape->set_data_type(onnx::TensorProto::INT64);
  shape->add_dims(2);
  shape->add_int64_data(1);
  shape->add_int64_data(-1);
  ints(node(g, "Conv", {"X", "W1"}, {"c1"}), "pads", {1, 1, 1, 1});
  node(g, "Relu", {"c1"}, {"r1"});
  node(g, "Conv", {"X", "W2"}, {"c2"});
  auto* cat = node(g, "Concat", {"r1", "c2", "r1"}, {"cat"});
  auto* axis = cat->add_attribute();
  axis->set_name("axis");
  axis->set_type(onnx::AttributeProto::INT);
  axis->set_i(1);
  ints(node(g, "Transpose", {"cat"}, {"t"}), "perm", {0, 2, 3, 1});
  node(g, "Reshape", {"t", "flat"}, {"rs"});
  node(g, "Sigmoid", {"rs"}, {"out"});
  auto* o = g.add_output();
  o->set_name("out");
  o->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::FLOAT);
  return m.SerializeAsString();
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
