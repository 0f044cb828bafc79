// Op-kernel benchmark on YOLOv8n-sized tensors: each hot kernel (Sigmoid, Mul, Add with channel
// broadcast, Concat, Split, MaxPool k5, Resize 2x nearest, Softmax over a non-inner axis) against
// two peers measured in the same run: memcpy of the same output bytes (the memory-bandwidth bound)
// and the plain reference kernel. Prints ms and ratios at 1 and 2 threads.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/rng.hpp"
#include "core/tensor.hpp"
#include "ops/elementwise.hpp"
#include "ops/kernel.hpp"
#include "ops/pool.hpp"
#include "ops/resize.hpp"
#include "ops/softmax.hpp"
#include "ops/unary.hpp"

using qcal::DType;
using qcal::Shape;
using qcal::Tensor;
namespace ops = qcal::ops;

namespace {

Tensor random_tensor(qcal::Rng& rng, Shape shape) {
  Tensor t(DType::kFloat32, std::move(shape));
  for (std::int64_t i = 0; i < t.numel(); ++i)
    t.data<float>()[i] = static_cast<float>(rng.next_double() * 8 - 4);
  return t;
}

// Median of `reps` timings in milliseconds.
double time_ms(const std::function<void()>& fn, int reps = 15) {
  fn();  // warm-up
  std::vector<double> t;
  for (int r = 0; r < reps; ++r) {
    const auto start = std::chrono::steady_clock::now();
    fn();
    t.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                    .count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

struct Case {
  std::string name;
  ops::NodeDef node;
  std::vector<Tensor> inputs;
  std::function<void(std::vector<Tensor>&)> reference;  // writes outputs[0]
};

ops::NodeDef node_of(const std::string& op, std::size_t in, std::size_t out, int opset = 17) {
  ops::NodeDef n;
  n.name = op;
  n.op_type = op;
  n.opset = opset;
  for (std::size_t i = 0; i < in; ++i) n.inputs.push_back("x" + std::to_string(i));
  for (std::size_t i = 0; i < out; ++i) n.outputs.push_back("y" + std::to_string(i));
  return n;
}

}  // namespace

int main() {
  qcal::Rng rng(1);
  std::vector<Case> cases;
  {
    Case c{"Sigmoid 1x64x160x160",
           node_of("Sigmoid", 1, 1),
           {random_tensor(rng, {1, 64, 160, 160})},
           {}};
    c.reference = [in = c.inputs[0]](std::vector<Tensor>& out) {
      ops::UnaryAttrs a;
      a.op = ops::UnaryOp::kSigmoid;
      ops::unary_f32_ref(a, in.data<float>(), out[0].data<float>(), in.numel());
    };
    cases.push_back(c);
  }
  {
    Case c{"Mul same-shape 1x64x160x160",
           node_of("Mul", 2, 1),
           {random_tensor(rng, {1, 64, 160, 160}), random_tensor(rng, {1, 64, 160, 160})},
           {}};
    c.reference = [a = c.inputs[0], b = c.inputs[1]](std::vector<Tensor>& out) {
      ops::binary_f32_ref(ops::BinaryOp::kMul, a.data<float>(), a.shape(), b.data<float>(),
                          b.shape(), out[0].data<float>(), out[0].shape());
    };
    cases.push_back(c);
  }
  {
    Case c{"Add channel-broadcast 1x64x160x160",
           node_of("Add", 2, 1),
           {random_tensor(rng, {1, 64, 160, 160}), random_tensor(rng, {1, 64, 1, 1})},
           {}};
    c.reference = [a = c.inputs[0], b = c.inputs[1]](std::vector<Tensor>& out) {
      ops::binary_f32_ref(ops::BinaryOp::kAdd, a.data<float>(), a.shape(), b.data<float>(),
                          b.shape(), out[0].data<float>(), out[0].shape());
    };
    cases.push_back(c);
  }
  {
    Case c{"Concat axis1 3x(1x64x80x80)",
           node_of("Concat", 3, 1),
           {random_tensor(rng, {1, 64, 80, 80}), random_tensor(rng, {1, 64, 80, 80}),
            random_tensor(rng, {1, 64, 80, 80})},
           {}};
    c.node.attributes["axis"] = std::int64_t{1};
    cases.push_back(c);
  }
  {
    Case c{"Split axis1 1x128x80x80 -> 2",
           node_of("Split", 1, 2),
           {random_tensor(rng, {1, 128, 80, 80})},
           {}};
    c.node.attributes["axis"] = std::int64_t{1};
    cases.push_back(c);
  }
  {
    Case c{"MaxPool k5 s1 p2 1x128x20x20",
           node_of("MaxPool", 1, 1),
           {random_tensor(rng, {1, 128, 20, 20})},
           {}};
    c.node.attributes["kernel_shape"] = std::vector<std::int64_t>{5, 5};
    c.node.attributes["pads"] = std::vector<std::int64_t>{2, 2, 2, 2};
    c.reference = [in = c.inputs[0], node = c.node](std::vector<Tensor>& out) {
      ops::PoolAttrs a;
      a.kernel_shape = {5, 5};
      a.pads = {2, 2, 2, 2};
      const auto g = ops::infer_pool(node, a, in.shape());
      ops::pool_f32_ref(a, g, in.data<float>(), out[0].data<float>());
    };
    cases.push_back(c);
  }
  {
    Case c{"Resize nearest 2x 1x256x20x20",
           node_of("Resize", 3, 1, 13),
           {random_tensor(rng, {1, 256, 20, 20}), Tensor(),
            Tensor::from_values<float>({4}, std::vector<float>{1, 1, 2, 2})},
           {}};
    c.node.attributes["mode"] = std::string("nearest");
    c.node.attributes["coordinate_transformation_mode"] = std::string("asymmetric");
    c.node.attributes["nearest_mode"] = std::string("floor");
    cases.push_back(c);
  }
  {
    Case c{"Softmax axis1 1x16x4x8400 (DFL)",
           node_of("Softmax", 1, 1, 13),
           {random_tensor(rng, {1, 16, 4, 8400})},
           {}};
    c.node.attributes["axis"] = std::int64_t{1};
    c.reference = [in = c.inputs[0]](std::vector<Tensor>& out) {
      ops::softmax_f32_ref(false, in.data<float>(), 1, 16, 4 * 8400, out[0].data<float>());
    };
    cases.push_back(c);
  }

  // Set every case up first; then time all single-thread runs before any two-thread run, so
  // OpenMP workers spinning after a parallel region do not steal the core from a 1-thread run.
  struct Prepared {
    std::unique_ptr<ops::Kernel> kernel;
    std::vector<Tensor> outputs;
    std::vector<const Tensor*> in_ptrs;
    std::vector<Tensor*> out_ptrs;
    double memcpy_ms = 0, ref_ms = 0;
  };
  std::vector<Prepared> prepared(cases.size());
  for (std::size_t k = 0; k < cases.size(); ++k) {
    Case& c = cases[k];
    Prepared& p = prepared[k];
    p.kernel = ops::find_op("", c.node.op_type, c.node.opset)->factory(c.node);
    std::vector<ops::TensorInfo> infos;
    for (const auto& t : c.inputs)
      infos.push_back(t.empty() ? ops::TensorInfo{} : ops::TensorInfo{t.dtype(), t.shape(), &t});
    infos[0].value = nullptr;
    std::size_t out_bytes = 0;
    for (const auto& info : p.kernel->infer(infos)) {
      p.outputs.emplace_back(info.dtype, info.shape);
      out_bytes += p.outputs.back().nbytes();
    }
    for (const auto& t : c.inputs) p.in_ptrs.push_back(t.empty() ? nullptr : &t);
    for (auto& t : p.outputs) p.out_ptrs.push_back(&t);
    std::vector<char> src(out_bytes), dst(out_bytes);
    p.memcpy_ms = time_ms([&] { std::memcpy(dst.data(), src.data(), out_bytes); });
    p.ref_ms = c.reference ? time_ms([&] { c.reference(p.outputs); }, 5) : 0.0;
  }
  std::printf("%-36s %7s %9s %9s %11s %11s\n", "kernel", "threads", "ms", "memcpy_ms", "vs_memcpy",
              "vs_ref");
  for (int threads : {1, 2}) {
    for (std::size_t k = 0; k < cases.size(); ++k) {
      Prepared& p = prepared[k];
      ops::RunContext ctx;
      ctx.num_threads = threads;
      const double ms = time_ms([&] { p.kernel->run(p.in_ptrs, p.out_ptrs, ctx); });
      std::printf("%-36s %7d %9.3f %9.3f %10.2fx", cases[k].name.c_str(), threads, ms, p.memcpy_ms,
                  ms / p.memcpy_ms);
      if (cases[k].reference)
        std::printf(" %10.2fx\n", p.ref_ms / ms);
      else
        std::printf(" %11s\n", "-");
    }
  }
  std::printf(
      "vs_memcpy: kernel time / single-thread memcpy of the output bytes (1.0 = bandwidth bound)\n"
      "vs_ref: reference kernel time / kernel time (speed-up over plain loops)\n");
  return 0;
}
