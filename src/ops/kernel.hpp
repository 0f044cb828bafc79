// The kernel interface every op implements, and the registry table the engine looks ops up in.
//
// Life of a kernel: the registry's factory builds it from a NodeDef (reading and validating
// attributes). At plan time the engine calls infer() once per input-shape set, with the values
// of inputs that are constant (initializers, Constant nodes, folded shape subgraphs), and
// allocates outputs from the answer. run() then computes, many times, and never throws for
// inputs that passed infer().
#pragma once

#include <functional>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "core/minmax_scan.hpp"
#include "core/tensor.hpp"
#include "ops/ir.hpp"

namespace qcal::ops {

// What is known about a tensor at plan time.
struct TensorInfo {
  DType dtype = DType::kUndefined;
  Shape shape;                    // a dimension of -1 is known only at run time (data-dependent)
  const Tensor* value = nullptr;  // the value, when the tensor is constant at plan time
};

// Asks a kernel for the min/max scan (core/minmax_scan.hpp) of float32 data it writes (output 0)
// or reads (input 0), computed block by block while the block is in L1, so that a statistics
// observer need not read the tensor again (engine::MinMaxObserver). The kernel sets *_done when
// it filled the scan; a kernel or a path that does not (another dtype, an unsupported op) leaves
// it false and the observer reads the tensor. The scan must be exactly scan_min_max of the whole
// tensor, whatever the thread count.
struct MinMaxRequest {
  bool want_output = false;
  bool want_input = false;
  bool output_done = false;
  bool input_done = false;
  MinMaxScan output;
  MinMaxScan input;
};

// What a kernel can report through MinMaxRequest for these input infos (plan time).
struct MinMaxSupport {
  bool output = false;
  bool input = false;
};

struct RunContext {
  int num_threads = 1;  // parallel loops must give the same bytes for any thread count
  // Set while an observer runs: kernels that compute tensors the graph does not materialise
  // (a ConvChain's watched intermediates) report them here, valid only during the call.
  const std::function<void(const std::string& name, const TensorView& view)>* observe = nullptr;
  MinMaxRequest* minmax = nullptr;  // set when a statistics observer wants scans from this run
};

class Kernel {
 public:
  virtual ~Kernel() = default;

  // Output dtypes and shapes from the inputs'. inputs[i].dtype is kUndefined for an omitted
  // optional input. All validation lives here: throws qcal::Error (use NodeDef::error).
  virtual std::vector<TensorInfo> infer(std::span<const TensorInfo> inputs) = 0;

  // Computes the outputs. inputs[i] is nullptr for an omitted optional input. Outputs are
  // allocated by the engine with the inferred dtype and shape; an output whose inferred shape
  // had a -1 is passed empty and the kernel assigns it (`*outputs[i] = Tensor(dtype, shape)`).
  virtual void run(std::span<const Tensor* const> inputs, std::span<Tensor* const> outputs,
                   const RunContext& ctx) = 0;

  // Whether run() fills RunContext::minmax for these inputs (infer()'s infos); none by default.
  virtual MinMaxSupport minmax_support(std::span<const TensorInfo> inputs) const {
    (void)inputs;
    return {};
  }
};

using KernelFactory = std::unique_ptr<Kernel> (*)(const NodeDef& node);

// One row of the registry: an op of a domain, valid for opsets [since_opset, until_opset].
struct OpRegistration {
  std::string_view domain;  // "" for ai.onnx
  std::string_view op_type;
  int since_opset;
  int until_opset;
  KernelFactory factory;
};

// The whole registry: one table in ops/registry.cpp, one line per (domain, op, opset range).
std::span<const OpRegistration> op_registry();
// The registration for a node, or nullptr when the op/opset is unsupported.
const OpRegistration* find_op(std::string_view domain, std::string_view op_type, int opset);

}  // namespace qcal::ops
