// Identity: output shares the input's buffer (no copy).
#include "ops/identity.hpp"

namespace qcal::ops {
namespace {

class IdentityKernel : public Kernel {
 public:
  explicit IdentityKernel(const NodeDef& node) : node_(node) {}

  std::vector<TensorInfo> infer(std::span<const TensorInfo> inputs) override {
    if (inputs.size() != 1 || inputs[0].dtype == DType::kUndefined) {
      throw node_.error(ErrorCode::kFormat, "Identity takes exactly one input");
    }
    return {TensorInfo{inputs[0].dtype, inputs[0].shape, nullptr}};
  }

  void run(std::span<const Tensor* const> inputs, std::span<Tensor* const> outputs,
           const RunContext&) override {
    *outputs[0] = *inputs[0];
  }

 private:
  NodeDef node_;
};

}  // namespace

std::unique_ptr<Kernel> make_identity(const NodeDef& node) {
  return std::make_unique<IdentityKernel>(node);
}

}  // namespace qcal::ops
