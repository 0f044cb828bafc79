// Helpers for the op-family unit tests: build a NodeDef, run it through the registry the way the
// engine does (infer with optional plan-time constants, allocate known outputs, run).
#pragma once

#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/rng.hpp"
#include "core/tensor.hpp"
#include "ops/ir.hpp"
#include "ops/kernel.hpp"

namespace qcal::test {

inline ops::NodeDef make_node(const std::string& op, std::size_t num_inputs,
                              std::size_t num_outputs = 1, int opset = 17) {
  ops::NodeDef node;
  node.name = "test_" + op;
  node.op_type = op;
  node.opset = opset;
  for (std::size_t i = 0; i < num_inputs; ++i) node.inputs.push_back("in" + std::to_string(i));
  for (std::size_t i = 0; i < num_outputs; ++i) node.outputs.push_back("out" + std::to_string(i));
  return node;
}

struct OpRun {
  std::unique_ptr<ops::Kernel> kernel;  // kept alive: infos[i].value may point into it
  std::vector<ops::TensorInfo> infos;   // what infer() said
  std::vector<Tensor> outputs;
};

// Runs a node. Inputs flagged in `constant` (default: none) are passed to infer() as plan-time
// values. An empty Tensor in `inputs` is an omitted optional input.
inline OpRun run_op(const ops::NodeDef& node, const std::vector<Tensor>& inputs, int threads = 1,
                    const std::vector<bool>& constant = {}) {
  const ops::OpRegistration* reg = ops::find_op(node.domain, node.op_type, node.opset);
  if (!reg) throw Error(ErrorCode::kUnsupported, "no kernel for " + node.op_type);
  OpRun result;
  result.kernel = reg->factory(node);
  ops::Kernel* kernel = result.kernel.get();
  std::vector<ops::TensorInfo> infos;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    ops::TensorInfo info;
    if (!inputs[i].empty()) {
      info.dtype = inputs[i].dtype();
      info.shape = inputs[i].shape();
      if (i < constant.size() && constant[i]) info.value = &inputs[i];
    }
    infos.push_back(info);
  }
  result.infos = kernel->infer(infos);
  for (const auto& info : result.infos) {
    bool known = true;
    for (auto d : info.shape) known = known && d >= 0;
    result.outputs.push_back(known ? Tensor(info.dtype, info.shape) : Tensor());
  }
  std::vector<const Tensor*> in_ptrs;
  for (const auto& t : inputs) in_ptrs.push_back(t.empty() ? nullptr : &t);
  std::vector<Tensor*> out_ptrs;
  for (auto& t : result.outputs) out_ptrs.push_back(&t);
  ops::RunContext ctx;
  ctx.num_threads = threads;
  kernel->run(in_ptrs, out_ptrs, ctx);
  return result;
}

// The single output of a node.
inline Tensor run1(const ops::NodeDef& node, const std::vector<Tensor>& inputs, int threads = 1,
                   const std::vector<bool>& constant = {}) {
  return run_op(node, inputs, threads, constant).outputs.at(0);
}

template <typename T>
Tensor tensor(Shape shape, std::vector<T> values) {
  return Tensor::from_values<T>(std::move(shape), std::span<const T>(values));
}

inline Tensor bools(Shape shape, std::vector<int> values) {
  Tensor t(DType::kBool, std::move(shape));
  for (std::size_t i = 0; i < values.size(); ++i) t.data<bool>()[i] = values[i] != 0;
  return t;
}

template <typename T>
std::vector<T> values_of(const Tensor& t) {
  auto v = t.values<T>();
  return {v.begin(), v.end()};
}

inline Tensor random_tensor(Rng& rng, Shape shape, double lo = -1.0, double hi = 1.0) {
  Tensor t(DType::kFloat32, std::move(shape));
  float* p = t.data<float>();
  for (std::int64_t i = 0; i < t.numel(); ++i)
    p[i] = static_cast<float>(lo + (hi - lo) * rng.next_double());
  return t;
}

// Expects `fn` to throw a qcal::Error whose description mentions every fragment.
template <typename Fn>
void expect_error(const Fn& fn, std::initializer_list<const char*> fragments) {
  try {
    fn();
    ADD_FAILURE() << "no error thrown";
  } catch (const Error& e) {
    const std::string text = e.describe();
    for (const char* f : fragments) EXPECT_NE(text.find(f), std::string::npos) << text;
  }
}

inline bool same_bytes(const Tensor& a, const Tensor& b) {
  return a.dtype() == b.dtype() && a.shape() == b.shape() &&
         std::memcmp(a.raw_data(), b.raw_data(), a.nbytes()) == 0;
}

}  // namespace qcal::test
