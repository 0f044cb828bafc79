// The run's model: read once, upgraded in memory when Q/DQ needs a newer opset.
#include "quantize/model_context.hpp"

#include <algorithm>
#include <cmath>

#include "calib/stats_file.hpp"
#include "core/atomic_file.hpp"
#include "core/error.hpp"
#include "engine/session.hpp"
#include "eval/samples.hpp"
#include "export/opset_upgrade.hpp"
#include "export/qdq_writer.hpp"

namespace qcal::quantize {
namespace {

constexpr int kQdqOpset = 13;

// The shape the model is planned at for the softmax ranks: the data's first batch, else the
// declared shape with dynamic dimensions guessed.
Shape planning_shape(const engine::Model& model, preprocess::SampleData* data) {
  Shape shape = model.inputs()[0].shape;
  const std::int64_t batch = shape.empty() || shape[0] <= 0 ? 1 : shape[0];
  if (data && !data->row_shapes().empty()) {
    shape = data->row_shapes()[0];
    shape.insert(shape.begin(), batch);
  }
  return shape;
}

std::map<std::string, std::size_t> softmax_ranks(std::shared_ptr<const engine::Model> model,
                                                 const Shape& input_shape) {
  engine::SessionOptions o;
  o.fuse = false;  // the nodes are the model's own
  engine::Session session(std::move(model), o);
  std::map<std::string, std::size_t> ranks;
  for (const auto& ns : session.node_shapes(std::vector<Shape>{input_shape})) {
    const auto& op = ns.node->op_type;
    if ((op == "Softmax" || op == "LogSoftmax" || op == "Hardmax") && !ns.inputs.empty() &&
        !ns.node->outputs.empty()) {
      ranks[ns.node->outputs[0]] = ns.inputs[0].size();
    }
  }
  return ranks;
}

// The upgraded bytes. Without data (--from-stats) dynamic dimensions are guessed: only the ranks
// of softmax-like inputs are read (and only when the model has such nodes), so the first size
// the model plans at will do.
std::string convert(const ModelContext& c, const Shape& shape) {
  const bool dynamic =
      std::any_of(shape.begin(), shape.end(), [](std::int64_t d) { return d < 0; });
  for (const std::int64_t guess : {std::int64_t{640}, std::int64_t{224}, std::int64_t{64}}) {
    Shape s = shape;
    for (std::size_t d = 0; d < s.size(); ++d) {
      if (s[d] < 0) s[d] = d == 0 ? 1 : guess;
    }
    try {
      return exporter::upgrade_opset(c.bytes, c.path.string(), kQdqOpset,
                                     [&] { return softmax_ranks(c.model, s); });
    } catch (const Error&) {
      if (!dynamic || guess == 64) throw;
    }
  }
  throw Error(ErrorCode::kInternal, "unreachable");
}

void upgrade(ModelContext& c, preprocess::SampleData* data) {
  if (c.model->inputs().empty()) throw_invalid("the model has no inputs");
  const Shape shape = planning_shape(*c.model, data);
  std::string upgraded = convert(c, shape);
  auto model = std::make_shared<const engine::Model>(engine::Model::load_from_bytes(
      upgraded, c.base_dir(), engine::LoadOptions{.check_ops = false}));
  const std::int64_t batch = shape.empty() ? 1 : shape[0];
  if (data && data->size() >= batch && c.model->inputs().size() == 1) {
    check_same_outputs(*c.model, *model, c.path.string(), data->read(0, batch));
  }
  c.warnings.push_back(
      "the model is opset " + std::to_string(c.file_opset) + ": converted to opset " +
      std::to_string(kQdqOpset) + " (ONNX's version converter, outputs checked in the engine) " +
      "for QuantizeLinear/DequantizeLinear with per-channel weights; the QDQ model is opset " +
      std::to_string(kQdqOpset));
  c.bytes = std::move(upgraded);
  c.model = std::move(model);
  c.opset = kQdqOpset;
}

double relative_l2(const Tensor& a, const Tensor& b) {
  double diff = 0, ref = 0;
  const auto x = a.values<float>();
  const auto y = b.values<float>();
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double d = static_cast<double>(x[i]) - static_cast<double>(y[i]);
    diff += d * d;
    ref += static_cast<double>(x[i]) * static_cast<double>(x[i]);
  }
  return ref > 0 ? std::sqrt(diff / ref) : std::sqrt(diff);
}

}  // namespace

std::filesystem::path ModelContext::base_dir() const {
  std::filesystem::path base = path.parent_path();
  return base.empty() ? std::filesystem::path(".") : base;
}

std::vector<preprocess::ModelInputInfo> ModelContext::inputs() const {
  return eval::model_input_infos(*model, path.string());
}

ModelContext read_model(const std::filesystem::path& path) {
  ModelContext c;
  c.path = path;
  c.bytes = read_file(path);
  c.fingerprint = calib::hex64(calib::fnv1a64(c.bytes));
  try {
    c.model = std::make_shared<const engine::Model>(engine::Model::load_from_bytes(
        c.bytes, c.base_dir(), engine::LoadOptions{.check_ops = false}));
  } catch (Error& e) {
    e.with("file", path.string());
    throw;
  }
  c.file_opset = c.opset = c.model->onnx_opset();
  return c;
}

ModelContext derive_context(const ModelContext& base, std::string bytes) {
  ModelContext c = base;
  c.bytes = std::move(bytes);
  c.model = std::make_shared<const engine::Model>(engine::Model::load_from_bytes(
      c.bytes, c.base_dir(), engine::LoadOptions{.check_ops = false}));
  c.graph = exporter::read_graph_view(c.bytes, c.path.string());
  return c;
}

void prepare_for_qdq(ModelContext& c, bool per_channel, preprocess::SampleData* data) {
  const int opset = c.file_opset;
  if (opset > 0 && opset < kQdqOpset && (opset < 10 || per_channel)) {
    try {
      upgrade(c, data);
    } catch (Error& e) {
      if (opset < 10) {
        e.with("model", c.path.string());
        throw;
      }
      c.warnings.push_back("the model stays at opset " + std::to_string(opset) + " (" +
                           e.message() + ")");
    }
  }
  c.graph = exporter::read_graph_view(c.bytes, c.path.string());
}

void check_same_outputs(const engine::Model& original, const engine::Model& converted,
                        const std::string& what, const std::vector<Tensor>& inputs) {
  std::vector<std::vector<Tensor>> results;
  for (const engine::Model* m : {&original, &converted}) {
    engine::Session session(
        std::shared_ptr<const engine::Model>(std::shared_ptr<const engine::Model>{}, m));
    results.push_back(session.run(inputs));
  }
  const auto& a = results[0];
  const auto& b = results[1];
  if (a.size() != b.size()) {
    throw Error(ErrorCode::kUnsupported, "the opset conversion changed the number of model outputs")
        .with("file", what);
  }
  for (std::size_t k = 0; k < a.size(); ++k) {
    const bool same = a[k].shape() == b[k].shape() && a[k].dtype() == b[k].dtype();
    const double rel = same && a[k].dtype() == DType::kFloat32 ? relative_l2(a[k], b[k]) : 0.0;
    if (!same || !(rel <= 1e-5)) {
      Error e(ErrorCode::kNumeric,
              "the opset conversion changed the model's output (relative L2 error " +
                  std::to_string(rel) + ", shape " + shape_to_string(b[k].shape()) +
                  " instead of " + shape_to_string(a[k].shape()) + ")");
      const auto& outs = original.outputs();
      e.with("file", what).with("tensor", k < outs.size() ? outs[k].name : std::to_string(k));
      throw e;
    }
  }
}

}  // namespace qcal::quantize
